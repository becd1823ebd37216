// Typed constraint errors, and hostile values that must stay values.
#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::ErrorKind;
using tessera::select;

Account account(const std::string& email, const std::string& tenant, const std::string& handle) {
  return Account{.email = email, .tenant = tenant, .handle = handle, .score = 1, .status = "s"};
}

TEST_CASE("conformance: a unique violation is a typed ConstraintError") {
  TestDb t;
  t.create<Account, Item>();
  auto& db = *t;
  const Account a = db.insert(account("dup@x", "t", "h1"));
  auto err = catch_error<tessera::ConstraintError>([&] { db.insert(account("dup@x", "t", "h2")); });
  REQUIRE(err.has_value());
  CHECK(err->kind == ErrorKind::unique_violation);
  CHECK_FALSE(err->driver.empty());
  CHECK_FALSE(err->message.empty());
  CHECK_FALSE(err->statement.empty());
  CHECK_FALSE(tessera::is_retryable_transaction(err->kind));
  CHECK(db.count(select<Account>()) == 1);

  // The composite unique index (tenant, handle): same tenant, same handle.
  auto err2 =
      catch_error<tessera::ConstraintError>([&] { db.insert(account("other@x", "t", "h1")); });
  REQUIRE(err2.has_value());
  CHECK(err2->kind == ErrorKind::unique_violation);
  CHECK(db.count(select<Account>()) == 1);
  // Either half alone is fine.
  db.insert(account("b@x", "t", "h2"));
  db.insert(account("c@x", "u", "h1"));
  CHECK(db.count(select<Account>()) == 3);

  // A duplicate primary key.
  db.insert(Item{.id = 1, .name = "one"});
  auto err3 =
      catch_error<tessera::ConstraintError>([&] { db.insert(Item{.id = 1, .name = "again"}); });
  REQUIRE(err3.has_value());
  CHECK(err3->kind == ErrorKind::unique_violation);
  CHECK(db.find<Item>(std::int64_t{1})->name == "one");

  // An update into a duplicate.
  auto err4 = catch_error<tessera::ConstraintError>([&] {
    db.execute(tessera::update<Account>()
                   .set(&Account::email, "dup@x")
                   .where(col(&Account::email) == "b@x"));
  });
  REQUIRE(err4.has_value());
  CHECK(err4->kind == ErrorKind::unique_violation);
  CHECK(db.count(select<Account>().where(col(&Account::email) == "b@x")) == 1);

  // A batch with a duplicate inside a transaction writes nothing.
  {
    auto tx = db.transaction();
    std::vector<Account> batch{account("n1@x", "v", "1"), account("n2@x", "v", "2"),
                               account("dup@x", "v", "3")};
    auto err5 = catch_error<tessera::ConstraintError>([&] { tx.insert_many(batch); });
    REQUIRE(err5.has_value());
    CHECK(err5->kind == ErrorKind::unique_violation);
  }
  CHECK(db.count(select<Account>().where(col(&Account::tenant) == "v")) == 0);

  // The Db still works.
  CHECK(db.insert(account("fine@x", "t", "h3")).id > a.id);
}

TEST_CASE("conformance: a not-null violation is a typed ConstraintError") {
  TestDb t;
  t.create<StrictNote>();
  auto& db = *t;
  db.insert(StrictNote{1, "kept"});
  auto err = catch_error<tessera::ConstraintError>([&] { db.insert(LooseNote{2, std::nullopt}); });
  REQUIRE(err.has_value());
  CHECK(err->kind == ErrorKind::not_null_violation);
  CHECK_FALSE(err->driver.empty());
  CHECK(db.count(select<StrictNote>()) == 1);
  auto err2 = catch_error<tessera::ConstraintError>([&] {
    db.execute(tessera::update<LooseNote>()
                   .set(&LooseNote::note, std::nullopt)
                   .where(col(&LooseNote::id) == 1));
  });
  REQUIRE(err2.has_value());
  CHECK(err2->kind == ErrorKind::not_null_violation);
  CHECK(db.find<StrictNote>(std::int64_t{1})->note == "kept");
  db.insert(LooseNote{3, "ok"});
  CHECK(db.count(select<StrictNote>()) == 2);
}

TEST_CASE("conformance: a foreign key violation is a typed ConstraintError") {
  TestDb t;
  t.create<Account, Post>();
  auto& db = *t;
  const Account a = db.insert(account("a@x", "t", "h"));
  const Post ok = db.insert(Post{.account_id = a.id, .title = "hello"});
  CHECK(ok.id > 0);
  auto err = catch_error<tessera::ConstraintError>(
      [&] { db.insert(Post{.account_id = a.id + 1000, .title = "orphan"}); });
  REQUIRE(err.has_value());
  CHECK(err->kind == ErrorKind::foreign_key_violation);
  CHECK_FALSE(err->driver.empty());
  CHECK(db.count(select<Post>()) == 1);
  // Deleting a referenced parent is refused too (no action).
  auto err2 = catch_error<tessera::ConstraintError>([&] { db.erase<Account>(a.id); });
  REQUIRE(err2.has_value());
  CHECK(err2->kind == ErrorKind::foreign_key_violation);
  CHECK(db.find<Account>(a.id).has_value());
  // The Db still works.
  CHECK(db.insert(Post{.account_id = a.id, .title = "again"}).id > ok.id);
  CHECK(db.count(select<Post>().where(col(&Post::account_id) == a.id)) == 2);
}

TEST_CASE("conformance: hostile strings round-trip exactly and change nothing else") {
  TestDb t;
  t.create<Item, AllTypes>();
  auto& db = *t;
  insert_sample_items(db);
  db.insert(AllTypes{.text = "bystander"});
  const auto items_before = db.count(select<Item>());
  const auto others_before = db.count(select<AllTypes>());

  std::vector<std::string> hostile{
      "'",
      "''",
      "\"",
      "'); DROP TABLE users; --",
      "'); DROP TABLE " + t.table<AllTypes>() + "; --",
      "\\",
      "\\'",
      "\\\\'; --",
      "%_",
      "100% _sure_ \\%",
      "$1 ?1 ? :name @p0",
      "/* comment */ -- line",
      "\r\n\t\b\f\v",
      "`backticks`; [brackets]",
  };
  if (t.cap().text_embedded_nul) hostile.push_back(std::string("nul\0'); DROP TABLE x; --", 25));

  std::int64_t id = 100;
  for (const auto& s : hostile) {
    CAPTURE(s);
    db.insert(Item{.id = id, .name = s, .note = s});
    auto found = db.find<Item>(id);
    REQUIRE(found);
    CHECK((found->name == s));
    CHECK((found->note == std::optional<std::string>(s)));
    // As a filter value, it matches exactly its row.
    CHECK(ids_of(db.fetch_all(select<Item>().where(col(&Item::name) == s))) == Ids{id});
    CHECK(ids_of(db.fetch_all(select<Item>().where(col(&Item::note).in({s, std::string("zz")})))) ==
          Ids{id});
    // And as an updated value.
    const std::string changed = s + "#" + std::to_string(id);
    CHECK(db.execute(
              tessera::update<Item>().set(&Item::note, changed).where(col(&Item::name) == s)) == 1);
    CHECK((db.find<Item>(id)->note == std::optional<std::string>(changed)));
    ++id;
  }
  // Wildcards in a like pattern from user data, escaped, match literally.
  CHECK(ids_of(db.fetch_all(select<Item>().where(col(&Item::name).like("\\%\\_")))) == Ids{108});

  // Invalid UTF-8 in a bytes column.
  const tessera::Bytes invalid_utf8{std::byte{0xff}, std::byte{0xfe}, std::byte{0xc3},
                                    std::byte{0x28}, std::byte{0x00}, std::byte{0x80},
                                    std::byte{0xed}, std::byte{0xa0}, std::byte{0x80},
                                    std::byte{0x27}, std::byte{0x3b}};
  const AllTypes b = db.insert(AllTypes{.bytes = invalid_utf8});
  CHECK((db.find<AllTypes>(b.id)->bytes == invalid_utf8));
  CHECK(db.count(select<AllTypes>().where(col(&AllTypes::bytes) == invalid_utf8)) == 1);

  CHECK(db.count(select<Item>()) == items_before + static_cast<std::int64_t>(hostile.size()));
  CHECK(db.count(select<AllTypes>()) == others_before + 1);
  CHECK(ids_of(db.fetch_all(select<Item>().where(col(&Item::id) < 100))) ==
        Ids{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(db.fetch_one(select<AllTypes>().where(col(&AllTypes::text) == "bystander")).text ==
        "bystander");
}

}  // namespace
}  // namespace conformance
