// What is PostgreSQL's own in the driver: URL options, the prepared
// statement cache and its DEALLOCATE, parameter typing with NULLs, numeric
// results, and the SQLSTATEs the conformance suite cannot provoke through
// models (check constraints, serialization failures, deadlocks, timeouts).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

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

// Every parameter type in one model, for the array form of insert_many.
struct Wide {
  std::int64_t id{};
  std::int64_t n{};
  std::string label;
  std::optional<std::string> note;
  double x{};
  tessera::Bytes blob;
  tessera::Timestamp ts;
  tessera::Date day;
  bool flag{};
  std::optional<std::int64_t> never;  // NULL in every row: no array to send
};
TESSERA_MODEL(Wide, "wide", (id, tessera::primary_key, tessera::auto_increment), (n), (label),
              (note), (x), (blob), (ts), (day), (flag), (never));

bool same_double(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

TEST_CASE("insert_many as arrays: 12,345 rows of every type map back to their generated ids") {
  const std::string p = prefix();
  // One connection (pg_prepared_statements is per session), COPY off.
  auto db = open(p, 1, "copy_min_rows=0");
  db.drop_tables<Wide>();
  db.push_schema<Wide>();
  // n is a permutation of 0..N-1 (so rows are told apart by content, not by
  // position), the specials of each type spread over the batches of 5000.
  constexpr std::size_t kRows = 12'345;
  std::vector<Wide> rows(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    Wide& w = rows[i];
    w.n = static_cast<std::int64_t>((i * 7919) % kRows);
    w.label = i % 11 == 0 ? std::string() : "row " + std::to_string(w.n);
    if (i % 3 == 1) w.note = std::string();
    if (i % 3 == 2) w.note = "note " + std::to_string(i);
    const double specials[] = {std::nan(""), std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity(), -0.0, 1e-310};
    w.x = i % 97 < 5 ? specials[i % 97] : static_cast<double>(w.n) / 3;
    if (i % 5 != 0)
      w.blob = tessera::Bytes{std::byte{0}, static_cast<std::byte>(i & 0xff), std::byte{0xff}};
    w.ts.micros = (static_cast<std::int64_t>(i) - 6000) * 86'400'000'123;
    w.day.days = static_cast<std::int32_t>(i) - 6000;
    w.flag = i % 2 == 0;
  }
  db.insert_many(rows);

  auto stored = db.fetch_all(select<Wide>());
  REQUIRE(stored.size() == kRows);
  std::unordered_map<std::int64_t, const Wide*> by_id;
  for (const Wide& w : stored) by_id[w.id] = &w;
  REQUIRE(by_id.size() == kRows);
  std::size_t mismatched = 0;
  for (const Wide& want : rows) {
    const auto it = by_id.find(want.id);
    if (it == by_id.end()) {
      ++mismatched;
      continue;
    }
    const Wide& got = *it->second;
    if (got.n != want.n || got.label != want.label || got.note != want.note ||
        !same_double(got.x, want.x) || got.blob != want.blob || got.ts.micros != want.ts.micros ||
        got.day.days != want.day.days || got.flag != want.flag || got.never.has_value())
      ++mismatched;
  }
  CHECK(mismatched == 0);

  // One array statement for the shape (the batch size does not change its
  // text), with an untyped NULL for the column without values.
  auto statements = db.query<std::tuple<std::string>>(
      "SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%unnest(%'");
  REQUIRE(statements.size() == 1);
  const std::string& sql = std::get<0>(statements[0]);
  CHECK(sql.find("$8::bool[])") != std::string::npos);  // no parameter for `never`
  CHECK(sql.find("NULL FROM unnest(") != std::string::npos);
  CHECK(sql.find("VALUES") == std::string::npos);
  db.drop_tables<Wide>();
}

TEST_CASE("insert_many as arrays: text with NUL is refused as before, and nothing is written") {
  const std::string p = prefix();
  auto db = open(p);
  db.drop_tables<Account>();
  db.push_schema<Account>();
  std::vector<Account> rows{{1, "a@x", std::nullopt, 1},
                            {2, std::string("b\0@x", 4), std::nullopt, 2},
                            {3, "c@x", std::string("n\0", 2), 3}};
  auto bad = catch_error<tessera::InvalidValueError>([&] { db.insert_many(rows); });
  REQUIRE(bad.has_value());
  CHECK(bad->kind() == ErrorKind::invalid_value);
  CHECK(db.count(select<Account>()) == 0);
  db.drop_tables<Account>();
}

TEST_CASE("upsert_many as arrays: EXCLUDED updates; a key twice in one call fails as with VALUES") {
  const std::string p = prefix();
  auto db = open(p);
  db.drop_tables<Account>();
  db.push_schema<Account>();
  db.insert(Account{1, "a@x", std::nullopt, 10});
  std::vector<Account> batch{{1, "a@y", "updated", 11}, {2, "b@x", std::nullopt, 20}};
  db.upsert_many(std::span<Account>(batch));
  auto one = db.find<Account>(std::int64_t{1});
  REQUIRE(one.has_value());
  CHECK(one->email == "a@y");
  CHECK(one->note == "updated");
  CHECK(one->balance == 11);
  CHECK(db.count(select<Account>()) == 2);

  // An upsert keeps the VALUES form's statements of floor(4096 / 4) = 1024
  // rows: a key repeated 2000 rows later is in another statement, so the
  // later row updates the earlier one, as before.
  std::vector<Account> many(3000);
  for (std::size_t i = 0; i < many.size(); ++i) {
    many[i].id = 100 + static_cast<std::int64_t>(i);
    many[i].email = "m" + std::to_string(i) + "@x";
    many[i].balance = static_cast<std::int64_t>(i);
  }
  many[2500].id = 100;
  db.upsert_many(std::span<Account>(many));
  CHECK(db.count(select<Account>()) == 2 + 2999);
  auto repeated = db.find<Account>(std::int64_t{100});
  REQUIRE(repeated.has_value());
  CHECK(repeated->balance == 2500);
  CHECK(repeated->email == "m2500@x");

  // PostgreSQL refuses to update one row twice in a statement (SQLSTATE
  // 21000), in either form; the call changes nothing.
  std::vector<Account> twice{{3, "c@x", std::nullopt, 30}, {3, "c@y", std::nullopt, 31}};
  auto e = catch_error<tessera::DbError>([&] { db.upsert_many(std::span<Account>(twice)); });
  REQUIRE(e.has_value());
  CHECK(e->sqlstate() == "21000");
  CHECK(db.count(select<Account>()) == 2 + 2999);
  db.drop_tables<Account>();
}

TEST_CASE("rows read whole and streamed give the same values, NULLs and zero values") {
  const auto connection = connect_spi();
  tessera::Connection& c = *connection;
  using Row = std::tuple<std::optional<std::int64_t>, std::optional<std::int64_t>,
                         std::optional<double>, std::optional<bool>, std::optional<std::string>,
                         std::optional<std::int64_t>, std::optional<std::int32_t>>;
  const std::string sql =
      "SELECT * FROM (VALUES (CAST(-7 AS int8), CAST(42 AS int4), CAST(1.5 AS float8), true, "
      "CAST('abc' AS text), CAST('2001-02-03 04:05:06.789+00' AS timestamptz), "
      "CAST('1999-12-31' AS date)), (NULL, NULL, NULL, NULL, NULL, NULL, NULL), (0, 0, 0, false, "
      "'', CAST('1970-01-01 00:00:00+00' AS timestamptz), CAST('1970-01-01' AS date))) v";
  // Whole (one result) or streamed (single-row mode: a result per row).
  auto read = [&](bool reads_all) {
    auto r = spi(c, tessera::op::RawSql{.sql = sql, .params = {}, .reads_all = reads_all});
    tessera::Rows& rows = *r.rows;
    std::vector<Row> out;
    while (*rows.next()) {
      Row row;
      auto get = [&](std::size_t col, auto& field, auto value) {
        if (!rows.is_null(col)) field = value;
      };
      get(0, std::get<0>(row), rows.get_int64(0));
      get(1, std::get<1>(row), rows.get_int64(1));
      get(2, std::get<2>(row), rows.get_double(2));
      get(3, std::get<3>(row), rows.get_bool(3));
      get(4, std::get<4>(row), std::string(rows.get_text(4)));
      get(5, std::get<5>(row), rows.get_timestamp(5).micros);
      get(6, std::get<6>(row), rows.get_date(6).days);
      REQUIRE(rows.conversion_error() == nullptr);
      out.push_back(row);
    }
    return out;
  };
  const auto whole = read(true);
  CHECK(read(false) == whole);
  REQUIRE(whole.size() == 3);
  CHECK(whole[0] == Row{-7, 42, 1.5, true, "abc", 981173106789000, 10956});
  CHECK(whole[1] == Row{});                            // every column NULL
  CHECK(whole[2] == Row{0, 0, 0.0, false, "", 0, 0});  // empty text, not NULL
}

TEST_CASE("a lazy cursor reads a server-side cursor in batches, in and out of a transaction") {
  const auto connection = connect_spi();
  tessera::Connection& c = *connection;
  const std::string table = "\"" + prefix() + "marks\"";
  spi(c, tessera::op::RawSql{"CREATE TABLE " + table + " (n bigint)", {}});
  const tessera::ast::Statement select_shape = tessera::ast::Select{};
  // A cursor (no reads_all) over 1..`last` (the bound a parameter), with a
  // division by zero at `zero` when it is in range.
  const std::string series =
      "SELECT g, CAST(1 / ($2 - g) AS int8) FROM generate_series(1, CAST($1 AS int8)) g";
  std::vector<tessera::Value> params;
  auto cursor = [&](std::int64_t last, std::int64_t zero) {
    params = {tessera::Value(last), tessera::Value(zero)};
    auto r = c.exec(tessera::op::QuerySql{
        .statement = &select_shape, .sql = series, .params = params, .reads_all = false});
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(r->rows);
  };
  // Reads `rows` to its end: the sum of its first column, or the error.
  auto sum = [](tessera::Rows& rows) -> tessera::Result<std::int64_t> {
    std::int64_t total = 0;
    for (;;) {
      auto more = rows.next();
      if (!more.ok()) return std::move(more).error();
      if (!*more) return total;
      total += rows.get_int64(0);
    }
  };
  // A write through the connection, then whether another session sees it
  // (it does only if the connection is not left inside a transaction).
  int mark = 0;
  auto committed_after = [&] {
    ++mark;
    spi(c,
        tessera::op::RawSql{"INSERT INTO " + table + " VALUES (" + std::to_string(mark) + ")", {}});
    return psql("SELECT count(*) FROM " + table + " WHERE n = " + std::to_string(mark)) == "1";
  };
  constexpr std::int64_t kNever = -1;

  // Outside a transaction: several batches, one, none, and early ends.
  for (std::int64_t last : {0, 1, 99, 100, 101, 2500, 30'000}) {
    auto rows = cursor(last, kNever);
    auto total = sum(*rows);
    REQUIRE(total.ok());
    CHECK(*total == last * (last + 1) / 2);
    CHECK(committed_after());
  }
  {
    auto rows = cursor(5000, kNever);
    REQUIRE(*rows->next());
    CHECK(rows->get_int64(0) == 1);
  }  // dropped after one row
  CHECK(committed_after());
  {
    auto rows = cursor(5000, kNever);
    for (int i = 0; i < 150; ++i) REQUIRE(*rows->next());
    CHECK(rows->get_int64(0) == 150);
  }  // dropped in its second batch
  CHECK(committed_after());
  {
    // The next batch is fetched ahead while the first is read: its error
    // (row 150) is discarded with the cursor, which is left unread.
    auto rows = cursor(5000, 150);
    REQUIRE(*rows->next());
  }
  CHECK(committed_after());
  // An error in a later batch ends the cursor with the error and leaves no
  // transaction behind.
  {
    auto rows = cursor(300, 200);
    auto total = sum(*rows);
    REQUIRE_FALSE(total.ok());
    CHECK(total.error().kind == ErrorKind::invalid_value);  // 22012 division by zero
    CHECK(total.error().sqlstate == "22012");
  }
  CHECK(committed_after());
  // Another command while a cursor is open reads the cursor's rest first.
  {
    auto rows = cursor(3000, kNever);
    REQUIRE(*rows->next());
    CHECK(committed_after());
    auto total = sum(*rows);
    REQUIRE(total.ok());
    CHECK(*total + 1 == std::int64_t{3000} * 3001 / 2);
  }

  // Inside the caller's transaction: the cursor is closed when it ends or is
  // dropped, so the next one can open; another command reads the rest.
  using Tx = tessera::op::Transaction;
  spi(c, Tx{.kind = Tx::Kind::start});
  for (std::int64_t last : {0, 150, 2500}) {
    auto rows = cursor(last, kNever);
    auto total = sum(*rows);
    REQUIRE(total.ok());
    CHECK(*total == last * (last + 1) / 2);
  }
  {
    auto rows = cursor(5000, kNever);
    REQUIRE(*rows->next());
  }
  {
    // Nothing is fetched ahead in the caller's transaction: an error in rows
    // never asked for (row 150, in the second batch) must not abort it.
    auto rows = cursor(5000, 150);
    for (int i = 0; i < 100; ++i) REQUIRE(*rows->next());
  }
  {
    auto rows = cursor(3000, kNever);
    REQUIRE(*rows->next());
    spi(c, tessera::op::RawSql{"INSERT INTO " + table + " VALUES (-1)", {}});
    auto total = sum(*rows);
    REQUIRE(total.ok());
    CHECK(*total + 1 == std::int64_t{3000} * 3001 / 2);
  }
  spi(c, Tx{.kind = Tx::Kind::commit});
  CHECK(psql("SELECT count(*) FROM " + table + " WHERE n = -1") == "1");
  // An error inside the caller's transaction aborts it, as any failed
  // statement does.
  spi(c, Tx{.kind = Tx::Kind::start});
  {
    auto rows = cursor(300, 200);
    REQUIRE_FALSE(sum(*rows).ok());
  }
  auto aborted = c.exec(tessera::op::RawSql{"SELECT 1", {}, true});
  REQUIRE_FALSE(aborted.ok());
  CHECK(aborted.error().sqlstate == "25P02");
  spi(c, Tx{.kind = Tx::Kind::rollback});
  CHECK(committed_after());
  spi(c, tessera::op::RawSql{"DROP TABLE " + table, {}});
}

TEST_CASE("a lazy cursor over rows of 200 kB fetches batches bounded by bytes") {
  const auto connection = connect_spi();
  tessera::Connection& c = *connection;
  const tessera::ast::Statement select_shape = tessera::ast::Select{};
  // 250 rows of 200,000 bytes: the first FETCH takes 100 rows (20 MB),
  // later ones as many as fit 2 MiB (10 rows each).
  const std::string sql =
      "SELECT g, repeat(chr(65 + CAST(g % 26 AS int4)), 200000) FROM generate_series(1, 250) g";
  auto read_all = [&](bool interleave) {
    auto r = c.exec(tessera::op::QuerySql{.statement = &select_shape, .sql = sql});
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    std::int64_t n = 0;
    for (;;) {
      auto more = r->rows->next();
      REQUIRE(more.ok());
      if (!*more) break;
      ++n;
      CHECK(r->rows->get_int64(0) == n);
      const std::string_view text = r->rows->get_text(1);
      CHECK(text.size() == 200'000);
      CHECK(text.front() == static_cast<char>('A' + n % 26));
      CHECK(text.back() == text.front());
      if (interleave && n == 120) spi(c, tessera::op::RawSql{"SELECT 1", {}, true});
    }
    CHECK(n == 250);
  };
  read_all(false);
  using Tx = tessera::op::Transaction;
  spi(c, Tx{.kind = Tx::Kind::start});
  read_all(false);
  read_all(true);  // another statement mid-cursor: the rest is buffered first
  spi(c, Tx{.kind = Tx::Kind::commit});
  // Dropped in its second batch, in and out of a transaction.
  for (bool in_tx : {false, true}) {
    if (in_tx) spi(c, Tx{.kind = Tx::Kind::start});
    {
      auto r = c.exec(tessera::op::QuerySql{.statement = &select_shape, .sql = sql});
      REQUIRE(r.ok());
      for (int i = 0; i < 105; ++i) REQUIRE(*r->rows->next());
    }
    auto one = c.exec(tessera::op::RawSql{"SELECT 1", {}, true});
    REQUIRE_MESSAGE(one.ok(), (one.ok() ? "" : one.error().message));
    if (in_tx) spi(c, Tx{.kind = Tx::Kind::commit});
  }
}

// A RowSink that records the second column of every row as text, read as
// int64 or (as_double) as float64, or "?" on a conversion error.
struct SecondColumn final : tessera::RowSink {
  bool as_double = false;
  std::vector<std::string> seen;
  bool row(tessera::Rows& rows) noexcept override {
    const std::string v =
        as_double ? std::to_string(rows.get_double(1)) : std::to_string(rows.get_int64(1));
    seen.push_back(rows.conversion_error() == nullptr ? v : "?");
    return true;
  }
};

TEST_CASE("a cached statement whose table changed its column types is prepared again") {
  const auto connection = connect_spi();
  tessera::Connection& c = *connection;
  const std::string table = "\"" + prefix() + "retyped\"";
  const tessera::ast::Statement select_shape = tessera::ast::Select{};
  const std::string sql = "SELECT a, b FROM " + table + " WHERE a = $1";
  const std::vector<tessera::Value> params{tessera::Value(std::int64_t{1})};
  // Through read() (the result types the statement cache recorded) and
  // exec() alike; cache key 4242 is the same statement every time.
  const tessera::op::QuerySql query{.statement = &select_shape,
                                    .sql = sql,
                                    .params = params,
                                    .cache_key = 4242,
                                    .reads_all = true};
  bool as_double = false;  // the current table's b
  auto via_read = [&]() -> tessera::Result<std::vector<std::string>> {
    SecondColumn sink;
    sink.as_double = as_double;
    auto n = c.read(query, sink);
    if (!n.ok()) return std::move(n).error();
    CHECK(*n == sink.seen.size());
    return sink.seen;
  };
  auto via_exec = [&]() -> tessera::Result<std::vector<std::string>> {
    auto r = c.exec(query);
    if (!r.ok()) return std::move(r).error();
    SecondColumn sink;
    sink.as_double = as_double;
    while (*r->rows->next()) sink.row(*r->rows);
    return sink.seen;
  };
  auto create = [&](const std::string& columns, const std::string& row) {
    as_double = columns.find("float8") != std::string::npos;
    spi(c, tessera::op::RawSql{"DROP TABLE IF EXISTS " + table, {}});
    spi(c, tessera::op::RawSql{"CREATE TABLE " + table + " (" + columns + ")", {}});
    spi(c, tessera::op::RawSql{"INSERT INTO " + table + " VALUES (" + row + ")", {}});
  };
  using Strings = std::vector<std::string>;
  create("a int8, b int8", "1, 7");
  REQUIRE(via_read().ok());
  CHECK(*via_read() == Strings{"7"});
  CHECK(*via_exec() == Strings{"7"});
  // Outside a transaction the refused statement (0A000) is prepared again
  // and run again at once.
  create("a int4, b float8", "1, 2.5");
  auto after = via_read();
  REQUIRE_MESSAGE(after.ok(), (after.ok() ? "" : after.error().message));
  CHECK(*after == Strings{std::to_string(2.5)});
  CHECK(*via_exec() == Strings{std::to_string(2.5)});
  create("a int8, b int8", "1, 9");
  auto exec_after = via_exec();
  REQUIRE_MESSAGE(exec_after.ok(), (exec_after.ok() ? "" : exec_after.error().message));
  CHECK(*exec_after == Strings{"9"});
  CHECK(*via_read() == Strings{"9"});
  // Inside a transaction the refusal aborts it, as any failed statement
  // does; the statement is prepared again on its next use.
  create("a int4, b float8", "1, 3.5");
  using Tx = tessera::op::Transaction;
  spi(c, Tx{.kind = Tx::Kind::start});
  auto refused = via_read();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().sqlstate == "0A000");
  spi(c, Tx{.kind = Tx::Kind::rollback});
  CHECK(*via_read() == Strings{std::to_string(3.5)});
  spi(c, tessera::op::RawSql{"DROP TABLE " + table, {}});
}

// Every column type, for update_many's arrays (typed by the declared
// column type, so NULLs need no value to tell their type).
struct AllTypes {
  std::int64_t id{};
  bool b{};
  std::int8_t i8{};
  std::int16_t i16{};
  std::int32_t i32{};
  std::int64_t i64{};
  std::uint8_t u8{};
  std::uint16_t u16{};
  std::uint32_t u32{};
  float f32{};
  double f64{};
  std::string text;
  tessera::Bytes bytes;
  tessera::Timestamp ts;
  tessera::Date day;
  std::optional<std::string> some_null;  // NULL in some rows
  std::optional<std::int32_t> all_null;  // NULL in every row of the update
  bool operator==(const AllTypes&) const = default;
};
TESSERA_MODEL(AllTypes, "all_types", (id, tessera::primary_key), (b), (i8), (i16), (i32), (i64),
              (u8), (u16), (u32), (f32), (f64), (text), (bytes), (ts), (day), (some_null),
              (all_null));

AllTypes all_types_row(std::int64_t id, int version) {
  const std::int64_t v = id * 3 + version;
  AllTypes a;
  a.id = id;
  a.b = v % 2 == 0;
  a.i8 = static_cast<std::int8_t>(v % 256 - 128);
  a.i16 = static_cast<std::int16_t>(v % 65536 - 32768);
  a.i32 = static_cast<std::int32_t>(v * 1'000'003 % 2'000'000'000 - 1'000'000'000);
  a.i64 = v * 1'000'000'007 - (std::int64_t{1} << 61);
  a.u8 = static_cast<std::uint8_t>(v % 256);
  a.u16 = static_cast<std::uint16_t>(v % 65536);
  a.u32 = static_cast<std::uint32_t>(4'294'967'295u - static_cast<std::uint32_t>(v));
  a.f32 = static_cast<float>(v) / 8;
  a.f64 = static_cast<double>(v) / 3;
  a.text = v % 7 == 0 ? std::string() : "text " + std::to_string(v);
  if (v % 5 != 0) a.bytes = tessera::Bytes{std::byte{0}, static_cast<std::byte>(v & 0xff)};
  a.ts.micros = (v - 20'000) * 86'400'000'123;
  a.day.days = static_cast<std::int32_t>(v - 20'000);
  if (v % 3 != 0) a.some_null = "some " + std::to_string(v);
  if (version == 0) a.all_null = static_cast<std::int32_t>(v);
  return a;
}

TEST_CASE("update_many as arrays: 12,345 rows of every type, NULLs included, 3 statements") {
  const std::string p = prefix();
  auto db = open(p, 1);  // one connection: pg_prepared_statements is per session
  db.drop_tables<AllTypes>();
  db.push_schema<AllTypes>();
  constexpr std::int64_t kRows = 12'345;
  std::vector<AllTypes> rows;
  for (std::int64_t id = 1; id <= kRows; ++id) rows.push_back(all_types_row(id, 0));
  db.insert_many(rows);

  // Counts UPDATE statements on the table.
  const std::string table = p + "all_types";
  db.execute_raw("CREATE TABLE \"" + table + "_stmts\" (n bigint NOT NULL)");
  db.execute_raw("INSERT INTO \"" + table + "_stmts\" VALUES (0)");
  db.execute_raw("CREATE FUNCTION \"" + table + "_count\"() RETURNS trigger LANGUAGE plpgsql AS " +
                 "$$BEGIN UPDATE \"" + table + "_stmts\" SET n = n + 1; RETURN NULL; END$$");
  db.execute_raw("CREATE TRIGGER \"" + table + "_count\" AFTER UPDATE ON \"" + table +
                 "\" FOR EACH STATEMENT EXECUTE FUNCTION \"" + table + "_count\"()");

  // New values for every row, in shuffled order, and keys no row has.
  std::vector<AllTypes> updates;
  for (std::int64_t i = 0; i < kRows; ++i)
    updates.push_back(all_types_row((i * 7919) % kRows + 1, 1));
  updates.push_back(all_types_row(kRows + 1, 1));
  updates.push_back(all_types_row(kRows + 2, 1));
  CHECK(db.update_many(updates) == static_cast<std::uint64_t>(kRows));

  // Batches of 5000 rows (the driver's batch size): 3 statements, in one
  // pipeline with one sync, so one implicit transaction.
  CHECK(std::get<0>(
            db.query<std::tuple<std::int64_t>>("SELECT n FROM \"" + table + "_stmts\"").at(0)) ==
        3);
  CHECK(std::get<0>(db.query<std::tuple<std::int64_t>>("SELECT count(DISTINCT xmin::text) FROM \"" +
                                                       table + "\"")
                        .at(0)) == 1);

  auto stored = db.fetch_all(select<AllTypes>().order_by(col(&AllTypes::id)));
  REQUIRE(stored.size() == static_cast<std::size_t>(kRows));
  std::size_t mismatched = 0;
  for (std::int64_t id = 1; id <= kRows; ++id) {
    const AllTypes want = all_types_row(id, 1);
    if (!(stored[static_cast<std::size_t>(id - 1)] == want)) {
      if (mismatched == 0) MESSAGE("first mismatch at id " << id);
      ++mismatched;
    }
  }
  CHECK(mismatched == 0);
  CHECK_FALSE(stored[0].all_null.has_value());

  // One prepared UPDATE for the three batches.
  auto statements = db.query<std::tuple<std::string>>(
      "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'UPDATE%unnest(%'");
  REQUIRE(statements.size() == 1);
  const std::string& sql = std::get<0>(statements[0]);
  CHECK(sql.find("$1::int8[]") != std::string::npos);
  CHECK(sql.find("$17::int8[]") != std::string::npos);  // all_null: typed although all NULL
  CHECK(sql.find("$16::text[]") != std::string::npos);
  db.drop_tables<AllTypes>();
  db.execute_raw("DROP TABLE \"" + table + "_stmts\"");
  db.execute_raw("DROP FUNCTION \"" + table + "_count\"()");
}

// A model over a table created by hand, whose qty column is narrower than
// the member: the out-of-range value reaches the server.
struct Narrow {
  std::string name;
  std::int32_t part{};
  std::int64_t qty{};
};
TESSERA_MODEL(Narrow, "narrow", (name, tessera::primary_key), (part, tessera::primary_key), (qty));

TEST_CASE("update_many: composite text key, and a value out of an INTEGER column's range") {
  const std::string p = prefix();
  auto db = open(p);
  const std::string table = "\"" + p + "narrow\"";
  db.execute_raw("CREATE TABLE " + table +
                 " (name text COLLATE \"C\" NOT NULL, part integer NOT NULL, qty integer NOT NULL, "
                 "PRIMARY KEY (name, part))");
  std::vector<Narrow> initial{{"a", 1, 1}, {"a", 2, 2}, {"b", 1, 3}};
  db.insert_many(initial);
  CHECK(db.update_many(std::vector<Narrow>{{"a", 2, 20}, {"b", 1, 30}, {"c", 1, 40}}) == 2);
  auto all = db.fetch_all(select<Narrow>().order_by(col(&Narrow::name), col(&Narrow::part)));
  REQUIRE(all.size() == 3);
  CHECK(all[0].qty == 1);
  CHECK(all[1].qty == 20);
  CHECK(all[2].qty == 30);

  // Out of range: the error update() gives (22003, invalid_value), and
  // nothing is written, the in-range row included.
  const std::int64_t big = std::int64_t{1} << 40;
  auto single = catch_error<tessera::DbError>([&] { db.update(Narrow{"a", 1, big}); });
  REQUIRE(single.has_value());
  auto many = catch_error<tessera::DbError>([&] {
    db.update_many(std::vector<Narrow>{{"a", 2, 5}, {"a", 1, big}});
  });
  REQUIRE(many.has_value());
  CHECK(many->kind() == single->kind());
  CHECK(many->kind() == ErrorKind::invalid_value);
  CHECK(many->sqlstate() == single->sqlstate());
  CHECK(db.find<Narrow>(std::string("a"), std::int32_t{2})->qty == 20);
  CHECK(db.find<Narrow>(std::string("a"), std::int32_t{1})->qty == 1);
  db.execute_raw("DROP TABLE " + table);
}

TEST_CASE("insert batches the array form cannot carry go out as VALUES") {
  const auto connection = connect_spi();
  tessera::Connection& c = *connection;
  const std::string table = prefix() + "mixed";
  const std::string quoted = "\"" + table + "\"";
  spi(c, tessera::op::RawSql{"CREATE TABLE " + quoted +
                                 " (id bigserial PRIMARY KEY, a double precision, b text DEFAULT "
                                 "'default')",
                             {}});
  // Returns the (id, a, b) rows of an insert of `values` (a, b per row).
  auto insert = [&](std::vector<tessera::Value> values) {
    tessera::ast::Insert ins;
    ins.table = table;
    ins.columns = {"a", "b"};
    ins.row_count = values.size() / 2;
    ins.returning = {"id", "a", "b"};
    auto r = spi(c, tessera::op::Insert{&ins, values});
    std::vector<std::string> out;
    while (*r.rows->next()) {
      std::string row = std::to_string(r.rows->get_int64(0)) + "|";
      row += r.rows->is_null(1) ? "null" : std::to_string(r.rows->get_double(1));
      row += "|" + (r.rows->is_null(2) ? std::string("null") : std::string(r.rows->get_text(2)));
      out.push_back(row);
    }
    return out;
  };
  using tessera::Value;
  // Column a mixes int64 and float64: no single element type.
  CHECK(insert({Value(std::int64_t{1}), Value("x"), Value(2.5), Value("y"), Value(), Value()}) ==
        std::vector<std::string>{"1|1.000000|x", "2|2.500000|y", "3|null|null"});
  // Every column NULL: nothing to unnest.
  CHECK(insert({Value(), Value(), Value(), Value()}) ==
        std::vector<std::string>{"4|null|null", "5|null|null"});
  // Column b NULL in every row: an untyped NULL, which stores NULL, not
  // the column's default.
  CHECK(insert({Value(1.5), Value(), Value(), Value()}) ==
        std::vector<std::string>{"6|1.500000|null", "7|null|null"});
  spi(c, tessera::op::RawSql{"DROP TABLE " + quoted, {}});
}

TEST_CASE("UpdateMany through the SPI: a value not of its column's type is invalid_value") {
  const auto connection = connect_spi();
  tessera::Connection& c = *connection;
  CHECK(c.capability().update_many);
  const std::string table = prefix() + "typed";
  const std::string quoted = "\"" + table + "\"";
  spi(c, tessera::op::RawSql{"CREATE TABLE " + quoted + " (id bigint PRIMARY KEY, a integer)", {}});
  spi(c, tessera::op::RawSql{"INSERT INTO " + quoted + " VALUES (1, 10), (2, 20)", {}});
  using tessera::ColumnType;
  using tessera::Value;
  const std::vector<std::string> keys{"id"};
  const std::vector<ColumnType> key_types{ColumnType::int64};
  const std::vector<std::string> sets{"a"};
  const std::vector<ColumnType> set_types{ColumnType::int32};
  auto update = [&](std::vector<Value> values) {
    tessera::op::UpdateMany u;
    u.table = table;
    u.key_columns = keys;
    u.key_types = key_types;
    u.set_columns = sets;
    u.set_types = set_types;
    u.row_count = values.size() / 2;
    u.values = values;
    return c.exec(u);
  };
  auto bad = update(
      {Value(std::int64_t{1}), Value(std::int64_t{11}), Value(std::int64_t{2}), Value("text")});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::invalid_value);
  auto good = update({Value(std::int64_t{1}), Value(), Value(std::int64_t{2}),
                      Value(std::int64_t{21}), Value(std::int64_t{3}), Value(std::int64_t{31})});
  REQUIRE(good.ok());
  CHECK(good->affected == 2);
  auto rows = spi(c, tessera::op::RawSql{"SELECT id, a FROM " + quoted + " ORDER BY id", {}});
  CHECK(rows.rows->size_hint() == 0);  // streamed (no reads_all): unknown
  REQUIRE(*rows.rows->next());
  CHECK(rows.rows->is_null(1));
  REQUIRE(*rows.rows->next());
  CHECK(rows.rows->get_int64(1) == 21);
  rows.rows.reset();
  // Read whole (reads_all): the rows left after the current one.
  auto whole = spi(
      c, tessera::op::RawSql{
             .sql = "SELECT id FROM " + quoted + " ORDER BY id", .params = {}, .reads_all = true});
  CHECK(whole.rows->size_hint() == 2);
  REQUIRE(*whole.rows->next());
  CHECK(whole.rows->size_hint() == 1);
  REQUIRE(*whole.rows->next());
  CHECK(whole.rows->size_hint() == 0);
  CHECK_FALSE(*whole.rows->next());
  CHECK(whole.rows->size_hint() == 0);
  whole.rows.reset();
  spi(c, tessera::op::RawSql{"DROP TABLE " + quoted, {}});
}

}  // namespace
}  // namespace pgtest
