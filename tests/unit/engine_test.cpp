// The engine's own behaviour, against a fake driver: which operations it
// emits, plan caching by shape, pool bounds and eviction.
#include <doctest/doctest.h>

#include <tessera/tessera.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>

#include "fake_driver.hpp"

namespace et {
struct Item {
  std::int64_t id{};
  std::string name;
  std::int32_t qty{};
};
TESSERA_MODEL(Item, "items", (id, tessera::primary_key, tessera::auto_increment), (name), (qty));

enum class Color : std::int16_t { red = 1, blue = 7 };
// One member of each kind a row binds differently (RowBinder).
struct Wide {
  std::int64_t id{};
  bool flag{};
  Color color{};
  float ratio{};
  std::string text;
  tessera::Bytes blob;
  tessera::Timestamp at{};
  tessera::Date day{};
  std::optional<std::int32_t> maybe;
  std::optional<std::string> note;
};
TESSERA_MODEL(Wide, "wide", (id, tessera::primary_key), (flag), (color), (ratio), (text), (blob),
              (at), (day), (maybe), (note));
}  // namespace et

using et::Item;
using tessera::col;

TEST_CASE("engine: a repeated query shape is rendered once and reuses its cache key") {
  auto state = fake::install("fake-plan");
  auto db = tessera::Db::open("fake-plan://x");
  db.fetch_all(tessera::select<Item>().where(col(&Item::qty) > 1));
  db.fetch_all(tessera::select<Item>().where(col(&Item::qty) > 7));
  db.fetch_all(tessera::select<Item>().where(col(&Item::qty) < 7));
  REQUIRE(state->ops.size() == 3);
  CHECK(state->ops[0].cache_key == state->ops[1].cache_key);
  CHECK(state->ops[0].sql == state->ops[1].sql);
  CHECK(state->ops[0].params[0] == tessera::Value(std::int64_t{1}));
  CHECK(state->ops[1].params[0] == tessera::Value(std::int64_t{7}));
  CHECK(state->ops[2].cache_key != state->ops[0].cache_key);
  CHECK(state->ops[0].sql == R"(SELECT "id", "name", "qty" FROM "items" WHERE "qty" > ?1)");
}

TEST_CASE("engine: shapes past max_cached_plans run with a plan of their own, not cached") {
  auto state = fake::install("fake-plan-limit");
  tessera::Options o;
  o.max_cached_plans = 2;
  auto db = tessera::Db::open("fake-plan-limit://x", o);
  using tessera::select;
  auto in_list = [](int n) {
    std::vector<std::int64_t> keys;
    for (int i = 0; i < n; ++i) keys.push_back(i);
    return select<Item>().where(col(&Item::id).in(keys));
  };
  db.fetch_all(in_list(1));
  db.fetch_all(in_list(2));
  db.fetch_all(in_list(3));  // the cache is full
  db.fetch_all(in_list(3));
  db.fetch_all(in_list(1));
  for (const Item& r : db.cursor(in_list(4))) (void)r;  // a cursor owns its plan
  db.execute(tessera::update<Item>().set(&Item::qty, 1).where(col(&Item::qty) == 5));
  db.find<Item>(std::int64_t{7});  // the model's own statements are always kept
  db.find<Item>(std::int64_t{8});
  auto prepared = db.prepare<std::int64_t>(
      select<Item>().where(col(&Item::id) == tessera::param<std::int64_t>()));
  prepared.fetch_all(std::int64_t{9});
  prepared.fetch_all(std::int64_t{10});
  REQUIRE(state->ops.size() == 11);
  const auto& ops = state->ops;
  CHECK(ops[0].cache_key != 0);
  CHECK(ops[1].cache_key != 0);
  CHECK(ops[1].cache_key != ops[0].cache_key);
  CHECK(ops[2].cache_key == 0);  // planned for that run only
  CHECK(ops[3].cache_key == 0);
  CHECK(ops[2].sql == ops[3].sql);
  CHECK(ops[2].sql == R"(SELECT "id", "name", "qty" FROM "items" WHERE "id" IN (?1, ?2, ?3))");
  CHECK(ops[4].cache_key == ops[0].cache_key);  // kept plans still serve
  CHECK(ops[5].cache_key == 0);
  CHECK(ops[5].params.size() == 4);
  CHECK(ops[6].cache_key == 0);
  CHECK(ops[6].sql == R"(UPDATE "items" SET "qty" = ?1 WHERE "qty" = ?2)");
  CHECK(ops[7].cache_key != 0);
  CHECK(ops[8].cache_key == ops[7].cache_key);
  CHECK(ops[9].cache_key != 0);
  CHECK(ops[10].cache_key == ops[9].cache_key);
}

TEST_CASE("engine: insert_many is one Insert operation carrying every row") {
  auto state = fake::install("fake-insert");
  auto db = tessera::Db::open("fake-insert://x");
  std::vector<Item> rows(1000, Item{.name = "n", .qty = 3});
  db.insert_many(rows);
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].operation == "Insert");
  CHECK(state->ops[0].insert_rows == 1000);
  CHECK(state->ops[0].params.size() == 2000);  // id left out: generated
}

TEST_CASE("engine: a driver with insert_row_source pulls insert_many's rows in chunks") {
  auto state = fake::install("fake-insert-source");
  state->capability.insert_row_source = true;
  state->source_chunk = 64;
  auto db = tessera::Db::open("fake-insert-source://x");
  std::vector<Item> rows;
  for (int i = 0; i < 150; ++i) rows.push_back(Item{.name = "n" + std::to_string(i), .qty = i});
  db.insert_many(rows);
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].operation == "Insert");
  CHECK(state->ops[0].insert_rows == 150);
  using Chunks = std::vector<std::pair<std::size_t, std::size_t>>;
  CHECK(state->ops[0].chunks == Chunks{{0, 64}, {64, 64}, {128, 22}});
  // The values the driver pulled are every row's, in row order.
  REQUIRE(state->ops[0].params.size() == 300);
  for (std::size_t i = 0; i < 150; ++i) {
    CHECK(state->ops[0].params[2 * i].as_text() == "n" + std::to_string(i));
    CHECK(state->ops[0].params[2 * i + 1] == tessera::Value(static_cast<std::int64_t>(i)));
  }
}

TEST_CASE("engine: a value refused in a later chunk ends the driver's insert with invalid_value") {
  auto state = fake::install("fake-insert-source-nul");
  state->capability.insert_row_source = true;
  state->capability.text_embedded_nul = false;
  auto db = tessera::Db::open("fake-insert-source-nul://x");
  std::vector<Item> rows(150, Item{.name = "ok", .qty = 1});
  rows[140].name = std::string("bad\0text", 8);
  try {
    db.insert_many(rows);
    FAIL("insert_many accepted text with a NUL");
  } catch (const tessera::InvalidValueError& e) {
    CHECK(e.kind() == tessera::ErrorKind::invalid_value);
    CHECK(e.statement() == "INSERT INTO items");
  }
  // The driver was given the source and stopped at the third chunk's error
  // (a real driver then undoes the rows it wrote).
  CHECK(state->ops.empty());
}

TEST_CASE("engine: a driver binding insert_many's rows one at a time gets the chunks' values") {
  // The same rows through rows() (chunks of Values) and through bind_row():
  // every member kind binds the value the chunk would hold.
  std::vector<et::Wide> rows;
  for (int i = 0; i < 70; ++i) {
    et::Wide w;
    w.id = i + 1;
    w.flag = i % 2 == 0;
    w.color = i % 3 == 0 ? et::Color::red : et::Color::blue;
    w.ratio = 0.5f * static_cast<float>(i);
    w.text = i == 5 ? std::string() : "text " + std::to_string(i);
    if (i % 4 != 0) w.blob = tessera::to_bytes("b" + std::to_string(i));
    w.at = tessera::Timestamp{1'700'000'000'000'000 + i};
    w.day = tessera::Date{19'000 + i};
    if (i % 5 != 0) w.maybe = i * 10;
    if (i % 7 != 0) w.note = "note " + std::to_string(i);
    rows.push_back(w);
  }
  auto chunked = fake::install("fake-bind-chunks");
  chunked->capability.insert_row_source = true;
  tessera::Db::open("fake-bind-chunks://x").insert_many(rows);
  auto bound = fake::install("fake-bind-rows");
  bound->capability.insert_row_source = true;
  bound->bind_rows = true;
  tessera::Db::open("fake-bind-rows://x").insert_many(rows);
  REQUIRE(chunked->ops.size() == 1);
  REQUIRE(bound->ops.size() == 1);
  CHECK(bound->ops[0].chunks.size() == 70);
  REQUIRE(bound->ops[0].params.size() == 70 * 10);
  CHECK(bound->ops[0].params == chunked->ops[0].params);
  CHECK(bound->ops[0].params[2] == tessera::Value(std::int64_t{1}));  // an enum, as its value
  CHECK(bound->ops[0].params[8].is_null());                           // an empty optional
  CHECK(bound->ops[0].params[5 * 10 + 4] == tessera::Value(std::string()));  // empty text, not NULL
}

TEST_CASE("engine: values a driver cannot store are refused as insert_many binds a row") {
  auto state = fake::install("fake-bind-refused");
  state->capability.insert_row_source = true;
  state->capability.stores_nan = false;
  state->capability.text_embedded_nul = false;
  state->bind_rows = true;
  auto db = tessera::Db::open("fake-bind-refused://x");
  auto refused = [&](et::Wide bad, std::string_view message) {
    std::vector<et::Wide> rows(3);
    for (int i = 0; i < 3; ++i) rows[static_cast<std::size_t>(i)].id = i + 1;
    bad.id = 4;
    rows.push_back(bad);
    try {
      db.insert_many(rows);
      FAIL("insert_many accepted ", message);
    } catch (const tessera::InvalidValueError& e) {
      CHECK(std::string_view(e.what()).find(message) != std::string_view::npos);
      CHECK(e.statement() == "INSERT INTO wide");
    }
  };
  et::Wide w;
  w.ratio = std::numeric_limits<float>::quiet_NaN();
  refused(w, "NaN");
  w = {};
  w.note = std::string("a\0b", 3);
  refused(w, "NUL");
  w = {};
  w.at = tessera::Timestamp{std::numeric_limits<std::int64_t>::max()};
  refused(w, "timestamp outside years 0001..9999");
  w = {};
  w.day = tessera::Date{-800'000};
  refused(w, "date outside years 0001..9999");
  CHECK(state->ops.empty());
}

TEST_CASE("engine: with values logged at debug, insert_many sends every row's values at once") {
  auto state = fake::install("fake-insert-source-logged");
  state->capability.insert_row_source = true;
  tessera::Options o;
  o.log_values = true;
  auto db = tessera::Db::open("fake-insert-source-logged://x", o);
  auto logger = spdlog::get("tessera");
  REQUIRE(logger);
  const auto level = logger->level();
  logger->set_level(spdlog::level::debug);
  std::vector<Item> rows(100, Item{.name = "n", .qty = 3});
  db.insert_many(rows);
  logger->set_level(level);
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].chunks.empty());
  CHECK(state->ops[0].params.size() == 200);
}

TEST_CASE("engine: update_many is UPDATE ... CASE without Capability::update_many") {
  auto state = fake::install("fake-update-case");
  auto db = tessera::Db::open("fake-update-case://x");
  std::vector<Item> rows{{1, "a", 10}, {2, "b", 20}};
  db.update_many(rows, tessera::only(&Item::qty));
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].operation == "QuerySql");
  CHECK(state->ops[0].sql ==
        R"(UPDATE "items" SET "qty" = CASE WHEN "id" = ?1 THEN ?2 WHEN "id" = ?3 THEN ?4 END )"
        R"(WHERE "id" IN (?5, ?6))");
}

TEST_CASE(
    "engine: update_many is op::UpdateMany with Capability::update_many, prefix applied, "
    "a new operation at each repeated key") {
  auto state = fake::install("fake-update-op");
  state->capability.update_many = true;
  auto db = tessera::Db::open("fake-update-op://x", {.table_prefix = "p_"});
  using tessera::Value;
  std::vector<Item> rows{{1, "a", 10}, {2, "b", 20}, {1, "c", 30}};
  db.update_many(rows, tessera::only(&Item::qty));
  REQUIRE(state->ops.size() == 2);
  for (const auto& op : state->ops) {
    CHECK(op.operation == "UpdateMany");
    CHECK(op.sql == "p_items");
    CHECK(op.columns == std::vector<std::string>{"id", "qty"});
    CHECK(op.types ==
          std::vector<tessera::ColumnType>{tessera::ColumnType::int64, tessera::ColumnType::int32});
  }
  CHECK(state->ops[0].insert_rows == 2);
  CHECK(state->ops[0].params == std::vector<Value>{Value(std::int64_t{1}), Value(std::int64_t{10}),
                                                   Value(std::int64_t{2}),
                                                   Value(std::int64_t{20})});
  CHECK(state->ops[1].insert_rows == 1);
  CHECK(state->ops[1].params ==
        std::vector<Value>{Value(std::int64_t{1}), Value(std::int64_t{30})});

  // Every non-key column by default, in field order.
  state->ops.clear();
  db.update_many(std::vector<Item>{{5, "e", 50}});
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].columns == std::vector<std::string>{"id", "name", "qty"});
  CHECK(state->ops[0].params ==
        std::vector<Value>{Value(std::int64_t{5}), Value("e"), Value(std::int64_t{50})});
}

TEST_CASE("engine: table prefix applies to every statement") {
  auto state = fake::install("fake-prefix");
  auto db = tessera::Db::open("fake-prefix://x", {.table_prefix = "t1_"});
  db.execute(tessera::delete_from<Item>().where(col(&Item::id) == 3));
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].sql == R"(DELETE FROM "t1_items" WHERE "id" = ?1)");
}

TEST_CASE("engine: transactions emit start and rollback on scope exit, savepoints when nested") {
  auto state = fake::install("fake-tx");
  auto db = tessera::Db::open("fake-tx://x");
  {
    auto tx = db.transaction();
    {
      auto inner = tx.transaction();
      inner.commit();
    }
  }
  REQUIRE(state->ops.size() == 4);
  for (const auto& op : state->ops) CHECK(op.operation == "Transaction");
}

TEST_CASE("engine: update and erase by key reach a driver without Connection::write through exec") {
  // The fake driver does not override write(): the SPI default runs exec()
  // and returns its affected count.
  auto state = fake::install("fake-write");
  auto db = tessera::Db::open("fake-write://x");
  state->affected = 1;
  CHECK(db.update(Item{.id = 5, .name = "n", .qty = 3}, tessera::only(&Item::qty)));
  state->affected = 0;
  CHECK_FALSE(db.update(Item{.id = 6, .name = "n", .qty = 4}, tessera::only(&Item::qty)));
  state->affected = 1;
  CHECK(db.erase<Item>(std::int64_t{7}));
  REQUIRE(state->ops.size() == 3);
  for (const auto& op : state->ops) CHECK(op.operation == "QuerySql");
  CHECK(state->ops[0].sql.find("UPDATE") == 0);
  CHECK(state->ops[0].params == std::vector<tessera::Value>{std::int64_t{3}, std::int64_t{5}});
  CHECK(state->ops[1].params == std::vector<tessera::Value>{std::int64_t{4}, std::int64_t{6}});
  CHECK(state->ops[2].sql.find("DELETE") == 0);
  CHECK(state->ops[2].params == std::vector<tessera::Value>{std::int64_t{7}});
}

TEST_CASE("engine: an out-of-range update value is refused before reaching the driver") {
  auto state = fake::install("fake-range");
  auto db = tessera::Db::open("fake-range://x");
  CHECK_THROWS_AS(db.execute(tessera::update<Item>()
                                 .set(&Item::qty, std::int64_t{1} << 40)
                                 .where(col(&Item::id) == 1)),
                  tessera::InvalidValueError);
  CHECK(state->ops.empty());
}

TEST_CASE("engine: NaN is refused when the capability says the driver cannot store it") {
  auto state = fake::install("fake-nan");
  auto db = tessera::Db::open("fake-nan://x");
  (void)state;
  CHECK_THROWS_AS(db.execute_raw("UPDATE t SET x = ?1", std::numeric_limits<double>::quiet_NaN()),
                  tessera::InvalidValueError);
}

TEST_CASE("engine: the pool is bounded and times out with a typed error") {
  auto state = fake::install("fake-pool");
  auto db = tessera::Db::open(
      "fake-pool://x", {.max_connections = 2, .acquire_timeout = std::chrono::milliseconds(50)});
  auto t1 = db.transaction();
  auto t2 = db.transaction();
  try {
    auto t3 = db.transaction();
    FAIL("a third connection was handed out");
  } catch (const tessera::TimeoutError& e) {
    CHECK(e.kind() == tessera::ErrorKind::pool_timeout);
  }
  CHECK(state->connects.load() == 2);
}

TEST_CASE("engine: a connection given back wakes the thread waiting for it") {
  // One connection, handed from a transaction to a thread blocked in
  // acquire, 200 times, with the waiter at different points: not yet
  // waiting (the connection goes through the lock-free hot slot) or asleep
  // (through the idle list and the condition variable). A lost wakeup would
  // leave the waiter asleep until acquire_timeout and fail with pool_timeout.
  auto state = fake::install("fake-handoff");
  auto db = tessera::Db::open("fake-handoff://x",
                              {.max_connections = 1, .acquire_timeout = std::chrono::seconds(5)});
  int failures = 0;
  for (int round = 0; round < 200; ++round) {
    auto holder = db.transaction();
    std::atomic<bool> started{false};
    std::atomic<bool> failed{false};
    std::thread waiter([&] {
      started = true;
      try {
        (void)db.fetch_all(tessera::select<Item>());
      } catch (const std::exception&) {
        failed = true;
      }
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(round % 40 * 25));
    holder.rollback();  // gives the connection back
    waiter.join();
    if (failed) {
      ++failures;
      break;  // one lost wakeup costs acquire_timeout; one is enough
    }
  }
  CHECK(failures == 0);
  CHECK(state->connects.load() == 1);
}

TEST_CASE("engine: a connection that reports connection_lost is evicted from the pool") {
  auto state = fake::install("fake-evict");
  auto db = tessera::Db::open("fake-evict://x", {.max_connections = 1});
  state->fail_next = true;
  CHECK_THROWS_AS(db.fetch_all(tessera::select<Item>()), tessera::ConnectionError);
  CHECK(state->live.load() == 0);
  db.fetch_all(tessera::select<Item>());  // a fresh connection
  CHECK(state->connects.load() == 2);
}

TEST_CASE("engine: the operation hook sees every operation") {
  auto state = fake::install("fake-hook");
  std::vector<std::string> seen;
  auto db = tessera::Db::open(
      "fake-hook://x",
      {.on_operation = [&](const tessera::OperationEvent& e) { seen.emplace_back(e.operation); }});
  db.fetch_all(tessera::select<Item>());
  db.insert(Item{.name = "a", .qty = 1});
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == "QuerySql");
  CHECK(seen[1] == "Insert");
}

TEST_CASE(
    "engine: find reads through Connection::read; a bad row is a typed error naming the "
    "statement, and the connection goes back to the pool") {
  // The fake does not override read(): this is the SPI's default, exec()
  // and its Rows, as a third-party driver gets it.
  auto state = fake::install("fake-read");
  tessera::Options o;
  o.max_connections = 1;
  o.acquire_timeout = std::chrono::milliseconds(200);
  auto db = tessera::Db::open("fake-read://x", o);
  using tessera::Value;
  state->columns = 3;
  state->rows = {{Value(std::int64_t{4}), Value(std::string("four")), Value(std::int64_t{44})}};
  auto found = db.find<Item>(std::int64_t{4});
  REQUIRE(found);
  CHECK(found->name == "four");
  CHECK(found->qty == 44);
  REQUIRE(state->ops.size() == 1);
  CHECK(state->ops[0].sql == R"(SELECT "id", "name", "qty" FROM "items" WHERE "id" = ?1)");

  // A conversion error recorded by the Rows (text where an integer belongs).
  state->rows = {{Value(std::int64_t{4}), Value(std::string("four")), Value(std::string("x"))}};
  for (int i = 0; i < 3; ++i) {  // a leaked connection would time out the second time
    try {
      (void)db.find<Item>(std::int64_t{4});
      FAIL("no error");
    } catch (const tessera::DbError& e) {
      CHECK(e.error().kind == tessera::ErrorKind::invalid_value);
      CHECK(e.error().driver == "fake");
      CHECK(e.error().statement == state->ops[0].sql);
    }
  }
  // An exception thrown by the mapping itself (out of the member's range).
  state->rows = {
      {Value(std::int64_t{4}), Value(std::string("four")), Value(std::int64_t{1} << 40)}};
  for (int i = 0; i < 3; ++i) {
    try {
      (void)db.find<Item>(std::int64_t{4});
      FAIL("no error");
    } catch (const tessera::DbError& e) {
      CHECK(e.error().kind == tessera::ErrorKind::invalid_value);
      CHECK(std::string(e.what()).find("out of range") != std::string::npos);
    }
  }
  state->rows.clear();
  CHECK_FALSE(db.find<Item>(std::int64_t{4}).has_value());
}

TEST_CASE("engine: the per-thread memo of the last plan never serves another Db's plan") {
  // Each round's Db may be allocated where the previous round's was: the
  // memo must tell them apart (by engine identity, not address).
  auto state = fake::install("fake-memo");
  std::vector<std::string> want;
  for (int round = 0; round < 3; ++round) {
    tessera::Options a;
    a.table_prefix = "a" + std::to_string(round) + "_";
    auto db = tessera::Db::open("fake-memo://x", a);
    tessera::Options b;
    b.table_prefix = "b_";
    auto other = tessera::Db::open("fake-memo://x", b);
    for (auto* d : {&db, &other, &db, &db}) {
      d->fetch_all(tessera::select<Item>().where(col(&Item::qty) > round));
      const std::string prefix = d == &db ? a.table_prefix : b.table_prefix;
      want.push_back(R"(SELECT "id", "name", "qty" FROM ")" + prefix +
                     R"(items" WHERE "qty" > ?1)");
    }
  }
  std::vector<std::string> got;
  for (const auto& op : state->ops) got.push_back(op.sql);
  CHECK(got == want);
}
