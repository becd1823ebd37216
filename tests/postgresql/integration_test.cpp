// The PostgreSQL driver with a real server: what the conformance suite cannot
// see from inside Tessera. (a) Data written through Tessera is what psql sees,
// with the declared column types, and the reverse. (b) A backend killed in
// the middle of a transaction is a typed ConnectionError, nothing commits,
// and the pool recovers. (c) Inserting 100,000 rows takes a handful of
// array statements, counted by the server, all in one pipeline.
//
// Needs TESSERA_TEST_POSTGRESQL_URL (see with_server.sh); the statement log
// check of (c) also needs TESSERA_TEST_POSTGRESQL_LOG.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tessera/postgresql.hpp"
#include "tessera/tessera.hpp"
#include "tests/postgresql/support.hpp"

namespace pgtest {

using tessera::col;
using tessera::select;

struct Sample {
  std::int64_t id{};
  bool flag{};
  std::int16_t small{};
  std::int32_t medium{};
  std::int64_t big{};
  std::uint32_t wide{};
  float single{};
  double dbl{};
  std::string text;
  tessera::Bytes blob;
  tessera::Timestamp at;
  tessera::Date day;
  std::optional<std::string> maybe;
};
TESSERA_MODEL(Sample, "sample", (id, tessera::primary_key, tessera::auto_increment), (flag),
              (small), (medium), (big), (wide), (single), (dbl), (text, tessera::index), (blob),
              (at), (day), (maybe));

struct Bulk {
  std::int64_t id{};
  std::int64_t n{};
  std::string label;
  double x{};
};
TESSERA_MODEL(Bulk, "bulk", (id, tessera::primary_key, tessera::auto_increment), (n), (label), (x));

struct Note {
  std::int64_t id{};
  std::string body;
};
TESSERA_MODEL(Note, "note", (id, tessera::primary_key), (body));

TEST_CASE("psql reads what Tessera wrote, with the declared column types, and the reverse") {
  const std::string p = prefix();
  auto db = open(p);
  db.drop_tables<Sample>();
  db.push_schema<Sample>();
  const std::string table = p + "sample";

  // Column types as PostgreSQL declares them.
  const auto types = lines(
      psql("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, "
           "coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation), '') "
           "FROM pg_attribute a WHERE a.attrelid = " +
           regclass(table) + " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"));
  const std::vector<std::string> expected{
      "id|bigint|t|d|",
      "flag|boolean|t||",
      "small|smallint|t||",
      "medium|integer|t||",
      "big|bigint|t||",
      "wide|bigint|t||",
      "single|real|t||",
      "dbl|double precision|t||",
      "text|text|t||C",
      "blob|bytea|t||",
      "at|timestamp with time zone|t||",
      "day|date|t||",
      "maybe|text|f||C",
  };
  CHECK(types == expected);
  CHECK(psql("SELECT bool_or(indexdef LIKE '%(text)') FROM pg_indexes WHERE tablename = '" + table +
             "'") == "t");

  // Tessera writes; psql reads.
  Sample a = db.insert(Sample{.flag = true,
                              .small = -32768,
                              .medium = 2147483647,
                              .big = std::numeric_limits<std::int64_t>::min(),
                              .wide = 4294967295u,
                              .single = 1.5f,
                              .dbl = -0.1,
                              .text = "h\xc3\xa9llo 'q' \\ \"x\"",
                              .blob = {std::byte{0}, std::byte{1}, std::byte{0xff}},
                              .at = tessera::Timestamp::from_civil(2024, 2, 29, 23, 59, 58, 123456),
                              .day = tessera::Date::from_civil(1999, 12, 31),
                              .maybe = std::nullopt});
  Sample b = db.insert(Sample{.single = std::numeric_limits<float>::quiet_NaN(),
                              .dbl = std::numeric_limits<double>::infinity(),
                              .at = tessera::Timestamp::from_civil(1, 1, 1, 0, 0, 0, 1),
                              .day = tessera::Date::from_civil(9999, 12, 31),
                              .maybe = ""});
  REQUIRE(a.id > 0);
  REQUIRE(b.id == a.id + 1);
  const std::string read = psql(
      "SELECT flag, small, medium, big, wide, single, dbl, text, encode(blob, 'hex'), "
      "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), day, "
      "coalesce(maybe, '<null>') FROM " +
      std::string("\"") + table + "\" ORDER BY id");
  INFO("psql read: " << read);
  CHECK(lines(read) ==
        std::vector<std::string>{
            "t|-32768|2147483647|-9223372036854775808|4294967295|1.5|-0.1|h\xc3\xa9llo 'q' \\ "
            "\"x\"|0001ff|2024-02-29 23:59:58.123456|1999-12-31|<null>",
            "f|0|0|0|0|NaN|Infinity|||0001-01-01 00:00:00.000001|9999-12-31|"});

  // psql writes (in another time zone than UTC); Tessera reads.
  psql("SET TimeZone = 'Asia/Kolkata'; INSERT INTO \"" + table +
       "\" (id, flag, small, medium, big, wide, single, dbl, text, blob, at, day, maybe) "
       "OVERRIDING SYSTEM VALUE VALUES (1000, true, 7, -7, 9223372036854775807, 0, '-Infinity', "
       "'NaN', 'd\xc3\xa9j\xc3\xa0 vu', '\\x00ff10', '2001-02-03 04:05:06.789012+02', "
       "'0001-01-01', 'psql')");
  auto c = db.find<Sample>(std::int64_t{1000});
  REQUIRE(c.has_value());
  CHECK(c->flag);
  CHECK(c->small == 7);
  CHECK(c->medium == -7);
  CHECK(c->big == std::numeric_limits<std::int64_t>::max());
  CHECK(c->wide == 0u);
  CHECK((std::isinf(c->single) && c->single < 0));
  CHECK(std::isnan(c->dbl));
  CHECK(c->text == "d\xc3\xa9j\xc3\xa0 vu");
  CHECK((c->blob == tessera::Bytes{std::byte{0}, std::byte{0xff}, std::byte{0x10}}));
  CHECK(c->at == tessera::Timestamp::from_civil(2001, 2, 3, 2, 5, 6, 789012));
  CHECK(c->day == tessera::Date::from_civil(1, 1, 1));
  CHECK(c->maybe == std::optional<std::string>("psql"));
  // And the rows Tessera wrote read back through Tessera as written.
  auto again = db.find<Sample>(a.id);
  REQUIRE(again.has_value());
  CHECK(again->text == a.text);
  CHECK(again->at == a.at);
  CHECK(again->big == a.big);
  db.drop_tables<Sample>();
}

TEST_CASE("a backend killed mid-transaction is a typed ConnectionError and the pool recovers") {
  const std::string p = prefix();
  auto db = open(p, 2);
  auto admin = open(p, 1);
  db.drop_tables<Note>();
  db.push_schema<Note>();

  auto terminate = [&](std::int32_t pid) {
    auto r = admin.query<std::tuple<bool>>("SELECT pg_terminate_backend(CAST($1 AS integer))",
                                           std::int64_t{pid});
    REQUIRE(r.size() == 1);
    REQUIRE(std::get<0>(r[0]));
    // Wait until the backend is gone, so the next statement meets a closed
    // session and not one still shutting down.
    for (int i = 0; i < 500; ++i) {
      auto left = admin.query<std::tuple<std::int64_t>>(
          "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST($1 AS integer)",
          std::int64_t{pid});
      if (std::get<0>(left.at(0)) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("backend " << pid << " did not exit");
  };

  std::int32_t killed_pid = 0;
  {
    auto tx = db.transaction();
    tx.insert(Note{1, "before the kill"});
    killed_pid = std::get<0>(tx.query<std::tuple<std::int32_t>>("SELECT pg_backend_pid()").at(0));
    terminate(killed_pid);
    try {
      tx.insert(Note{2, "after the kill"});
      FAIL("the insert after pg_terminate_backend succeeded");
    } catch (const tessera::ConnectionError& e) {
      INFO(e.what());
      CHECK((e.kind() == tessera::ErrorKind::transaction_outcome_unknown ||
             e.kind() == tessera::ErrorKind::connection_lost));
      CHECK(e.kind() == tessera::ErrorKind::transaction_outcome_unknown);
      CHECK(e.driver() == "postgresql");
      CHECK(e.retry_statement() == (e.kind() == tessera::ErrorKind::connection_lost));
    }
    // Committing on the dead session fails the same way; the destructor of
    // the transaction then must not throw.
    CHECK_THROWS_AS(tx.commit(), tessera::ConnectionError);
  }
  // Nothing was committed.
  CHECK(admin.count(select<Note>()) == 0);
  // The next operation runs on a fresh pooled connection.
  db.insert(Note{3, "on a new connection"});
  CHECK(db.count(select<Note>()) == 1);
  const auto pid_now =
      std::get<0>(db.query<std::tuple<std::int32_t>>("SELECT pg_backend_pid()").at(0));
  CHECK(pid_now != killed_pid);

  // An idle pooled connection whose backend died: the statement that finds
  // out fails as connection_lost (no transaction was open: retry it), and
  // the retry succeeds on a new connection.
  terminate(pid_now);
  bool lost = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      db.insert(Note{4, "retried"});
      break;
    } catch (const tessera::ConnectionError& e) {
      CHECK(e.kind() == tessera::ErrorKind::connection_lost);
      CHECK(e.retry_statement());
      lost = true;
    }
  }
  CHECK(lost);
  CHECK(admin.count(select<Note>()) == 2);
  db.drop_tables<Note>();
}

// INSERT statements on `table` in the server's statement log since byte
// `from` (log_statement = 'all' logs each executed statement once).
std::size_t logged_inserts(const std::string& log, std::streamoff from, const std::string& table) {
  std::ifstream in(log);
  in.seekg(from);
  const std::string needle = "INSERT INTO \"" + table + "\"";
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos &&
        (line.find("execute") != std::string::npos || line.find("statement:") != std::string::npos))
      ++n;
  return n;
}

TEST_CASE("insert_many of 100,000 rows takes array statements of 5000 rows in one pipeline") {
  const std::string p = prefix();
  auto db = open(p, 4, "copy_min_rows=0");  // the array form, not COPY
  db.drop_tables<Bulk>();
  db.push_schema<Bulk>();
  const std::string table = p + "bulk";

  // Server-side count of INSERT statements: a statement-level trigger
  // (works on any server, with or without the statement log).
  db.execute_raw("CREATE TABLE \"" + table + "_stmts\" (n bigint NOT NULL)");
  db.execute_raw("INSERT INTO \"" + table + "_stmts\" VALUES (0)");
  db.execute_raw("CREATE FUNCTION \"" + table + "_count\"() RETURNS trigger LANGUAGE plpgsql AS " +
                 "$$BEGIN UPDATE \"" + table + "_stmts\" SET n = n + 1; RETURN NULL; END$$");
  db.execute_raw("CREATE TRIGGER \"" + table + "_count\" AFTER INSERT ON \"" + table +
                 "\" FOR EACH STATEMENT EXECUTE FUNCTION \"" + table + "_count\"()");

  const char* log = std::getenv("TESSERA_TEST_POSTGRESQL_LOG");
  std::streamoff log_start = 0;
  if (log != nullptr) log_start = static_cast<std::streamoff>(std::filesystem::file_size(log));

  constexpr std::size_t kRows = 100'000;
  std::vector<Bulk> rows(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    rows[i].n = static_cast<std::int64_t>(i);
    rows[i].label = "row " + std::to_string(i);
    rows[i].x = static_cast<double>(i) / 4;
  }
  const auto start = std::chrono::steady_clock::now();
  db.insert_many(rows);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);

  // One array per column and statement (INSERT ... SELECT FROM unnest),
  // 5000 rows each (the driver's batch size; see postgresql_connection.cpp),
  // all of them in flight in one pipeline.
  const std::size_t expected_statements = (kRows + 4999) / 5000;
  const auto statements = std::get<0>(
      db.query<std::tuple<std::int64_t>>("SELECT n FROM \"" + table + "_stmts\"").at(0));
  MESSAGE("100,000 rows: " << statements << " INSERT statements (server trigger), "
                           << elapsed.count() << " ms");
  CHECK(statements == static_cast<std::int64_t>(expected_statements));
  CHECK(statements <= 100);
  if (log != nullptr) {
    // The server writes its log asynchronously to our session: wait for the
    // lines to land.
    std::size_t logged = 0;
    for (int i = 0; i < 100 && logged < expected_statements; ++i) {
      logged = logged_inserts(log, log_start, table);
      if (logged < expected_statements) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    MESSAGE("server statement log: " << logged << " INSERT statements on " << table);
    CHECK(logged == expected_statements);
  } else {
    MESSAGE("TESSERA_TEST_POSTGRESQL_LOG not set: statement log not checked");
  }

  // One Sync for the whole pipeline: outside a transaction that is one
  // implicit transaction, so every row carries the same xmin.
  CHECK(std::get<0>(db.query<std::tuple<std::int64_t>>("SELECT count(DISTINCT xmin::text) FROM \"" +
                                                       table + "\"")
                        .at(0)) == 1);

  // Generated keys came back in row order, through RETURNING.
  CHECK(db.count(select<Bulk>()) == static_cast<std::int64_t>(kRows));
  bool ascending = rows[0].id > 0;
  for (std::size_t i = 1; i < kRows; ++i) ascending = ascending && rows[i].id == rows[i - 1].id + 1;
  CHECK(ascending);
  auto probe = db.find<Bulk>(rows[77'777].id);
  REQUIRE(probe.has_value());
  CHECK(probe->n == 77'777);
  CHECK(probe->label == "row 77777");

  db.execute_raw("DROP TABLE \"" + table + "_stmts\"");
  db.execute_raw("DROP FUNCTION \"" + table + "_count\"() CASCADE");
  db.drop_tables<Bulk>();
}

TEST_CASE(
    "a cursor streams a large result with bounded memory, and a second query may interleave") {
  const std::string p = prefix();
  auto db = open(p);
  db.drop_tables<Bulk>();
  db.push_schema<Bulk>();
  const std::string table = p + "bulk";
  // 300,000 rows generated by the server.
  db.execute_raw(
      "INSERT INTO \"" + table +
      "\" (n, label, x) SELECT g, 'label ' || g, g / 2.0 FROM generate_series(1, 300000) g");
  auto rss_kb = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  const long before = rss_kb();
  std::int64_t sum = 0;
  std::size_t n = 0;
  long peak = before;
  for (const Bulk& b : db.cursor(select<Bulk>().order_by(col(&Bulk::n).asc()))) {
    sum += b.n;
    if (++n % 50'000 == 0) peak = std::max(peak, rss_kb());
  }
  CHECK(n == 300'000);
  CHECK(sum == std::int64_t{300'000} * 300'001 / 2);
  MESSAGE("RSS before " << before << " kB, peak while streaming " << peak << " kB");
  // 300,000 rows buffered would take tens of MB; streaming stays flat.
  CHECK(peak - before < 16 * 1024);

  // Inside a transaction (one connection), a query while a cursor is open:
  // the cursor's rest is buffered and both give their rows.
  {
    auto tx = db.transaction();
    auto cursor =
        tx.cursor(select<Bulk>().where(col(&Bulk::n) <= 10).order_by(col(&Bulk::n).asc()));
    auto it = cursor.begin();
    CHECK(it->n == 1);
    CHECK(tx.count(select<Bulk>()) == 300'000);
    std::int64_t seen = 1;
    for (++it; it != cursor.end(); ++it) CHECK(it->n == ++seen);
    CHECK(seen == 10);
    tx.commit();
  }
  // An abandoned cursor (outside a transaction) leaves the connection usable.
  {
    auto cursor = db.cursor(select<Bulk>());
    auto it = cursor.begin();
    CHECK(it->n > 0);
  }
  CHECK(db.count(select<Bulk>().where(col(&Bulk::n) > 299'990)) == 10);
  db.drop_tables<Bulk>();
}

}  // namespace pgtest
