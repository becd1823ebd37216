// MysqlConnection: one MariaDB Connector/C session behind the Connection SPI.
#pragma once

#include <mysql.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mysql_rows.hpp"
#include "mysql_statement_cache.hpp"
#include "mysql_values.hpp"
#include "tessera/driver/connection.hpp"
#include "tessera/driver/sql_dispatch.hpp"

namespace tessera::mysql::detail {

enum class SslMode : std::uint8_t { disabled, required, verify_ca, verify_identity };

// What a URL asks for, already validated (see mysql_driver.cpp).
struct OpenOptions {
  std::string host = "localhost";
  unsigned port = 3306;
  std::string socket;  // a unix socket path; used instead of TCP when set
  std::string user;
  std::string password;
  std::string database;
  SslMode ssl_mode = SslMode::disabled;
  std::string ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher;
  unsigned connect_timeout = 10;  // seconds; 0: the library's default
  unsigned read_timeout = 0;      // seconds; 0: none
  unsigned write_timeout = 0;     // seconds; 0: none
  // Use INSERT ... RETURNING where the server has it. Off: generated keys
  // come from mysql_stmt_insert_id() as on MySQL (for tests of that path).
  bool returning = true;
};

// What the server told us at connect.
struct ServerInfo {
  bool mariadb = false;
  unsigned long version = 0;  // major * 10000 + minor * 100 + patch
  int autoinc_lock_mode = 1;
  std::int64_t auto_increment_increment = 1;
  std::uint64_t max_allowed_packet = 16u << 20;
};

class MysqlConnection final : public Connection, private Session {
 public:
  // Connects and configures the session. Errors: unavailable when the
  // server cannot be reached or refuses the login.
  static Result<std::unique_ptr<Connection>> open(const OpenOptions& options);

  ~MysqlConnection() override;

  const Capability& capability() const override { return capability_; }
  Result<ExecResponse> exec(const Operation& op) override;
  // exec(query) without the ExecResponse and with the Rows on the stack.
  Result<std::uint64_t> read(const op::QuerySql& query, RowSink& sink) override;
  Result<std::uint64_t> write(const op::QuerySql& query) override;
  bool is_valid() const override { return !broken_; }
  Status ping() override;
  Status push_schema(const Schema& schema) override;
  Status drop_tables(const std::vector<std::string>& tables) override;

 private:
  struct CloseDb {
    void operator()(MYSQL* db) const { mysql_close(db); }
  };
  // A rendered insert statement for one (shape, batch size).
  struct InsertShape {
    ast::Insert shape;  // row_count = the batch size
    std::string sql;
  };

  explicit MysqlConnection(MYSQL* db);
  Status configure();

  template <class Impl>
  friend Result<ExecResponse> tessera::dispatch_sql(Impl&, const Operation&, std::string_view);
  Result<ExecResponse> exec_query(const op::QuerySql& q);
  Result<ExecResponse> exec_insert(const op::Insert& ins);
  Result<ExecResponse> exec_raw(const op::RawSql& raw);
  Result<ExecResponse> exec_transaction(const op::Transaction& t);

  // Binds and runs a leased statement: streaming rows if it has a result,
  // else the number of rows it changed.
  Result<ExecResponse> run_statement(StatementLease lease, std::span<const Value> params);
  // Leases the statement of `q`, binds its parameters and executes it.
  Result<StatementLease> execute(const op::QuerySql& q);
  // Runs SQL through the text protocol, discarding any result.
  Status run(std::string_view sql);
  // Before any command: fails on a broken connection, and buffers the rest
  // of a streaming result (the protocol allows one at a time).
  Status ready_for_command();

  // How an insert of several statements is made atomic: `single` until
  // insert_batches() finds that one statement will not do.
  enum class InsertScope : std::uint8_t { single, savepoint, transaction };
  // Runs the insert's batches, pulling each batch's rows from its source as
  // it goes. Before the first statement of an insert that takes more than
  // one, opens `scope` (a savepoint inside a transaction, else a
  // transaction), which the caller then ends: released or committed on
  // success, rolled back on any error, the source's included.
  Result<ExecResponse> insert_batches(const op::Insert& ins, InsertScope& scope);
  Result<StatementLease> insert_statement(const ast::Insert& shape, std::size_t rows);
  // Rows per multi-row INSERT of `columns` columns: kInsertBatchRows, or
  // fewer where the bind limit says so (before the packet limit).
  std::size_t rows_per_batch(std::size_t columns) const;
  bool in_transaction() const;

  // Session.
  Error statement_failed(MYSQL_STMT* stmt, std::string_view sql) override;
  void stream_finished(MysqlRows* rows) noexcept override;
  // The connection's last error, mapped.
  Error connection_failed(std::string_view sql);
  // Marks the connection broken for connection errors; inside a
  // transaction the outcome is unknown.
  Error classify(Error e);

  std::unique_ptr<MYSQL, CloseDb> db_;
  ServerInfo server_;
  Capability capability_;
  bool broken_ = false;
  bool tx_open_ = false;
  MysqlRows* streaming_ = nullptr;  // Rows holding the unread result, if any
  std::unordered_map<std::uint64_t, InsertShape> insert_shapes_;
  // Declared after db_: closed before the handle.
  StatementCache queries_;  // keyed by QuerySql::cache_key
  StatementCache inserts_;  // keyed by a hash of the insert shape and batch size
  StatementCache texts_;    // raw SQL, keyed by a hash of its text
};

}  // namespace tessera::mysql::detail
