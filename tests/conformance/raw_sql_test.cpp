// Raw SQL with bound parameters, in the placeholder syntax of the
// connection's dialect. Table names include the fixture's prefix.
#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::select;

TEST_CASE("conformance: raw SQL queries map into models and tuples") {
  TestDb t;
  t.create<Item>();
  if (!require_capability(t.cap().raw_sql, "driver declares no raw SQL")) return;
  insert_sample_items(*t);
  auto& db = *t;
  const auto& cap = t.cap();
  const std::string items = t.table<Item>();
  auto p = [&](int n) { return placeholder(cap, n); };

  // Into the model: columns in field order.
  auto rows =
      db.query<Item>("SELECT id, name, qty, price, tier, note, color, made_at FROM " + items +
                         " WHERE qty > " + p(1) + " AND name <> " + p(2) + " ORDER BY id",
                     15, "100x");
  REQUIRE(rows.size() == 3);
  CHECK(ordered_ids(rows) == Ids{2, 3, 4});
  CHECK(rows[1].name == "banana");
  CHECK(rows[1].price == 0.25);
  CHECK(rows[1].tier == std::optional<std::int32_t>(3));
  CHECK(!rows[1].note);
  CHECK(rows[1].color == Color::blue);
  CHECK(rows[1].made == tessera::Timestamp::from_civil(1966, 1, 1, 0, 0, 0, 7));

  // Into a tuple.
  auto pairs = db.query<std::tuple<std::int64_t, std::string, std::optional<std::int32_t>>>(
      "SELECT id, name, tier FROM " + items + " WHERE qty BETWEEN " + p(1) + " AND " + p(2) +
          " ORDER BY id DESC",
      0, 20);
  REQUIRE(pairs.size() == 4);
  CHECK(std::get<0>(pairs[0]) == 8);
  CHECK(std::get<1>(pairs[0]) == "B");
  CHECK(std::get<2>(pairs[0]) == std::optional<std::int32_t>(8));
  CHECK(std::get<0>(pairs[1]) == 6);
  CHECK(std::get<0>(pairs[2]) == 2);
  CHECK(!std::get<2>(pairs[2]));
  CHECK(std::get<0>(pairs[3]) == 1);

  auto counted = db.query<std::tuple<std::int64_t>>("SELECT COUNT(*) FROM " + items);
  REQUIRE(counted.size() == 1);
  CHECK(std::get<0>(counted[0]) == 8);

  // Parameters of several types, including a hostile string.
  auto none = db.query<std::tuple<std::int64_t>>(
      "SELECT id FROM " + items + " WHERE name = " + p(1), std::string("'; DROP TABLE x; --"));
  CHECK(none.empty());
  auto by_time =
      db.query<std::tuple<std::int64_t>>("SELECT id FROM " + items + " WHERE made_at < " + p(1) +
                                             " AND color = " + p(2) + " ORDER BY id",
                                         tessera::Timestamp::from_civil(1970, 1, 1), Color::red);
  REQUIRE(by_time.size() == 2);
  CHECK(std::get<0>(by_time[0]) == 1);
  CHECK(std::get<0>(by_time[1]) == 4);

  // A result of the wrong width is refused.
  auto err = catch_error<tessera::StatementError>(
      [&] { db.query<std::tuple<std::int64_t>>("SELECT id, name FROM " + items); });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::invalid_statement);

  // Invalid SQL is a typed error.
  auto bad = catch_error<tessera::DbError>(
      [&] { db.query<std::tuple<std::int64_t>>("SELEKT nothing FROM " + items); });
  CHECK(bad.has_value());
}

TEST_CASE("conformance: execute_raw returns the affected count") {
  TestDb t;
  t.create<Item>();
  if (!require_capability(t.cap().raw_sql, "driver declares no raw SQL")) return;
  insert_sample_items(*t);
  auto& db = *t;
  const auto& cap = t.cap();
  const std::string items = t.table<Item>();
  auto p = [&](int n) { return placeholder(cap, n); };
  CHECK(db.execute_raw("UPDATE " + items + " SET qty = qty + 1 WHERE qty >= " + p(1), 30) == 3);
  CHECK(db.find<Item>(std::int64_t{5})->qty == 51);
  CHECK(db.execute_raw("UPDATE " + items + " SET note = " + p(1) + " WHERE id = " + p(2),
                       std::string("it's"), 1) == 1);
  CHECK(db.find<Item>(std::int64_t{1})->note == std::optional<std::string>("it's"));
  CHECK(db.execute_raw("DELETE FROM " + items + " WHERE id > " + p(1), 6) == 2);
  CHECK(db.execute_raw("DELETE FROM " + items + " WHERE id > " + p(1), 6) == 0);
  CHECK(db.count(select<Item>()) == 6);
  // Raw SQL inside a transaction runs on its connection.
  {
    auto tx = db.transaction();
    CHECK(tx.execute_raw("DELETE FROM " + items + " WHERE id = " + p(1), 1) == 1);
    CHECK(tx.count(select<Item>()) == 5);
  }
  CHECK(db.count(select<Item>()) == 6);
}

}  // namespace
}  // namespace conformance
