// The non-template engine behind Db and Transaction: pool, plan cache,
// logging, operation dispatch. Not for direct use; its shape may change.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/connection.hpp"
#include "tessera/driver/driver.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/export.hpp"

namespace tessera {

// What the operation hook sees after each operation.
struct OperationEvent {
  std::string_view operation;  // "QuerySql", "Insert", "RawSql", "Transaction", ...
  std::string_view sql;        // the statement text without values (may be empty)
  std::chrono::microseconds duration{};
  std::uint64_t rows = 0;        // rows read or affected
  const Error* error = nullptr;  // null on success
};

// How a Db opens and runs. Every field has a usable default.
struct Options {
  // The most connections the pool opens. The driver may lower it (an
  // in-memory SQLite database allows one). Default: 8.
  std::size_t max_connections = 8;
  // How long acquiring a pooled connection may wait before failing with
  // ErrorKind::pool_timeout. Default: 5 s.
  std::chrono::milliseconds acquire_timeout{5000};
  // An idle connection older than this is pinged before reuse and replaced
  // if the ping fails (measured with a clock of a few milliseconds'
  // resolution; 0 pings before every reuse). Default: 30 s.
  std::chrono::milliseconds validate_after_idle{30000};
  // A plugin file to load for this URL instead of searching. Default: none.
  std::optional<std::filesystem::path> plugin;
  // Prepended to every table, index and foreign-key name (isolates test
  // runs sharing one database). Default: empty.
  std::string table_prefix;
  // Statements slower than this are logged at warn. Default: 200 ms.
  std::chrono::milliseconds slow_statement{200};
  // Include bound values in debug logs. Default: false (values redacted).
  bool log_values = false;
  // The most statement shapes built with the DSL whose plans (the rendered
  // SQL, the driver's prepared-statement cache key) the engine keeps. A
  // shape first seen once the cache is full is planned for that run only,
  // and its statement is not cached by the driver either: a program that
  // builds ever new shapes (an IN list of every length up to thousands)
  // costs a rendering per run instead of memory without bound; the first
  // such run is logged at warn. The model's own statements (find, update
  // and erase by key) and prepared statements are always kept. Default:
  // 4096.
  std::size_t max_cached_plans = 4096;
  // Called after every operation on the thread that ran it. Must not throw.
  std::function<void(const OperationEvent&)> on_operation;
  // Wraps each new connection, e.g. in a ConnectionWrapper that records
  // operations or injects faults. Default: none.
  std::function<std::unique_ptr<Connection>(std::unique_ptr<Connection>)> wrap_connection;
};

namespace detail {

class Engine;
struct PooledConnection;

// Produces a model's table schema with a table prefix; the typed API passes
// &tessera::table_schema<M>. Key-value planning needs the keys and indexes.
using SchemaFn = TableSchema (*)(std::string_view prefix);
struct Plan;
struct CachedSchema;
// Destroys a Plan not kept in the plan cache (see Options::max_cached_plans).
struct TESSERA_API PlanDeleter {
  void operator()(const Plan* plan) const;
};
using OwnedPlan = std::unique_ptr<const Plan, PlanDeleter>;

// A statement shape that lives as long as the program (a function-local
// static of the typed API, e.g. find-by-key of a model). Each gets a slot
// number when constructed, and an engine finds its plan by that number with
// one atomic load instead of hashing and comparing the shape. Thread-safe.
class TESSERA_API StaticShape {
 public:
  explicit StaticShape(ast::Statement statement);
  StaticShape(const StaticShape&) = delete;
  StaticShape& operator=(const StaticShape&) = delete;

  const ast::Statement& statement() const { return statement_; }
  std::size_t slot() const { return slot_; }

 private:
  ast::Statement statement_;
  std::size_t slot_;
};

// A connection checked out of the pool; returns it on destruction (or
// discards it if it is no longer valid). Move-only.
class TESSERA_API Lease {
 public:
  Lease();
  Lease(Engine* engine, std::unique_ptr<PooledConnection> pc);
  Lease(Lease&&) noexcept;
  Lease& operator=(Lease&&) noexcept;
  ~Lease();

  Connection& connection() const;
  explicit operator bool() const { return pc_ != nullptr; }
  // Gives the connection back now; `now` becomes its last use.
  void release(std::chrono::steady_clock::time_point now);

 private:
  friend class Engine;  // fills an empty Lease in place (Engine::start)
  Engine* engine_ = nullptr;
  std::unique_ptr<PooledConnection> pc_;
};

// One operation in flight: owns the values, the lease (unless the caller
// pinned a connection) and the response, destroyed in the right order.
// Logs and reports the operation when destroyed. Move-only.
class TESSERA_API Execution {
 public:
  Execution() = default;
  Execution(Execution&&) noexcept = default;
  Execution& operator=(Execution&&) noexcept = default;
  ~Execution();

  Rows* rows() const { return response_.rows.get(); }
  std::uint64_t affected() const { return response_.affected; }
  const std::vector<std::int64_t>& generated_ids() const { return response_.generated_ids; }
  // Advances the cursor; throws on a driver error. Inline: it runs per row.
  bool next() {
    Result<bool> r = response_.rows->next();
    if (!r.ok()) [[unlikely]]
      next_failed(std::move(r).error());
    const bool row = *r;
    rows_read_ += row ? 1 : 0;
    return row;
  }
  // Throws if the current row had a conversion error.
  void check_row() const {
    if (const Error* e = response_.rows->conversion_error()) [[unlikely]]
      row_failed(*e);
  }
  // Releases the response and the connection now (the log line is written).
  void finish();

 private:
  friend class Engine;
  [[noreturn]] void next_failed(Error e);
  [[noreturn]] void row_failed(const Error& e) const;

  Engine* engine_ = nullptr;
  Lease lease_;
  Connection* connection_ = nullptr;
  // The statement's values, a view of owned_values_. A moved vector keeps
  // its buffer, so the span stays valid when the Execution moves.
  std::vector<Value> owned_values_;
  std::span<const Value> values_;
  const Plan* plan_ = nullptr;           // owned by the engine's plan cache, or by owned_plan_
  OwnedPlan owned_plan_;                 // a plan the cache did not keep
  const ast::Insert* insert_ = nullptr;  // borrowed from the caller
  std::unique_ptr<std::string> raw_sql_;
  std::string table_;  // update_many: the prefixed table, named in logs
  std::string_view operation_;
  std::chrono::steady_clock::time_point start_{};
  std::uint64_t rows_read_ = 0;
  ExecResponse response_;
};

// The RowSink of Engine::read: maps each row and keeps, for Engine::read to
// throw once the driver has returned (nothing may cross the SPI), the first
// conversion error and any exception the mapping threw.
class ReadSink : public RowSink {
 public:
  std::optional<Error> conversion;
  std::exception_ptr thrown;

 protected:
  ~ReadSink() = default;
};

// A ReadSink over `map` (bool map(Rows&), false stops the read).
template <class Map>
class MappingSink final : public ReadSink {
 public:
  explicit MappingSink(Map map) : map_(std::move(map)) {}

  bool row(Rows& rows) noexcept override {
    try {
      const bool more = map_(rows);
      if (const Error* e = rows.conversion_error()) [[unlikely]] {
        conversion = *e;
        return false;
      }
      return more;
    } catch (...) {
      thrown = std::current_exception();
      return false;
    }
  }

 private:
  Map map_;
};

class TESSERA_API Engine {
 public:
  // Parses the URL, finds the driver, opens a first connection (so a bad URL
  // or unreachable database fails here). Throws DbError.
  static std::shared_ptr<Engine> open(std::string_view url, Options options);
  ~Engine();

  const Capability& capability() const;
  std::string_view driver_name() const;
  const DriverOrigin& origin() const;
  const Options& options() const;
  const Url& url() const;

  // A pooled connection; throws TimeoutError(pool_timeout) after
  // Options::acquire_timeout.
  Lease acquire();

  // Runs a Select/Update/Delete shape through the plan cache, on `pinned`
  // or on a pooled connection. On a connection without SQL the statement is
  // planned into key-value operations, which needs `schema`. Throws DbError.
  // `reads_all`: the caller reads every row at once (op::QuerySql::reads_all).
  Execution run(Connection* pinned, const ast::Statement& shape, std::vector<Value> values,
                SchemaFn schema = nullptr, bool reads_all = false);
  // Inserts statement.row_count rows, taking their values from `rows`: a
  // chunk or a row at a time when the driver pulls them (Capability::
  // insert_row_source), else all at once. `rows` refuses the values the
  // driver cannot store as check_values() does (detail::ModelRows, given
  // capability()). `statement` names the table with the Db's prefix (see
  // table()); it and `rows` are borrowed until the Execution is destroyed.
  // Throws DbError.
  Execution insert(Connection* pinned, const ast::Insert& statement, InsertRowSource& rows);
  // Runs `request` (op::UpdateMany) on a connection whose capability has
  // update_many, with the table prefix applied to request.table. `values`
  // is moved in; the column spans are borrowed until the Execution is
  // destroyed. Throws DbError.
  Execution update_many(Connection* pinned, const op::UpdateMany& request,
                        std::vector<Value> values);
  // Raw SQL in the connection's dialect.
  // `reads_all` as in run().
  Execution raw(Connection* pinned, std::string sql, std::vector<Value> values,
                bool reads_all = false);
  // Begin / commit / rollback / savepoints on a pinned connection.
  void transaction(Connection& connection, const op::Transaction& t);

  void push_schema(Connection* pinned, const Schema& schema);
  void drop_tables(Connection* pinned, const std::vector<std::string>& tables);

  // The table name with the Db's prefix.
  std::string table(std::string_view name) const;

  // Runs a static shape whose rows the caller consumes at once (find by
  // key), handing each row to `sink` (Connection::read): no Execution and
  // no Rows object per statement. Returns the number of rows handed over.
  // `values` are borrowed. Throws DbError for a driver error or the row's
  // conversion error, and rethrows what the sink caught.
  std::uint64_t read(Connection* pinned, const StaticShape& shape, std::span<const Value> values,
                     SchemaFn schema, ReadSink& sink);
  // The same for a select built by the DSL, through the plan cache.
  std::uint64_t read(Connection* pinned, const ast::Statement& shape, std::span<const Value> values,
                     SchemaFn schema, ReadSink& sink);

  // The plan of a Select/Update/Delete shape: rendered in the connection's
  // dialect on first use (hashed by shape), owned by the engine and kept as
  // long as it lives, so a caller holding the engine (a prepared statement)
  // may keep the pointer; kept even past Options::max_cached_plans. Throws
  // DbError when the shape cannot be rendered. Thread-safe.
  const Plan* plan(const ast::Statement& shape) { return plan_for(shape); }
  // read() and write() of a plan from plan(): no lookup at all. `values`
  // are borrowed. Errors as read() and write().
  std::uint64_t read(Connection* pinned, const Plan* plan, std::span<const Value> values,
                     SchemaFn schema, ReadSink& sink);
  std::uint64_t write(Connection* pinned, const Plan* plan, std::span<const Value> values,
                      SchemaFn schema);
  // run() of a plan from plan(); `values` are moved into the Execution.
  Execution run(Connection* pinned, const Plan* plan, std::vector<Value> values, SchemaFn schema,
                bool reads_all);

  // Runs a static shape that writes (update or delete by key) and returns
  // the number of rows it changed: no Execution per statement. `values` are
  // borrowed. Throws DbError.
  std::uint64_t write(Connection* pinned, const StaticShape& shape, std::span<const Value> values,
                      SchemaFn schema);
  // The same for an update or delete built by the DSL, through the plan
  // cache (hashed by shape).
  std::uint64_t write(Connection* pinned, const ast::Statement& shape,
                      std::span<const Value> values, SchemaFn schema);

  // Called by Lease when a connection comes back; `now` becomes its last use.
  void release(std::unique_ptr<PooledConnection> pc, std::chrono::steady_clock::time_point now);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  // The cached plan of `shape`, planned and kept on first use. With
  // `transient`, a shape first seen when the cache is full is planned into
  // *transient instead (cache key 0) and not kept.
  const Plan* plan_for(const ast::Statement& shape, OwnedPlan* transient = nullptr);
  const Plan* plan_for(const StaticShape& shape);
  // `shape` with the table prefix, rendered; `cache_key` for an SQL driver.
  OwnedPlan make_plan(const ast::Statement& shape, std::uint64_t cache_key) const;
  Lease acquire(std::chrono::steady_clock::time_point now);
  std::unique_ptr<PooledConnection> acquire_connection(std::chrono::steady_clock::time_point now);
  // Runs `plan` with e's values; fills e (on failure: reports, throws).
  void start(Execution& e, Connection* pinned, const Plan* plan, SchemaFn schema, bool reads_all);
  const TableSchema& schema_for(const std::string& table, SchemaFn schema);
  const TableSchema& schema_for(const Plan& plan, SchemaFn schema);  // of the plan's table
  // The kept entry of schema_for(table, schema), under the schema lock.
  const CachedSchema& cached_schema(const std::string& table, SchemaFn schema);
  // read() and write(): takes a connection, runs body(connection) ->
  // Result<uint64_t>, reports, gives the connection back. The caller has
  // checked the values. Throws DbError.
  template <bool kFast, class Body>
  std::uint64_t run_plan(Connection* pinned, const Plan* plan, std::span<const Value> values,
                         Body&& body);
  // Whether read_plan and write_plan take their fast path: an SQL
  // connection, and no operation hook or debug log to time statements for.
  bool fast_path() const;
  // The other path (key-value plans, watched statements), out of line.
  [[gnu::noinline]] std::uint64_t read_general(Connection* pinned, const Plan* plan,
                                               std::span<const Value> values, SchemaFn schema,
                                               ReadSink& sink);
  [[gnu::noinline]] std::uint64_t write_general(Connection* pinned, const Plan* plan,
                                                std::span<const Value> values, SchemaFn schema);
  std::uint64_t read_plan(Connection* pinned, const Plan* plan, std::span<const Value> values,
                          SchemaFn schema, ReadSink& sink);
  std::uint64_t write_plan(Connection* pinned, const Plan* plan, std::span<const Value> values,
                           SchemaFn schema);
  // The rare parts of run_plan, out of its hot path (see engine.cpp).
  class Held;
  [[gnu::cold]] PooledConnection* acquire_cold(PooledConnection* hot,
                                               std::chrono::steady_clock::time_point now);
  [[noreturn, gnu::cold]] void run_failed(Error error, const Plan& plan,
                                          std::span<const Value> values,
                                          std::chrono::steady_clock::time_point start);
  [[gnu::cold]] void run_reported(const Plan& plan, std::span<const Value> values,
                                  std::chrono::steady_clock::time_point start,
                                  std::chrono::steady_clock::time_point end, std::uint64_t rows);
  [[noreturn, gnu::cold]] void sink_failed(ReadSink& sink, const Plan& plan);
  // Throws invalid_value for a value the driver cannot store (NaN, text
  // with NUL, a timestamp or date outside 0001..9999). Booleans, integers
  // and NULL always pass, without a call.
  void check_values(std::span<const Value> values) const {
    for (const Value& v : values) {
      const ValueType t = v.type();
      if (t != ValueType::null && t != ValueType::boolean && t != ValueType::int64)
        return check_stored(values);
    }
  }
  void check_stored(std::span<const Value> values) const;
  // Runs `op` for `e` (its values and owned statement already in place) on
  // `pinned` or a pooled connection and keeps the response in e. On failure
  // reports the error and throws it, naming what_prefix + what as the
  // statement.
  void dispatch(Execution& e, Connection* pinned, std::string_view operation, const Operation& op,
                std::string_view what_prefix, std::string_view what);
  // What report() says about a finished operation.
  struct Reported {
    std::string_view operation;
    std::string_view sql;  // or the table, for an insert or update_many
    std::span<const Value> values;
    std::chrono::steady_clock::time_point start;
    std::uint64_t rows = 0;  // read, else affected
  };
  void report(Execution& e, const Error* error, std::chrono::steady_clock::time_point end);
  void report(const Reported& r, const Error* error, std::chrono::steady_clock::time_point end);
  friend class Execution;

  std::unique_ptr<Impl> impl_;
};

}  // namespace detail
}  // namespace tessera
