// Prepared statements (Executor::prepare) against the fake driver: the SQL
// and parameters the engine emits, that a statement is planned once at
// prepare time, the declared-type and range checks, and where it runs.
#include <doctest/doctest.h>

#include <tessera/tessera.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fake_driver.hpp"

namespace pt {
struct Item {
  std::int64_t id{};
  std::string name;
  std::int32_t qty{};
  std::optional<std::string> note;
  float weight{};
};
TESSERA_MODEL(Item, "items", (id, tessera::primary_key), (name), (qty), (note), (weight));
}  // namespace pt

using pt::Item;
using tessera::col;
using tessera::param;
using tessera::Value;

namespace {
template <class F>
std::optional<tessera::ErrorKind> error_of(F&& f) {
  try {
    f();
  } catch (const tessera::DbError& e) {
    return e.kind();
  }
  return std::nullopt;
}
}  // namespace

TEST_CASE("prepared: an update emits the DSL's SQL and binds the arguments in order") {
  auto state = fake::install("fake-prep-update");
  state->affected = 1;
  auto db = tessera::Db::open("fake-prep-update://x");
  auto set_qty =
      db.prepare<std::int32_t, std::int64_t>(tessera::update<Item>()
                                                 .set(&Item::qty, param<std::int32_t>())
                                                 .where(col(&Item::id) == param<std::int64_t>()));
  CHECK(state->ops.empty());  // prepare runs nothing
  CHECK(set_qty.execute(7, std::int64_t{42}) == 1);
  CHECK(set_qty.execute(8, 43) == 1);  // any integer type: range-checked
  REQUIRE(state->ops.size() == 2);
  CHECK(state->ops[0].sql == R"(UPDATE "items" SET "qty" = ?1 WHERE "id" = ?2)");
  CHECK(state->ops[0].params ==
        std::vector<Value>{Value(std::int64_t{7}), Value(std::int64_t{42})});
  CHECK(state->ops[1].params ==
        std::vector<Value>{Value(std::int64_t{8}), Value(std::int64_t{43})});
  CHECK(state->ops[0].cache_key == state->ops[1].cache_key);

  // The same statement through the DSL: the same SQL and the same plan.
  db.execute(tessera::update<Item>().set(&Item::qty, 9).where(col(&Item::id) == 44));
  CHECK(state->ops[2].sql == state->ops[0].sql);
  CHECK(state->ops[2].cache_key == state->ops[0].cache_key);
}

TEST_CASE("prepared: the plan is made at prepare time and kept") {
  auto state = fake::install("fake-prep-once");
  auto db = tessera::Db::open("fake-prep-once://x");
  // Plans are numbered as they are made: the prepared statement's plan is
  // made before the other query's, although it runs after it.
  auto by_qty = db.prepare<std::int32_t>(
      tessera::select<Item>().where(col(&Item::qty) > param<std::int32_t>()));
  db.fetch_all(tessera::select<Item>().where(col(&Item::name) == "x"));
  (void)by_qty.fetch_all(1);
  db.fetch_all(tessera::select<Item>().where(col(&Item::name) == "y"));
  (void)by_qty.fetch_all(2);
  REQUIRE(state->ops.size() == 4);
  CHECK(state->ops[1].cache_key < state->ops[0].cache_key);
  CHECK(state->ops[3].cache_key == state->ops[1].cache_key);
  CHECK(state->ops[2].cache_key == state->ops[0].cache_key);
  CHECK(state->ops[1].sql ==
        R"(SELECT "id", "name", "qty", "note", "weight" FROM "items" WHERE "qty" > ?1)");
}

TEST_CASE("prepared: literals are kept, mixed with placeholders in parameter order") {
  auto state = fake::install("fake-prep-mixed");
  auto db = tessera::Db::open("fake-prep-mixed://x");
  auto q = db.prepare<std::int32_t, std::int64_t, std::string>(
      tessera::update<Item>()
          .set(&Item::name, "fixed")
          .set(&Item::qty, param<std::int32_t>())
          .where((col(&Item::id) == param<std::int64_t>() && col(&Item::qty) < 100) ||
                 col(&Item::name) == param<std::string>()));
  const std::string name = "a name that does not fit a small string buffer";
  q.execute(5, std::int64_t{6}, name);
  q.execute(std::int16_t{7}, 8, "z");
  REQUIRE(state->ops.size() == 2);
  CHECK(state->ops[0].sql ==
        R"(UPDATE "items" SET "name" = ?1, "qty" = ?2 WHERE (("id" = ?3 AND "qty" < ?4) OR )"
        R"("name" = ?5))");
  CHECK(state->ops[0].params == std::vector<Value>{Value("fixed"), Value(std::int64_t{5}),
                                                   Value(std::int64_t{6}), Value(std::int64_t{100}),
                                                   Value(name)});
  CHECK(state->ops[1].params.size() == 5);
  CHECK(state->ops[1].params[1] == Value(std::int64_t{7}));
  CHECK(state->ops[1].params[4] == Value("z"));
}

TEST_CASE("prepared: optional parameters bind NULL, floats bind as double") {
  auto state = fake::install("fake-prep-null");
  auto db = tessera::Db::open("fake-prep-null://x");
  auto q = db.prepare<std::optional<std::string>, double, std::int64_t>(
      tessera::update<Item>()
          .set(&Item::note, param<std::optional<std::string>>())
          .set(&Item::weight, param<double>())
          .where(col(&Item::id) == param<std::int64_t>()));
  q.execute(std::nullopt, 1.5, 1);
  q.execute(std::optional<std::string>{}, 2, 2);  // an integer for a float column: a double
  q.execute(std::optional<std::string>{"n"}, 2.5f, 3);
  q.execute("t", 0.0, 4);
  REQUIRE(state->ops.size() == 4);
  CHECK(state->ops[0].params[0].is_null());
  CHECK(state->ops[0].params[1] == Value(1.5));
  CHECK(state->ops[1].params[0].is_null());
  CHECK(state->ops[1].params[1] == Value(2.0));
  CHECK(state->ops[2].params[0] == Value("n"));
  CHECK(state->ops[3].params[0] == Value("t"));

  // An integer placeholder on a float column binds a double too.
  auto w = db.prepare<std::int32_t>(
      tessera::select<Item>().where(col(&Item::weight) == param<std::int32_t>()));
  (void)w.fetch_all(3);
  CHECK(state->ops.back().params == std::vector<Value>{Value(3.0)});
}

TEST_CASE("prepared: an argument out of range is refused before the driver") {
  auto state = fake::install("fake-prep-range");
  auto db = tessera::Db::open("fake-prep-range://x");
  auto q =
      db.prepare<std::int32_t, std::int64_t>(tessera::update<Item>()
                                                 .set(&Item::qty, param<std::int32_t>())
                                                 .where(col(&Item::id) == param<std::int64_t>()));
  CHECK(error_of([&] { q.execute(std::int64_t{1} << 40, 1); }) ==
        tessera::ErrorKind::invalid_value);
  CHECK(error_of([&] { q.execute(1, std::uint64_t{1} << 63); }) ==
        tessera::ErrorKind::invalid_value);
  // The declared type's range counts too: a wider column does not help.
  auto id16 = db.prepare<std::int16_t>(
      tessera::delete_from<Item>().where(col(&Item::id) == param<std::int16_t>()));
  CHECK(error_of([&] { id16.execute(40000); }) == tessera::ErrorKind::invalid_value);
  auto heavy =
      db.prepare<double>(tessera::delete_from<Item>().where(col(&Item::weight) > param<double>()));
  CHECK(error_of([&] { heavy.execute(1e300); }) == tessera::ErrorKind::invalid_value);
  CHECK(state->ops.empty());
  try {
    q.execute(std::int64_t{1} << 40, 1);
  } catch (const tessera::InvalidValueError& e) {
    CHECK(std::string(e.what()).find("argument 1") != std::string::npos);
    CHECK(std::string(e.what()).find("qty") != std::string::npos);
  }
  // An out-of-range literal is refused at prepare.
  CHECK(error_of([&] {
          (void)db.prepare<std::int64_t>(tessera::update<Item>()
                                             .set(&Item::qty, std::int64_t{1} << 40)
                                             .where(col(&Item::id) == param<std::int64_t>()));
        }) == tessera::ErrorKind::invalid_value);
}

TEST_CASE("prepared: the declared types must match the placeholders, named by position") {
  auto state = fake::install("fake-prep-declared");
  auto db = tessera::Db::open("fake-prep-declared://x");
  auto stmt = tessera::update<Item>()
                  .set(&Item::qty, param<std::int32_t>())
                  .where(col(&Item::id) == param<std::int64_t>());
  std::string message;
  try {
    (void)db.prepare<std::int32_t, std::int32_t>(stmt);
  } catch (const tessera::StatementError& e) {
    CHECK(e.kind() == tessera::ErrorKind::invalid_statement);
    message = e.what();
  }
  CHECK(message.find("parameter 2") != std::string::npos);
  CHECK(message.find("column id") != std::string::npos);
  CHECK(message.find("long") != std::string::npos);  // std::int64_t, demangled
  CHECK(error_of([&] { (void)db.prepare<std::int32_t>(stmt); }) ==
        tessera::ErrorKind::invalid_statement);
  CHECK(error_of([&] { (void)db.prepare<std::int32_t, std::int64_t, bool>(stmt); }) ==
        tessera::ErrorKind::invalid_statement);
  // Placeholders run only through prepare().
  CHECK(error_of([&] { db.execute(stmt); }) == tessera::ErrorKind::invalid_statement);
  CHECK(error_of([&] {
          (void)db.fetch_all(
              tessera::select<Item>().where(col(&Item::id) == param<std::int64_t>()));
        }) == tessera::ErrorKind::invalid_statement);
  CHECK(state->ops.empty());
}

TEST_CASE("prepared: select reads through fetch_all, fetch_one, fetch_optional and cursor") {
  auto state = fake::install("fake-prep-select");
  state->columns = 5;
  state->rows = {{Value(std::int64_t{1}), Value("a"), Value(std::int64_t{3}), Value(), Value(0.5)}};
  auto db = tessera::Db::open("fake-prep-select://x");
  auto q = db.prepare<std::string>(
      tessera::select<Item>().where(col(&Item::name) == param<std::string>()).limit(5));
  CHECK(q.fetch_all("a").size() == 1);
  CHECK(q.fetch_one("a").qty == 3);
  CHECK(q.fetch_optional(std::string("a"))->name == "a");
  int n = 0;
  {
    std::string arg = "cursor";
    auto c = q.cursor(arg);
    arg.assign(40, 'x');  // the cursor holds its own copy
    for (const Item& it : c) n += it.qty;
  }
  CHECK(n == 3);
  REQUIRE(state->ops.size() == 4);
  CHECK(state->ops[3].params == std::vector<Value>{Value("cursor"), Value(std::int64_t{5})});
  state->rows.push_back(state->rows.front());
  CHECK(error_of([&] { (void)q.fetch_one("a"); }) == tessera::ErrorKind::too_many_rows);
  state->rows.clear();
  CHECK(error_of([&] { (void)q.fetch_one("a"); }) == tessera::ErrorKind::not_found);
  CHECK_FALSE(q.fetch_optional("a").has_value());
}

TEST_CASE("prepared: inside a transaction it runs on the transaction and ends with it") {
  auto state = fake::install("fake-prep-tx");
  auto db = tessera::Db::open("fake-prep-tx://x");
  auto tx = db.transaction();
  auto del = tx.prepare<std::int64_t>(
      tessera::delete_from<Item>().where(col(&Item::id) == param<std::int64_t>()));
  del.execute(1);
  {
    auto inner = tx.transaction();
    auto inner_del = inner.prepare<std::int64_t>(
        tessera::delete_from<Item>().where(col(&Item::id) == param<std::int64_t>()));
    inner_del.execute(2);
    inner.commit();
    CHECK(error_of([&] { inner_del.execute(3); }) == tessera::ErrorKind::invalid_statement);
    auto inner2 = tx.transaction();
    auto inner2_del = inner2.prepare<std::int64_t>(
        tessera::delete_from<Item>().where(col(&Item::id) == param<std::int64_t>()));
    tx.rollback();  // ends the nested transaction with it
    CHECK(error_of([&] { inner2_del.execute(3); }) == tessera::ErrorKind::invalid_statement);
  }
  CHECK(error_of([&] { del.execute(4); }) == tessera::ErrorKind::invalid_statement);
  // Start, delete, savepoint, delete, release, savepoint, rollback.
  REQUIRE(state->ops.size() == 7);
  CHECK(state->ops[1].sql == R"(DELETE FROM "items" WHERE "id" = ?1)");
  CHECK(state->ops[3].params == std::vector<Value>{Value(std::int64_t{2})});
  CHECK(state->connects == 1);  // everything on the transaction's connection
}

TEST_CASE("prepared: one statement prepared on a Db runs on many threads at once") {
  auto state = fake::install("fake-prep-threads");
  state->affected = 1;
  auto db = tessera::Db::open("fake-prep-threads://x", {.max_connections = 4});
  const auto set_name =
      db.prepare<std::string, std::int64_t>(tessera::update<Item>()
                                                .set(&Item::name, param<std::string>())
                                                .where(col(&Item::id) == param<std::int64_t>()));
  std::atomic<std::uint64_t> changed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i)
        changed += set_name.execute("thread " + std::to_string(t), std::int64_t{i});
    });
  for (auto& t : threads) t.join();
  CHECK(changed == 1000);
  CHECK(state->ops.size() == 1000);
  const std::uint64_t key = state->ops[0].cache_key;
  for (const auto& op : state->ops) CHECK(op.cache_key == key);
}
