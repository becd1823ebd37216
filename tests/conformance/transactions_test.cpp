// Transactions: commit, rollback, savepoints, isolation levels, read-only,
// visibility to other connections.
#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::Isolation;
using tessera::select;

Item item(std::int64_t id, const std::string& name) {
  return Item{.id = id, .name = name, .qty = 1};
}

TEST_CASE("conformance: a committed transaction's writes persist") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  {
    auto tx = db.transaction();
    CHECK(tx.active());
    tx.insert(item(1, "a"));
    tx.insert(item(2, "b"));
    CHECK(tx.count(select<Item>()) == 2);  // reads see the transaction's writes
    CHECK(tx.execute(tessera::update<Item>().set(&Item::qty, 5).where(col(&Item::id) == 2)) == 1);
    CHECK(tx.find<Item>(std::int64_t{2})->qty == 5);
    tx.commit();
    CHECK_FALSE(tx.active());
    // A finished transaction refuses a second commit.
    auto err = catch_error<tessera::DbError>([&] { tx.commit(); });
    CHECK(err.has_value());
  }
  CHECK(db.count(select<Item>()) == 2);
  CHECK(db.find<Item>(std::int64_t{2})->qty == 5);
}

TEST_CASE(
    "conformance: commit returns the connection at once; a finished transaction runs nothing") {
  // One pooled connection: the Db can only work after commit if commit gave
  // the connection back.
  TestDb t([](tessera::Options& o) {
    o.max_connections = 1;
    o.acquire_timeout = std::chrono::milliseconds(2000);
  });
  t.create<Item>();
  auto& db = *t;
  auto tx = db.transaction();
  tx.insert(item(1, "a"));
  tx.commit();
  CHECK(db.count(select<Item>()) == 1);
  auto late = catch_error<tessera::StatementError>([&] { tx.insert(item(2, "b")); });
  REQUIRE(late.has_value());
  CHECK(late->kind == tessera::ErrorKind::invalid_statement);
  CHECK(db.count(select<Item>()) == 1);  // nothing ran outside the transaction

  if (!require_capability(db.capability().savepoints, "driver declares no savepoints")) return;
  auto outer = db.transaction();
  auto inner = outer.transaction();
  auto early = catch_error<tessera::StatementError>([&] { outer.commit(); });
  CHECK(early.has_value());  // the nested transaction must end first
  inner.commit();
  outer.commit();
}

TEST_CASE("conformance: a transaction rolls back on scope exit and on rollback()") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  db.insert(item(1, "kept"));
  {
    auto tx = db.transaction();
    tx.insert(item(2, "lost"));
    tx.execute(tessera::delete_from<Item>().where(col(&Item::id) == 1));
    CHECK(tx.count(select<Item>()) == 1);
  }  // no commit
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1});
  {
    auto tx = db.transaction();
    tx.insert(item(3, "lost too"));
    tx.rollback();
    CHECK_FALSE(tx.active());
  }
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1});
  // An exception leaving the scope rolls back too.
  try {
    auto tx = db.transaction();
    tx.insert(item(4, "x"));
    tx.insert(item(1, "duplicate"));  // throws
    tx.commit();
    FAIL("the duplicate insert did not throw");
  } catch (const tessera::ConstraintError&) {
  }
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1});
  // The pool got its connection back and works.
  {
    auto tx = db.transaction();
    tx.insert(item(5, "later"));
    tx.commit();
  }
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1, 5});
}

TEST_CASE("conformance: nested transactions are savepoints") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  if (!require_capability(t.cap().savepoints, "driver declares no savepoints")) return;
  {
    auto tx = db.transaction();
    tx.insert(item(1, "outer"));
    {
      auto inner = tx.transaction();
      inner.insert(item(2, "rolled back"));
      CHECK(inner.count(select<Item>()) == 2);
      inner.rollback();
    }
    CHECK(tx.count(select<Item>()) == 1);
    {
      auto inner = tx.transaction();
      inner.insert(item(3, "committed"));
      {
        auto innermost = inner.transaction();
        innermost.insert(item(4, "innermost, dropped on scope exit"));
      }
      inner.commit();
    }
    {
      auto inner = tx.transaction();
      inner.insert(item(5, "dropped on scope exit"));
    }
    CHECK(ids_of(tx.fetch_all(select<Item>())) == Ids{1, 3});
    // A failed statement inside a savepoint is undone by rolling it back; the
    // outer transaction goes on.
    {
      auto inner = tx.transaction();
      auto err = catch_error<tessera::ConstraintError>([&] { inner.insert(item(1, "dup")); });
      CHECK(err.has_value());
      inner.rollback();
    }
    tx.insert(item(6, "after"));
    tx.commit();
  }
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1, 3, 6});
  // A committed savepoint inside a rolled-back transaction is lost.
  {
    auto tx = db.transaction();
    auto inner = tx.transaction();
    inner.insert(item(7, "x"));
    inner.commit();
  }
  CHECK(ids_of(db.fetch_all(select<Item>())) == Ids{1, 3, 6});
}

TEST_CASE("conformance: declared isolation levels start and commit, others are refused") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  const Isolation levels[] = {Isolation::database_default, Isolation::read_uncommitted,
                              Isolation::read_committed, Isolation::repeatable_read,
                              Isolation::serializable};
  std::int64_t id = 1;
  std::int64_t committed = 0;
  for (const Isolation level : levels) {
    const std::string level_name = tessera::to_string(level);
    CAPTURE(level_name);
    if (t.cap().supports(level)) {
      {
        auto tx = db.transaction({.isolation = level});
        tx.insert(item(id++, tessera::to_string(level)));
        CHECK(tx.count(select<Item>()) == committed + 1);
        tx.commit();
      }  // the transaction holds its connection until destroyed
      ++committed;
      CHECK(db.count(select<Item>()) == committed);
    } else {
      auto err =
          catch_error<tessera::StatementError>([&] { db.transaction({.isolation = level}); });
      REQUIRE(err.has_value());
      CHECK(err->kind == tessera::ErrorKind::unsupported);
    }
  }
  CHECK(committed >= 1);  // database_default is always supported
}

TEST_CASE("conformance: a read-only transaction refuses writes") {
  TestDb t;
  t.create<Item>();
  auto& db = *t;
  db.insert(item(1, "a"));
  if (!t.cap().read_only_transactions) {
    auto err = catch_error<tessera::StatementError>([&] { db.transaction({.read_only = true}); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::unsupported);
  }
  if (!require_capability(t.cap().read_only_transactions,
                          "driver declares no read-only transactions"))
    return;
  {
    auto tx = db.transaction({.read_only = true});
    CHECK(tx.count(select<Item>()) == 1);  // reads work
    auto err = catch_error<tessera::DbError>([&] { tx.insert(item(2, "b")); });
    CHECK(err.has_value());
  }
  CHECK(db.count(select<Item>()) == 1);
  // The connection is writable again afterwards.
  {
    auto tx = db.transaction();
    tx.insert(item(3, "c"));
    tx.commit();
  }
  db.insert(item(4, "d"));
  CHECK(db.count(select<Item>()) == 3);
}

TEST_CASE("conformance: uncommitted writes are invisible to another connection") {
  TestDb t([](tessera::Options& o) { o.max_connections = 4; });
  t.create<Item>();
  auto& db = *t;
  if (!require_capability(t.cap().concurrent_connections,
                          "driver declares no concurrent connections"))
    return;
  db.insert(item(1, "before"));
  {
    auto tx = db.transaction();
    tx.insert(item(2, "pending"));
    CHECK(tx.count(select<Item>()) == 2);
    // db runs on another pooled connection.
    CHECK(db.count(select<Item>()) == 1);
    CHECK(!db.find<Item>(std::int64_t{2}));
    tx.commit();
  }
  CHECK(db.count(select<Item>()) == 2);
  // Another Db (another pool) sees the committed row.
  auto other = t.open_another();
  CHECK(other.find<Item>(std::int64_t{2}).has_value());
}

}  // namespace
}  // namespace conformance
