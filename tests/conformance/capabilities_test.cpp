// What a driver declares in its Capability must be true: each declared flag
// is exercised here.
#include <cmath>
#include <limits>
#include <thread>

#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::Isolation;
using tessera::select;

TEST_CASE("conformance: declared capabilities hold") {
  TestDb t([](tessera::Options& o) { o.max_connections = 2; });
  t.create<Account, Item, AllTypes>();
  auto& db = *t;
  const tessera::Capability cap = t.cap();
  std::size_t exercised = 0;

  // Planning works for the declared dialect (or key-value mode).
  db.insert(Item{.id = 1, .name = "one", .qty = 1});
  CHECK(db.count(select<Item>().where(col(&Item::name) == "one")) == 1);

  if (cap.returning) {
    ++exercised;
    Account a{.email = "r@x", .tenant = "t", .handle = "h", .score = 3, .status = "s"};
    const Account stored = db.insert(a, tessera::except(&Account::score));
    CHECK(stored.id > 0);
    CHECK(stored.score == 42);  // read back from the database, not re-read
    CHECK(stored.status == "s");
  }

  if (cap.upsert) {
    ++exercised;
    db.upsert(Item{.id = 2, .name = "u1"});
    db.upsert(Item{.id = 2, .name = "u2"});
    CHECK(db.count(select<Item>().where(col(&Item::id) == 2)) == 1);
    CHECK(db.find<Item>(std::int64_t{2})->name == "u2");
  }

  if (cap.upsert_target) {
    ++exercised;
    Account a{.email = "t@x", .tenant = "tt", .handle = "hh", .score = 1, .status = "s"};
    db.upsert(a, tessera::on_conflict(&Account::email));
    a.score = 2;
    db.upsert(a, tessera::on_conflict(&Account::email));
    CHECK(db.count(select<Account>().where(col(&Account::email) == "t@x")) == 1);
    CHECK(db.fetch_one(select<Account>().where(col(&Account::email) == "t@x")).score == 2);
  }

  if (cap.savepoints) {
    ++exercised;
    {
      auto tx = db.transaction();
      tx.insert(Item{.id = 3, .name = "sp outer"});
      {
        auto sp = tx.transaction();
        sp.insert(Item{.id = 4, .name = "sp inner"});
        sp.rollback();
      }
      tx.commit();
    }
    CHECK(db.find<Item>(std::int64_t{3}).has_value());
    CHECK_FALSE(db.find<Item>(std::int64_t{4}).has_value());
  }

  for (int level = 0; level <= static_cast<int>(Isolation::serializable); ++level) {
    const auto iso = static_cast<Isolation>(level);
    if (!cap.supports(iso)) continue;
    ++exercised;
    const std::string level_name = tessera::to_string(iso);
    CAPTURE(level_name);
    {
      auto tx = db.transaction({.isolation = iso});
      tx.insert(Item{.id = 10 + level, .name = tessera::to_string(iso)});
      tx.commit();
    }
    CHECK(db.find<Item>(std::int64_t{10 + level}).has_value());
  }
  CHECK(cap.supports(Isolation::database_default));

  if (cap.read_only_transactions) {
    ++exercised;
    auto tx = db.transaction({.read_only = true});
    CHECK(tx.count(select<Item>()) >= 1);
    CHECK(catch_error<tessera::DbError>([&] {
            tx.insert(Item{.id = 20, .name = "ro"});
          }).has_value());
  }  // rolled back and released here
  CHECK_FALSE(db.find<Item>(std::int64_t{20}).has_value());

  {
    // An insert_many whose values exceed max_bind_params (and max_insert_rows).
    ++exercised;
    const std::size_t columns = 15;  // AllTypes without its generated key
    std::size_t n = cap.max_bind_params / columns + 2;
    if (cap.max_insert_rows != 0) n = std::max<std::size_t>(n, cap.max_insert_rows + 2);
    n = std::min<std::size_t>(n, 100000);
    std::vector<AllTypes> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i].i64 = static_cast<std::int64_t>(i);
    db.insert_many(rows);
    CHECK(db.count(select<AllTypes>()) == static_cast<std::int64_t>(n));
    CHECK(rows.back().id > rows.front().id);
    auto last = db.find<AllTypes>(rows.back().id);
    REQUIRE(last);
    CHECK(last->i64 == static_cast<std::int64_t>(n - 1));
  }

  if (cap.raw_sql) {
    ++exercised;
    auto r = db.query<std::tuple<std::int64_t>>(
        "SELECT id FROM " + t.table<Item>() + " WHERE id = " + placeholder(cap, 1), 1);
    REQUIRE(r.size() == 1);
    CHECK(std::get<0>(r[0]) == 1);
  }

  if (cap.stores_nan) {
    ++exercised;
    const AllTypes s = db.insert(AllTypes{.f64 = std::numeric_limits<double>::quiet_NaN()});
    CHECK(std::isnan(db.find<AllTypes>(s.id)->f64));
  }
  if (cap.stores_infinity) {
    ++exercised;
    const AllTypes s = db.insert(AllTypes{.f64 = -std::numeric_limits<double>::infinity()});
    CHECK(db.find<AllTypes>(s.id)->f64 == -std::numeric_limits<double>::infinity());
  }
  if (cap.text_embedded_nul) {
    ++exercised;
    const std::string s("x\0y", 3);
    const AllTypes r = db.insert(AllTypes{.text = s});
    CHECK((db.find<AllTypes>(r.id)->text == s));
  }

  if (cap.transactional_ddl) {
    ++exercised;
    // A table created inside a rolled-back transaction does not exist.
    {
      auto tx = db.transaction();
      tx.push_schema<Membership>();
      tx.insert(Membership{1, 1, "x"});
      CHECK(tx.count(select<Membership>()) == 1);
    }
    CHECK(catch_error<tessera::DbError>([&] { db.count(select<Membership>()); }).has_value());
    db.drop_tables<Membership>();
  }

  if (cap.concurrent_connections) {
    ++exercised;
    // Two transactions open at once, on two connections.
    auto a = db.transaction();
    auto b = db.transaction();
    CHECK(a.count(select<Item>()) == b.count(select<Item>()));
    a.commit();
    b.commit();
  }
  MESSAGE("exercised " << exercised << " declared capabilities");
  CHECK(exercised >= 2);
}

}  // namespace
}  // namespace conformance
