#include "tessera/detail/engine.hpp"

#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "core/engine/logging.hpp"
#include "core/engine/plan.hpp"
#include "core/engine/url.hpp"
#include "core/kv/executor.hpp"
#include "core/sql/serializer.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

using Clock = std::chrono::steady_clock;

struct PooledConnection {
  // Declared first so it is destroyed last: the connection's code may live
  // in the driver's plugin.
  std::shared_ptr<Driver> driver;
  std::unique_ptr<Connection> connection;
  Clock::time_point last_used = Clock::now();
};

struct Engine::Impl {
  std::shared_ptr<Driver> driver;
  DriverOrigin origin;
  Url url;
  Options options;
  Capability capability;
  std::string driver_name;

  // The pool.
  std::mutex pool_mutex;
  std::condition_variable pool_cv;
  std::deque<std::unique_ptr<PooledConnection>> idle;
  std::size_t open = 0;
  std::size_t max_connections = 1;

  // The plan cache, keyed by shape.
  std::mutex plan_mutex;
  std::unordered_map<ast::Statement, std::shared_ptr<const Plan>, StatementHash> plans;
  std::uint64_t next_cache_key = 1;

  // Table schemas by prefixed table name, for key-value planning.
  std::mutex schema_mutex;
  std::unordered_map<std::string, std::unique_ptr<const TableSchema>> schemas;

  std::unique_ptr<PooledConnection> connect() {
    auto r = driver->connect(url);
    if (!r.ok()) {
      Error e = std::move(r).error();
      if (e.driver.empty()) e.driver = driver_name;
      throw_error(std::move(e));
    }
    auto pc = std::make_unique<PooledConnection>();
    pc->driver = driver;
    pc->connection = std::move(r).value();
    if (options.wrap_connection)
      pc->connection = options.wrap_connection(std::move(pc->connection));
    return pc;
  }
};

// ---------------------------------------------------------------- Lease

Lease::Lease() = default;
Lease::Lease(Engine* engine, std::unique_ptr<PooledConnection> pc)
    : engine_(engine), pc_(std::move(pc)) {}
Lease::Lease(Lease&& o) noexcept : engine_(o.engine_), pc_(std::move(o.pc_)) {}
Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (pc_) engine_->release(std::move(pc_));
    engine_ = o.engine_;
    pc_ = std::move(o.pc_);
  }
  return *this;
}
Lease::~Lease() {
  if (pc_) engine_->release(std::move(pc_));
}
Connection& Lease::connection() const { return *pc_->connection; }

// ---------------------------------------------------------------- Execution

Execution::~Execution() { finish(); }

bool Execution::next() {
  auto r = response_.rows->next();
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.driver.empty()) e.driver = engine_->impl_->driver_name;
    if (e.statement.empty() && plan_) e.statement = plan_->sql;
    engine_->report(*this, &e);
    throw_error(std::move(e));
  }
  if (*r) ++rows_read_;
  return *r;
}

void Execution::check_row() const {
  if (const Error* e = response_.rows->conversion_error()) {
    Error copy = *e;
    if (copy.driver.empty()) copy.driver = engine_->impl_->driver_name;
    if (copy.statement.empty() && plan_) copy.statement = plan_->sql;
    throw_error(std::move(copy));
  }
}

void Execution::finish() {
  if (!engine_) return;
  engine_->report(*this, nullptr);
  engine_ = nullptr;
  response_ = ExecResponse();
  lease_ = Lease();
}

// ---------------------------------------------------------------- Engine

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::shared_ptr<Engine> Engine::open(std::string_view url_text, Options options) {
  auto impl = std::make_unique<Impl>();
  impl->url = value_or_throw(parse_url(url_text));
  auto found = value_or_throw(find_driver(impl->url.scheme, options.plugin));
  impl->driver = std::move(found.driver);
  impl->origin = std::move(found.origin);
  impl->driver_name = std::string(impl->driver->name());
  impl->options = std::move(options);
  auto first = impl->connect();
  impl->capability = first->connection->capability();
  const std::size_t driver_max = impl->driver->max_connections(impl->url);
  impl->max_connections = std::max<std::size_t>(1, impl->options.max_connections);
  if (driver_max != 0) impl->max_connections = std::min(impl->max_connections, driver_max);
  impl->open = 1;
  impl->idle.push_back(std::move(first));
  logger().info("opened {} (driver {} {}, pool of {})", impl->url.redacted(), impl->driver_name,
                impl->origin.linked ? std::string("linked") : impl->origin.plugin.string(),
                impl->max_connections);
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

const Capability& Engine::capability() const { return impl_->capability; }
std::string_view Engine::driver_name() const { return impl_->driver_name; }
const DriverOrigin& Engine::origin() const { return impl_->origin; }
const Options& Engine::options() const { return impl_->options; }
const Url& Engine::url() const { return impl_->url; }

std::string Engine::table(std::string_view name) const {
  return impl_->options.table_prefix + std::string(name);
}

Lease Engine::acquire() {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + s.options.acquire_timeout;
  std::unique_lock lock(s.pool_mutex);
  for (;;) {
    if (!s.idle.empty()) {
      auto pc = std::move(s.idle.back());
      s.idle.pop_back();
      const bool stale = Clock::now() - pc->last_used > s.options.validate_after_idle;
      lock.unlock();
      bool usable = pc->connection->is_valid();
      if (usable && stale) usable = pc->connection->ping().ok();
      if (usable) return Lease(this, std::move(pc));
      logger().info("discarding a broken {} connection", s.driver_name);
      pc.reset();
      lock.lock();
      --s.open;
      continue;
    }
    if (s.open < s.max_connections) {
      ++s.open;
      lock.unlock();
      try {
        return Lease(this, s.connect());
      } catch (...) {
        lock.lock();
        --s.open;
        s.pool_cv.notify_one();
        throw;
      }
    }
    if (s.pool_cv.wait_until(lock, deadline) == std::cv_status::timeout && s.idle.empty() &&
        s.open >= s.max_connections) {
      Error e(ErrorKind::pool_timeout,
              "no connection free after " + std::to_string(s.options.acquire_timeout.count()) +
                  " ms (pool of " + std::to_string(s.max_connections) + ")");
      e.driver = s.driver_name;
      throw_error(std::move(e));
    }
  }
}

void Engine::release(std::unique_ptr<PooledConnection> pc) {
  Impl& s = *impl_;
  const bool valid = pc->connection->is_valid();
  if (!valid) {
    logger().info("evicting a broken {} connection", s.driver_name);
    pc.reset();
  } else {
    pc->last_used = Clock::now();
  }
  {
    std::lock_guard lock(s.pool_mutex);
    if (valid)
      s.idle.push_back(std::move(pc));
    else
      --s.open;
  }
  s.pool_cv.notify_one();
}

std::shared_ptr<const Plan> Engine::plan_for(const ast::Statement& shape) {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.plan_mutex);
    auto it = s.plans.find(shape);
    if (it != s.plans.end()) return it->second;
  }
  auto plan = std::make_shared<Plan>();
  plan->statement = shape;
  apply_prefix(plan->statement, s.options.table_prefix);
  if (s.capability.sql == SqlDialect::none) {
    // Key-value: planned per execution from the values (kv::execute).
    std::lock_guard lock(s.plan_mutex);
    auto [it, inserted] = s.plans.emplace(shape, std::move(plan));
    return it->second;
  }
  auto sql = sql::render(plan->statement, s.capability.sql);
  if (!sql.ok()) {
    Error e = std::move(sql).error();
    e.driver = s.driver_name;
    throw_error(std::move(e));
  }
  plan->sql = std::move(sql).value();
  std::lock_guard lock(s.plan_mutex);
  plan->cache_key = s.next_cache_key++;
  auto [it, inserted] = s.plans.emplace(shape, std::move(plan));
  return it->second;
}

void Engine::check_values(std::span<const Value> values) const {
  const Capability& cap = impl_->capability;
  constexpr std::int64_t min_micros = -62135596800LL * 1'000'000;      // 0001-01-01
  constexpr std::int64_t max_micros = 253402300800LL * 1'000'000 - 1;  // 9999-12-31T23:59:59.999999
  for (const Value& v : values) {
    const char* problem = nullptr;
    switch (v.type()) {
      case ValueType::float64:
        if (std::isnan(v.as_double()) && !cap.stores_nan)
          problem = "NaN cannot be stored by this driver";
        else if (std::isinf(v.as_double()) && !cap.stores_infinity)
          problem = "an infinite float cannot be stored by this driver";
        break;
      case ValueType::text:
        if (!cap.text_embedded_nul && v.as_text().find('\0') != std::string::npos)
          problem = "text with an embedded NUL character cannot be stored by this driver";
        break;
      case ValueType::timestamp:
        if (v.as_timestamp().micros < min_micros || v.as_timestamp().micros > max_micros)
          problem = "timestamp outside years 0001..9999";
        break;
      case ValueType::date:
        if (v.as_date().days < -719162 || v.as_date().days > 2932896)
          problem = "date outside years 0001..9999";
        break;
      default: break;
    }
    if (problem) {
      Error e(ErrorKind::invalid_value, problem);
      e.driver = impl_->driver_name;
      throw_error(std::move(e));
    }
  }
}

namespace {
[[noreturn]] void fail(Error e, const std::string& driver, std::string_view statement) {
  if (e.driver.empty()) e.driver = driver;
  if (e.statement.empty()) e.statement = std::string(statement);
  throw_error(std::move(e));
}
}  // namespace

const TableSchema& Engine::schema_for(const std::string& table, SchemaFn schema) {
  Impl& s = *impl_;
  std::lock_guard lock(s.schema_mutex);
  auto it = s.schemas.find(table);
  if (it != s.schemas.end()) return *it->second;
  if (!schema) {
    Error e(ErrorKind::internal, "no schema known for table '" + table + "'");
    e.driver = s.driver_name;
    throw_error(std::move(e));
  }
  auto t = std::make_unique<const TableSchema>(schema(s.options.table_prefix));
  return *s.schemas.emplace(table, std::move(t)).first->second;
}

Execution Engine::run(Connection* pinned, const ast::Statement& shape, std::vector<Value> values,
                      SchemaFn schema) {
  check_values(values);
  Execution e;
  e.plan_ = plan_for(shape);
  e.values_ = std::move(values);
  if (!pinned) e.lease_ = acquire();
  e.connection_ = pinned ? pinned : &e.lease_.connection();
  e.engine_ = this;
  e.operation_ = "QuerySql";
  e.start_ = Clock::now();
  Result<ExecResponse> r = Error();
  if (impl_->capability.sql == SqlDialect::none) {
    e.operation_ = "KeyValue";
    const std::string& table = std::visit(
        [](const auto& st) -> const std::string& { return st.table; }, e.plan_->statement);
    r = kv::execute(*e.connection_, e.plan_->statement, e.values_, schema_for(table, schema));
  } else {
    r = e.connection_->exec(
        op::QuerySql{&e.plan_->statement, e.plan_->sql, e.values_, e.plan_->cache_key});
  }
  if (!r.ok()) {
    Error err = std::move(r).error();
    report(e, &err);
    e.engine_ = nullptr;
    fail(std::move(err), impl_->driver_name, e.plan_->sql);
  }
  e.response_ = std::move(r).value();
  return e;
}

Execution Engine::insert(Connection* pinned, ast::Insert statement, std::vector<Value> values) {
  check_values(values);
  Execution e;
  statement.table = impl_->options.table_prefix + statement.table;
  e.insert_ = std::make_unique<ast::Insert>(std::move(statement));
  e.values_ = std::move(values);
  if (!pinned) e.lease_ = acquire();
  e.connection_ = pinned ? pinned : &e.lease_.connection();
  e.engine_ = this;
  e.operation_ = "Insert";
  e.start_ = Clock::now();
  auto r = e.connection_->exec(op::Insert{e.insert_.get(), e.values_});
  if (!r.ok()) {
    Error err = std::move(r).error();
    report(e, &err);
    e.engine_ = nullptr;
    fail(std::move(err), impl_->driver_name, "INSERT INTO " + e.insert_->table);
  }
  e.response_ = std::move(r).value();
  return e;
}

Execution Engine::raw(Connection* pinned, std::string sql, std::vector<Value> values) {
  if (!impl_->capability.raw_sql) {
    Error err(ErrorKind::unsupported, "driver " + impl_->driver_name + " does not run raw SQL");
    fail(std::move(err), impl_->driver_name, sql);
  }
  check_values(values);
  Execution e;
  e.raw_sql_ = std::make_unique<std::string>(std::move(sql));
  e.values_ = std::move(values);
  if (!pinned) e.lease_ = acquire();
  e.connection_ = pinned ? pinned : &e.lease_.connection();
  e.engine_ = this;
  e.operation_ = "RawSql";
  e.start_ = Clock::now();
  auto r = e.connection_->exec(op::RawSql{*e.raw_sql_, e.values_});
  if (!r.ok()) {
    Error err = std::move(r).error();
    report(e, &err);
    e.engine_ = nullptr;
    fail(std::move(err), impl_->driver_name, *e.raw_sql_);
  }
  e.response_ = std::move(r).value();
  return e;
}

void Engine::transaction(Connection& connection, const op::Transaction& t) {
  Execution e;
  e.engine_ = this;
  e.connection_ = &connection;
  e.operation_ = "Transaction";
  e.start_ = Clock::now();
  auto r = connection.exec(t);
  if (!r.ok()) {
    Error err = std::move(r).error();
    report(e, &err);
    e.engine_ = nullptr;
    fail(std::move(err), impl_->driver_name, "transaction control");
  }
}

void Engine::push_schema(Connection* pinned, const Schema& schema) {
  Lease lease;
  if (!pinned) lease = acquire();
  Connection& c = pinned ? *pinned : lease.connection();
  auto r = c.push_schema(schema);
  if (!r.ok()) fail(std::move(r).error(), impl_->driver_name, "push_schema");
}

void Engine::drop_tables(Connection* pinned, const std::vector<std::string>& tables) {
  Lease lease;
  if (!pinned) lease = acquire();
  Connection& c = pinned ? *pinned : lease.connection();
  auto r = c.drop_tables(tables);
  if (!r.ok()) fail(std::move(r).error(), impl_->driver_name, "drop_tables");
}

void Engine::report(Execution& e, const Error* error) {
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - e.start_);
  std::string_view sql;
  if (e.plan_)
    sql = e.plan_->sql;
  else if (e.raw_sql_)
    sql = *e.raw_sql_;
  else if (e.insert_)
    sql = e.insert_->table;
  const std::uint64_t rows = e.rows_read_ ? e.rows_read_ : e.response_.affected;
  auto& log = logger();
  const Options& o = impl_->options;
  if (error) {
    log.debug("{} failed after {} us: {}: {} | {}", e.operation_, elapsed.count(),
              to_string(error->kind), error->message, sql);
  } else if (elapsed > o.slow_statement) {
    log.warn("slow {} took {} us, {} rows | {}", e.operation_, elapsed.count(), rows, sql);
  } else if (log.should_log(spdlog::level::debug)) {
    if (o.log_values)
      log.debug("{} took {} us, {} rows | {} | {}", e.operation_, elapsed.count(), rows, sql,
                describe_values(e.values_));
    else
      log.debug("{} took {} us, {} rows | {}", e.operation_, elapsed.count(), rows, sql);
  }
  if (o.on_operation) {
    OperationEvent ev{e.operation_, sql, elapsed, rows, error};
    o.on_operation(ev);
  }
}

}  // namespace tessera::detail
