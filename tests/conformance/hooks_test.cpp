// The operation hook (Options::on_operation) and connection wrappers
// (Options::wrap_connection): recording operations and injecting faults.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <tessera/driver/connection_wrapper.hpp>

#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::select;

struct Event {
  std::string operation;
  std::string sql;
  std::uint64_t rows = 0;
  std::optional<tessera::ErrorKind> error;
};

struct EventLog {
  std::mutex mutex;
  std::vector<Event> events;

  std::vector<Event> take() {
    std::lock_guard lock(mutex);
    return std::exchange(events, {});
  }
};

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.operation);
  return out;
}

using Names = std::vector<std::string>;

TEST_CASE("conformance: the operation hook sees each statement with its row count") {
  auto log = std::make_shared<EventLog>();
  TestDb t([log](tessera::Options& o) {
    o.on_operation = [log](const tessera::OperationEvent& ev) {
      std::lock_guard lock(log->mutex);
      log->events.push_back(Event{std::string(ev.operation), std::string(ev.sql), ev.rows,
                                  ev.error ? std::optional(ev.error->kind) : std::nullopt});
    };
  });
  t.create<Item>();
  auto& db = *t;
  const bool sql = t.cap().sql != tessera::SqlDialect::none;
  log->take();

  db.insert(Item{.id = 1, .name = "a", .qty = 1});
  auto ev = log->take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].operation == "Insert");
  CHECK(ev[0].rows == 1);
  CHECK(!ev[0].error);

  std::vector<Item> more{{.id = 2, .name = "b", .qty = 2},
                         {.id = 3, .name = "c", .qty = 3},
                         {.id = 4, .name = "d", .qty = 4}};
  db.insert_many(more);
  ev = log->take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].operation == "Insert");
  CHECK(ev[0].rows == 3);

  CHECK(db.fetch_all(select<Item>()).size() == 4);
  ev = log->take();
  REQUIRE(ev.size() == 1);
  if (sql) {
    CHECK(ev[0].operation == "QuerySql");
    CHECK_FALSE(ev[0].sql.empty());
  } else {
    CHECK_FALSE(ev[0].operation.empty());
  }
  CHECK(ev[0].rows == 4);

  CHECK(db.execute(tessera::update<Item>().set(&Item::qty, 0).where(col(&Item::id) <= 2)) == 2);
  ev = log->take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].rows == 2);

  CHECK(db.execute(tessera::delete_from<Item>().where(col(&Item::id) == 4)) == 1);
  ev = log->take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].rows == 1);

  {
    auto tx = db.transaction();
    tx.insert(Item{.id = 5, .name = "e"});
    tx.commit();
  }
  ev = log->take();
  CHECK(names(ev) == Names{"Transaction", "Insert", "Transaction"});

  // A failed statement is reported with its error.
  CHECK_THROWS_AS(db.insert(Item{.id = 1, .name = "dup"}), tessera::ConstraintError);
  ev = log->take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].operation == "Insert");
  REQUIRE(ev[0].error.has_value());
  CHECK(*ev[0].error == tessera::ErrorKind::unique_violation);

  // A large batch is one operation with every row counted.
  std::vector<Tally> rows(5000);
  t.create<Tally>();
  log->take();
  db.insert_many(rows);
  ev = log->take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].operation == "Insert");
  CHECK(ev[0].rows == 5000);
}

// What the recording wrappers of one Db saw.
struct Recorder {
  std::mutex mutex;
  std::vector<std::string> operations;
  std::vector<std::size_t> insert_rows;
  std::atomic<int> created{0};
  std::atomic<int> destroyed{0};
  std::atomic<bool> fail_next{false};
  // Fails the next commit with this kind (the connection stays valid).
  std::optional<tessera::ErrorKind> fail_commit;
  // Fails the next ping, after which the connection reports itself invalid.
  std::atomic<bool> fail_ping{false};
  std::atomic<int> pings{0};

  std::vector<std::string> take() {
    std::lock_guard lock(mutex);
    insert_rows.clear();
    return std::exchange(operations, {});
  }
};

// Records every operation; on request fails the next one as a lost
// connection, after which it reports itself invalid (as a driver must).
class RecordingConnection final : public tessera::ConnectionWrapper {
 public:
  RecordingConnection(std::unique_ptr<tessera::Connection> target, std::shared_ptr<Recorder> r)
      : ConnectionWrapper(std::move(target)), recorder_(std::move(r)) {
    ++recorder_->created;
  }
  ~RecordingConnection() override { ++recorder_->destroyed; }

  tessera::Result<tessera::ExecResponse> exec(const tessera::Operation& op) override {
    {
      std::lock_guard lock(recorder_->mutex);
      recorder_->operations.emplace_back(tessera::operation_name(op));
      if (const auto* ins = std::get_if<tessera::op::Insert>(&op))
        recorder_->insert_rows.push_back(ins->statement->row_count);
      const auto* t = std::get_if<tessera::op::Transaction>(&op);
      if (t && t->kind == tessera::op::Transaction::Kind::commit && recorder_->fail_commit) {
        tessera::Error e(*std::exchange(recorder_->fail_commit, std::nullopt),
                         "commit failure injected by the conformance suite");
        e.driver = "fault-injector";
        return e;
      }
    }
    if (recorder_->fail_next.exchange(false)) {
      broken_ = true;
      tessera::Error e(tessera::ErrorKind::connection_lost, "injected by the conformance suite");
      e.driver = "fault-injector";
      return e;
    }
    return ConnectionWrapper::exec(op);
  }
  bool is_valid() const override { return !broken_ && ConnectionWrapper::is_valid(); }
  tessera::Status ping() override {
    ++recorder_->pings;
    if (recorder_->fail_ping.exchange(false)) {
      broken_ = true;
      return tessera::Error(tessera::ErrorKind::connection_lost, "ping failure injected");
    }
    return ConnectionWrapper::ping();
  }

 private:
  std::shared_ptr<Recorder> recorder_;
  bool broken_ = false;
};

TEST_CASE("conformance: a connection wrapper records operations") {
  auto rec = std::make_shared<Recorder>();
  TestDb t([rec](tessera::Options& o) {
    o.wrap_connection =
        [rec](std::unique_ptr<tessera::Connection> c) -> std::unique_ptr<tessera::Connection> {
      return std::make_unique<RecordingConnection>(std::move(c), rec);
    };
  });
  t.create<Tally>();
  auto& db = *t;
  CHECK(rec->created.load() >= 1);
  rec->take();

  std::vector<Tally> rows(5000);
  for (int i = 0; i < 5000; ++i) rows[i].seq = i;
  db.insert_many(rows);
  {
    std::lock_guard lock(rec->mutex);
    CHECK(rec->operations == Names{"Insert"});
    REQUIRE(rec->insert_rows.size() == 1);
    CHECK(rec->insert_rows[0] == 5000);
  }
  rec->take();

  CHECK(db.count(select<Tally>()) == 5000);
  CHECK(db.find<Tally>(rows[17].id)->seq == 17);
  {
    auto tx = db.transaction();
    tx.erase<Tally>(rows[0].id);
    tx.commit();
  }
  const bool sql = t.cap().sql != tessera::SqlDialect::none;
  const auto ops = rec->take();
  if (sql) {
    CHECK(ops == Names{"QuerySql", "QuerySql", "Transaction", "QuerySql", "Transaction"});
  } else {
    CHECK(ops.size() >= 5);
    CHECK(ops.front() != "QuerySql");
  }
}

TEST_CASE("conformance: a lost connection is a ConnectionError and is evicted from the pool") {
  auto rec = std::make_shared<Recorder>();
  TestDb t([rec](tessera::Options& o) {
    o.wrap_connection =
        [rec](std::unique_ptr<tessera::Connection> c) -> std::unique_ptr<tessera::Connection> {
      return std::make_unique<RecordingConnection>(std::move(c), rec);
    };
  });
  t.create<Item>();
  auto& db = *t;
  db.insert(Item{.id = 1, .name = "before"});
  const int created = rec->created.load();
  const int destroyed = rec->destroyed.load();

  rec->fail_next = true;
  auto err = catch_error<tessera::ConnectionError>([&] { db.count(select<Item>()); });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::connection_lost);
  CHECK(err->driver == "fault-injector");
  CHECK(tessera::is_retryable_statement(err->kind));
  // The broken connection was discarded, not returned to the pool.
  CHECK(rec->destroyed.load() == destroyed + 1);

  // The next operation runs on a fresh connection. (Where connections do
  // not share one database, e.g. a private in-memory one, the fresh one
  // needs its schema first.)
  if (!t.cap().concurrent_connections) db.push_schema<Item>();
  db.insert(Item{.id = 2, .name = "after"});
  CHECK(rec->created.load() == created + 1);
  CHECK(db.find<Item>(std::int64_t{2})->name == "after");
  if (t.cap().concurrent_connections) CHECK(db.count(select<Item>()) == 2);

  // A fault on a write: nothing is written, the next write works.
  rec->fail_next = true;
  auto err2 =
      catch_error<tessera::ConnectionError>([&] { db.insert(Item{.id = 3, .name = "lost"}); });
  REQUIRE(err2.has_value());
  CHECK(rec->destroyed.load() == destroyed + 2);
  if (!t.cap().concurrent_connections) db.push_schema<Item>();
  CHECK_FALSE(db.find<Item>(std::int64_t{3}).has_value());
  db.insert(Item{.id = 4, .name = "fine"});
  CHECK(db.find<Item>(std::int64_t{4}).has_value());
}

TEST_CASE("conformance: a failed commit does not leave the connection inside a transaction") {
  auto rec = std::make_shared<Recorder>();
  TestDb t([rec](tessera::Options& o) {
    o.max_connections = 1;  // every statement below reuses the one connection
    o.wrap_connection =
        [rec](std::unique_ptr<tessera::Connection> c) -> std::unique_ptr<tessera::Connection> {
      return std::make_unique<RecordingConnection>(std::move(c), rec);
    };
  });
  t.create<Item>();
  auto& db = *t;
  {
    auto tx = db.transaction();
    tx.insert(Item{.id = 1, .name = "never committed"});
    {
      std::lock_guard lock(rec->mutex);
      rec->fail_commit = tessera::ErrorKind::serialization_failure;
    }
    auto err = catch_error<tessera::ConflictError>([&] { tx.commit(); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::serialization_failure);
    CHECK(err->driver == "fault-injector");
    CHECK_FALSE(tx.active());
  }
  // The commit did not happen, so the row must not exist, and the pooled
  // connection must be back in auto-commit mode: a later write persists.
  CHECK_FALSE(db.find<Item>(std::int64_t{1}).has_value());
  db.insert(Item{.id = 2, .name = "auto-commit"});
  if (t.cap().concurrent_connections) {
    auto other = t.open_another();
    CHECK(other.find<Item>(std::int64_t{2}).has_value());
  }
  {
    auto tx = db.transaction();  // BEGIN works: no transaction is open
    tx.insert(Item{.id = 3, .name = "committed"});
    tx.commit();
  }
  CHECK(db.count(select<Item>()) == 2);
}

TEST_CASE("conformance: the pool pings idle connections and replaces a broken one") {
  auto rec = std::make_shared<Recorder>();
  TestDb t([rec](tessera::Options& o) {
    o.validate_after_idle = std::chrono::milliseconds(0);  // ping before every reuse
    o.wrap_connection =
        [rec](std::unique_ptr<tessera::Connection> c) -> std::unique_ptr<tessera::Connection> {
      return std::make_unique<RecordingConnection>(std::move(c), rec);
    };
  });
  t.create<Item>();
  auto& db = *t;
  db.insert(Item{.id = 1, .name = "a"});
  const int pings = rec->pings.load();
  const int created = rec->created.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(db.count(select<Item>()) == 1);
  CHECK(rec->pings.load() > pings);

  // A failed ping discards the connection; the statement runs on a new one
  // and the caller sees no error.
  rec->fail_ping = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (t.cap().concurrent_connections) {
    CHECK(db.count(select<Item>()) == 1);
  } else {
    db.push_schema<Item>();  // a private database per connection
  }
  CHECK(rec->created.load() == created + 1);
  CHECK(db.insert(Item{.id = 2, .name = "b"}).id == 2);
}

}  // namespace
}  // namespace conformance
