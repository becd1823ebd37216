// What is PostgreSQL's own in the driver: URL options, the prepared
// statement cache and its DEALLOCATE, parameter typing with NULLs, numeric
// results, and the SQLSTATEs the conformance suite cannot provoke through
// models (check constraints, serialization failures, deadlocks, timeouts).
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "tests/postgresql/support.hpp"

namespace pgtest {
namespace {

using tessera::col;
using tessera::ErrorKind;
using tessera::select;

struct Account {
  std::int64_t id{};
  std::string email;
  std::optional<std::string> note;
  std::int64_t balance{};
};
TESSERA_MODEL(Account, "account", (id, tessera::primary_key), (email, tessera::unique), (note),
              (balance));

template <class E, class F>
std::optional<E> catch_error(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  return std::nullopt;
}

std::string with_query(const std::string& base, const std::string& query) {
  return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
}

TEST_CASE("URL options go to libpq; unknown ones are refused") {
  auto bad = catch_error<tessera::PluginError>([] {
    tessera::postgresql::register_linked();
    tessera::Db::open(with_query(url(), "no_such_option=1"));
  });
  REQUIRE(bad.has_value());
  CHECK(bad->kind() == ErrorKind::invalid_url);
  CHECK(std::string(bad->what()).find("no_such_option") != std::string::npos);
  CHECK(std::string(bad->what()).find(":tessera@") == std::string::npos);  // password redacted

  // libpq keywords pass through; postgres:// is the same driver.
  auto db = tessera::Db::open("postgres" +
                              with_query(url(), "application_name=tessera_it&sslmode=disable")
                                  .substr(std::string("postgresql").size()));
  CHECK(db.driver_name() == "postgresql");
  auto name = db.query<std::tuple<std::string, std::string>>(
      "SELECT current_setting('application_name'), current_setting('TimeZone')");
  CHECK(std::get<0>(name.at(0)) == "tessera_it");
  CHECK(std::get<1>(name.at(0)) == "UTC");

  // host= as a unix socket directory (the test cluster listens in its DIR).
  if (const char* log = std::getenv("TESSERA_TEST_POSTGRESQL_LOG")) {
    const std::string dir = std::filesystem::path(log).parent_path().string();
    auto local = tessera::Db::open(with_query(url(), "host=" + dir));
    auto addr = local.query<std::tuple<std::optional<std::string>>>(
        "SELECT CAST(inet_client_addr() AS text)");
    CHECK(!std::get<0>(addr.at(0)).has_value());  // NULL: a unix socket
  }
}

TEST_CASE("statements are prepared once, reused, and deallocated when evicted") {
  const std::string p = prefix();
  tessera::Options o;
  o.table_prefix = p;
  o.max_connections = 1;
  auto db = tessera::Db::open(with_query(url(), "statement_cache_size=3"), o);
  db.drop_tables<Account>();
  db.push_schema<Account>();
  auto prepared = [&] {
    return std::get<0>(
        db.query<std::tuple<std::int64_t>>("SELECT count(*) FROM pg_prepared_statements").at(0));
  };
  CHECK(prepared() == 0);
  db.insert(Account{1, "a@x", std::nullopt, 10});
  const auto after_insert = prepared();
  CHECK(after_insert == 1);
  for (int i = 0; i < 5; ++i) CHECK(db.find<Account>(std::int64_t{1}).has_value());
  CHECK(prepared() == after_insert + 1);  // one statement for five finds
  // More shapes than the cache holds: the oldest are deallocated.
  CHECK(db.count(select<Account>()) == 1);
  CHECK(db.count(select<Account>().where(col(&Account::balance) > 5)) == 1);
  CHECK(db.exists(select<Account>().where(col(&Account::email) == "a@x")));
  CHECK(db.count(select<Account>().where(col(&Account::balance) < 5)) == 0);
  CHECK(prepared() <= 3);
  // Evicted shapes prepare again and still work.
  CHECK(db.find<Account>(std::int64_t{1})->balance == 10);
  CHECK(prepared() <= 3);
  db.drop_tables<Account>();
}

TEST_CASE("one shape with NULL and non-NULL values, and numeric results") {
  const std::string p = prefix();
  auto db = open(p);
  db.drop_tables<Account>();
  db.push_schema<Account>();
  db.insert(Account{1, "a@x", std::nullopt, 10});
  db.insert(Account{2, "b@x", "note", 20});
  db.insert(Account{3, "c@x", std::nullopt, 30});
  auto set_note = [&](std::optional<std::string> v, std::int64_t id) {
    const auto where = col(&Account::id) == id;
    if (v) return db.execute(tessera::update<Account>().set(&Account::note, *v).where(where));
    return db.execute(tessera::update<Account>().set(&Account::note, std::nullopt).where(where));
  };
  CHECK(set_note(std::nullopt, 2) == 1);
  CHECK(set_note("x", 1) == 1);
  CHECK(set_note(std::nullopt, 1) == 1);
  CHECK(db.count(select<Account>().where(col(&Account::note).is_null())) == 3);

  // SUM of bigint is numeric in PostgreSQL; it reads as an integer or a double.
  const std::string t = "\"" + p + "account\"";
  auto sums = db.query<std::tuple<std::int64_t, double, double>>(
      "SELECT SUM(balance), AVG(balance), CAST(12345678901234.5678 AS numeric) FROM " + t);
  CHECK(std::get<0>(sums.at(0)) == 60);
  CHECK(std::get<1>(sums.at(0)) == 20.0);
  CHECK(std::get<2>(sums.at(0)) == 12345678901234.5678);
  auto big = db.query<std::tuple<std::int64_t>>(
      "SELECT CAST(-9223372036854775808 AS numeric) + CAST($1 AS numeric)", std::int64_t{0});
  CHECK(std::get<0>(big.at(0)) == std::numeric_limits<std::int64_t>::min());
  auto fraction = catch_error<tessera::InvalidValueError>(
      [&] { db.query<std::tuple<std::int64_t>>("SELECT CAST(1.5 AS numeric)"); });
  CHECK(fraction.has_value());
  db.drop_tables<Account>();
}

TEST_CASE("SQLSTATEs map to typed errors with constraint names") {
  const std::string p = prefix();
  auto db = open(p, 4);
  db.drop_tables<Account>();
  db.push_schema<Account>();
  const std::string t = "\"" + p + "account\"";
  db.execute_raw("ALTER TABLE " + t + " ADD CONSTRAINT positive CHECK (balance >= 0)");
  db.insert(Account{1, "a@x", std::nullopt, 10});
  db.insert(Account{2, "b@x", std::nullopt, 10});

  auto unique = catch_error<tessera::ConstraintError>([&] { db.insert(Account{3, "a@x"}); });
  REQUIRE(unique.has_value());
  CHECK(unique->kind() == ErrorKind::unique_violation);
  CHECK(unique->sqlstate() == "23505");
  CHECK(unique->constraint().find("email") != std::string::npos);
  CHECK(std::string(unique->what()).find("a@x") == std::string::npos);  // no values in errors

  auto check = catch_error<tessera::ConstraintError>([&] { db.insert(Account{4, "d@x", {}, -1}); });
  REQUIRE(check.has_value());
  CHECK(check->kind() == ErrorKind::check_violation);
  CHECK(check->constraint() == "positive");

  auto syntax = catch_error<tessera::StatementError>([&] { db.execute_raw("SELEKT 1"); });
  REQUIRE(syntax.has_value());
  CHECK(syntax->kind() == ErrorKind::invalid_statement);
  CHECK(syntax->sqlstate() == "42601");
  CHECK(syntax->driver() == "postgresql");

  auto division = catch_error<tessera::InvalidValueError>([&] {
    db.query<std::tuple<std::int64_t>>("SELECT 1 / (CAST($1 AS bigint) - 1)", std::int64_t{1});
  });
  REQUIRE(division.has_value());
  CHECK(division->sqlstate() == "22012");

  // A statement timeout.
  {
    auto tx = db.transaction();
    tx.execute_raw("SET LOCAL statement_timeout = 50");
    auto timeout =
        catch_error<tessera::TimeoutError>([&] { tx.execute_raw("SELECT pg_sleep(5)"); });
    REQUIRE(timeout.has_value());
    CHECK(timeout->kind() == ErrorKind::timeout);
    CHECK(timeout->sqlstate() == "57014");
  }
  // A lock timeout: another transaction holds the row.
  {
    auto holder = db.transaction();
    holder.execute(
        tessera::update<Account>().set(&Account::balance, 11).where(col(&Account::id) == 1));
    auto waiter = db.transaction();
    waiter.execute_raw("SET LOCAL lock_timeout = 50");
    auto lock = catch_error<tessera::TimeoutError>([&] {
      waiter.execute(
          tessera::update<Account>().set(&Account::balance, 12).where(col(&Account::id) == 1));
    });
    REQUIRE(lock.has_value());
    CHECK(lock->sqlstate() == "55P03");
  }
  // A serialization failure: two serializable transactions that each read
  // what the other writes.
  {
    auto a = db.transaction({.isolation = tessera::Isolation::serializable});
    auto b = db.transaction({.isolation = tessera::Isolation::serializable});
    CHECK(a.count(select<Account>().where(col(&Account::balance) >= 0)) == 2);
    CHECK(b.count(select<Account>().where(col(&Account::balance) >= 0)) == 2);
    a.execute(tessera::update<Account>().set(&Account::balance, 1).where(col(&Account::id) == 1));
    b.execute(tessera::update<Account>().set(&Account::balance, 2).where(col(&Account::id) == 2));
    a.commit();
    auto conflict = catch_error<tessera::ConflictError>([&] { b.commit(); });
    REQUIRE(conflict.has_value());
    CHECK(conflict->kind() == ErrorKind::serialization_failure);
    CHECK(conflict->retry_transaction());
  }
  // A deadlock: each transaction waits for the row the other holds.
  {
    auto a = db.transaction();
    auto b = db.transaction();
    a.execute(tessera::update<Account>().set(&Account::balance, 3).where(col(&Account::id) == 1));
    b.execute(tessera::update<Account>().set(&Account::balance, 4).where(col(&Account::id) == 2));
    std::atomic<int> deadlocks{0};
    std::thread other([&] {
      try {
        b.execute(
            tessera::update<Account>().set(&Account::balance, 5).where(col(&Account::id) == 1));
      } catch (const tessera::ConflictError& e) {
        if (e.kind() == ErrorKind::deadlock) ++deadlocks;
      }
    });
    try {
      a.execute(tessera::update<Account>().set(&Account::balance, 6).where(col(&Account::id) == 2));
    } catch (const tessera::ConflictError& e) {
      if (e.kind() == ErrorKind::deadlock) ++deadlocks;
    }
    other.join();
    CHECK(deadlocks.load() == 1);
  }
  // A write in a read-only transaction is a mistake in the code.
  {
    auto ro = db.transaction({.read_only = true});
    auto write = catch_error<tessera::StatementError>([&] { ro.insert(Account{9, "ro@x"}); });
    REQUIRE(write.has_value());
    CHECK(write->sqlstate() == "25006");
  }
  CHECK(db.count(select<Account>()) == 2);
  db.drop_tables<Account>();
}

}  // namespace
}  // namespace pgtest
