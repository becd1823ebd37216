// Inserts, batches, defaults, upserts, updates and deletes.
#include <limits>
#include <set>

#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::except;
using tessera::on_conflict;
using tessera::only;
using tessera::select;

Account make_account(const std::string& email, const std::string& tenant = "t",
                     const std::string& handle = "") {
  return Account{.email = email,
                 .tenant = tenant,
                 .handle = handle.empty() ? email : handle,
                 .score = 1,
                 .status = "new"};
}

TEST_CASE("conformance: insert returns generated ids") {
  TestDb t;
  t.create<Account>();
  auto& db = *t;
  const Account a = db.insert(make_account("a@x"));
  const Account b = db.insert(make_account("b@x"));
  CHECK(a.id > 0);
  CHECK(b.id > a.id);
  CHECK(a.email == "a@x");
  auto found = db.find<Account>(b.id);
  REQUIRE(found);
  CHECK(found->email == "b@x");
  CHECK(found->score == 1);
  CHECK(found->status == "new");
  // An explicit key is kept.
  Account c = make_account("c@x");
  c.id = b.id + 100;
  CHECK(db.insert(c).id == b.id + 100);
  REQUIRE(db.find<Account>(b.id + 100));
  // Mixing generated and explicit keys in one batch is refused.
  std::vector<Account> mixed{make_account("d@x"), c};
  mixed[1].email = "e@x";
  mixed[1].id = 5000;
  auto err = catch_error<tessera::InvalidValueError>([&] { db.insert_many(mixed); });
  REQUIRE(err.has_value());
  CHECK(db.count(select<Account>()) == 3);
  // No row went in, so none keeps a generated key; the explicit one stays.
  CHECK(mixed[0].id == 0);
  CHECK(mixed[1].id == 5000);
}

// Which rows were given keys before the failure depends on how the driver
// batches; after it, none has one.
bool no_ids(const auto& rows) {
  for (const auto& r : rows)
    if (r.id != 0) return false;
  return true;
}

TEST_CASE("conformance: a unique violation deep inside insert_many writes no row and no id") {
  TestDb t;
  t.create<Account>();
  auto& db = *t;
  db.insert(make_account("taken@x"));
  std::vector<Account> rows;
  for (int i = 0; i < 3000; ++i) rows.push_back(make_account("u" + std::to_string(i) + "@x"));
  rows[2900].email = "taken@x";
  SUBCASE("outside a transaction") {
    auto err = catch_error<tessera::ConstraintError>([&] { db.insert_many(rows); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::unique_violation);
    CHECK(db.count(select<Account>()) == 1);
    CHECK(no_ids(rows));
  }
  SUBCASE("inside a savepoint") {
    // As for any statement the database refuses (on PostgreSQL it aborts
    // the transaction), the savepoint is what lets the outer one go on.
    auto tx = db.transaction();
    {
      auto inner = tx.transaction();
      auto err = catch_error<tessera::ConstraintError>([&] { inner.insert_many(rows); });
      REQUIRE(err.has_value());
      CHECK(no_ids(rows));
      inner.rollback();
    }
    CHECK(tx.count(select<Account>()) == 1);
    tx.insert(make_account("after@x"));
    tx.commit();
    CHECK(db.count(select<Account>()) == 2);
  }
  // Fixed, the same rows all go in and get their keys.
  rows[2900].email = "u2900@x";
  db.insert_many(rows);
  CHECK(rows[2900].id > rows[0].id);
  REQUIRE(db.find<Account>(rows[2900].id));
  CHECK(db.find<Account>(rows[2900].id)->email == "u2900@x");
}

TEST_CASE("conformance: a value refused deep inside a large insert_many writes none of its rows") {
  TestDb t;
  t.create<AllTypes>();
  auto& db = *t;
  const tessera::Timestamp too_late{
      tessera::Timestamp::from_civil(9999, 12, 31, 23, 59, 59, 999999).micros + 1};
  std::vector<AllTypes> rows(3000);
  for (int i = 0; i < 3000; ++i) rows[static_cast<std::size_t>(i)].text = std::to_string(i);
  // Far past the first rows, so that a driver pulling rows in chunks
  // (Capability::insert_row_source) has written some before it meets it.
  rows[2900].ts = too_late;
  SUBCASE("outside a transaction") {
    auto err = catch_error<tessera::InvalidValueError>([&] { db.insert_many(rows); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::invalid_value);
    CHECK(db.count(select<AllTypes>()) == 0);
    CHECK(no_ids(rows));
  }
  SUBCASE("inside a transaction, which stays usable") {
    auto tx = db.transaction();
    tx.insert(AllTypes{.text = "before"});
    auto err = catch_error<tessera::InvalidValueError>([&] { tx.insert_many(rows); });
    REQUIRE(err.has_value());
    CHECK(no_ids(rows));
    CHECK(tx.count(select<AllTypes>()) == 1);
    tx.insert(AllTypes{.text = "after"});
    tx.commit();
    CHECK(db.count(select<AllTypes>()) == 2);
  }
  // The same rows without the bad value all go in.
  rows[2900].ts = tessera::Timestamp{};
  db.insert_many(rows);
  CHECK(db.count(select<AllTypes>().where(col(&AllTypes::text) == "2900")) == 1);
}

TEST_CASE("conformance: insert_many of 5,000 rows fills distinct increasing ids in row order") {
  TestDb t;
  t.create<AllTypes>();
  auto& db = *t;
  std::vector<AllTypes> rows;
  rows.reserve(5000);
  for (int i = 0; i < 5000; ++i) {
    rows.push_back(AllTypes{.b = i % 2 == 0,
                            .i8 = static_cast<std::int8_t>(i % 100),
                            .i16 = static_cast<std::int16_t>(i),
                            .i32 = i * 1000,
                            .i64 = std::int64_t{i} * 1'000'000'007,
                            .u8 = static_cast<std::uint8_t>(i % 256),
                            .u16 = static_cast<std::uint16_t>(i * 13),
                            .u32 = static_cast<std::uint32_t>(i) * 800000u,
                            .f32 = static_cast<float>(i) / 4,
                            .f64 = i / 8.0,
                            .text = "row " + std::to_string(i),
                            .bytes = tessera::to_bytes(std::to_string(i)),
                            .ts = tessera::Timestamp{std::int64_t{i} * 1'000'001},
                            .day = tessera::Date{i - 2500},
                            .color = i % 3 == 0 ? Color::red : Color::blue});
  }
  // 15 bound columns x 5,000 rows: more than any driver binds in one statement.
  db.insert_many(rows);
  std::set<std::int64_t> distinct;
  bool increasing = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    distinct.insert(rows[i].id);
    if (i > 0) increasing = increasing && rows[i].id > rows[i - 1].id;
  }
  CHECK(rows.front().id > 0);
  CHECK(distinct.size() == 5000);
  CHECK(increasing);
  CHECK(db.count(select<AllTypes>()) == 5000);
  auto all = db.fetch_all(select<AllTypes>().order_by(col(&AllTypes::id)));
  REQUIRE(all.size() == 5000);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& g = all[i];
    const auto& w = rows[i];
    const bool same = g.id == w.id && g.b == w.b && g.i8 == w.i8 && g.i16 == w.i16 &&
                      g.i32 == w.i32 && g.i64 == w.i64 && g.u8 == w.u8 && g.u16 == w.u16 &&
                      g.u32 == w.u32 && g.f32 == w.f32 && g.f64 == w.f64 && g.text == w.text &&
                      g.bytes == w.bytes && g.ts == w.ts && g.day == w.day && g.color == w.color;
    mismatches += !same;
  }
  CHECK(mismatches == 0);
  // The row at a batch boundary maps its own id.
  auto r = db.find<AllTypes>(rows[4321].id);
  REQUIRE(r);
  CHECK(r->text == "row 4321");
}

TEST_CASE("conformance: insert with only() or except() applies database defaults") {
  TestDb t;
  t.create<Account>();
  auto& db = *t;
  Account a = make_account("a@x");
  a.score = 7;
  a.status = "ignored";
  const Account stored = db.insert(a, except(&Account::score, &Account::status));
  CHECK(stored.id > 0);
  auto found = db.find<Account>(stored.id);
  REQUIRE(found);
  CHECK(found->score == 42);
  CHECK(found->status == "active");
  CHECK(found->email == "a@x");
  if (t.cap().returning) {
    // The returned row carries the defaults without a re-read.
    CHECK(stored.score == 42);
    CHECK(stored.status == "active");
  }

  Account b = make_account("b@x", "t2", "hb");
  b.nickname = "bee";
  const Account stored_b =
      db.insert(b, only(&Account::email, &Account::tenant, &Account::handle, &Account::status));
  auto found_b = db.find<Account>(stored_b.id);
  REQUIRE(found_b);
  CHECK(found_b->score == 42);
  CHECK(found_b->status == "new");
  CHECK(found_b->handle == "hb");
  CHECK(!found_b->nickname);  // not written: NULL
}

TEST_CASE("conformance: upsert on the primary key inserts then updates") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  if (!require_capability(t.cap().upsert, "driver declares no upsert")) return;
  Item it{.id = 10, .name = "first", .qty = 1, .price = 1.0};
  const Item s1 = db.upsert(it);
  CHECK(s1.id == 10);
  CHECK(db.count(select<Item>()) == 1);
  it.name = "second";
  it.qty = 2;
  it.note = "n";
  const Item s2 = db.upsert(it);
  CHECK(s2.id == 10);
  CHECK(db.count(select<Item>()) == 1);
  auto found = db.find<Item>(std::int64_t{10});
  REQUIRE(found);
  CHECK(found->name == "second");
  CHECK(found->qty == 2);
  CHECK(found->note == std::optional<std::string>("n"));
  if (t.cap().returning) CHECK(s2.name == "second");
  // upsert_many: one existing, one new.
  std::vector<Item> batch{{.id = 10, .name = "third", .qty = 3},
                          {.id = 11, .name = "new", .qty = 4}};
  db.upsert_many(std::span<Item>(batch));
  CHECK(db.count(select<Item>()) == 2);
  CHECK(db.find<Item>(std::int64_t{10})->name == "third");
  CHECK(db.find<Item>(std::int64_t{11})->qty == 4);
}

TEST_CASE("conformance: upsert on a unique member inserts then updates") {
  TestDb t;
  t.create<Account>();
  auto& db = *t;
  if (!require_capability(t.cap().upsert, "driver declares no upsert")) return;
  Account a = make_account("u@x");
  a.score = 5;
  const Account s1 = db.upsert(a, on_conflict(&Account::email));
  CHECK(db.count(select<Account>()) == 1);
  auto first = db.fetch_one(select<Account>().where(col(&Account::email) == "u@x"));
  CHECK(first.score == 5);
  if (t.cap().returning) CHECK(s1.id == first.id);
  a.score = 6;
  a.nickname = "you";
  const Account s2 = db.upsert(a, on_conflict(&Account::email));
  CHECK(db.count(select<Account>()) == 1);
  auto second = db.fetch_one(select<Account>().where(col(&Account::email) == "u@x"));
  CHECK(second.id == first.id);  // the same row, updated
  CHECK(second.score == 6);
  CHECK(second.nickname == std::optional<std::string>("you"));
  if (t.cap().returning) {
    CHECK(s2.id == first.id);
    CHECK(s2.score == 6);
  }
  // On the composite unique index (tenant, handle).
  if (t.cap().upsert_target) {
    Account b = make_account("v@x", "t9", "h9");
    db.upsert(b, on_conflict(&Account::tenant, &Account::handle));
    b.email = "w@x";
    db.upsert(b, on_conflict(&Account::tenant, &Account::handle));
    CHECK(db.count(select<Account>().where(col(&Account::tenant) == "t9")) == 1);
    CHECK(db.fetch_one(select<Account>().where(col(&Account::tenant) == "t9")).email == "w@x");
  }
}

TEST_CASE("conformance: update by key writes chosen fields and reports a missing key") {
  TestDb t;
  t.create<Item, Membership>();
  insert_sample_items(*t);
  auto& db = *t;
  Item it = *db.find<Item>(std::int64_t{1});
  it.name = "APPLE";
  it.qty = 999;
  it.tier = std::nullopt;
  CHECK(db.update(it, only(&Item::name, &Item::tier)));
  auto got = db.find<Item>(std::int64_t{1});
  REQUIRE(got);
  CHECK(got->name == "APPLE");
  CHECK(!got->tier);
  CHECK(got->qty == 10);  // not chosen, unchanged
  CHECK(db.update(it));   // every non-key column
  CHECK(db.find<Item>(std::int64_t{1})->qty == 999);
  CHECK(db.update(it, except(&Item::name)));
  it.id = 404;
  CHECK_FALSE(db.update(it));
  CHECK_FALSE(db.update(it, only(&Item::qty)));
  CHECK(db.count(select<Item>()) == 8);
  CHECK(db.find<Item>(std::int64_t{2})->name == "Apple");  // other rows untouched

  // Composite key.
  db.insert(Membership{1, 2, "member"});
  db.insert(Membership{2, 1, "member"});
  CHECK(db.update(Membership{1, 2, "admin"}));
  CHECK(db.find<Membership>(1, 2)->role == "admin");
  CHECK(db.find<Membership>(2, 1)->role == "member");
  CHECK_FALSE(db.update(Membership{2, 2, "x"}));
}

TEST_CASE("conformance: update_many sets each row to its own values by key") {
  TestDb t;
  t.create<Item, Membership>();
  auto& db = *t;
  std::vector<Item> rows;
  for (std::int64_t i = 1; i <= 1200; ++i)  // more than one batch on every driver
    rows.push_back(Item{.id = i, .name = "n" + std::to_string(i), .qty = 1, .price = 0.5});
  db.insert_many(rows);
  for (auto& r : rows) {
    r.qty = static_cast<std::int32_t>(r.id * 3);
    r.name = "renamed " + std::to_string(r.id);
    r.tier = r.id % 2 ? std::optional<std::int32_t>(7) : std::nullopt;
  }
  rows.push_back(Item{.id = 999999, .name = "missing"});  // no such row: not counted, not inserted
  CHECK(db.update_many(rows, only(&Item::qty, &Item::tier)) == 1200);
  const auto all = db.fetch_all(select<Item>().order_by(col(&Item::id)));
  REQUIRE(all.size() == 1200);
  for (const auto& r : all) {
    CAPTURE(r.id);
    CHECK(r.qty == r.id * 3);
    CHECK(r.tier == (r.id % 2 ? std::optional<std::int32_t>(7) : std::nullopt));
    CHECK(r.name == "n" + std::to_string(r.id));  // not chosen
  }
  // Composite keys.
  std::vector<Membership> members{{1, 1, "a"}, {1, 2, "b"}, {2, 1, "c"}};
  db.insert_many(members);
  CHECK(db.update_many(std::vector<Membership>{{1, 2, "B"}, {2, 1, "C"}}) == 2);
  CHECK(db.find<Membership>(1, 1)->role == "a");
  CHECK(db.find<Membership>(1, 2)->role == "B");
  CHECK(db.find<Membership>(2, 1)->role == "C");
}

TEST_CASE(
    "conformance: update_many with a repeated key ends with the later row, as update() would") {
  TestDb t;
  t.create<Item, Membership>();
  auto& db = *t;
  std::vector<Item> initial{{.id = 1, .name = "a", .qty = 1}, {.id = 2, .name = "b", .qty = 2}};
  db.insert_many(initial);
  std::vector<Item> rows{{.id = 1, .qty = 10},
                         {.id = 2, .qty = 20},
                         {.id = 1, .qty = 11},
                         {.id = 3, .qty = 30},
                         {.id = 1, .qty = 12}};
  // 1 counted three times, 2 once, 3 (missing) never.
  CHECK(db.update_many(rows, only(&Item::qty)) == 4);
  CHECK(db.find<Item>(std::int64_t{1})->qty == 12);
  CHECK(db.find<Item>(std::int64_t{2})->qty == 20);
  CHECK_FALSE(db.find<Item>(std::int64_t{3}));
  // Composite keys: equal only when every member is.
  std::vector<Membership> members{{1, 1, "a"}, {1, 2, "b"}};
  db.insert_many(members);
  CHECK(db.update_many(std::vector<Membership>{{1, 1, "x"}, {1, 2, "y"}, {1, 1, "z"}}) == 3);
  CHECK(db.find<Membership>(1, 1)->role == "z");
  CHECK(db.find<Membership>(1, 2)->role == "y");
}

TEST_CASE("conformance: update_many writes every column type, to and from NULL") {
  TestDb t;
  t.create<Nullables>();
  auto& db = *t;
  // Row i: every column set when i is even, NULL when odd; then the update
  // swaps that, and leaves `level` NULL in every row (a column without a
  // single value to tell its type).
  auto filled = [](std::int64_t i, bool set) {
    Nullables n{.id = i};
    if (!set) return n;
    n.b = i % 3 == 0;
    n.i8 = static_cast<std::int8_t>(-(i % 100));
    n.i16 = static_cast<std::int16_t>(i * 7);
    n.i32 = static_cast<std::int32_t>(-i * 1000);
    n.i64 = i * 1'000'000'007LL;
    n.u8 = static_cast<std::uint8_t>(i % 250);
    n.u16 = static_cast<std::uint16_t>(i * 3);
    n.u32 = static_cast<std::uint32_t>(i * 100'000);
    n.f32 = static_cast<float>(i) / 4;
    n.f64 = static_cast<double>(i) / 3;
    n.text = "text " + std::to_string(i) + (i % 5 == 0 ? std::string() : std::string(20, 'x'));
    n.bytes = tessera::to_bytes("b" + std::to_string(i));
    n.ts = tessera::Timestamp{i * 1'000'001};
    n.day = tessera::Date{static_cast<std::int32_t>(i)};
    n.color = i % 2 ? Color::red : Color::green;
    return n;
  };
  std::vector<Nullables> rows;
  for (std::int64_t i = 1; i <= 700; ++i) rows.push_back(filled(i, i % 2 == 0));
  db.insert_many(rows);
  for (auto& r : rows) {
    r = filled(r.id + 1000, r.id % 2 != 0);
    r.id -= 1000;
  }
  CHECK(db.update_many(rows) == 700);
  const auto all = db.fetch_all(select<Nullables>().order_by(col(&Nullables::id)));
  REQUIRE(all.size() == rows.size());
  for (std::size_t k = 0; k < all.size(); ++k) {
    CAPTURE(all[k].id);
    const Nullables& want = rows[k];
    const Nullables& got = all[k];
    CHECK(got.id == want.id);
    CHECK(got.b == want.b);
    CHECK(got.i8 == want.i8);
    CHECK(got.i16 == want.i16);
    CHECK(got.i32 == want.i32);
    CHECK(got.i64 == want.i64);
    CHECK(got.u8 == want.u8);
    CHECK(got.u16 == want.u16);
    CHECK(got.u32 == want.u32);
    CHECK(got.f32 == want.f32);
    CHECK(got.f64 == want.f64);
    CHECK(got.text == want.text);
    CHECK(got.bytes == want.bytes);
    CHECK(got.ts == want.ts);
    CHECK(got.day == want.day);
    CHECK(got.color == want.color);
    CHECK_FALSE(got.level.has_value());
  }
}

TEST_CASE("conformance: update and delete where return exact affected counts") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  CHECK(db.execute(
            tessera::update<Item>().set(&Item::note, "cheap").where(col(&Item::price) < 2)) == 4);
  CHECK(ids_of(db.fetch_all(select<Item>().where(col(&Item::note) == "cheap"))) == Ids{1, 3, 5, 6});
  CHECK(db.execute(tessera::update<Item>()
                       .set(&Item::qty, 0)
                       .set(&Item::tier, std::nullopt)
                       .where(col(&Item::name).like("a%"))) == 3);
  CHECK(db.count(select<Item>().where(col(&Item::qty) == 0)) == 3);
  CHECK(db.execute(tessera::update<Item>().set(&Item::qty, 1).where(col(&Item::id) == 404)) == 0);
  // A value out of the column's range is refused before it is written.
  auto err = catch_error<tessera::InvalidValueError>([&] {
    db.execute(
        tessera::update<Item>().set(&Item::qty, std::int64_t{1} << 40).where(col(&Item::id) == 1));
  });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::invalid_value);
  CHECK(db.find<Item>(std::int64_t{1})->qty == 0);
  auto err2 = catch_error<tessera::InvalidValueError>([&] {
    db.execute(tessera::update<Item>()
                   .set(&Item::tier, -(std::int64_t{1} << 31) - 1)
                   .where(col(&Item::id) == 1));
  });
  REQUIRE(err2.has_value());
  CHECK(err2->kind == tessera::ErrorKind::invalid_value);

  CHECK(db.execute(tessera::delete_from<Item>().where(col(&Item::color) == Color::green)) == 3);
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1, 3, 4, 6, 7});
  CHECK(db.execute(tessera::delete_from<Item>().where(col(&Item::id) == 2)) == 0);
}

TEST_CASE("conformance: erase and remove by key") {
  TestDb t;
  t.create<Item, Membership>();
  insert_sample_items(*t);
  auto& db = *t;
  CHECK(db.erase<Item>(std::int64_t{3}));
  CHECK_FALSE(db.erase<Item>(std::int64_t{3}));
  CHECK(db.remove(*db.find<Item>(std::int64_t{4})));
  CHECK_FALSE(db.remove(Item{.id = 4}));
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1, 2, 5, 6, 7, 8});
  db.insert(Membership{1, 1, "a"});
  db.insert(Membership{1, 2, "b"});
  CHECK(db.erase<Membership>(1, 2));
  CHECK_FALSE(db.erase<Membership>(2, 1));
  CHECK(db.count(select<Membership>()) == 1);
  CHECK(db.remove(Membership{1, 1, "whatever"}));
  CHECK(db.count(select<Membership>()) == 0);
}

TEST_CASE("conformance: all() updates and deletes the whole table explicitly") {
  TestDb t;
  t.create<Item, Membership>();
  insert_sample_items(*t);
  auto& db = *t;
  db.insert(Membership{1, 1, "a"});
  CHECK(db.execute(tessera::update<Item>().set(&Item::qty, 5).all()) == 8);
  CHECK(db.count(select<Item>().where(col(&Item::qty) == 5)) == 8);
  CHECK(db.execute(tessera::delete_from<Item>().all()) == 8);
  CHECK(db.count(select<Item>()) == 0);
  CHECK(db.execute(tessera::delete_from<Item>().all()) == 0);
  CHECK(db.count(select<Membership>()) == 1);  // another table is untouched
}

TEST_CASE("conformance: a value out of a float column's range is refused") {
  TestDb t;
  t.create<AllTypes>();
  auto& db = *t;
  const AllTypes row = db.insert(AllTypes{.f32 = 1.5f});
  // 1e39 is a finite double but no float holds it: storing it would read
  // back as infinity (or fail in the database's own words).
  auto err = catch_error<tessera::InvalidValueError>([&] {
    db.execute(
        tessera::update<AllTypes>().set(&AllTypes::f32, 1e39).where(col(&AllTypes::id) == row.id));
  });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::invalid_value);
  CHECK(db.find<AllTypes>(row.id)->f32 == 1.5f);
  // The largest float fits, and so does a double that rounds to a float.
  CHECK(db.execute(tessera::update<AllTypes>()
                       .set(&AllTypes::f32, static_cast<double>(std::numeric_limits<float>::max()))
                       .set(&AllTypes::f64, 1e300)
                       .where(col(&AllTypes::id) == row.id)) == 1);
  CHECK(db.find<AllTypes>(row.id)->f32 == std::numeric_limits<float>::max());
  CHECK(db.execute(tessera::update<AllTypes>()
                       .set(&AllTypes::f32, 0.1)
                       .where(col(&AllTypes::id) == row.id)) == 1);
  CHECK(db.find<AllTypes>(row.id)->f32 == 0.1f);
}

}  // namespace
}  // namespace conformance
