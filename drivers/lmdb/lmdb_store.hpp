// Store: the driver's writes and key lookups inside one LMDB transaction.
//
// Every write keeps the table's indexes and the catalog consistent within
// the transaction it is given; on any error the caller aborts that
// transaction (the operation's own, or a child of the user's), so a failed
// operation leaves nothing behind.
//
// Constraints enforced here: primary key and unique indexes
// (unique_violation, constraint "<table>.primary_key" or the index name; a
// unique index allows any number of rows with a NULL in its columns, as SQL
// does), NOT NULL (not_null_violation, constraint "<table>.<column>"), and
// foreign keys (foreign_key_violation, constraint = the key's name): a child
// row needs its parent, and deleting a parent row still referenced is
// refused (no_action, restrict), deletes the children (cascade) or sets
// their columns to NULL (set_null). Changing a referenced key of a parent
// that has children is refused.
#pragma once

#include <lmdb.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lmdb_catalog.hpp"
#include "lmdb_env.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera::lmdb::detail {

// Catalog changes made by a transaction not yet committed: table -> entry,
// null for a table dropped.
using Overlay = std::map<std::string, std::shared_ptr<const TableInfo>>;

using TableRef = std::shared_ptr<const TableInfo>;
using Row = std::vector<Value>;

// The encoded key of `values` for the columns at `positions` of `t`, each
// value first converted to its column's type. Nullopt when a value cannot
// be converted (no stored key can equal it). Errors: invalid_statement when
// the number of values is wrong.
Result<std::optional<std::string>> lookup_key(const TableInfo& t,
                                              const std::vector<std::size_t>& positions,
                                              std::span<const Value> values);

class Store {
 public:
  // Resolves a table name as the transaction sees it (its overlay first).
  using Lookup = std::function<Result<TableRef>(const std::string&)>;
  // Every table the transaction sees, for finding who references whom.
  using AllTables = std::function<std::vector<TableRef>()>;

  // `ddl` receives catalog changes (may be null when the caller does no DDL).
  Store(Environment& env, MDB_txn* txn, Lookup lookup, AllTables all, Overlay* ddl)
      : env_(env), txn_(txn), lookup_(std::move(lookup)), all_(std::move(all)), ddl_(ddl) {}

  Result<ExecResponse> insert(const op::Insert& op);
  Result<ExecResponse> update(const op::UpdateByKey& op);
  Result<ExecResponse> erase(const op::DeleteByKey& op);
  Result<ExecResponse> find_pk(const op::FindPkByIndex& op);
  Status push_schema(const Schema& schema);
  Status drop_tables(const std::vector<std::string>& tables);

  // The table or invalid_statement naming it.
  Result<TableRef> require(std::string_view table);

 private:
  Result<std::optional<std::string>> get(MDB_dbi dbi, const std::string& key);
  Result<std::optional<Row>> read_row(const TableInfo& t, const std::string& pk);
  Status check_row(const TableInfo& t, Row& row);
  Status check_parents(const TableInfo& t, const Row& row, const Row* old);
  Status on_parent_change(const TableInfo& parent, const Row& old, const Row* now, int depth);
  Result<std::vector<std::string>> children(const TableInfo& child, const ForeignKeyDef& fk,
                                            const std::vector<std::size_t>& fk_cols,
                                            const Row& values);
  Status write_new(const TableInfo& t, const Row& row);
  Status rewrite(const TableInfo& t, const std::string& old_pk, const Row& old, const Row& now);
  Status remove(const TableInfo& t, const std::string& pk, const Row& row);
  Result<std::int64_t> read_sequence(const std::string& table);
  Status write_sequence(const std::string& table, std::int64_t value);

  Environment& env_;
  MDB_txn* txn_;
  Lookup lookup_;
  AllTables all_;
  Overlay* ddl_;
};

}  // namespace tessera::lmdb::detail
