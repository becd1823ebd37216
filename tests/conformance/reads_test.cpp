// Ordering, pagination, single-row reads, partial selection, cursors.
#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::select;

// Two models of one table: Wide stores what Narrow's members cannot hold.
struct Wide {
  std::int64_t id{};
  std::optional<std::int64_t> n;
};
TESSERA_MODEL(Wide, "narrowing", (id, primary_key), (n));
struct Narrow {
  std::int64_t id{};
  std::int32_t n{};
};
TESSERA_MODEL(Narrow, "narrowing", (id, primary_key), (n));

TEST_CASE(
    "conformance: a stored value the member cannot hold is a typed error, and the "
    "connection stays usable") {
  TestDb t;
  t.create<Wide>();
  auto& db = *t;
  std::vector<Wide> rows{{1, std::int64_t{1} << 40}, {2, std::nullopt}, {3, 7}};
  db.insert_many(rows);
  // More failures than the pool has connections: a connection kept by a
  // failed read would make a later one time out.
  for (int i = 0; i < 10; ++i) {
    auto big = catch_error<tessera::DbError>([&] { (void)db.find<Narrow>(std::int64_t{1}); });
    REQUIRE(big.has_value());
    CHECK(big->kind == tessera::ErrorKind::invalid_value);
    CHECK(big->message.find("out of range") != std::string::npos);
    auto null = catch_error<tessera::DbError>([&] { (void)db.find<Narrow>(std::int64_t{2}); });
    REQUIRE(null.has_value());
    CHECK(null->kind == tessera::ErrorKind::invalid_value);
    CHECK(null->message.find("NULL") != std::string::npos);
  }
  CHECK(db.find<Narrow>(std::int64_t{3})->n == 7);
  CHECK(db.find<Wide>(std::int64_t{1})->n == std::optional<std::int64_t>(std::int64_t{1} << 40));
}

TEST_CASE("conformance: find_into overwrites every member on a match and nothing on a miss") {
  TestDb t;
  t.create<Item, Membership, Wide>();
  insert_sample_items(*t);
  auto& db = *t;
  // One object reused across lookups: what an earlier row left in it must
  // not show through (banana has no note and a tier; 100x has a note).
  Item out;
  REQUIRE(db.find_into(out, std::int64_t{5}));
  CHECK(out.name == "100x");
  CHECK(out.note == std::optional<std::string>("x"));
  REQUIRE(db.find_into(out, std::int64_t{3}));
  CHECK(out.id == 3);
  CHECK(out.name == "banana");
  CHECK(out.qty == 30);
  CHECK(out.price == 0.25);
  CHECK(out.tier == std::optional<std::int32_t>(3));
  CHECK(!out.note);
  CHECK(out.color == Color::blue);
  CHECK(out.made == tessera::Timestamp::from_civil(1966, 1, 1, 0, 0, 0, 7));
  for (std::int64_t id = 1; id <= 8; ++id) {
    REQUIRE(db.find_into(out, id));
    const auto fresh = db.find<Item>(id);
    REQUIRE(fresh);
    CHECK(out.id == fresh->id);
    CHECK(out.name == fresh->name);
    CHECK(out.qty == fresh->qty);
    CHECK(out.price == fresh->price);
    CHECK(out.tier == fresh->tier);
    CHECK(out.note == fresh->note);
    CHECK(out.color == fresh->color);
    CHECK(out.made == fresh->made);
  }
  // A miss leaves the object as it was.
  const Item before = out;
  CHECK_FALSE(db.find_into(out, std::int64_t{9}));
  CHECK(out.id == before.id);
  CHECK(out.name == before.name);
  CHECK(out.note == before.note);

  // Composite key.
  std::vector<Membership> ms{{1, 1, "owner"}, {1, 2, "member"}};
  db.insert_many(ms);
  Membership m;
  REQUIRE(db.find_into(m, 1, 2));
  CHECK(m.role == "member");
  CHECK_FALSE(db.find_into(m, 2, 2));
  CHECK(m.role == "member");

  // A value the member cannot hold: the typed error of find(), and the
  // connection stays usable.
  std::vector<Wide> wide{{1, std::int64_t{1} << 40}, {2, 7}};
  db.insert_many(wide);
  Narrow n;
  auto big = catch_error<tessera::DbError>([&] { (void)db.find_into(n, std::int64_t{1}); });
  REQUIRE(big.has_value());
  CHECK(big->kind == tessera::ErrorKind::invalid_value);
  REQUIRE(db.find_into(n, std::int64_t{2}));
  CHECK(n.n == 7);
}

TEST_CASE("conformance: order by several columns ascending and descending") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  CHECK(ordered_ids(db.fetch_all(select<Item>().order_by(col(&Item::id)))) ==
        Ids{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(ordered_ids(db.fetch_all(select<Item>().order_by(col(&Item::qty).desc()))) ==
        Ids{5, 4, 3, 2, 1, 8, 6, 7});
  // Text order is byte order on every driver: "100%" < "100x" < "Apple" < "B" < "a_b" < "apple".
  CHECK(ordered_ids(db.fetch_all(select<Item>().order_by(col(&Item::name).asc()))) ==
        Ids{4, 5, 2, 8, 6, 1, 7, 3});
  CHECK(ordered_ids(db.fetch_all(select<Item>().order_by(
            col(&Item::color), col(&Item::name).desc()))) == Ids{7, 1, 4, 8, 2, 5, 3, 6});
  // order_by() twice appends.
  CHECK(ordered_ids(db.fetch_all(
            select<Item>().order_by(col(&Item::color).desc()).order_by(col(&Item::qty)))) ==
        Ids{6, 3, 8, 2, 5, 7, 1, 4});
  CHECK(ordered_ids(db.fetch_all(select<Item>().order_by(col(&Item::price).desc()))) ==
        Ids{7, 4, 8, 2, 1, 3, 6, 5});
  CHECK(ordered_ids(db.fetch_all(select<Item>().order_by(col(&Item::made).desc()))) ==
        Ids{8, 7, 6, 5, 4, 3, 2, 1});
  // With a filter.
  CHECK(ordered_ids(db.fetch_all(select<Item>()
                                     .where(col(&Item::tier).is_not_null())
                                     .order_by(col(&Item::tier).desc()))) == Ids{8, 6, 5, 3, 1});
}

TEST_CASE("conformance: limit, offset and offset without limit") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto by_id = select<Item>().order_by(col(&Item::id));
  CHECK(ordered_ids(db.fetch_all(by_id.limit(3))) == Ids{1, 2, 3});
  CHECK(ordered_ids(db.fetch_all(by_id.limit(3).offset(2))) == Ids{3, 4, 5});
  CHECK(ordered_ids(db.fetch_all(by_id.offset(5))) == Ids{6, 7, 8});
  CHECK(ordered_ids(db.fetch_all(by_id.offset(8))) == Ids{});
  CHECK(ordered_ids(db.fetch_all(by_id.limit(0))) == Ids{});
  CHECK(ordered_ids(db.fetch_all(by_id.limit(100).offset(6))) == Ids{7, 8});
  CHECK(ordered_ids(db.fetch_all(select<Item>()
                                     .where(col(&Item::qty) > 0)
                                     .order_by(col(&Item::qty).desc())
                                     .limit(2)
                                     .offset(1))) == Ids{4, 3});
  // count respects limit and offset.
  CHECK(db.count(by_id.limit(3)) == 3);
  CHECK(db.count(by_id.offset(6)) == 2);
  CHECK(db.count(by_id.limit(5).offset(6)) == 2);
}

TEST_CASE("conformance: paged fetch, count and exists") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto q = select<Item>().where(col(&Item::qty) >= 0).order_by(col(&Item::id));
  auto p0 = db.fetch_page(q, 0, 3);
  CHECK(p0.total == 7);
  CHECK(p0.page_index == 0);
  CHECK(p0.page_size == 3);
  CHECK(ordered_ids(p0.items) == Ids{1, 2, 3});
  auto p1 = db.fetch_page(q, 1, 3);
  CHECK(p1.total == 7);
  CHECK(ordered_ids(p1.items) == Ids{4, 5, 6});
  auto p2 = db.fetch_page(q, 2, 3);
  CHECK(ordered_ids(p2.items) == Ids{8});
  auto p3 = db.fetch_page(q, 3, 3);
  CHECK(p3.total == 7);
  CHECK(p3.items.empty());
  // The query's own paging is replaced.
  auto p = db.fetch_page(q.limit(1).offset(5), 0, 2);
  CHECK(p.total == 7);
  CHECK(ordered_ids(p.items) == Ids{1, 2});
  auto bad = catch_error<tessera::DbError>([&] { db.fetch_page(q, 0, 0); });
  REQUIRE(bad.has_value());

  CHECK(db.count(select<Item>()) == 8);
  CHECK(db.count(select<Item>().where(col(&Item::qty) > 100)) == 0);
  CHECK(db.exists(select<Item>()));
  CHECK(db.exists(select<Item>().where(col(&Item::name) == "banana")));
  CHECK_FALSE(db.exists(select<Item>().where(col(&Item::name) == "cherry")));
}

TEST_CASE("conformance: fetch_one, fetch_optional and find") {
  TestDb t;
  t.create<Item, Membership>();
  insert_sample_items(*t);
  auto& db = *t;
  const Item banana = db.fetch_one(select<Item>().where(col(&Item::name) == "banana"));
  CHECK(banana.id == 3);
  CHECK(banana.qty == 30);
  CHECK(banana.price == 0.25);
  CHECK(banana.tier == std::optional<std::int32_t>(3));
  CHECK(!banana.note);
  CHECK(banana.color == Color::blue);
  CHECK(banana.made == tessera::Timestamp::from_civil(1966, 1, 1, 0, 0, 0, 7));

  auto none = catch_error<tessera::NotFoundError>(
      [&] { db.fetch_one(select<Item>().where(col(&Item::qty) > 1000)); });
  REQUIRE(none.has_value());
  CHECK(none->kind == tessera::ErrorKind::not_found);
  auto many = catch_error<tessera::NotFoundError>(
      [&] { db.fetch_one(select<Item>().where(col(&Item::qty) > 10)); });
  REQUIRE(many.has_value());
  CHECK(many->kind == tessera::ErrorKind::too_many_rows);

  CHECK(!db.fetch_optional(select<Item>().where(col(&Item::qty) > 1000)));
  auto one = db.fetch_optional(select<Item>().where(col(&Item::name) == "B"));
  REQUIRE(one);
  CHECK(one->id == 8);
  auto many2 = catch_error<tessera::NotFoundError>(
      [&] { db.fetch_optional(select<Item>().where(col(&Item::color) == Color::red)); });
  REQUIRE(many2.has_value());
  CHECK(many2->kind == tessera::ErrorKind::too_many_rows);

  auto f = db.find<Item>(std::int64_t{5});
  REQUIRE(f);
  CHECK(f->name == "100x");
  CHECK(f->note == std::optional<std::string>("x"));
  CHECK(!db.find<Item>(std::int64_t{9}));
  CHECK(db.find<Item>(6)->name == "a_b");  // any integer type for the key

  // Composite primary key.
  std::vector<Membership> ms{{1, 1, "owner"}, {1, 2, "member"}, {2, 1, "guest"}};
  db.insert_many(ms);
  auto m = db.find<Membership>(1, 2);
  REQUIRE(m);
  CHECK(m->role == "member");
  auto m2 = db.find<Membership>(2, 1);
  REQUIRE(m2);
  CHECK(m2->role == "guest");
  CHECK(!db.find<Membership>(2, 2));
  CHECK(db.count(select<Membership>().where(col(&Membership::org_id) == 1)) == 2);
}

TEST_CASE("conformance: partial selection into a smaller struct") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  std::vector<ItemName> names = db.fetch_all(
      select<Item>().where(col(&Item::qty) > 25).order_by(col(&Item::id)).into<ItemName>());
  REQUIRE(names.size() == 3);
  CHECK(names[0].id == 3);
  CHECK(names[0].name == "banana");
  CHECK(names[1].name == "100%");
  CHECK(names[2].name == "100x");
  const ItemName b = db.fetch_one(select<Item>().where(col(&Item::id) == 8).into<ItemName>());
  CHECK(b.name == "B");
  CHECK(db.count(select<Item>().into<ItemName>()) == 8);
  auto page =
      db.fetch_page(select<Item>().order_by(col(&Item::name).desc()).into<ItemName>(), 0, 2);
  CHECK(page.total == 8);
  REQUIRE(page.items.size() == 2);
  CHECK(page.items[0].name == "banana");
  CHECK(page.items[1].name == "axb");
}

TEST_CASE("conformance: a lazy cursor iterates 10,000 rows and can stop early") {
  // One connection: a leaked one would make the next statement time out.
  TestDb t([](tessera::Options& o) {
    o.max_connections = 1;
    o.acquire_timeout = std::chrono::milliseconds(2000);
  });
  t.create<Tally>();
  auto& db = *t;
  std::vector<Tally> rows;
  for (int i = 0; i < 10000; ++i) rows.push_back(Tally{0, i % 7, i, i * 3});
  db.insert_many(rows);

  std::int64_t n = 0;
  std::int64_t sum = 0;
  std::int32_t last_seq = -1;
  bool ordered = true;
  for (const Tally& r : db.cursor(select<Tally>().order_by(col(&Tally::seq)))) {
    ++n;
    sum += r.value;
    ordered = ordered && r.seq == last_seq + 1;
    last_seq = r.seq;
  }
  CHECK(n == 10000);
  CHECK(sum == 3LL * (9999LL * 10000LL / 2));
  CHECK(ordered);

  // Break early; the cursor releases its connection when destroyed.
  {
    auto cursor =
        db.cursor(select<Tally>().where(col(&Tally::worker) == 3).order_by(col(&Tally::seq)));
    int seen = 0;
    for (const Tally& r : cursor) {
      CHECK(r.worker == 3);
      if (++seen == 10) break;
    }
    CHECK(seen == 10);
  }
  CHECK(db.count(select<Tally>()) == 10000);
  // Many abandoned cursors in a row still leave the pool usable.
  for (int i = 0; i < 20; ++i) {
    auto c = db.cursor(select<Tally>());
    auto it = c.begin();
    CHECK(it != c.end());
  }
  {
    auto empty = db.cursor(select<Tally>().where(col(&Tally::worker) == 99));
    CHECK(empty.begin() == empty.end());
  }
  CHECK(db.insert(Tally{0, 9, 10000, 1}).id > 0);
  CHECK(db.count(select<Tally>().where(col(&Tally::worker) == 9)) == 1);
}

TEST_CASE("conformance: statements past the plan cache's limit run unprepared, many times over") {
  // No DSL shape is kept: every select, update and delete below reaches the
  // driver with cache key 0 (do not cache), the model's own statements
  // (find, update by key) with theirs.
  TestDb t([](tessera::Options& o) { o.max_cached_plans = 0; });
  t.create<Item>();
  auto& db = *t;
  std::vector<Item> rows;
  for (int i = 1; i <= 300; ++i)
    rows.push_back(Item{.id = i, .name = "n" + std::to_string(i), .qty = i % 7, .price = i * 0.5});
  db.insert_many(rows);
  for (int round = 0; round < 50; ++round) {
    CHECK(db.count(select<Item>().where(col(&Item::qty) == round % 7)) ==
          (round % 7 == 0 ? 42 : 43));
    const auto some = db.fetch_all(
        select<Item>().where(col(&Item::id) <= 10).order_by(col(&Item::id).desc()).limit(3));
    CHECK(ids_of(some) == std::vector<std::int64_t>{8, 9, 10});
    CHECK(db.execute(tessera::update<Item>()
                         .set(&Item::price, double(round))
                         .where(col(&Item::id) == round + 1)) == 1);
    CHECK(db.find<Item>(std::int64_t{round + 1})->price == double(round));
  }
  std::int64_t seen = 0;
  for (const Item& r : db.cursor(select<Item>().where(col(&Item::qty) == 3))) seen += r.qty;
  CHECK(seen == 43 * 3);
  CHECK(db.execute(tessera::delete_from<Item>().where(col(&Item::qty) == 0)) == 42);
  CHECK(db.count(select<Item>()) == 258);
}

}  // namespace
}  // namespace conformance
