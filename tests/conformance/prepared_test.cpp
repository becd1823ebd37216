// Prepared statements (Executor::prepare): update, delete and select with
// placeholders give what the same statements built with literal values
// give, with text, NULL, enums, literals mixed in, range errors, many
// executions, and inside transactions.
#include <cstdint>
#include <string>
#include <vector>

#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::param;
using tessera::select;

// Every column of a row, for comparing whole tables.
std::string describe(const Item& r) {
  return std::to_string(r.id) + "|" + r.name + "|" + std::to_string(r.qty) + "|" +
         std::to_string(r.price) + "|" + (r.tier ? std::to_string(*r.tier) : "NULL") + "|" +
         (r.note ? *r.note : "NULL") + "|" + std::to_string(static_cast<int>(r.color)) + "|" +
         std::to_string(r.made.micros);
}

std::vector<std::string> table_of(tessera::Db& db) {
  std::vector<std::string> out;
  for (const Item& r : db.fetch_all(select<Item>().order_by(col(&Item::id))))
    out.push_back(describe(r));
  return out;
}

void reset(tessera::Db& db) {
  db.execute(tessera::delete_from<Item>().all());
  insert_sample_items(db);
}

TEST_CASE("conformance: prepared update and delete change what the DSL changes") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;

  // The writes, once with literal values and once through prepared
  // statements; each returns the rows it changed.
  std::vector<std::uint64_t> dsl_changed;
  reset(db);
  dsl_changed.push_back(db.execute(tessera::update<Item>()
                                       .set(&Item::qty, 77)
                                       .set(&Item::note, std::nullopt)
                                       .where(col(&Item::name).like("a%"))));
  dsl_changed.push_back(
      db.execute(tessera::update<Item>()
                     .set(&Item::note, "kept")
                     .set(&Item::tier, 9)
                     .where(col(&Item::qty).between(5, 40) && col(&Item::color) != Color::blue)));
  dsl_changed.push_back(db.execute(
      tessera::update<Item>().set(&Item::name, "renamed \xc3\xa9").where(col(&Item::id) == 8)));
  dsl_changed.push_back(db.execute(tessera::delete_from<Item>().where(
      col(&Item::color) == Color::green && col(&Item::qty) < 30)));
  const auto dsl_table = table_of(db);

  reset(db);
  auto set_qty_note = db.prepare<std::int32_t, std::optional<std::string>, std::string>(
      tessera::update<Item>()
          .set(&Item::qty, param<std::int32_t>())
          .set(&Item::note, param<std::optional<std::string>>())
          .where(col(&Item::name).like(param<std::string>())));
  auto set_literals = db.prepare<std::int32_t, std::int32_t, Color>(
      tessera::update<Item>()
          .set(&Item::note, "kept")
          .set(&Item::tier, 9)
          .where(col(&Item::qty).between(param<std::int32_t>(), param<std::int32_t>()) &&
                 col(&Item::color) != param<Color>()));
  auto rename =
      db.prepare<std::string, std::int64_t>(tessera::update<Item>()
                                                .set(&Item::name, param<std::string>())
                                                .where(col(&Item::id) == param<std::int64_t>()));
  auto erase = db.prepare<Color, std::int32_t>(tessera::delete_from<Item>().where(
      col(&Item::color) == param<Color>() && col(&Item::qty) < param<std::int32_t>()));
  std::vector<std::uint64_t> prepared_changed;
  const std::string pattern = "a%";
  prepared_changed.push_back(set_qty_note.execute(77, std::nullopt, pattern));
  prepared_changed.push_back(set_literals.execute(5, std::int64_t{40}, Color::blue));
  prepared_changed.push_back(rename.execute(std::string("renamed \xc3\xa9"), 8));
  prepared_changed.push_back(erase.execute(Color::green, 30));

  CHECK(prepared_changed == dsl_changed);
  CHECK(table_of(db) == dsl_table);
  CHECK(dsl_changed == std::vector<std::uint64_t>{3, 3, 1, 2});

  // A non-NULL optional argument, then NULL again, on one statement.
  CHECK(set_qty_note.execute(1, std::optional<std::string>("n"), "banana") == 1);
  CHECK(db.fetch_one(select<Item>().where(col(&Item::id) == 3)).note == "n");
  CHECK(set_qty_note.execute(1, std::optional<std::string>(), "banana") == 1);
  CHECK_FALSE(db.fetch_one(select<Item>().where(col(&Item::id) == 3)).note.has_value());
}

TEST_CASE("conformance: prepared select reads what the DSL reads") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  insert_sample_items(db);

  auto by_qty =
      db.prepare<std::int32_t, std::string>(select<Item>()
                                                .where(col(&Item::qty) > param<std::int32_t>() ||
                                                       col(&Item::name) == param<std::string>())
                                                .order_by(col(&Item::id)));
  auto by_note = db.prepare<std::string>(select<Item>().where(
      col(&Item::note) == param<std::string>() && col(&Item::tier).is_not_null()));
  auto by_id =
      db.prepare<std::int64_t>(select<Item>().where(col(&Item::id) == param<std::int64_t>()));
  auto names = db.prepare<double>(select<Item>()
                                      .where(col(&Item::price) >= param<double>())
                                      .order_by(col(&Item::price).desc())
                                      .limit(3)
                                      .into<ItemName>());

  for (std::int32_t q : {-10, 0, 7, 25, 50}) {
    const auto dsl = db.fetch_all(select<Item>()
                                      .where(col(&Item::qty) > q || col(&Item::name) == "B")
                                      .order_by(col(&Item::id)));
    CHECK(ordered_ids(by_qty.fetch_all(q, "B")) == ordered_ids(dsl));
  }
  CHECK(ids_of(by_note.fetch_all("red")) == Ids{1});
  CHECK(by_note.fetch_all("missing").empty());
  CHECK(by_id.fetch_one(4).name == "100%");
  CHECK_FALSE(by_id.fetch_optional(99).has_value());
  auto err = catch_error<tessera::NotFoundError>([&] { (void)by_id.fetch_one(99); });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::not_found);
  CHECK(ordered_ids(names.fetch_all(0.5)) ==
        ordered_ids(db.fetch_all(select<Item>()
                                     .where(col(&Item::price) >= 0.5)
                                     .order_by(col(&Item::price).desc())
                                     .limit(3)
                                     .into<ItemName>())));
  Ids seen;
  for (const Item& r : by_qty.cursor(std::int64_t{25}, std::string("apple"))) seen.push_back(r.id);
  CHECK(seen == Ids{1, 3, 4, 5});
}

TEST_CASE("conformance: prepared statements refuse out-of-range arguments and run many times") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  insert_sample_items(db);
  auto set_qty =
      db.prepare<std::int32_t, std::int64_t>(tessera::update<Item>()
                                                 .set(&Item::qty, param<std::int32_t>())
                                                 .where(col(&Item::id) == param<std::int64_t>()));
  auto err = catch_error<tessera::InvalidValueError>(
      [&] { set_qty.execute(std::int64_t{1} << 40, std::int64_t{1}); });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::invalid_value);
  CHECK(db.fetch_one(select<Item>().where(col(&Item::id) == 1)).qty == 10);

  // 400 executions of each statement, interleaved.
  auto get =
      db.prepare<std::int64_t>(select<Item>().where(col(&Item::id) == param<std::int64_t>()));
  std::int64_t sum = 0;
  for (int i = 0; i < 400; ++i) {
    const std::int64_t id = 1 + i % 8;
    CHECK(set_qty.execute(i, id) == 1);
    sum += get.fetch_one(id).qty;
  }
  CHECK(sum == 399 * 400 / 2);
  CHECK(set_qty.execute(0, std::int64_t{1000}) == 0);
}

TEST_CASE("conformance: prepared statements inside a transaction commit and roll back with it") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  insert_sample_items(db);
  {
    auto tx = db.transaction();
    auto set_name =
        tx.prepare<std::string, std::int64_t>(tessera::update<Item>()
                                                  .set(&Item::name, param<std::string>())
                                                  .where(col(&Item::id) == param<std::int64_t>()));
    auto get =
        tx.prepare<std::int64_t>(select<Item>().where(col(&Item::id) == param<std::int64_t>()));
    for (std::int64_t id = 1; id <= 8; ++id)
      CHECK(set_name.execute("tx " + std::to_string(id), id) == 1);
    CHECK(get.fetch_one(5).name == "tx 5");  // the transaction sees its own writes
    tx.commit();
    auto after = catch_error<tessera::StatementError>([&] { set_name.execute("late", 1); });
    REQUIRE(after.has_value());
    CHECK(after->kind == tessera::ErrorKind::invalid_statement);
  }
  CHECK(db.fetch_one(select<Item>().where(col(&Item::id) == 8)).name == "tx 8");
  {
    auto tx = db.transaction();
    auto erase = tx.prepare<std::int32_t>(
        tessera::delete_from<Item>().where(col(&Item::qty) >= param<std::int32_t>()));
    CHECK(erase.execute(0) == 7);
    tx.rollback();
  }
  CHECK(db.count(select<Item>()) == 8);
}

}  // namespace
}  // namespace conformance
