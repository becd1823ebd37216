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
#include <string_view>
#include <vector>

#include "lmdb_catalog.hpp"
#include "lmdb_codec.hpp"
#include "lmdb_env.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera::lmdb::detail {

// Catalog changes made by a transaction not yet committed: table -> entry,
// null for a table dropped.
using Overlay = std::map<std::string, std::shared_ptr<const TableInfo>, std::less<>>;

using TableRef = std::shared_ptr<const TableInfo>;
using Row = std::vector<Value>;

// The encoded key of `values` for the columns at `positions` of `t`, each
// value first converted to its column's type. Nullopt when a value cannot
// be converted (no stored key can equal it). Errors: invalid_statement when
// the number of values is wrong.
Result<std::optional<std::string>> lookup_key(const TableInfo& t,
                                              const std::vector<std::size_t>& positions,
                                              std::span<const Value> values);
// The same into `out` (cleared first): true with the key, false when a
// value cannot be converted. No string is moved through a Result (a find
// by key spent ~150 instructions on that).
Result<bool> lookup_key(const TableInfo& t, const std::vector<std::size_t>& positions,
                        std::span<const Value> values, std::string& out);

// What the writes of one statement replaced, so that a failed statement
// inside an explicit transaction is undone in place instead of running in a
// nested LMDB transaction of its own (whose begin and commit cost more than
// the statement: a per-DBI array, a dirty-page list, and a copy of every
// page the statement touches). Keys and values live in one buffer: logging a
// write allocates nothing once the buffers have grown.
class UndoLog {
 public:
  void clear() {
    entries_.clear();
    bytes_.clear();
  }
  // `key` of `dbi` held no value before this statement's write.
  void absent(MDB_dbi dbi, std::string_view key) { add(dbi, key, {}, false); }
  // `key` of `dbi` held `value` before this statement's write.
  void had(MDB_dbi dbi, std::string_view key, std::string_view value) {
    add(dbi, key, value, true);
  }
  // Puts back every before-image, the latest write first, and clears the
  // log. 0, or the LMDB error of the first restoring write that failed: the
  // transaction then holds part of the statement and must be rolled back.
  int undo(MDB_txn* txn);

 private:
  struct Entry {
    MDB_dbi dbi;
    bool had;
    std::size_t key, key_size, value_size;  // the value follows the key in bytes_
  };
  void add(MDB_dbi dbi, std::string_view key, std::string_view value, bool had);
  std::vector<Entry> entries_;
  std::string bytes_;
};

// Buffers a Store's row writes reuse (see Store::splice, Store::write_new). Kept by the
// connection, so a statement allocates none once they have grown; one Store
// uses them at a time.
struct StoreScratch {
  std::string old_bytes, bytes, before, after;
  std::vector<Field> fields;
  std::vector<std::string_view> raw;
  std::vector<Value> values;
  std::vector<Value*> now;
  Value null_value;
};

class Store {
 public:
  // Resolves a table name as the transaction sees it (its overlay first).
  using Lookup = std::function<Result<TableRef>(const std::string&)>;
  // Every table the transaction sees, for finding who references whom.
  using AllTables = std::function<std::vector<TableRef>()>;

  // `ddl` receives catalog changes (may be null when the caller does no DDL).
  // `undo`, when not null, records the before-image of every row, index and
  // sequence write (DDL is not recorded: run it in a transaction of its own).
  Store(Environment& env, MDB_txn* txn, Lookup lookup, AllTables all, Overlay* ddl,
        StoreScratch& scratch, UndoLog* undo = nullptr)
      : env_(env),
        txn_(txn),
        lookup_(std::move(lookup)),
        all_(std::move(all)),
        ddl_(ddl),
        undo_(undo),
        scratch_(scratch) {}

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
  // mdb_put and mdb_del for rows, index entries and sequences, recording in
  // undo_ (when set) what the key held: absent after a MDB_NOOVERWRITE put
  // succeeded, else `before` when the caller knows it, else read first.
  int put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags,
          const std::string* before = nullptr);
  int del(MDB_dbi dbi, std::string_view key, const std::string* before = nullptr);
  int save(MDB_dbi dbi, std::string_view key, const std::string* before);
  // The row of `pk`; its stored bytes too when `raw` is not null (the
  // before-image an undo log needs, without reading the row again).
  Result<std::optional<Row>> read_row(const TableInfo& t, const std::string& pk,
                                      std::string* raw = nullptr);
  // read_row, keeping the bytes when this statement logs before-images.
  Result<std::optional<Row>> read_old(const TableInfo& t, const std::string& pk, std::string& raw) {
    return read_row(t, pk, undo_ ? &raw : nullptr);
  }
  // NOT NULL and the column's type for column `c`, converting `v` to it.
  Status check_value(const TableInfo& t, std::size_t c, Value& v);
  Status check_row(const TableInfo& t, Row& row);
  // Whether an update of `cols` may splice(): no column of the primary key
  // or of a foreign key (this table's, or one referencing it) among them.
  bool splices(const TableInfo& t, const std::vector<std::size_t>& cols);
  // Sets `cols` to `values` in the row of `pk` (false: no such row), moving
  // only the index entries whose key changes and copying the unchanged
  // fields' stored bytes into the new row. The same checks, errors and undo
  // records as the general path (read_old, check_row, rewrite).
  Result<bool> splice(const TableInfo& t, const std::string& pk,
                      const std::vector<std::size_t>& cols, std::span<const Value> values);
  Status check_parents(const TableInfo& t, const Row& row, const Row* old);
  Status on_parent_change(const TableInfo& parent, const Row& old, const Row* now, int depth);
  Result<std::vector<std::string>> children(const TableInfo& child, const ForeignKeyDef& fk,
                                            const std::vector<std::size_t>& fk_cols,
                                            const Row& values);
  // Writes `row`, whose encoded primary key is `pk`, and its index entries.
  // `last`: the key is likely above every stored key (try MDB_APPEND).
  // Uses scratch_.bytes and scratch_.after.
  Status write_new(const TableInfo& t, const std::string& pk, const Row& row, bool last = false);
  // `old_bytes`: the stored row, when known (see read_old).
  Status rewrite(const TableInfo& t, const std::string& old_pk, const Row& old, const Row& now,
                 const std::string& old_bytes);
  Status remove(const TableInfo& t, const std::string& pk, const Row& row,
                const std::string& old_bytes);
  Result<std::int64_t> read_sequence(const std::string& table);
  Status write_sequence(const std::string& table, std::int64_t value);

  Environment& env_;
  MDB_txn* txn_;
  Lookup lookup_;
  AllTables all_;
  Overlay* ddl_;
  UndoLog* undo_;
  StoreScratch& scratch_;
};

}  // namespace tessera::lmdb::detail
