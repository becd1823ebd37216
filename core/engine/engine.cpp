#include "tessera/detail/engine.hpp"

#include <time.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "core/engine/logging.hpp"
#include "core/engine/plan.hpp"
#include "core/engine/url.hpp"
#include "core/kv/executor.hpp"
#include "core/sql/serializer.hpp"
#include "tessera/detail/values.hpp"
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

namespace {
// Engine identities, never reused (unlike addresses): see LastPlan.
std::atomic<std::uint64_t> next_engine_id{1};

// The plan a thread looked up last, by shape: a loop that runs one DSL
// shape again and again finds its plan with one comparison, without
// hashing the shape or taking the plan cache's mutex. `key` is the plan
// cache's own copy of the shape (a node key: stable, never erased while
// the engine lives); the memo is used only by the engine whose id it holds,
// from inside that engine's member functions, hence while it lives.
struct LastPlan {
  std::uint64_t engine = 0;
  const ast::Statement* key = nullptr;
  const Plan* plan = nullptr;
};
thread_local LastPlan last_plan;
}  // namespace

struct Engine::Impl {
  const std::uint64_t id = next_engine_id.fetch_add(1);
  std::shared_ptr<Driver> driver;
  // The library's logger, looked up once (at open, so a logger the program
  // registered as "tessera" before is the one used).
  spdlog::logger* log = &logger();
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
  // The last connection given back, outside the mutex: a thread running
  // statement after statement takes it again with one atomic exchange. Used
  // only while no thread waits for a connection (waiters == 0); see
  // release() for why a waiter never sleeps while a connection sits here.
  std::atomic<PooledConnection*> hot{nullptr};
  std::atomic<int> waiters{0};  // threads in pool_cv.wait_until

  ~Impl() { delete hot.exchange(nullptr); }

  // Whether anyone reads an execution's duration: an operation hook, or
  // debug logging. Then times are precise; else see timestamp().
  bool observed() const;
  // The time an execution starts or ends (see coarse_now()).
  Clock::time_point timestamp() const;

  // Idle for longer than validate_after_idle (0: always), so pinged before
  // reuse. Times may come from the coarse clock (see Impl::timestamp()).
  bool stale(const PooledConnection& pc, Clock::time_point now) const {
    return options.validate_after_idle.count() == 0 ||
           now - pc.last_used > options.validate_after_idle;
  }

  // The plan cache, keyed by shape, at most Options::max_cached_plans
  // shapes built with the DSL (static shapes and prepared statements may
  // pass it). Kept plans live as long as the engine, so executions, the
  // fast slots and prepared statements hold plain pointers to them; a plan
  // not kept is owned by its run.
  std::mutex plan_mutex;
  std::unordered_map<ast::Statement, OwnedPlan, StatementHash> plans;
  // Runs whose shape found the cache full (Options::max_cached_plans); the
  // first is logged at warn.
  std::atomic<std::uint64_t> plans_not_kept{0};
  std::atomic<std::uint64_t> next_cache_key{1};
  // Plans of static shapes by slot (StaticShape::slot()); null until the
  // first run. Slots past the end take the hashed path.
  std::array<std::atomic<const Plan*>, 1024> static_plans{};

  // Table schemas for key-value planning, by prefixed table name and the
  // model's schema function: two models may name one table (a table
  // dropped and recreated with other columns), and each is planned with
  // its own columns. Kept for the engine's life, so key-value plans may
  // keep pointers to them (kv::PlanSlot).
  struct SchemaKey {
    std::string table;
    SchemaFn fn;
    bool operator==(const SchemaKey&) const = default;
  };
  struct SchemaKeyHash {
    std::size_t operator()(const SchemaKey& k) const {
      return std::hash<std::string>{}(k.table) ^
             std::hash<const void*>{}(reinterpret_cast<const void*>(k.fn));
    }
  };
  std::mutex schema_mutex;
  std::unordered_map<SchemaKey, std::unique_ptr<const CachedSchema>, SchemaKeyHash> schemas;

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

// The time an execution starts or ends. Precise (steady_clock) when someone
// reads the duration (an operation hook, debug logging); otherwise the
// coarse monotonic clock (4 ms resolution here, 6 ns a read instead of 23),
// which is enough to flag statements slower than Options::slow_statement
// (200 ms by default) and to age idle connections. Both clocks count from
// the same origin (CLOCK_MONOTONIC on Linux).
namespace {
Clock::time_point coarse_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}
}  // namespace

bool Engine::Impl::observed() const {
  return options.on_operation || log->should_log(spdlog::level::debug);
}

Clock::time_point Engine::Impl::timestamp() const {
  return observed() ? Clock::now() : coarse_now();
}

// ---------------------------------------------------------------- Lease

Lease::Lease() = default;
Lease::Lease(Engine* engine, std::unique_ptr<PooledConnection> pc)
    : engine_(engine), pc_(std::move(pc)) {}
Lease::Lease(Lease&& o) noexcept : engine_(o.engine_), pc_(std::move(o.pc_)) {}
Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (pc_) engine_->release(std::move(pc_), Clock::now());
    engine_ = o.engine_;
    pc_ = std::move(o.pc_);
  }
  return *this;
}
Lease::~Lease() {
  if (pc_) engine_->release(std::move(pc_), Clock::now());
}
Connection& Lease::connection() const { return *pc_->connection; }
void Lease::release(Clock::time_point now) {
  if (pc_) engine_->release(std::move(pc_), now);
}

// ---------------------------------------------------------------- Execution

Execution::~Execution() { finish(); }

void Execution::next_failed(Error e) {
  if (e.driver.empty()) e.driver = engine_->impl_->driver_name;
  if (e.statement.empty() && plan_) e.statement = plan_->sql;
  engine_->report(*this, &e, Clock::now());
  throw_error(std::move(e));
}

void Execution::row_failed(const Error& e) const {
  Error copy = e;
  if (copy.driver.empty()) copy.driver = engine_->impl_->driver_name;
  if (copy.statement.empty() && plan_) copy.statement = plan_->sql;
  throw_error(std::move(copy));
}

void Execution::finish() {
  if (!engine_) return;
  const Options& o = engine_->impl_->options;
  const bool watched = engine_->impl_->observed();
  const auto end = watched ? Clock::now() : coarse_now();
  if (watched || end - start_ > o.slow_statement) engine_->report(*this, nullptr, end);
  engine_ = nullptr;
  response_.rows.reset();  // before the lease: rows may use the connection
  lease_.release(end);
}

// ---------------------------------------------------------------- StaticShape

namespace {
std::atomic<std::size_t> next_static_slot{0};
}  // namespace

StaticShape::StaticShape(ast::Statement statement)
    : statement_(std::move(statement)), slot_(next_static_slot.fetch_add(1)) {}

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

Lease Engine::acquire() { return acquire(Clock::now()); }

Lease Engine::acquire(Clock::time_point now) { return Lease(this, acquire_connection(now)); }

std::unique_ptr<PooledConnection> Engine::acquire_connection(Clock::time_point now) {
  Impl& s = *impl_;
  if (PooledConnection* p = s.hot.exchange(nullptr)) {
    std::unique_ptr<PooledConnection> pc(p);
    if (!s.stale(*pc, now) && pc->connection->is_valid()) return pc;
    // Idle too long or broken: the loop below pings or discards it.
    std::lock_guard lock(s.pool_mutex);
    s.idle.push_back(std::move(pc));
  }
  const auto deadline = now + s.options.acquire_timeout;
  std::unique_lock lock(s.pool_mutex);
  for (;;) {
    if (!s.idle.empty()) {
      auto pc = std::move(s.idle.back());
      s.idle.pop_back();
      const bool stale = s.stale(*pc, now);
      lock.unlock();
      bool usable = pc->connection->is_valid();
      if (usable && stale) usable = pc->connection->ping().ok();
      if (usable) return pc;
      logger().info("discarding a broken {} connection", s.driver_name);
      pc.reset();
      lock.lock();
      --s.open;
      now = Clock::now();
      continue;
    }
    if (s.open < s.max_connections) {
      ++s.open;
      lock.unlock();
      try {
        return s.connect();
      } catch (...) {
        lock.lock();
        --s.open;
        s.pool_cv.notify_one();
        throw;
      }
    }
    // Register as a waiter, then look at the hot slot once more: a releaser
    // either sees us registered, or stored its connection before our look.
    s.waiters.fetch_add(1);
    if (PooledConnection* p = s.hot.exchange(nullptr)) {
      s.waiters.fetch_sub(1);
      s.idle.emplace_back(p);
      continue;
    }
    const bool timed_out = s.pool_cv.wait_until(lock, deadline) == std::cv_status::timeout;
    s.waiters.fetch_sub(1);
    now = Clock::now();
    if (timed_out && s.idle.empty() && s.open >= s.max_connections) {
      Error e(ErrorKind::pool_timeout,
              "no connection free after " + std::to_string(s.options.acquire_timeout.count()) +
                  " ms (pool of " + std::to_string(s.max_connections) + ")");
      e.driver = s.driver_name;
      throw_error(std::move(e));
    }
  }
}

void Engine::release(std::unique_ptr<PooledConnection> pc, Clock::time_point now) {
  Impl& s = *impl_;
  const bool valid = pc->connection->is_valid();
  if (!valid) {
    logger().info("evicting a broken {} connection", s.driver_name);
    pc.reset();
  } else {
    pc->last_used = now;
    PooledConnection* empty = nullptr;
    if (s.waiters.load() == 0 && s.hot.compare_exchange_strong(empty, pc.get())) {
      pc.release();
      // Sequentially consistent: a waiter that registered after our check
      // of `waiters` looks at the slot after our store, unless we see it
      // here and hand the connection over through the mutex. A waiter holds
      // the mutex from registering until it sleeps, so the notify below
      // cannot come before its wait.
      if (s.waiters.load() == 0) return;
      PooledConnection* p = s.hot.exchange(nullptr);
      if (!p) return;  // the waiter took it
      pc.reset(p);
    }
  }
  {
    std::lock_guard lock(s.pool_mutex);
    if (pc)
      s.idle.push_back(std::move(pc));
    else
      --s.open;
  }
  s.pool_cv.notify_one();
}

void PlanDeleter::operator()(const Plan* plan) const { delete plan; }

OwnedPlan Engine::make_plan(const ast::Statement& shape, std::uint64_t cache_key) const {
  const Impl& s = *impl_;
  auto plan = std::make_unique<Plan>();
  plan->cache_key = s.capability.sql != SqlDialect::none ? cache_key : 0;
  plan->statement = shape;
  apply_prefix(plan->statement, s.options.table_prefix);
  // Key-value: planned per execution from the values (kv::execute); no SQL.
  if (s.capability.sql != SqlDialect::none) {
    auto sql = sql::render(plan->statement, s.capability.sql);
    if (!sql.ok()) {
      Error e = std::move(sql).error();
      e.driver = s.driver_name;
      throw_error(std::move(e));
    }
    plan->sql = std::move(sql).value();
  }
  return OwnedPlan(plan.release());
}

const Plan* Engine::plan_for(const ast::Statement& shape, OwnedPlan* transient) {
  Impl& s = *impl_;
  LastPlan& last = last_plan;
  if (last.engine == s.id && *last.key == shape) return last.plan;
  {
    std::lock_guard lock(s.plan_mutex);
    auto it = s.plans.find(shape);
    if (it != s.plans.end()) {
      last = LastPlan{s.id, &it->first, it->second.get()};
      return it->second.get();
    }
    if (transient && s.plans.size() >= s.options.max_cached_plans) {
      // Full: this run's own plan, cache key 0 (the driver does not keep
      // the statement either); the memo keeps pointing at a kept plan.
      if (s.plans_not_kept.fetch_add(1, std::memory_order_relaxed) == 0)
        s.log->warn(
            "plan cache full ({} statement shapes, Options::max_cached_plans): new shapes are "
            "planned and prepared at each run",
            s.options.max_cached_plans);
      *transient = make_plan(shape, 0);
      return transient->get();
    }
  }
  OwnedPlan plan = make_plan(shape, s.next_cache_key.fetch_add(1, std::memory_order_relaxed));
  std::lock_guard lock(s.plan_mutex);
  // Another thread may have planned the same shape meanwhile: keep the
  // first (emplace does not replace it; its cache key goes unused).
  auto [it, inserted] = s.plans.emplace(shape, nullptr);
  if (inserted) it->second = std::move(plan);
  last = LastPlan{s.id, &it->first, it->second.get()};
  return it->second.get();
}

const Plan* Engine::plan_for(const StaticShape& shape) {
  Impl& s = *impl_;
  if (shape.slot() >= s.static_plans.size()) return plan_for(shape.statement());
  auto& slot = s.static_plans[shape.slot()];
  if (const Plan* p = slot.load(std::memory_order_acquire)) return p;
  const Plan* p = plan_for(shape.statement());
  slot.store(p, std::memory_order_release);
  return p;
}

void Engine::check_stored(std::span<const Value> values) const {
  const Capability& cap = impl_->capability;
  for (const Value& v : values)
    if (const char* problem = refused(v, cap)) [[unlikely]] {
      Error e(ErrorKind::invalid_value, problem);
      e.driver = impl_->driver_name;
      throw_error(std::move(e));
    }
}

namespace {
[[noreturn]] void fail(Error e, const std::string& driver, std::string_view statement) {
  if (e.driver.empty()) e.driver = driver;
  if (e.statement.empty()) e.statement = std::string(statement);
  throw_error(std::move(e));
}
}  // namespace

const TableSchema& Engine::schema_for(const Plan& plan, SchemaFn schema) {
  // The plan's last schema: a plan names one table, and an entry is never
  // changed or freed while the engine lives, so a matching model function
  // is the answer (-270 instructions a key-value statement).
  if (const CachedSchema* c = plan.schema.load(std::memory_order_acquire); c && c->fn == schema)
      [[likely]]
    return c->schema;
  const CachedSchema& found = cached_schema(
      std::visit([](const auto& st) -> const std::string& { return st.table; }, plan.statement),
      schema);
  if (found.fn == schema) plan.schema.store(&found, std::memory_order_release);
  return found.schema;
}

const TableSchema& Engine::schema_for(const std::string& table, SchemaFn schema) {
  return cached_schema(table, schema).schema;
}

const CachedSchema& Engine::cached_schema(const std::string& table, SchemaFn schema) {
  Impl& s = *impl_;
  std::lock_guard lock(s.schema_mutex);
  if (!schema) {
    // No model at hand: any schema known for the table.
    for (const auto& [key, t] : s.schemas)
      if (key.table == table) return *t;
    Error e(ErrorKind::internal, "no schema known for table '" + table + "'");
    e.driver = s.driver_name;
    throw_error(std::move(e));
  }
  Impl::SchemaKey key{table, schema};
  auto it = s.schemas.find(key);
  if (it != s.schemas.end()) return *it->second;
  auto t =
      std::make_unique<const CachedSchema>(CachedSchema{schema, schema(s.options.table_prefix)});
  return *s.schemas.emplace(std::move(key), std::move(t)).first->second;
}

Execution Engine::run(Connection* pinned, const ast::Statement& shape, std::vector<Value> values,
                      SchemaFn schema, bool reads_all) {
  check_values(values);
  Execution e;
  e.owned_values_ = std::move(values);
  e.values_ = e.owned_values_;
  start(e, pinned, plan_for(shape, &e.owned_plan_), schema, reads_all);
  return e;
}

Execution Engine::run(Connection* pinned, const Plan* plan, std::vector<Value> values,
                      SchemaFn schema, bool reads_all) {
  check_values(values);
  Execution e;
  e.owned_values_ = std::move(values);
  e.values_ = e.owned_values_;
  start(e, pinned, plan, schema, reads_all);
  return e;
}

// The statement paths of read() and write() (find, update and erase by key,
// prepared statements) run thousands of times a second with a cache-warm
// database, where what they cost is mostly the instruction-cache lines they
// touch: SQLite's own code for a point select nearly fills a 32 KiB L1i, so
// each line of ours evicts one of SQLite's (callgrind's cache simulation:
// 261 L1i misses a find against raw sqlite3's 125). So the hot path is
// written straight: the pooled connection taken from and given back to the
// hot slot inline, and everything rare (another connection, a failure, a
// slow statement, an operation hook, a key-value plan) in cold functions
// out of line.

// The connection a statement runs on: the pinned one, or one from the pool
// (the hot slot's, else acquire_connection()). give_back() returns a pooled
// one; the destructor does, should an exception leave first.
class Engine::Held {
 public:
  [[gnu::always_inline]] Held(Engine& engine, Connection* pinned, Clock::time_point now)
      : engine_(engine) {
    if (pinned) {
      connection = pinned;
      return;
    }
    Impl& s = *engine.impl_;
    // A connection in the hot slot was valid when it was given back, and a
    // connection's validity only changes while it is in use.
    PooledConnection* p = s.hot.exchange(nullptr);
    if (p == nullptr || s.stale(*p, now)) [[unlikely]]
      p = engine.acquire_cold(p, now);
    pooled_ = p;
    connection = p->connection.get();
  }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  ~Held() {
    if (pooled_) [[unlikely]]
      engine_.release(std::unique_ptr<PooledConnection>(pooled_), Clock::now());
  }

  [[gnu::always_inline]] void give_back(Clock::time_point now) {
    PooledConnection* p = std::exchange(pooled_, nullptr);
    if (p == nullptr) return;
    Impl& s = *engine_.impl_;
    PooledConnection* empty = nullptr;
    if (s.waiters.load() == 0 && p->connection->is_valid()) [[likely]] {
      p->last_used = now;
      if (s.hot.compare_exchange_strong(empty, p)) [[likely]] {
        if (s.waiters.load() == 0) [[likely]]
          return;
        // A waiter registered meanwhile: Engine::release's hand-over.
        p = s.hot.exchange(nullptr);
        if (p == nullptr) return;  // the waiter took it
      }
    }
    engine_.release(std::unique_ptr<PooledConnection>(p), now);
  }

  Connection* connection = nullptr;

 private:
  Engine& engine_;
  PooledConnection* pooled_ = nullptr;
};

PooledConnection* Engine::acquire_cold(PooledConnection* hot, Clock::time_point now) {
  if (hot) {  // stale: back to the pool, where acquire_connection pings it
    std::unique_ptr<PooledConnection> owned(hot);
    std::lock_guard lock(impl_->pool_mutex);
    impl_->idle.push_back(std::move(owned));
  }
  return acquire_connection(now).release();
}

void Engine::run_failed(Error error, const Plan& plan, std::span<const Value> values,
                        Clock::time_point start) {
  const std::string_view operation =
      impl_->capability.sql == SqlDialect::none ? "KeyValue" : "QuerySql";
  report(Reported{operation, plan.sql, values, start, 0}, &error, Clock::now());
  fail(std::move(error), impl_->driver_name, plan.sql);
}

void Engine::run_reported(const Plan& plan, std::span<const Value> values, Clock::time_point start,
                          Clock::time_point end, std::uint64_t rows) {
  const std::string_view operation =
      impl_->capability.sql == SqlDialect::none ? "KeyValue" : "QuerySql";
  report(Reported{operation, plan.sql, values, start, rows}, nullptr, end);
}

void Engine::sink_failed(ReadSink& sink, const Plan& plan) {
  if (sink.thrown) std::rethrow_exception(sink.thrown);
  fail(std::move(*sink.conversion), impl_->driver_name, plan.sql);
}

// Takes a connection, runs body(connection) -> Result<uint64_t>, reports,
// gives the connection back. Inlined into read_plan and write_plan only.
// kFast: an SQL plan nobody watches (no operation hook, no debug log), the
// common case, with nothing else in its code: coarse clocks, and a report
// only for a slow statement; else whatever the engine's state asks for.
template <bool kFast, class Body>
[[gnu::always_inline]] inline std::uint64_t Engine::run_plan(Connection* pinned, const Plan* plan,
                                                             std::span<const Value> values,
                                                             Body&& body) {
  Impl& s = *impl_;
  const bool watched = !kFast && s.observed();
  const Clock::time_point start = watched ? Clock::now() : coarse_now();
  Held held(*this, pinned, start);
  Result<std::uint64_t> r = body(*held.connection);
  if (!r.ok()) [[unlikely]]
    run_failed(std::move(r).error(), *plan, values, start);
  const Clock::time_point end = watched ? Clock::now() : coarse_now();
  if (watched || end - start > s.options.slow_statement) [[unlikely]]
    run_reported(*plan, values, start, end, *r);
  held.give_back(end);
  return *r;
}

[[gnu::always_inline]] inline bool Engine::fast_path() const {
  return impl_->capability.sql != SqlDialect::none && !impl_->observed();
}

std::uint64_t Engine::read_general(Connection* pinned, const Plan* plan,
                                   std::span<const Value> values, SchemaFn schema, ReadSink& sink) {
  const bool kv = impl_->capability.sql == SqlDialect::none;
  return run_plan<false>(pinned, plan, values, [&](Connection& c) -> Result<std::uint64_t> {
    if (!kv)
      return c.read(op::QuerySql{&plan->statement, plan->sql, values, plan->cache_key, true}, sink);
    Result<ExecResponse> response =
        kv::execute(c, plan->statement, values, schema_for(*plan, schema), plan->kv);
    if (!response.ok()) return std::move(response).error();
    return feed(response->rows.get(), sink);
  });
}

[[gnu::hot]] std::uint64_t Engine::read_plan(Connection* pinned, const Plan* plan,
                                             std::span<const Value> values, SchemaFn schema,
                                             ReadSink& sink) {
  const std::uint64_t rows =
      fast_path() ? run_plan<true>(pinned, plan, values,
                                   [&](Connection& c) {
                                     return c.read(op::QuerySql{&plan->statement, plan->sql, values,
                                                                plan->cache_key, true},
                                                   sink);
                                   })
                  : read_general(pinned, plan, values, schema, sink);
  if (sink.thrown || sink.conversion) [[unlikely]]
    sink_failed(sink, *plan);
  return rows;
}

std::uint64_t Engine::read(Connection* pinned, const StaticShape& shape,
                           std::span<const Value> values, SchemaFn schema, ReadSink& sink) {
  check_values(values);
  return read_plan(pinned, plan_for(shape), values, schema, sink);
}

std::uint64_t Engine::read(Connection* pinned, const ast::Statement& shape,
                           std::span<const Value> values, SchemaFn schema, ReadSink& sink) {
  check_values(values);
  OwnedPlan transient;
  return read_plan(pinned, plan_for(shape, &transient), values, schema, sink);
}

std::uint64_t Engine::read(Connection* pinned, const Plan* plan, std::span<const Value> values,
                           SchemaFn schema, ReadSink& sink) {
  check_values(values);
  return read_plan(pinned, plan, values, schema, sink);
}

std::uint64_t Engine::write_general(Connection* pinned, const Plan* plan,
                                    std::span<const Value> values, SchemaFn schema) {
  const bool kv = impl_->capability.sql == SqlDialect::none;
  return run_plan<false>(pinned, plan, values, [&](Connection& c) -> Result<std::uint64_t> {
    if (!kv)
      return c.write(op::QuerySql{&plan->statement, plan->sql, values, plan->cache_key, false});
    Result<ExecResponse> r =
        kv::execute(c, plan->statement, values, schema_for(*plan, schema), plan->kv);
    if (!r.ok()) return std::move(r).error();
    return r->affected;  // any rows go before the connection does
  });
}

[[gnu::hot]] std::uint64_t Engine::write_plan(Connection* pinned, const Plan* plan,
                                              std::span<const Value> values, SchemaFn schema) {
  if (!fast_path()) [[unlikely]]
    return write_general(pinned, plan, values, schema);
  return run_plan<true>(pinned, plan, values, [&](Connection& c) {
    return c.write(op::QuerySql{&plan->statement, plan->sql, values, plan->cache_key, false});
  });
}

std::uint64_t Engine::write(Connection* pinned, const StaticShape& shape,
                            std::span<const Value> values, SchemaFn schema) {
  check_values(values);
  return write_plan(pinned, plan_for(shape), values, schema);
}

std::uint64_t Engine::write(Connection* pinned, const ast::Statement& shape,
                            std::span<const Value> values, SchemaFn schema) {
  check_values(values);
  OwnedPlan transient;
  return write_plan(pinned, plan_for(shape, &transient), values, schema);
}

std::uint64_t Engine::write(Connection* pinned, const Plan* plan, std::span<const Value> values,
                            SchemaFn schema) {
  check_values(values);
  return write_plan(pinned, plan, values, schema);
}

void Engine::start(Execution& e, Connection* pinned, const Plan* plan, SchemaFn schema,
                   bool reads_all) {
  e.plan_ = plan;
  e.start_ = impl_->timestamp();
  if (!pinned) {  // e.lease_ is empty: filled in place
    e.lease_.engine_ = this;
    e.lease_.pc_ = acquire_connection(e.start_);
  }
  e.connection_ = pinned ? pinned : &e.lease_.connection();
  e.engine_ = this;
  const bool kv = impl_->capability.sql == SqlDialect::none;
  e.operation_ = kv ? "KeyValue" : "QuerySql";
  Result<ExecResponse> r =
      kv ? kv::execute(*e.connection_, plan->statement, e.values_, schema_for(*plan, schema),
                       plan->kv)
         : e.connection_->exec(
               op::QuerySql{&plan->statement, plan->sql, e.values_, plan->cache_key, reads_all});
  if (!r.ok()) {
    Error err = std::move(r).error();
    report(e, &err, Clock::now());
    e.engine_ = nullptr;
    fail(std::move(err), impl_->driver_name, plan->sql);
  }
  e.response_ = std::move(r).value();
}

void Engine::dispatch(Execution& e, Connection* pinned, std::string_view operation,
                      const Operation& op, std::string_view what_prefix, std::string_view what) {
  if (!pinned) e.lease_ = acquire();
  e.connection_ = pinned ? pinned : &e.lease_.connection();
  e.engine_ = this;
  e.operation_ = operation;
  e.start_ = Clock::now();
  auto r = e.connection_->exec(op);
  if (!r.ok()) {
    Error err = std::move(r).error();
    report(e, &err, Clock::now());
    e.engine_ = nullptr;
    fail(std::move(err), impl_->driver_name, std::string(what_prefix) + std::string(what));
  }
  e.response_ = std::move(r).value();
}

Execution Engine::insert(Connection* pinned, const ast::Insert& statement, InsertRowSource& rows) {
  Execution e;
  e.insert_ = &statement;
  // A driver that pulls the rows in chunks gets them so, unless the debug
  // log is to show every value (it then logs what was sent).
  const bool logs_values =
      impl_->options.log_values && impl_->log->should_log(spdlog::level::debug);
  if (impl_->capability.insert_row_source && !logs_values) {
    dispatch(e, pinned, "Insert", op::Insert{&statement, {}, &rows}, "INSERT INTO ",
             statement.table);
    return e;
  }
  auto all = rows.rows(0, statement.row_count);
  if (!all) fail(std::move(all).error(), impl_->driver_name, "INSERT INTO " + statement.table);
  e.values_ = *all;
  dispatch(e, pinned, "Insert", op::Insert{&statement, e.values_}, "INSERT INTO ", statement.table);
  return e;
}

Execution Engine::update_many(Connection* pinned, const op::UpdateMany& request,
                              std::vector<Value> values) {
  check_values(values);
  Execution e;
  e.table_ = impl_->options.table_prefix + std::string(request.table);
  e.owned_values_ = std::move(values);
  e.values_ = e.owned_values_;
  op::UpdateMany o = request;
  o.table = e.table_;
  o.values = e.values_;
  dispatch(e, pinned, "UpdateMany", o, "UPDATE ", e.table_);
  return e;
}

Execution Engine::raw(Connection* pinned, std::string sql, std::vector<Value> values,
                      bool reads_all) {
  if (!impl_->capability.raw_sql) {
    Error err(ErrorKind::unsupported, "driver " + impl_->driver_name + " does not run raw SQL");
    fail(std::move(err), impl_->driver_name, sql);
  }
  check_values(values);
  Execution e;
  e.raw_sql_ = std::make_unique<std::string>(std::move(sql));
  e.owned_values_ = std::move(values);
  e.values_ = e.owned_values_;
  dispatch(e, pinned, "RawSql", op::RawSql{*e.raw_sql_, e.values_, reads_all}, "", *e.raw_sql_);
  return e;
}

void Engine::transaction(Connection& connection, const op::Transaction& t) {
  Execution e;
  dispatch(e, &connection, "Transaction", t, "transaction control", "");
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

void Engine::report(Execution& e, const Error* error, Clock::time_point end) {
  const Options& opts = impl_->options;
  // The common case first: a quick success nobody listens to.
  if (!error && !opts.on_operation && end - e.start_ <= opts.slow_statement &&
      !impl_->log->should_log(spdlog::level::debug))
    return;
  std::string_view sql;
  if (e.plan_)
    sql = e.plan_->sql;
  else if (e.raw_sql_)
    sql = *e.raw_sql_;
  else if (e.insert_)
    sql = e.insert_->table;
  else if (!e.table_.empty())
    sql = e.table_;
  report(Reported{e.operation_, sql, e.values_, e.start_,
                  e.rows_read_ ? e.rows_read_ : e.response_.affected},
         error, end);
}

void Engine::report(const Reported& r, const Error* error, Clock::time_point end) {
  const Options& o = impl_->options;
  spdlog::logger& log = *impl_->log;
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(end - r.start);
  if (error) {
    log.debug("{} failed after {} us: {}: {} | {}", r.operation, elapsed.count(),
              to_string(error->kind), error->message, r.sql);
  } else if (elapsed > o.slow_statement) {
    log.warn("slow {} took {} us, {} rows | {}", r.operation, elapsed.count(), r.rows, r.sql);
  } else if (log.should_log(spdlog::level::debug)) {
    if (o.log_values)
      log.debug("{} took {} us, {} rows | {} | {}", r.operation, elapsed.count(), r.rows, r.sql,
                describe_values(r.values));
    else
      log.debug("{} took {} us, {} rows | {}", r.operation, elapsed.count(), r.rows, r.sql);
  }
  if (o.on_operation) {
    OperationEvent ev{r.operation, r.sql, elapsed, r.rows, error};
    o.on_operation(ev);
  }
}

}  // namespace tessera::detail
