#include "sqlite_connection.hpp"
#include "tessera/driver/sql_dispatch.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/sql/serializer.hpp"
#include "sqlite_errors.hpp"
#include "sqlite_rows.hpp"
#include "sqlite_values.hpp"

namespace tessera::sqlite::detail {
namespace {

constexpr std::size_t kStatementCacheSize = 256;
// One row per INSERT, prepared once and stepped per row: without round trips
// there is nothing for a multi-row VALUES list to save, while SQLite compiles
// one in time quadratic in its rows and RETURNING costs more per row than
// sqlite3_last_insert_rowid (see docs/performance.md).
constexpr std::uint32_t kMaxInsertRows = 1;
// Distinct insert shapes remembered; past it the map starts over (their
// statements age out of the LRU).
constexpr std::size_t kInsertShapeLimit = 256;
constexpr std::string_view kSchemaSavepoint = "\"tessera_push_schema\"";
constexpr std::string_view kInsertSavepoint = "\"tessera_insert_batches\"";

// Runs `body`, turning any exception into an Error: nothing escapes the SPI.
template <class F>
auto guarded(F&& body) -> decltype(body()) {
  return catch_all(kDriverName, std::forward<F>(body));
}

// The rows the statement just run changed, given sqlite3_total_changes64
// before it: sqlite3_changes64 keeps the count of the last INSERT, UPDATE or
// DELETE, so a statement that changed nothing (DDL) must not report it.
std::uint64_t changed_since(sqlite3* db, std::int64_t total_before) {
  if (sqlite3_total_changes64(db) == total_before) return 0;
  return static_cast<std::uint64_t>(sqlite3_changes64(db));
}

Error from_serializer(Error e) {
  if (e.driver.empty()) e.driver = std::string(kDriverName);
  return e;
}

bool same_shape(const ast::Insert& a, const ast::Insert& b) {
  return a.table == b.table && a.columns == b.columns && a.on_conflict == b.on_conflict &&
         a.returning == b.returning;
}

std::uint64_t text_key(std::string_view sql) {
  const std::uint64_t h = std::hash<std::string_view>{}(sql);
  return h == 0 ? 1 : h;
}

Capability make_capability(sqlite3* db, bool memory) {
  Capability c;
  c.sql = SqlDialect::sqlite;
  c.returning = true;
  c.upsert = true;
  c.upsert_target = true;
  c.savepoints = true;
  // SQLite transactions are serializable, which honours any requested level.
  c.isolation_levels = 0b11111;
  c.read_only_transactions = true;
  c.max_bind_params =
      static_cast<std::uint32_t>(sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
  c.max_insert_rows = kMaxInsertRows;
  c.insert_row_source = true;
  c.row_at_a_time_writes = true;
  c.stores_nan = false;  // SQLite stores NaN as NULL
  c.stores_infinity = true;
  c.text_embedded_nul = true;
  c.raw_sql = true;
  c.transactional_ddl = true;
  c.for_update = false;
  c.concurrent_connections = !memory;
  return c;
}

}  // namespace

void SqliteConnection::CloseDb::operator()(sqlite3* db) const {
  // _v2: should a statement outlive us by mistake, the handle closes when it
  // is finalized instead of failing with SQLITE_BUSY.
  sqlite3_close_v2(db);
}

std::size_t SqliteConnection::InsertKeyHash::operator()(const InsertKey& k) const {
  return std::hash<const void*>{}(k.shape) ^ (k.ids_only ? 0x9e3779b97f4a7c15ull : 0);
}

SqliteConnection::SqliteConnection(sqlite3* db, const OpenOptions& options)
    : db_(db),
      capability_(make_capability(db, options.memory)),
      queries_(db, kStatementCacheSize, false),
      inserts_(db, kStatementCacheSize, false),
      texts_(db, kStatementCacheSize, true) {}

SqliteConnection::~SqliteConnection() = default;

Result<std::unique_ptr<Connection>> SqliteConnection::open(const OpenOptions& options) {
  return guarded([&]() -> Result<std::unique_ptr<Connection>> {
    // NOMUTEX: a connection is used by one thread at a time.
    int flags = SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    if (options.read_only)
      flags |= SQLITE_OPEN_READONLY;
    else
      flags |= SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags, nullptr);
    if (rc != SQLITE_OK) {
      Error e = make_error(raw, rc, {});
      e.message += " (" + options.path + ")";
      sqlite3_close_v2(raw);
      return e;
    }
    sqlite3_extended_result_codes(raw, 1);
    std::unique_ptr<SqliteConnection> c(new SqliteConnection(raw, options));
    if (Status s = c->configure(options); !s) {
      Error e = std::move(s).error();
      e.message += " (" + options.path + ")";
      return e;
    }
    return std::unique_ptr<Connection>(std::move(c));
  });
}

Status SqliteConnection::configure(const OpenOptions& options) {
  sqlite3_busy_timeout(db_.get(), options.busy_timeout_ms);
  std::vector<std::string> pragmas;
  if (!options.memory && !options.read_only) pragmas.emplace_back("PRAGMA journal_mode=WAL");
  pragmas.push_back("PRAGMA synchronous=" + options.synchronous);
  pragmas.emplace_back("PRAGMA foreign_keys=ON");
  // LIKE is case-sensitive on every Tessera driver.
  pragmas.emplace_back("PRAGMA case_sensitive_like=ON");
  for (const auto& p : pragmas)
    if (Status s = run(p, false); !s) return s;
  return {};
}

Error SqliteConnection::fail(int rc, std::string_view sql) {
  if (is_fatal(rc)) broken_ = true;
  Error e = make_error(db_.get(), rc, sql);
  // A write in a read-only transaction is a mistake in the code, not a
  // storage problem.
  if (read_only_tx_ && (rc & 0xff) == SQLITE_READONLY) {
    e.kind = ErrorKind::invalid_statement;
    e.message += " (in a read-only transaction)";
  }
  return e;
}

Status SqliteConnection::run(std::string_view sql, bool cache) {
  auto lease = texts_.acquire(cache ? text_key(sql) : 0, sql);
  if (!lease) return std::move(lease).error();
  sqlite3_stmt* stmt = lease->get();
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return fail(rc, sql);
  return {};
}

Result<ExecResponse> SqliteConnection::exec(const Operation& op) {
  return dispatch_sql(*this, op, kDriverName);
}

Status SqliteConnection::acquire_query(const op::QuerySql& q, StatementLease& lease) {
  auto acquired = queries_.acquire(q.cache_key, q.sql);
  if (!acquired) return std::move(acquired).error();
  lease = std::move(*acquired);
  return {};
}

// read() and write() run a cached statement per call (find, update by key):
// the failure branches are marked unlikely, so the code that runs stays on
// few instruction-cache lines (see Engine::run_plan).
Result<std::uint64_t> SqliteConnection::read(const op::QuerySql& q, RowSink& sink) {
  return catch_all(kDriverName, [&]() -> Result<std::uint64_t> {
    StatementLease lease = queries_.acquire_front(q.cache_key);
    if (!lease.get()) [[unlikely]] {
      if (Status s = acquire_query(q, lease); !s) return std::move(s).error();
    }
    sqlite3_stmt* stmt = lease.get();
    if (Status s = bind_params(stmt, q.params); !s) [[unlikely]]
      return std::move(s).error();
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) [[unlikely]] {
      if (rc == SQLITE_DONE) return std::uint64_t{0};  // the lease resets the statement
      return fail(rc, sqlite3_sql(stmt));
    }
    StreamingRows rows(std::move(lease), /*first_row_ready=*/true, &broken_);
    rows.take_ready_row();
    if (!sink.row(rows)) return std::uint64_t{1};  // a find's one row
    Result<std::uint64_t> more = feed(&rows, sink);
    if (!more.ok()) [[unlikely]]
      return std::move(more).error();
    return 1 + *more;
  });
}

Result<std::uint64_t> SqliteConnection::write(const op::QuerySql& q) {
  return catch_all(kDriverName, [&]() -> Result<std::uint64_t> {
    StatementLease lease = queries_.acquire_front(q.cache_key);
    if (!lease.get()) [[unlikely]] {
      if (Status s = acquire_query(q, lease); !s) return std::move(s).error();
    }
    sqlite3* db = db_.get();
    sqlite3_stmt* stmt = lease.get();
    if (Status s = bind_params(stmt, q.params); !s) [[unlikely]]
      return std::move(s).error();
    const std::int64_t changes_before = sqlite3_total_changes64(db);
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);  // rows, if any, are dropped
    if (rc != SQLITE_DONE) [[unlikely]]
      return fail(rc, sqlite3_sql(stmt));
    return changed_since(db, changes_before);
  });
}

Result<ExecResponse> SqliteConnection::run_statement(StatementLease&& lease,
                                                     std::span<const Value> params) {
  sqlite3* db = db_.get();
  sqlite3_stmt* stmt = lease.get();
  if (Status s = bind_params(stmt, params); !s) return std::move(s).error();
  const std::int64_t changes_before = sqlite3_total_changes64(db);
  const int rc = sqlite3_step(stmt);
  ExecResponse response;
  if (rc == SQLITE_ROW || (rc == SQLITE_DONE && sqlite3_column_count(stmt) > 0)) {
    response.rows = std::make_unique<StreamingRows>(std::move(lease), rc == SQLITE_ROW, &broken_);
    return response;
  }
  if (rc != SQLITE_DONE) return fail(rc, sqlite3_sql(stmt));
  response.affected = changed_since(db, changes_before);
  return response;
}

Result<ExecResponse> SqliteConnection::exec_query(const op::QuerySql& q) {
  auto lease = queries_.acquire(q.cache_key, q.sql);
  if (!lease) return std::move(lease).error();
  return run_statement(std::move(*lease), q.params);
}

Result<ExecResponse> SqliteConnection::exec_raw(const op::RawSql& raw) {
  rowid_aliases_.clear();  // raw SQL may change the schema
  auto lease = texts_.acquire(text_key(raw.sql), raw.sql);
  if (!lease) return std::move(lease).error();
  return run_statement(std::move(*lease), raw.params);
}

Result<StatementLease> SqliteConnection::insert_statement(const ast::Insert& shape, bool ids_only) {
  const InsertKey key{&shape, ids_only};
  auto it = insert_shapes_.find(key);
  if (it == insert_shapes_.end() || !same_shape(it->second.shape, shape)) {
    if (it == insert_shapes_.end() && insert_shapes_.size() >= kInsertShapeLimit)
      insert_shapes_.clear();
    ast::Insert one = shape;
    one.row_count = 1;
    if (ids_only) one.returning.clear();
    auto sql = tessera::sql::render(one, SqlDialect::sqlite);
    if (!sql) return from_serializer(std::move(sql).error());
    // The copy keeps the shape as given (with its RETURNING), to compare.
    it =
        insert_shapes_.insert_or_assign(key, InsertShape{shape, std::move(*sql), next_insert_id_++})
            .first;
  }
  return inserts_.acquire(it->second.id, it->second.sql);
}

Result<ExecResponse> SqliteConnection::exec_insert(const op::Insert& ins) {
  if (Status s = check_insert(ins, kDriverName); !s) return std::move(s).error();
  // Several statements are one insert: all of them or none.
  const bool several = ins.statement->row_count > 1;
  if (several)
    if (Status s = run("SAVEPOINT " + std::string(kInsertSavepoint)); !s)
      return std::move(s).error();
  auto result = insert_rows(ins);
  if (several) {
    if (!result) (void)run("ROLLBACK TO " + std::string(kInsertSavepoint));
    Status released = run("RELEASE " + std::string(kInsertSavepoint));
    if (result && !released) return std::move(released).error();
  }
  return result;
}

bool SqliteConnection::is_rowid_alias(const std::string& table, const std::string& column) {
  std::string key = table;
  key.push_back('\0');
  key += column;
  if (auto it = rowid_aliases_.find(key); it != rowid_aliases_.end()) return it->second;
  // The only primary-key column of a rowid table, declared exactly INTEGER
  // (https://sqlite.org/lang_createtable.html#rowid).
  const char* type = nullptr;
  int pk = 0;
  bool alias = sqlite3_table_column_metadata(db_.get(), nullptr, table.c_str(), column.c_str(),
                                             &type, nullptr, nullptr, &pk, nullptr) == SQLITE_OK &&
               pk != 0 && type != nullptr && sqlite3_stricmp(type, "INTEGER") == 0;
  if (alias) {
    constexpr std::string_view kSql =
        "SELECT (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1 "
        "AND NOT (SELECT wr FROM pragma_table_list(?1))";
    auto lease = texts_.acquire(text_key(kSql), kSql);
    alias = false;
    if (lease) {
      sqlite3_stmt* st = lease->get();
      sqlite3_bind_text(st, 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
      alias = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    }
  }
  rowid_aliases_.emplace(std::move(key), alias);
  return alias;
}

Result<ExecResponse> SqliteConnection::insert_rows(const op::Insert& ins) {
  const ast::Insert& shape = *ins.statement;
  const std::size_t columns = shape.columns.size();
  const std::size_t total = shape.row_count;
  // When only the generated key is asked for, sqlite3_last_insert_rowid
  // gives it without RETURNING (not with an ON CONFLICT clause: a row that
  // is not inserted leaves it unchanged).
  const bool ids_only = shape.returning.size() == 1 &&
                        shape.on_conflict.action == ast::OnConflict::Action::error &&
                        is_rowid_alias(shape.table, shape.returning.front());
  ExecResponse response;
  std::unique_ptr<BufferedRows> returned;
  if (!shape.returning.empty() && !ids_only)
    returned = std::make_unique<BufferedRows>(shape.returning.size());
  // A row source may store each key as it comes (InsertRowSource::
  // generated_key); generated_ids is for one that does not, and for params.
  bool keys_to_source = ins.source != nullptr;
  auto lease = insert_statement(shape, ids_only);
  if (!lease) return std::move(lease).error();
  sqlite3_stmt* stmt = lease->get();
  sqlite3* db = db_.get();
  if (static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt)) != columns)
    return param_count_error(stmt, columns);
  // A row source binds each row straight into the statement (no Values
  // made for it, see InsertRowSource::bind_row); params are bound as usual.
  RowParamBinder binder(stmt);
  for (std::size_t row = 0; row < total; ++row) {
    if (ins.source) {
      binder.start();
      if (Status s = ins.source->bind_row(row, binder); !s) return std::move(s).error();
      if (Status s = binder.finish(columns); !s) return std::move(s).error();
    } else if (Status s = bind_params(stmt, ins.params.subspan(row * columns, columns), false);
               !s) {
      return std::move(s).error();
    }
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
      if (returned) returned->append_current(stmt);
    if (rc != SQLITE_DONE) {
      Error e = fail(rc, sqlite3_sql(stmt));
      sqlite3_reset(stmt);
      return e;
    }
    sqlite3_reset(stmt);
    // Rows actually written: an upsert's DO NOTHING writes fewer.
    response.affected += static_cast<std::uint64_t>(sqlite3_changes64(db));
    if (ids_only) {
      const std::int64_t id = sqlite3_last_insert_rowid(db);
      if (!keys_to_source || !ins.source->generated_key(row, id)) {
        keys_to_source = false;
        if (response.generated_ids.empty()) response.generated_ids.reserve(total);
        response.generated_ids.push_back(id);
      }
    }
  }
  if (returned) response.rows = std::move(returned);
  return response;
}

Status SqliteConnection::finish_read_only() {
  if (!read_only_tx_ || sqlite3_get_autocommit(db_.get()) == 0) return {};
  read_only_tx_ = false;
  return run("PRAGMA query_only=OFF");
}

Result<ExecResponse> SqliteConnection::exec_transaction(const op::Transaction& t) {
  using Kind = op::Transaction::Kind;
  // A read-only transaction SQLite ended by itself (after an error) leaves
  // query_only on until the next transaction operation.
  if (Status s = finish_read_only(); !s) return std::move(s).error();
  // The serializer picks BEGIN IMMEDIATE for the strict levels (no snapshot
  // upgrade can fail later) and DEFERRED otherwise; SQLite itself runs every
  // transaction serializably. Read-only is enforced with PRAGMA query_only.
  auto statements = tessera::sql::render_transaction(t, SqlDialect::sqlite);
  if (!statements) return from_serializer(std::move(statements).error());
  Status status;
  for (const auto& s : *statements)
    if (!(status = run(s))) break;
  if (status && t.kind == Kind::start && t.read_only) {
    status = run("PRAGMA query_only=ON");
    if (status)
      read_only_tx_ = true;
    else
      (void)run("ROLLBACK");
  }
  if (t.kind == Kind::commit || t.kind == Kind::rollback) {
    Status reset = finish_read_only();
    if (status) status = std::move(reset);
  }
  if (!status) return std::move(status).error();
  return ExecResponse{};
}

Status SqliteConnection::ping() {
  return guarded([&]() -> Status { return run("SELECT 1"); });
}

Status SqliteConnection::push_schema(const Schema& schema) {
  return guarded([&]() -> Status {
    rowid_aliases_.clear();
    const std::string savepoint(kSchemaSavepoint);
    if (Status s = run("SAVEPOINT " + savepoint); !s) return s;
    auto create_all = [&]() -> Status {
      for (const auto& table : schema.tables) {
        auto statements = tessera::sql::render_create_table(table, SqlDialect::sqlite);
        if (!statements) return from_serializer(std::move(statements).error());
        for (const auto& s : *statements)
          if (Status st = run(s, false); !st) return st;
      }
      return {};
    };
    Status status = create_all();
    if (!status) (void)run("ROLLBACK TO " + savepoint);
    Status released = run("RELEASE " + savepoint);
    return status ? released : status;
  });
}

Status SqliteConnection::drop_tables(const std::vector<std::string>& tables) {
  return guarded([&]() -> Status {
    rowid_aliases_.clear();
    // foreign_keys cannot change inside a transaction; there the tables are
    // dropped with the checks on (drop children first).
    const bool toggle = sqlite3_get_autocommit(db_.get()) != 0;
    if (toggle)
      if (Status s = run("PRAGMA foreign_keys=OFF"); !s) return s;
    Status status;
    for (const auto& t : tables) {
      status = run(tessera::sql::render_drop_table(t, SqlDialect::sqlite), false);
      if (!status) break;
    }
    if (toggle) {
      Status on = run("PRAGMA foreign_keys=ON");
      if (status) status = std::move(on);
    }
    return status;
  });
}

}  // namespace tessera::sqlite::detail
