#include "mysql_connection.hpp"
#include "tessera/driver/sql_dispatch.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/sql/serializer.hpp"
#include "mysql_errors.hpp"

namespace tessera::mysql::detail {
namespace {

constexpr std::size_t kStatementCacheSize = 256;
// Distinct (insert shape, batch size) pairs remembered; past it the map
// starts over (their statements age out of the LRU).
constexpr std::size_t kInsertShapeLimit = 256;
// The protocol counts parameters in 16 bits.
constexpr std::uint32_t kMaxBindParams = 65535;
// Rows per multi-row INSERT (fewer where the bind limit says so). Measured
// at 100,000 rows of 4 columns, 3 runs each (median per row): 500-row
// statements took 6.0 us of server CPU, 0.74 us of client CPU and 11.5 us
// of wall time, against 7.2, 1.08 and 15.9 us for the 16,383 rows the
// bind limit allows; 1,000 rows: 6.5, 0.77 and 15.0 us. Huge statements
// cost more per row on both sides (the client's bind array of 65,532
// parameters alone is 7 MiB), and the round trips saved are few.
constexpr std::size_t kInsertBatchRows = 500;
constexpr std::string_view kInsertSavepoint = "`tessera_insert_batches`";

// Every session: UTC, utf8mb4 compared by code point, and a strict
// sql_mode so that a value the column cannot hold is an error, never a
// silent truncation or a zero date. NO_BACKSLASH_ESCAPES stays off: the
// serializer's LIKE ... ESCAPE '\\' relies on backslash escapes.
constexpr std::string_view kSessionSetup =
    "SET time_zone = '+00:00', collation_connection = 'utf8mb4_bin', "
    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION', autocommit = 1, foreign_key_checks = 1";
constexpr std::string_view kServerQuery =
    "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment, @@max_allowed_packet";

// Runs `body`, turning any exception into an Error: nothing escapes the SPI.
template <class F>
auto guarded(F&& body) -> decltype(body()) {
  return catch_all(kDriverName, std::forward<F>(body));
}

Error from_serializer(Error e) {
  if (e.driver.empty()) e.driver = std::string(kDriverName);
  return e;
}

std::uint64_t text_key(std::string_view sql) {
  const std::uint64_t h = std::hash<std::string_view>{}(sql);
  return h == 0 ? 1 : h;
}

void mix(std::uint64_t& h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
}
void mix(std::uint64_t& h, const std::string& s) { mix(h, std::hash<std::string>{}(s)); }
void mix(std::uint64_t& h, const std::vector<std::string>& v) {
  mix(h, v.size());
  for (const auto& s : v) mix(h, s);
}

std::uint64_t shape_key(const ast::Insert& s, std::size_t rows) {
  std::uint64_t h = rows;
  mix(h, s.table);
  mix(h, s.columns);
  mix(h, static_cast<std::uint64_t>(s.on_conflict.action));
  mix(h, s.on_conflict.target);
  mix(h, s.on_conflict.update_columns);
  mix(h, s.returning);
  return h == 0 ? 1 : h;
}

bool same_shape(const ast::Insert& a, const ast::Insert& b) {
  return a.table == b.table && a.columns == b.columns && a.on_conflict == b.on_conflict &&
         a.returning == b.returning;
}

// Bytes a value takes in COM_STMT_EXECUTE, roughly (type, length prefix).
std::size_t wire_size(const Value& v) {
  switch (v.type()) {
    case ValueType::text: return v.as_text().size() + 11;
    case ValueType::bytes: return v.as_bytes().size() + 11;
    case ValueType::timestamp: return 14;
    default: return 10;
  }
}

// How many leading rows of `values` (`rows` rows of `columns` values) fit a
// statement of `budget` bytes; at least one: a row bigger than the budget
// goes alone, for the server to refuse if it must.
std::size_t fitting_rows(std::span<const Value> values, std::size_t rows, std::size_t columns,
                         std::size_t budget) {
  std::size_t bytes = 0, r = 0;
  const Value* v = values.data();
  for (const Value* row_end = v + columns; r < rows; ++r, row_end += columns) {
    for (; v != row_end; ++v) bytes += wire_size(*v);
    if (bytes > budget) return std::max<std::size_t>(r, 1);
  }
  return rows;
}

Capability make_capability(const ServerInfo& server, bool allow_returning) {
  Capability c;
  c.sql = SqlDialect::mysql;
  // MariaDB 10.5 added INSERT ... RETURNING; MySQL has none.
  c.returning = allow_returning && server.mariadb && server.version >= 100500;
  c.upsert = true;          // ON DUPLICATE KEY UPDATE
  c.upsert_target = false;  // it fires on any unique key; no target can be named
  c.savepoints = true;
  c.isolation_levels = 0b11111;  // InnoDB implements all four
  c.read_only_transactions = true;
  c.max_bind_params = kMaxBindParams;
  c.max_insert_rows = 0;
  c.insert_row_source = true;  // pulled a batch at a time (insert_batches)
  // FLOAT/DOUBLE columns refuse NaN and the infinities.
  c.stores_nan = false;
  c.stores_infinity = false;
  // U+0000 is a character like any other in utf8mb4, and the binary protocol
  // sends strings with their length.
  c.text_embedded_nul = true;
  c.raw_sql = true;
  c.transactional_ddl = false;  // DDL commits the open transaction
  c.for_update = true;
  c.concurrent_connections = true;
  return c;
}

}  // namespace

MysqlConnection::MysqlConnection(MYSQL* db)
    : db_(db),
      queries_(db, kStatementCacheSize, false),
      inserts_(db, kStatementCacheSize, true),
      texts_(db, kStatementCacheSize, true) {}

MysqlConnection::~MysqlConnection() {
  // Rows must not outlive their connection (rows.hpp); should one still
  // stream, the statement caches below close its statement regardless.
  streaming_ = nullptr;
}

Result<std::unique_ptr<Connection>> MysqlConnection::open(const OpenOptions& o) {
  return guarded([&]() -> Result<std::unique_ptr<Connection>> {
    MYSQL* raw = mysql_init(nullptr);
    if (raw == nullptr) return driver_error(ErrorKind::internal, "mysql_init: out of memory");
    std::unique_ptr<MYSQL, CloseDb> db(raw);
    mysql_optionsv(raw, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    my_bool on = 1, off = 0;
    mysql_optionsv(raw, MYSQL_REPORT_DATA_TRUNCATION, &on);
    mysql_optionsv(raw, MYSQL_OPT_RECONNECT, &off);  // a silent reconnect would lose the session
    mysql_optionsv(raw, MYSQL_OPT_LOCAL_INFILE, &off);
    if (o.connect_timeout) mysql_optionsv(raw, MYSQL_OPT_CONNECT_TIMEOUT, &o.connect_timeout);
    if (o.read_timeout) mysql_optionsv(raw, MYSQL_OPT_READ_TIMEOUT, &o.read_timeout);
    if (o.write_timeout) mysql_optionsv(raw, MYSQL_OPT_WRITE_TIMEOUT, &o.write_timeout);
    auto set_text = [&](mysql_option opt, const std::string& v) {
      if (!v.empty()) mysql_optionsv(raw, opt, v.c_str());
    };
    set_text(MYSQL_OPT_SSL_CA, o.ssl_ca);
    set_text(MYSQL_OPT_SSL_CAPATH, o.ssl_capath);
    set_text(MYSQL_OPT_SSL_CERT, o.ssl_cert);
    set_text(MYSQL_OPT_SSL_KEY, o.ssl_key);
    set_text(MYSQL_OPT_SSL_CIPHER, o.ssl_cipher);
    if (o.ssl_mode != SslMode::disabled) {
      mysql_optionsv(raw, MYSQL_OPT_SSL_ENFORCE, &on);
      // Connector/C checks the chain and the host name together.
      my_bool verify = o.ssl_mode != SslMode::required;
      mysql_optionsv(raw, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    const bool via_socket = !o.socket.empty();
    if (mysql_real_connect(raw, via_socket ? "localhost" : o.host.c_str(), o.user.c_str(),
                           o.password.c_str(), o.database.empty() ? nullptr : o.database.c_str(),
                           o.port, via_socket ? o.socket.c_str() : nullptr,
                           CLIENT_FOUND_ROWS) == nullptr) {
      Error e = make_error(mysql_errno(raw), mysql_sqlstate(raw), mysql_error(raw), {});
      // Nothing was established: whatever broke, the server is unavailable.
      if (e.kind == ErrorKind::connection_lost || e.kind == ErrorKind::internal)
        e.kind = ErrorKind::unavailable;
      return e;
    }
    std::unique_ptr<MysqlConnection> c(new MysqlConnection(db.release()));
    if (Status s = c->configure(); !s) return std::move(s).error();
    c->capability_ = make_capability(c->server_, o.returning);
    return std::unique_ptr<Connection>(std::move(c));
  });
}

Status MysqlConnection::configure() {
  MYSQL* db = db_.get();
  server_.mariadb =
      std::string_view(mysql_get_server_info(db)).find("MariaDB") != std::string_view::npos;
  server_.version = mysql_get_server_version(db);
  if (Status s = run(kSessionSetup); !s) return s;
  if (mysql_real_query(db, kServerQuery.data(), kServerQuery.size()) != 0)
    return connection_failed(kServerQuery);
  MYSQL_RES* res = mysql_store_result(db);
  if (res == nullptr) return connection_failed(kServerQuery);
  if (MYSQL_ROW row = mysql_fetch_row(res); row != nullptr) {
    auto number = [](const char* text, auto& out) {
      if (text != nullptr) std::from_chars(text, text + std::strlen(text), out);
    };
    number(row[0], server_.autoinc_lock_mode);
    number(row[1], server_.auto_increment_increment);
    number(row[2], server_.max_allowed_packet);
  }
  mysql_free_result(res);
  return {};
}

bool MysqlConnection::in_transaction() const {
  return tx_open_ || (db_->server_status & SERVER_STATUS_IN_TRANS) != 0;
}

Error MysqlConnection::classify(Error e) {
  if (e.kind == ErrorKind::connection_lost ||
      is_connection_lost(static_cast<unsigned>(e.native_code))) {
    const bool in_tx = in_transaction();
    broken_ = true;
    tx_open_ = false;
    e.kind = in_tx ? ErrorKind::transaction_outcome_unknown : ErrorKind::connection_lost;
  }
  return e;
}

Error MysqlConnection::connection_failed(std::string_view sql) {
  MYSQL* db = db_.get();
  return classify(make_error(mysql_errno(db), mysql_sqlstate(db), mysql_error(db), sql));
}

Error MysqlConnection::statement_failed(MYSQL_STMT* stmt, std::string_view sql) {
  // An error packet that arrives while rows are read (INSERT ... RETURNING
  // fails after sending its metadata) is recorded on the connection only.
  if (mysql_stmt_errno(stmt) == 0) return connection_failed(sql);
  return classify(
      make_error(mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt), mysql_stmt_error(stmt), sql));
}

void MysqlConnection::stream_finished(MysqlRows* rows) noexcept {
  if (streaming_ == rows) streaming_ = nullptr;
}

Status MysqlConnection::ready_for_command() {
  if (broken_)
    return driver_error(ErrorKind::connection_lost, "the connection is broken; open a new one");
  if (streaming_ != nullptr) {
    MysqlRows* rows = streaming_;
    streaming_ = nullptr;
    if (Status s = rows->buffer_rest(); !s) return s;
  }
  return {};
}

Status MysqlConnection::run(std::string_view sql) {
  if (Status s = ready_for_command(); !s) return s;
  MYSQL* db = db_.get();
  if (mysql_real_query(db, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
    return connection_failed(sql);
  if (mysql_field_count(db) > 0) {
    MYSQL_RES* res = mysql_store_result(db);
    if (res == nullptr) return connection_failed(sql);
    mysql_free_result(res);
  }
  return {};
}

Result<ExecResponse> MysqlConnection::exec(const Operation& op) {
  return dispatch_sql(*this, op, kDriverName);
}

Result<ExecResponse> MysqlConnection::run_statement(StatementLease lease,
                                                    std::span<const Value> params) {
  MYSQL_STMT* stmt = lease.get();
  if (Status s = lease.params().bind(stmt, params); !s) {
    Error e = std::move(s).error();
    e.statement = lease.sql();
    return e;
  }
  if (mysql_stmt_execute(stmt) != 0) return statement_failed(stmt, lease.sql());
  ExecResponse response;
  if (mysql_stmt_field_count(stmt) > 0) {
    auto rows = MysqlRows::open(std::move(lease), this);
    if (!rows) return std::move(rows).error();
    streaming_ = rows->get();
    response.rows = std::move(*rows);
    return response;
  }
  response.affected = mysql_stmt_affected_rows(stmt);
  return response;
}

Result<ExecResponse> MysqlConnection::exec_query(const op::QuerySql& q) {
  if (Status s = ready_for_command(); !s) return std::move(s).error();
  auto lease = queries_.acquire(q.cache_key, q.sql);
  if (!lease) return classify(std::move(lease).error());
  // q.reads_all is not used: mysql_stmt_store_result measured no faster
  // than streaming, for one row (find) or 100,000 (fetch_all), in client
  // instructions or wall time, and holds the whole result twice (README.md).
  return run_statement(std::move(*lease), q.params);
}

Result<StatementLease> MysqlConnection::execute(const op::QuerySql& q) {
  if (Status s = ready_for_command(); !s) return std::move(s).error();
  auto lease = queries_.acquire(q.cache_key, q.sql);
  if (!lease) return classify(std::move(lease).error());
  MYSQL_STMT* stmt = lease->get();
  if (Status s = lease->params().bind(stmt, q.params); !s) {
    Error e = std::move(s).error();
    e.statement = lease->sql();
    return e;
  }
  if (mysql_stmt_execute(stmt) != 0) return statement_failed(stmt, lease->sql());
  return lease;
}

Result<std::uint64_t> MysqlConnection::read(const op::QuerySql& q, RowSink& sink) {
  return guarded([&]() -> Result<std::uint64_t> {
    auto lease = execute(q);
    if (!lease) return std::move(lease).error();
    if (mysql_stmt_field_count(lease->get()) == 0) return std::uint64_t{0};
    MysqlRows rows(std::move(*lease), this);
    if (Status s = rows.start(); !s) return std::move(s).error();
    // Registered as the open result, as run_statement's Rows: should the
    // sink run another statement here, the rest is buffered first.
    streaming_ = &rows;
    return feed(&rows, sink);
  });
}

Result<std::uint64_t> MysqlConnection::write(const op::QuerySql& q) {
  return guarded([&]() -> Result<std::uint64_t> {
    auto lease = execute(q);
    if (!lease) return std::move(lease).error();
    // Rows, if any, are dropped with the lease (as the default write()).
    if (mysql_stmt_field_count(lease->get()) > 0) return std::uint64_t{0};
    return static_cast<std::uint64_t>(mysql_stmt_affected_rows(lease->get()));
  });
}

Result<ExecResponse> MysqlConnection::exec_raw(const op::RawSql& raw) {
  if (Status s = ready_for_command(); !s) return std::move(s).error();
  auto lease = texts_.acquire(text_key(raw.sql), raw.sql);
  if (!lease) return classify(std::move(lease).error());
  return run_statement(std::move(*lease), raw.params);
}

Result<StatementLease> MysqlConnection::insert_statement(const ast::Insert& shape,
                                                         std::size_t rows) {
  const std::uint64_t key = shape_key(shape, rows);
  auto it = insert_shapes_.find(key);
  if (it == insert_shapes_.end() || it->second.shape.row_count != rows ||
      !same_shape(it->second.shape, shape)) {
    if (it == insert_shapes_.end() && insert_shapes_.size() >= kInsertShapeLimit)
      insert_shapes_.clear();
    ast::Insert batch = shape;
    batch.row_count = rows;
    auto sql = tessera::sql::render(batch, SqlDialect::mysql);
    if (!sql) return from_serializer(std::move(sql).error());
    it = insert_shapes_.insert_or_assign(key, InsertShape{std::move(batch), std::move(*sql)}).first;
  }
  auto lease = inserts_.acquire(key, it->second.sql);
  if (!lease) return classify(std::move(lease).error());
  return lease;
}

std::size_t MysqlConnection::rows_per_batch(std::size_t columns) const {
  if (columns == 0) return 1;
  return std::clamp<std::size_t>(capability_.max_bind_params / columns, 1, kInsertBatchRows);
}

Result<ExecResponse> MysqlConnection::exec_insert(const op::Insert& ins) {
  if (Status s = check_insert(ins, kDriverName); !s) return std::move(s).error();
  if (Status s = ready_for_command(); !s) return std::move(s).error();
  InsertScope scope = InsertScope::single;
  auto result = insert_batches(ins, scope);
  // Several statements are one insert: all of them or none, whichever
  // failed, a statement or the row source between two of them.
  if (scope == InsertScope::savepoint && !broken_) {
    if (!result) (void)run("ROLLBACK TO SAVEPOINT " + std::string(kInsertSavepoint));
    Status released = run("RELEASE SAVEPOINT " + std::string(kInsertSavepoint));
    if (result && !released) return std::move(released).error();
  } else if (scope == InsertScope::transaction && !broken_) {
    Status end = run(result ? "COMMIT" : "ROLLBACK");
    if (result && !end) return std::move(end).error();
  }
  return result;
}

Result<ExecResponse> MysqlConnection::insert_batches(const op::Insert& ins, InsertScope& scope) {
  const ast::Insert& shape = *ins.statement;
  const std::size_t columns = shape.columns.size();
  const std::size_t total = shape.row_count;
  const std::size_t per_batch = rows_per_batch(columns);
  // A statement must fit in max_allowed_packet; keep a margin for the
  // packet header and the SQL-independent parts.
  const std::size_t budget = server_.max_allowed_packet / 4 * 3;
  const bool upsert = shape.on_conflict.action != ast::OnConflict::Action::error;
  ExecResponse response;
  std::unique_ptr<MysqlRows> returned;
  bool ids_known = !upsert && shape.returning.empty();
  // The rows pulled last, [chunk_first, chunk_first + chunk_rows): at most
  // a batch, pulled whole because the statement points at its texts and
  // blobs, which stay valid until the next pull.
  std::span<const Value> chunk;
  std::size_t chunk_first = 0, chunk_rows = 0;
  for (std::size_t start = 0; start < total;) {
    if (start == chunk_first + chunk_rows) {
      chunk_rows = std::min(per_batch, total - start);
      auto pulled = insert_values(ins, start, chunk_rows, kDriverName);
      if (!pulled) return std::move(pulled).error();
      chunk = *pulled;
      chunk_first = start;
    }
    const std::size_t offset = start - chunk_first;
    const std::span<const Value> rest = chunk.subspan(offset * columns);
    std::size_t rows = fitting_rows(rest, chunk_rows - offset, columns, budget);
    // A chunk the packet limit cuts goes in batches of a power of two of
    // rows: a few statement shapes (at most 9 below 500), not one per count.
    if (offset != 0 || rows < chunk_rows) rows = std::bit_floor(rows);
    if (start == 0 && rows < total) {
      const bool nested = in_transaction();
      Status s =
          nested ? run("SAVEPOINT " + std::string(kInsertSavepoint)) : run("START TRANSACTION");
      if (!s) return std::move(s).error();
      scope = nested ? InsertScope::savepoint : InsertScope::transaction;
    }
    auto lease = insert_statement(shape, rows);
    if (!lease) return std::move(lease).error();
    auto r = run_statement(std::move(*lease), rest.first(rows * columns));
    if (!r) return std::move(r).error();
    if (r->rows) {
      // RETURNING: read this batch's rows now, the next batch needs the
      // connection.
      std::unique_ptr<MysqlRows> batch(static_cast<MysqlRows*>(r->rows.release()));
      if (Status s = batch->buffer_rest(); !s) return std::move(s).error();
      response.affected += batch->buffered_rows();
      if (!returned)
        returned = std::move(batch);
      else
        returned->append(*batch);
    } else {
      // ON DUPLICATE KEY UPDATE counts 2 for a row it updated (and, with
      // CLIENT_FOUND_ROWS, 1 for a row left as it was): every row of the
      // batch was inserted or updated, which is what the SPI reports.
      response.affected += upsert ? std::min<std::uint64_t>(r->affected, rows) : r->affected;
      // A simple multi-row INSERT reserves its auto-increment values in one
      // block (see README.md), so they are the first id and its successors.
      // The connection's insert id is the statement's (mysql_stmt_insert_id
      // copies it), and stays readable after the lease went back.
      const std::int64_t first = static_cast<std::int64_t>(mysql_insert_id(db_.get()));
      if (ids_known && first != 0 && r->affected == rows) {
        for (std::size_t i = 0; i < rows; ++i)
          response.generated_ids.push_back(first + static_cast<std::int64_t>(i) *
                                                       server_.auto_increment_increment);
      } else {
        ids_known = false;
      }
    }
    start += rows;
  }
  if (!ids_known) response.generated_ids.clear();
  if (returned) response.rows = std::move(returned);
  return response;
}

Result<ExecResponse> MysqlConnection::exec_transaction(const op::Transaction& t) {
  using Kind = op::Transaction::Kind;
  auto statements = tessera::sql::render_transaction(t, SqlDialect::mysql);
  if (!statements) return from_serializer(std::move(statements).error());
  Status status;
  for (const auto& s : *statements)
    if (!(status = run(s))) break;
  if (t.kind == Kind::start && status) tx_open_ = true;
  if (t.kind == Kind::commit || t.kind == Kind::rollback) tx_open_ = false;
  if (!status) return std::move(status).error();
  return ExecResponse{};
}

Status MysqlConnection::ping() {
  return guarded([&]() -> Status {
    if (Status s = ready_for_command(); !s) return s;
    if (mysql_ping(db_.get()) != 0) return connection_failed("ping");
    return {};
  });
}

Status MysqlConnection::push_schema(const Schema& schema) {
  // MySQL commits before and after each DDL statement, so tables created
  // before a failure stay (Capability::transactional_ddl is false).
  return guarded([&]() -> Status {
    for (const auto& table : schema.tables) {
      auto statements = tessera::sql::render_create_table(table, SqlDialect::mysql);
      if (!statements) return from_serializer(std::move(statements).error());
      for (const auto& s : *statements)
        if (Status st = run(s); !st) return st;
    }
    return {};
  });
}

Status MysqlConnection::drop_tables(const std::vector<std::string>& tables) {
  return guarded([&]() -> Status {
    // Tables referenced by others' foreign keys drop in any order.
    if (Status s = run("SET foreign_key_checks = 0"); !s) return s;
    Status status;
    for (const auto& t : tables) {
      status = run(tessera::sql::render_drop_table(t, SqlDialect::mysql));
      if (!status) break;
    }
    Status on = run("SET foreign_key_checks = 1");
    return status ? on : status;
  });
}

}  // namespace tessera::mysql::detail
