// MariaDB integration tests: how the driver and the server work together,
// seen from outside Tessera (the mariadb command-line client, the server's
// own counters, KILL CONNECTION). Driver behaviour common to every driver
// belongs in the conformance suite, not here.
//
// Needs TESSERA_TEST_MYSQL_URL (scripts/services/mariadb.sh start DIR) and
// the `mariadb` client on PATH.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <tessera/mysql.hpp>
#include <tessera/tessera.hpp>

namespace {

using tessera::col;
using tessera::select;

struct Reading {
  std::int64_t id{};
  bool flag{};
  std::int8_t small{};
  std::uint32_t big{};
  double value{};
  std::string name;
  std::string body;
  tessera::Bytes blob;
  tessera::Timestamp at;
  tessera::Date day;
  std::optional<std::int32_t> maybe;
};
TESSERA_MODEL(Reading, "it_readings", (id, tessera::primary_key, tessera::auto_increment), (flag),
              (small), (big), (value), (name, tessera::index), (body), (blob), (at), (day),
              (maybe));

struct Tiny {
  std::int64_t id{};
  std::int32_t n{};
  std::string label;
};
TESSERA_MODEL(Tiny, "it_tiny", (id, tessera::primary_key, tessera::auto_increment), (n), (label));

struct Server {
  std::string url, user, password, host, port, database;
};

// The server under test, from TESSERA_TEST_MYSQL_URL
// (mysql://user:password@host:port/database).
const Server& server() {
  static const Server s = [] {
    const char* env = std::getenv("TESSERA_TEST_MYSQL_URL");
    if (env == nullptr || *env == '\0')
      throw std::runtime_error("TESSERA_TEST_MYSQL_URL is not set");
    Server s;
    s.url = env;
    std::string rest = s.url.substr(s.url.find("://") + 3);
    const auto at = rest.rfind('@');
    const std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    s.user = auth.substr(0, auth.find(':'));
    s.password = auth.substr(auth.find(':') + 1);
    const auto slash = rest.find('/');
    const std::string hostport = rest.substr(0, slash);
    s.database =
        rest.substr(slash + 1, rest.find('?') == std::string::npos ? std::string::npos
                                                                   : rest.find('?') - slash - 1);
    s.host = hostport.substr(0, hostport.find(':'));
    s.port = hostport.substr(hostport.find(':') + 1);
    return s;
  }();
  return s;
}

// Runs SQL through the mariadb client; its tab-separated output, one line
// per row, no header.
std::string client(const std::string& sql) {
  const Server& s = server();
  const std::string path = "/tmp/tessera-mysql-it-" + std::to_string(::getpid()) + ".sql";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fputs(sql.c_str(), f);
    std::fclose(f);
  }
  const std::string cmd =
      "mariadb --no-defaults --default-character-set=utf8mb4 --batch --skip-column-names -h" +
      s.host + " -P" + s.port + " -u" + s.user + " -p" + s.password + " " + s.database + " <" +
      path + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  std::remove(path.c_str());
  return out;
}

// `options`: URL options to add, e.g. "returning=off".
tessera::Db open_db(std::size_t max_connections = 4, const std::string& options = {}) {
  static const bool registered = [] {
    tessera::mysql::register_linked();
    return true;
  }();
  (void)registered;
  tessera::Options o;
  o.max_connections = max_connections;
  std::string url = server().url;
  if (!options.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + options;
  return tessera::Db::open(url, o);
}

template <class E, class F>
std::optional<tessera::Error> catch_error(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.error();
  }
  return std::nullopt;
}

const tessera::Timestamp kAt = tessera::Timestamp::from_civil(2024, 2, 29, 13, 45, 6, 123456);

TEST_CASE("data written by Tessera reads back in the mariadb client, and the other way round") {
  auto db = open_db();
  db.drop_tables<Reading>();
  db.push_schema<Reading>();

  CHECK(client("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
               "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'it_readings' "
               "ORDER BY ORDINAL_POSITION") ==
        "id\tbigint(20)\nflag\ttinyint(1)\nsmall\ttinyint(4)\nbig\tint(10) unsigned\n"
        "value\tdouble\nname\tvarchar(255)\nbody\tlongtext\nblob\tlongblob\n"
        "at\tdatetime(6)\nday\tdate\nmaybe\tint(11)\n");
  CHECK(client("SELECT TABLE_COLLATION FROM information_schema.TABLES "
               "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'it_readings'") ==
        "utf8mb4_bin\n");

  const Reading written = db.insert(Reading{.flag = true,
                                            .small = -5,
                                            .big = 4000000000u,
                                            .value = 2.5,
                                            .name = "ada",
                                            .body = "tab\there, \"quotes\" and ü€😀",
                                            .blob = {std::byte{0}, std::byte{0xff}},
                                            .at = kAt,
                                            .day = tessera::Date::from_civil(2024, 2, 29)});
  CHECK(written.id > 0);
  CHECK(client("SELECT id, flag, small, big, value, name, HEX(body), HEX(`blob`), at, day, maybe "
               "FROM it_readings") == std::to_string(written.id) +
                                          "\t1\t-5\t4000000000\t2.5\tada\t"
                                          "7461620968657265"  // "tab\there"
                                          "2C202271756F7465732220616E6420C3BCE282ACF09F9880"
                                          "\t00FF\t2024-02-29 13:45:06.123456\t2024-02-29\tNULL\n");

  // The other way round: a row the client wrote, read by Tessera.
  CHECK(client(
            "INSERT INTO it_readings (flag, small, big, value, name, body, `blob`, at, day, maybe) "
            "VALUES (0, 127, 0, -1.25, 'bob', 'ü€😀', X'DEADBEEF', "
            "'1999-12-31 23:59:59.999999', '1970-01-01', 7)") == "");
  const Reading bob = db.fetch_one(select<Reading>().where(col(&Reading::name) == "bob"));
  CHECK_FALSE(bob.flag);
  CHECK(bob.small == 127);
  CHECK(bob.big == 0u);
  CHECK(bob.value == -1.25);
  CHECK(bob.body == "ü€😀");
  CHECK((bob.blob ==
         tessera::Bytes{std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}}));
  CHECK(bob.at == tessera::Timestamp::from_civil(1999, 12, 31, 23, 59, 59, 999999));
  CHECK(bob.day == tessera::Date::from_civil(1970, 1, 1));
  CHECK(bob.maybe == std::optional<std::int32_t>(7));
  db.drop_tables<Reading>();
}

TEST_CASE(
    "KILL CONNECTION mid-transaction: a ConnectionError, nothing committed, the pool recovers") {
  auto db = open_db(2);
  db.drop_tables<Tiny>();
  db.push_schema<Tiny>();
  {
    auto tx = db.transaction();
    const auto id = std::get<0>(tx.query<std::tuple<std::int64_t>>("SELECT CONNECTION_ID()").at(0));
    tx.insert(Tiny{.n = 1, .label = "doomed"});
    CHECK(client("KILL CONNECTION " + std::to_string(id)) == "");
    auto err =
        catch_error<tessera::ConnectionError>([&] { tx.insert(Tiny{.n = 2, .label = "x"}); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::transaction_outcome_unknown);
    CHECK(err->driver == "mysql");
    CHECK(err->native_code != 0);
    auto commit = catch_error<tessera::DbError>([&] { tx.commit(); });
    CHECK(commit.has_value());
  }  // the destructor's rollback fails quietly; the connection is evicted
  CHECK(db.count(select<Tiny>()) == 0);
  CHECK(client("SELECT COUNT(*) FROM it_tiny") == "0\n");
  db.insert(Tiny{.n = 3, .label = "after"});
  CHECK(db.count(select<Tiny>()) == 1);

  // Outside a transaction the same loss is connection_lost (retry the
  // statement).
  {
    std::int64_t id = 0;
    {
      auto tx = db.transaction();
      id = std::get<0>(tx.query<std::tuple<std::int64_t>>("SELECT CONNECTION_ID()").at(0));
      tx.commit();
    }
    // The pool hands out the connection just returned (last in, first out).
    CHECK(client("KILL CONNECTION " + std::to_string(id)) == "");
    auto err = catch_error<tessera::ConnectionError>([&] { db.count(select<Tiny>()); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::connection_lost);
    CHECK(tessera::is_retryable_statement(err->kind));
    CHECK(db.count(select<Tiny>()) == 1);
  }
  db.drop_tables<Tiny>();
}

TEST_CASE("too long strings and out-of-range integers are typed errors, never truncated") {
  auto db = open_db();
  db.drop_tables<Reading>();
  db.push_schema<Reading>();
  Reading r{.name = std::string(255, 'x'), .at = kAt};
  db.insert(r);  // 255 characters fit VARCHAR(255)
  r.name = std::string(256, 'y');
  auto err = catch_error<tessera::InvalidValueError>([&] { db.insert(r); });
  REQUIRE(err.has_value());
  CHECK(err->kind == tessera::ErrorKind::invalid_value);
  CHECK(err->native_code == 1406);  // ER_DATA_TOO_LONG
  CHECK(err->sqlstate == "22001");
  // 256 four-byte characters are as wrong as 256 ASCII ones.
  std::string emoji;
  for (int i = 0; i < 256; ++i) emoji += "😀";
  r.name = emoji;
  CHECK(catch_error<tessera::InvalidValueError>([&] { db.insert(r); }).has_value());
  CHECK(db.count(select<Reading>()) == 1);
  CHECK(
      client("SELECT COUNT(*) FROM it_readings WHERE name LIKE 'y%' OR CHAR_LENGTH(name) <> 255") ==
      "0\n");

  // An int8 column given 300 through raw SQL: out of range, not clamped.
  auto err2 = catch_error<tessera::InvalidValueError>(
      [&] { db.execute_raw("UPDATE it_readings SET small = ?", std::int64_t{300}); });
  REQUIRE(err2.has_value());
  CHECK(err2->native_code == 1264);  // ER_WARN_DATA_OUT_OF_RANGE
  CHECK(client("SELECT small FROM it_readings") == "0\n");

  // A VARCHAR(10) table made with raw DDL.
  db.execute_raw("DROP TABLE IF EXISTS it_short");
  db.execute_raw(
      "CREATE TABLE it_short (id INT PRIMARY KEY, s VARCHAR(10) NOT NULL) "
      "DEFAULT CHARSET = utf8mb4");
  db.execute_raw("INSERT INTO it_short VALUES (?, ?)", 1, std::string(10, 'a'));
  CHECK(catch_error<tessera::InvalidValueError>([&] {
          db.execute_raw("INSERT INTO it_short VALUES (?, ?)", 2, std::string(11, 'b'));
        }).has_value());
  CHECK(client("SELECT id, s FROM it_short") == "1\taaaaaaaaaa\n");
  db.execute_raw("DROP TABLE it_short");
  db.drop_tables<Reading>();
}

// One counter of the current session, read on the connection `tx` pins.
std::int64_t session_status(tessera::Transaction& tx, const std::string& name) {
  auto rows =
      tx.query<std::tuple<std::string, std::string>>("SHOW SESSION STATUS LIKE '" + name + "'");
  REQUIRE(rows.size() == 1);
  return std::stoll(std::get<1>(rows[0]));
}

// Result buffers are bound once per prepared statement and grow up to a
// bound; longer values are read whole apart from them. Each read path
// (stored: fetch_all, find; streamed: cursor) must give every value whole,
// on every execution of the same cached statement, and a cursor dropped
// right after a long value must leave the statement fit for reuse.
TEST_CASE("long text values read whole through every read path, again and again") {
  auto db = open_db(1);
  db.drop_tables<Tiny>();
  db.push_schema<Tiny>();
  const std::vector<std::size_t> sizes = {10,  300, 70000, 10,    1000000, 0,
                                          256, 257, 65536, 65537, 20};
  std::vector<Tiny> rows(sizes.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].n = static_cast<std::int32_t>(i);
    rows[i].label = std::string(sizes[i], static_cast<char>('a' + i));
  }
  db.insert_many(rows);
  const auto by_n = select<Tiny>().order_by(col(&Tiny::n));
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    const auto all = db.fetch_all(by_n);
    REQUIRE(all.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(all[i].label == rows[i].label);
    std::size_t seen = 0;
    for (const Tiny& t : db.cursor(by_n)) {
      REQUIRE(seen < rows.size());
      CHECK(t.label == rows[seen].label);
      ++seen;
    }
    CHECK(seen == rows.size());
    for (const auto& r : rows) CHECK(db.find<Tiny>(r.id)->label == r.label);
    {
      auto cursor = db.cursor(by_n);
      auto it = cursor.begin();
      ++it;
      ++it;
      CHECK(it->label.size() == 70000);
      ++it;
      ++it;
      CHECK(it->label.size() == 1000000);
    }
  }
  db.drop_tables<Tiny>();
}

// A cached statement keeps its parameter binding and skips
// mysql_stmt_bind_param when only the values change (numbers are copied into
// the binding's slots, text is pointed at). Every change the library must
// hear of (a type, NULL, text at a new address) must reach the server, and
// text at the same address with a new length must too.
TEST_CASE("a cached statement's parameters follow every change of type, NULL, place and length") {
  auto db = open_db(1);
  db.drop_tables<Tiny>();
  db.push_schema<Tiny>();
  std::vector<Tiny> rows(3);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].n = static_cast<std::int32_t>(i);
  db.insert_many(rows);

  // One statement, one parameter of changing type.
  using Text = std::tuple<std::optional<std::string>>;
  const std::string concat = "SELECT CONCAT('', ?)";
  CHECK(std::get<0>(db.query<Text>(concat, std::int64_t{5}).at(0)) == "5");
  CHECK(std::get<0>(db.query<Text>(concat, std::int64_t{-6}).at(0)) == "-6");
  CHECK(std::get<0>(db.query<Text>(concat, std::string("abc")).at(0)) == "abc");
  CHECK(std::get<0>(db.query<Text>(concat, std::string("de")).at(0)) == "de");
  CHECK(!std::get<0>(db.query<Text>(concat, std::optional<std::int64_t>()).at(0)));
  CHECK(std::get<0>(db.query<Text>(concat, 1.5).at(0)) == "1.5");
  CHECK(std::get<0>(db.query<Text>(concat, std::int64_t{7}).at(0)) == "7");

  // update(row) views the member's text: the same buffer, new lengths.
  Tiny t = rows[1];
  t.label.reserve(4096);
  const char* buffer = t.label.data();
  for (std::size_t length : {10, 3000, 0, 1, 4000, 25}) {
    CAPTURE(length);
    t.label.assign(length, static_cast<char>('a' + length % 26));
    REQUIRE(t.label.data() == buffer);
    t.n = static_cast<std::int32_t>(length);
    CHECK(db.update(t, tessera::only(&Tiny::label, &Tiny::n)));
    const auto back = db.find<Tiny>(t.id);
    REQUIRE(back);
    CHECK(back->label == t.label);
    CHECK(back->n == t.n);
  }
  // The other rows are untouched (the key parameter followed too).
  CHECK(db.find<Tiny>(rows[0].id)->label.empty());
  CHECK(db.find<Tiny>(rows[2].id)->n == 2);
  db.drop_tables<Tiny>();
}

// A cursor streams (one row in memory); another statement on its connection
// first copies the rest of its rows, and a cursor dropped early reads and
// drops the rest. Either way the connection's other statements go on.
TEST_CASE(
    "a streaming cursor meets other statements, inside a transaction and after it is dropped") {
  auto db = open_db(1);
  db.drop_tables<Tiny>();
  db.push_schema<Tiny>();
  std::vector<Tiny> rows(20000);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].n = static_cast<std::int32_t>(i);
    rows[i].label = "row " + std::to_string(i);
  }
  db.insert_many(rows);
  const auto by_n = select<Tiny>().order_by(col(&Tiny::n));
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    {
      auto cursor = db.cursor(by_n);
      auto it = cursor.begin();
      for (int i = 0; i < 5; ++i) ++it;
      CHECK(it->n == 5);
    }
    CHECK(db.count(select<Tiny>()) == 20000);
    CHECK(db.find<Tiny>(rows[19999].id)->label == "row 19999");
    {
      auto tx = db.transaction();
      auto cursor = tx.cursor(by_n);
      std::int32_t expected = 0;
      for (const Tiny& r : cursor) {
        REQUIRE(r.n == expected);
        CHECK(r.label == "row " + std::to_string(expected));
        if (expected == 10) {
          // Runs while the cursor's result is unread.
          CHECK(tx.find<Tiny>(rows[12345].id)->n == 12345);
          Tiny changed = rows[15000];
          changed.label = "changed";
          CHECK(tx.update(changed, tessera::only(&Tiny::label)));
        }
        ++expected;
      }
      CHECK(expected == 20000);
      tx.rollback();
    }
    CHECK(db.find<Tiny>(rows[15000].id)->label == "row 15000");
  }
  db.drop_tables<Tiny>();
}

TEST_CASE("insert_many of 100,000 rows takes one statement per 500 rows") {
  auto db = open_db();
  db.drop_tables<Tiny>();
  db.push_schema<Tiny>();
  std::vector<Tiny> rows(100000);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].n = static_cast<std::int32_t>(i);
    rows[i].label = "row " + std::to_string(i);
  }
  auto tx = db.transaction();
  // Each SHOW is one question and one statement execution of its own.
  const auto questions = session_status(tx, "Questions");
  const auto executes = session_status(tx, "Com_stmt_execute");
  const auto prepares = session_status(tx, "Com_stmt_prepare");
  tx.insert_many(rows);
  const auto questions_used = session_status(tx, "Questions") - questions - 3;
  const auto executes_used = session_status(tx, "Com_stmt_execute") - executes - 3;
  const auto prepares_used = session_status(tx, "Com_stmt_prepare") - prepares;
  tx.commit();
  MESSAGE("100,000 rows of 2 columns: " << executes_used << " statement executions, "
                                        << prepares_used << " prepares (incl. the SHOWs), "
                                        << questions_used << " questions");
  // 500 rows per statement (drivers/mysql/README.md: cheaper per row for
  // server and client than the 32,767 rows the bind limit would allow):
  // 200 statements, plus the savepoint around them.
  CHECK(executes_used == 200);
  CHECK(questions_used <= 205);
  // Every row got its own generated key, in order.
  CHECK(rows.front().id > 0);
  CHECK(rows.back().id == rows.front().id + 99999);
  CHECK(db.find<Tiny>(rows[54321].id)->label == "row 54321");
  CHECK(db.count(select<Tiny>()) == 100000);
  db.drop_tables<Tiny>();
}

// The driver pulls an insert's rows from the engine 500 at a time and cuts
// a pull that would pass 3/4 of max_allowed_packet into batches of a power
// of two of rows, bound to the pulled values, which stay valid only until
// the next pull. A row the source refuses in a later pull (here a mixed
// auto-increment key) undoes the batches already written, in a transaction
// of the driver's own or to a savepoint of the caller's, which stays usable.
TEST_CASE("rows too large for 500 per statement go in power-of-two batches, all or none") {
  for (const std::string options : {"", "returning=off"}) {
    CAPTURE(options);
    auto db = open_db(1, options);
    db.drop_tables<Tiny>();
    db.push_schema<Tiny>();
    // 40 kB a row: with the default max_allowed_packet (16 MiB, a 12 MiB
    // budget) 314 rows fit a statement, so the first pull of 500 rows goes
    // in batches of 256, 128, 64, 32, 16 and 4 rows, the second (100) whole.
    std::vector<Tiny> rows(600);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i].n = static_cast<std::int32_t>(i);
      rows[i].label = std::string(40000, static_cast<char>('a' + i % 26));
      rows[i].label.replace(0, std::to_string(i).size(), std::to_string(i));
    }
    std::vector<Tiny> bad = rows;
    bad[550].id = 12345;  // refused by the row source, in the second pull
    CHECK(catch_error<tessera::InvalidValueError>([&] { db.insert_many(bad); }).has_value());
    CHECK(db.count(select<Tiny>()) == 0);
    {
      auto tx = db.transaction();
      std::vector<Tiny> first(rows.begin(), rows.begin() + 3);
      tx.insert_many(first);
      CHECK(catch_error<tessera::InvalidValueError>([&] { tx.insert_many(bad); }).has_value());
      CHECK(tx.count(select<Tiny>()) == 3);
      tx.rollback();
    }
    CHECK(db.count(select<Tiny>()) == 0);

    auto tx = db.transaction();
    const auto packet = tx.query<std::tuple<std::int64_t>>("SELECT @@max_allowed_packet");
    const auto executes = session_status(tx, "Com_stmt_execute");
    tx.insert_many(rows);
    // The SHOW that reads the counter counts itself.
    const auto executes_used = session_status(tx, "Com_stmt_execute") - executes - 1;
    tx.commit();
    if (std::get<0>(packet.at(0)) == 16 << 20)
      CHECK(executes_used == 7);
    else
      MESSAGE("max_allowed_packet is not 16 MiB: " << executes_used << " statements");
    // Every row got its own generated key, in order, and its own text.
    for (std::size_t i = 1; i < rows.size(); ++i) REQUIRE(rows[i].id == rows[i - 1].id + 1);
    const auto back = db.fetch_all(select<Tiny>().order_by(col(&Tiny::id)));
    REQUIRE(back.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(i);
      REQUIRE(back[i].id == rows[i].id);
      REQUIRE(back[i].n == rows[i].n);
      REQUIRE(back[i].label == rows[i].label);
    }
    db.drop_tables<Tiny>();
  }
}

}  // namespace
