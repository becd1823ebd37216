// SqliteConnection: one sqlite3 handle behind the Connection SPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sqlite_statement_cache.hpp"
#include "tessera/driver/connection.hpp"
#include "tessera/driver/sql_dispatch.hpp"

struct sqlite3;

namespace tessera::sqlite::detail {

// What a URL asks for, already validated (see sqlite_driver.cpp).
struct OpenOptions {
  std::string path;  // a file path, or ":memory:"
  bool memory = false;
  bool read_only = false;
  bool create = true;
  int busy_timeout_ms = 5000;
  std::string synchronous = "NORMAL";
};

class SqliteConnection final : public Connection {
 public:
  // Opens and configures a connection. Errors: storage when the file cannot
  // be opened or configured.
  static Result<std::unique_ptr<Connection>> open(const OpenOptions& options);

  ~SqliteConnection() override;

  const Capability& capability() const override { return capability_; }
  Result<ExecResponse> exec(const Operation& op) override;
  // The rows on the stack: one statement lease, no Rows allocated.
  Result<std::uint64_t> read(const op::QuerySql& query, RowSink& sink) override;
  Result<std::uint64_t> write(const op::QuerySql& query) override;
  bool is_valid() const override { return !broken_; }
  Status ping() override;
  Status push_schema(const Schema& schema) override;
  Status drop_tables(const std::vector<std::string>& tables) override;

 private:
  struct CloseDb {
    void operator()(sqlite3* db) const;
  };
  // A rendered one-row insert statement for a shape, with its RETURNING or
  // without (ids_only: the key comes from sqlite3_last_insert_rowid).
  struct InsertKey {
    const ast::Insert* shape;
    bool ids_only;
    bool operator==(const InsertKey&) const = default;
  };
  struct InsertKeyHash {
    std::size_t operator()(const InsertKey& k) const;
  };
  struct InsertShape {
    ast::Insert shape;  // a copy, to detect a reused address
    std::string sql;
    std::uint64_t id;
  };

  SqliteConnection(sqlite3* db, const OpenOptions& options);
  Status configure(const OpenOptions& options);

  template <class Impl>
  friend Result<ExecResponse> tessera::dispatch_sql(Impl&, const Operation&, std::string_view);
  Result<ExecResponse> exec_query(const op::QuerySql& q);
  Result<ExecResponse> exec_insert(const op::Insert& ins);
  Result<ExecResponse> exec_raw(const op::RawSql& raw);
  Result<ExecResponse> exec_transaction(const op::Transaction& t);

  // Binds and runs a leased statement: streaming rows if it yields columns,
  // else the number of rows it changed.
  Result<ExecResponse> run_statement(StatementLease&& lease, std::span<const Value> params);
  // Runs SQL without parameters to completion, ignoring any rows; `cache`
  // keeps the prepared statement for the next time.
  Status run(std::string_view sql, bool cache = true);
  // Inserts the rows one statement each (the caller wraps several in a
  // savepoint).
  Result<ExecResponse> insert_rows(const op::Insert& ins);
  Result<StatementLease> insert_statement(const ast::Insert& shape, bool ids_only);
  // Whether `column` of `table` is the rowid (the only primary-key column of
  // a rowid table, declared INTEGER), so that sqlite3_last_insert_rowid is
  // its generated value. Cached per connection until the schema changes.
  bool is_rowid_alias(const std::string& table, const std::string& column);
  // Ends PRAGMA query_only once a read-only transaction is over.
  Status finish_read_only();
  [[gnu::cold]] Error fail(int rc, std::string_view sql);
  // read() and write()'s statement when it is not the one used last
  // (StatementCache::acquire_front): from the cache or newly prepared.
  [[gnu::noinline]] Status acquire_query(const op::QuerySql& q, StatementLease& lease);

  std::unique_ptr<sqlite3, CloseDb> db_;
  Capability capability_;
  bool broken_ = false;
  bool read_only_tx_ = false;
  std::uint64_t next_insert_id_ = 1;
  std::unordered_map<InsertKey, InsertShape, InsertKeyHash> insert_shapes_;
  std::unordered_map<std::string, bool> rowid_aliases_;  // key: table, NUL, column
  // Declared after db_: finalized before the handle closes.
  StatementCache queries_;  // keyed by QuerySql::cache_key
  StatementCache inserts_;  // keyed by InsertShape::id
  StatementCache texts_;    // raw SQL and the driver's own, keyed by text hash
};

}  // namespace tessera::sqlite::detail
