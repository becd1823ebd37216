// insert_many through COPY ... FROM STDIN (postgresql_copy.*, exec_copy):
// every type reads back as written, the returned generated keys are the
// stored ones, a failure leaves the table unchanged and the connection
// usable, tables COPY cannot serve fall back to INSERT, and a COPY inside a
// transaction rolls back with it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "tests/postgresql/support.hpp"

namespace pgtest {
namespace {

using tessera::ErrorKind;
using tessera::select;

// Every column type the serializer declares, for the COPY path.
struct Every {
  std::int64_t id{};
  std::int64_t n{};
  std::int16_t small{};
  std::int32_t medium{};
  float single{};
  double x{};
  std::string label;
  std::optional<std::string> note;
  tessera::Bytes blob;
  tessera::Timestamp ts;
  tessera::Date day;
  bool flag{};
  std::optional<std::int64_t> never;  // NULL in every row
};
TESSERA_MODEL(Every, "every", (id, tessera::primary_key, tessera::auto_increment), (n), (small),
              (medium), (single), (x), (label), (note), (blob), (ts), (day), (flag), (never));

struct Account {
  std::int64_t id{};
  std::string email;
  std::int64_t balance{};
};
TESSERA_MODEL(Account, "account", (id, tessera::primary_key, tessera::auto_increment),
              (email, tessera::unique), (balance));

bool same_double(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

// The statements of kind `like` prepared on the Db's (single) connection.
std::size_t prepared_like(tessera::Db& db, const std::string& like) {
  return db
      .query<std::tuple<std::string>>(
          "SELECT statement FROM pg_prepared_statements WHERE statement LIKE '" + like + "'")
      .size();
}

std::vector<Every> every_rows(std::size_t count) {
  const double doubles[] = {std::nan(""),
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            -0.0,
                            1e-310,
                            std::numeric_limits<double>::max(),
                            std::numeric_limits<double>::min(),
                            0.1,
                            1.0 / 3,
                            -123456789.0123456789};
  const char* const texts[] = {"tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N",
                               "\\.",       "\\",        "ünïcødé ✓",  "\"quoted\"",  ""};
  std::vector<Every> rows(count);
  for (std::size_t i = 0; i < count; ++i) {
    Every& e = rows[i];
    e.n = static_cast<std::int64_t>((i * 7919) % count);  // tells rows apart by content
    e.small = static_cast<std::int16_t>(i % 2 ? -32768 + static_cast<int>(i % 100) : 32767);
    e.medium =
        static_cast<std::int32_t>(i % 2 ? -2147483647 - 1 : 2147483647 - static_cast<int>(i));
    // 1 + 2^-23 and a value that is not a double's shortest form as float.
    e.single = i % 3 == 0 ? 1.0f + 0x1p-23f : static_cast<float>(i) / 7.0f;
    e.x = i % 7 < 4 ? doubles[i % 10] : static_cast<double>(e.n) / 3;
    e.label = std::string(texts[i % 10]) + std::to_string(e.n);
    if (i % 3 == 1) e.note = std::string();
    if (i % 3 == 2) e.note = texts[(i / 3) % 10];
    if (i % 5 != 0)
      e.blob = tessera::Bytes{std::byte{0},    static_cast<std::byte>(i & 0xff),
                              std::byte{'\t'}, std::byte{'\\'},
                              std::byte{'\n'}, std::byte{0xff}};
    // Years 1 to 9999, before and after 1970, with microseconds.
    const std::int64_t first = tessera::Timestamp::from_civil(1, 1, 1).micros;
    const std::int64_t span =
        tessera::Timestamp::from_civil(9999, 12, 31, 23, 59, 59).micros - first;
    e.ts.micros = first + static_cast<std::int64_t>(i * 25'000'000'000'003ull %
                                                    static_cast<std::uint64_t>(span));
    e.day.days =
        tessera::Date::from_civil(1, 1, 1).days + static_cast<std::int32_t>(i * 233 % 3'652'059);
    e.flag = i % 2 == 0;
  }
  rows[1].ts = tessera::Timestamp::from_civil(1, 1, 1);
  rows[2].ts = tessera::Timestamp::from_civil(9999, 12, 31, 23, 59, 59, 999'999);
  rows[3].ts.micros = -1;
  rows[4].day = tessera::Date::from_civil(9999, 12, 31);
  return rows;
}

TEST_CASE("insert_many through COPY: 12,345 rows of every type read back equal, with their ids") {
  const std::string p = prefix();
  auto db = open(p, 1, "copy_min_rows=1");  // one connection: pg_prepared_statements is per session
  db.drop_tables<Every>();
  db.push_schema<Every>();
  constexpr std::size_t kRows = 12'345;
  std::vector<Every> rows = every_rows(kRows);
  db.insert_many(rows);

  // COPY, not INSERT: the ids statement was prepared, no array insert.
  CHECK(prepared_like(db, "%nextval(k.seq)%") == 1);
  CHECK(prepared_like(db, "INSERT INTO%unnest(%") == 0);

  auto stored = db.fetch_all(select<Every>());
  REQUIRE(stored.size() == kRows);
  std::unordered_map<std::int64_t, const Every*> by_id;
  for (const Every& e : stored) by_id[e.id] = &e;
  REQUIRE(by_id.size() == kRows);
  std::size_t mismatched = 0;
  for (const Every& want : rows) {
    const auto it = by_id.find(want.id);  // the id insert_many returned
    if (it == by_id.end()) {
      ++mismatched;
      continue;
    }
    const Every& got = *it->second;
    const bool same = got.n == want.n && got.small == want.small && got.medium == want.medium &&
                      got.single == want.single && same_double(got.x, want.x) &&
                      got.label == want.label && got.note == want.note && got.blob == want.blob &&
                      got.ts.micros == want.ts.micros && got.day.days == want.day.days &&
                      got.flag == want.flag && !got.never.has_value();
    if (!same && mismatched < 5)
      MESSAGE("row n=" << want.n << " differs: label '" << got.label << "' vs '" << want.label
                       << "', ts " << got.ts.micros << " vs " << want.ts.micros << ", x " << got.x
                       << " vs " << want.x);
    mismatched += same ? 0 : 1;
  }
  CHECK(mismatched == 0);

  // The same rows through the array form store the same values (checksum).
  auto arrays = open(p, 1, "copy_min_rows=0");
  std::vector<Every> again = every_rows(kRows);
  arrays.insert_many(again);
  const std::string sum =
      "SELECT md5(string_agg(concat_ws('|', n, small, medium, single, x, label, note, blob, ts, "
      "day, flag, never), ',' ORDER BY n)) FROM \"" +
      p + "every\" WHERE id ";
  CHECK(psql(sum + ">= " + std::to_string(again[0].id)) ==
        psql(sum + "< " + std::to_string(again[0].id)));

  // The sequence went past the reserved ids: the next insert takes a new one.
  Every one = rows[0];
  one.id = 0;
  db.insert(one);
  CHECK(by_id.count(one.id) == 0);
  db.drop_tables<Every>();
}

TEST_CASE("COPY: a unique violation in the middle leaves the table unchanged, connection usable") {
  const std::string p = prefix();
  auto db = open(p, 1, "copy_min_rows=1");
  db.drop_tables<Account>();
  db.push_schema<Account>();
  std::vector<Account> rows(5000);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].email = "a" + std::to_string(i) + "@x";
    rows[i].balance = static_cast<std::int64_t>(i);
  }
  rows[2500].email = rows[10].email;
  auto unique = catch_error([&] { db.insert_many(rows); });
  REQUIRE(unique.has_value());
  CHECK(unique->kind() == ErrorKind::unique_violation);
  CHECK(unique->sqlstate() == "23505");
  CHECK(!unique->constraint().empty());
  CHECK(db.count(select<Account>()) == 0);

  // A value the column refuses (text with NUL): invalid_value, nothing written.
  for (auto& r : rows) r.id = 0;
  rows[2500].email = std::string("nul\0here", 8);
  auto bad = catch_error([&] { db.insert_many(rows); });
  REQUIRE(bad.has_value());
  CHECK(bad->kind() == ErrorKind::invalid_value);
  CHECK(db.count(select<Account>()) == 0);

  // The same connection works on.
  for (auto& r : rows) r.id = 0;
  rows[2500].email = "fixed@x";
  db.insert_many(rows);
  CHECK(db.count(select<Account>()) == 5000);
  auto found = db.find<Account>(rows[4999].id);
  REQUIRE(found.has_value());
  CHECK(found->email == "a4999@x");
  db.drop_tables<Account>();
}

TEST_CASE("COPY: a row larger than the client's COPY buffer") {
  const std::string p = prefix();
  auto db = open(p, 1, "copy_min_rows=1");
  db.drop_tables<Every>();
  db.push_schema<Every>();
  std::vector<Every> rows = every_rows(1500);
  // 3 MiB of escaped characters: 6 MiB of COPY text in one row.
  rows[700].label = std::string(std::size_t{3} << 20, '\t') + "\\end";
  db.insert_many(rows);
  auto big = db.find<Every>(rows[700].id);
  REQUIRE(big.has_value());
  CHECK(big->label == rows[700].label);
  auto after = db.find<Every>(rows[1499].id);
  REQUIRE(after.has_value());
  CHECK(after->label == rows[1499].label);
  CHECK(db.count(select<Every>()) == 1500);
  db.drop_tables<Every>();
}

TEST_CASE("COPY inside a transaction: rolled back with it; a failure aborts it") {
  const std::string p = prefix();
  auto db = open(p, 1, "copy_min_rows=1");
  db.drop_tables<Account>();
  db.push_schema<Account>();
  std::vector<Account> rows(3000);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].email = "t" + std::to_string(i) + "@x";
  {
    auto tx = db.transaction();
    tx.insert_many(rows);
    CHECK(tx.count(select<Account>()) == 3000);
    tx.rollback();
  }
  CHECK(db.count(select<Account>()) == 0);
  {
    auto tx = db.transaction();
    tx.insert(Account{0, "t0@x", 1});
    for (auto& r : rows) r.id = 0;
    auto unique = catch_error([&] { tx.insert_many(rows); });
    REQUIRE(unique.has_value());
    CHECK(unique->kind() == ErrorKind::unique_violation);
    // The transaction is aborted, as after a failed INSERT.
    auto aborted = catch_error([&] { (void)tx.count(select<Account>()); });
    REQUIRE(aborted.has_value());
    CHECK(aborted->sqlstate() == "25P02");
  }
  CHECK(db.count(select<Account>()) == 0);
  db.drop_tables<Account>();
}

// Reads (id, v) of `table` ordered by id, "id|v" per row.
std::vector<std::string> id_rows(tessera::Db& db, const std::string& table) {
  std::vector<std::string> out;
  for (const auto& [id, v] : db.query<std::tuple<std::int64_t, std::string>>(
           "SELECT id, v FROM \"" + table + "\" ORDER BY id"))
    out.push_back(std::to_string(id) + "|" + v);
  return out;
}

struct Keyed {
  std::int64_t id{};
  std::string v;
};
TESSERA_MODEL(Keyed, "keyed", (id, tessera::primary_key, tessera::auto_increment), (v));

TEST_CASE("tables COPY cannot serve exactly fall back to INSERT, with the stored ids returned") {
  const std::string p = prefix();
  const std::string table = p + "keyed";
  const std::string q = "\"" + table + "\"";
  auto db = open(p, 1, "copy_min_rows=1");
  // Each table makes the driver's check refuse COPY: the returned ids must
  // still be the stored ones, and rules must still apply.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GENERATED ALWAYS",
       "CREATE TABLE " + q + " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)"},
      {"no sequence", "CREATE TABLE " + q +
                          " (id bigint PRIMARY KEY DEFAULT (floor(random() * 1e15)::bigint), v "
                          "text)"},
      {"default not the owned sequence's nextval",
       "CREATE TABLE " + q + " (id bigserial PRIMARY KEY, v text); ALTER TABLE " + q +
           " ALTER id SET DEFAULT nextval(pg_get_serial_sequence('" + q +
           "', 'id')::regclass) * 10"},
      {"BEFORE INSERT row trigger",
       "CREATE TABLE " + q + " (id bigserial PRIMARY KEY, v text); CREATE FUNCTION \"" + table +
           "_f\"() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.id = NEW.id + 1000000; "
           "RETURN NEW; END$$; CREATE TRIGGER t BEFORE INSERT ON " +
           q + " FOR EACH ROW EXECUTE FUNCTION \"" + table + "_f\"()"},
      {"rule", "CREATE TABLE " + q + " (id bigserial PRIMARY KEY, v text); CREATE TABLE \"" +
                   table + "_log\" (v text); CREATE RULE r AS ON INSERT TO " + q +
                   " DO ALSO INSERT INTO \"" + table + "_log\" VALUES (NEW.v)"},
  };
  for (const auto& [name, ddl] : cases) {
    CAPTURE(name);
    psql("DROP TABLE IF EXISTS " + q + ", \"" + table + "_log\"; DROP FUNCTION IF EXISTS \"" +
         table + "_f\"() CASCADE; " + ddl);
    std::vector<Keyed> rows(2000);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i].v = "v" + std::to_string(i);
    db.insert_many(rows);
    std::vector<std::string> want;
    for (const Keyed& k : rows) want.push_back(std::to_string(k.id) + "|" + k.v);
    std::sort(want.begin(), want.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
    CHECK(id_rows(db, table) == want);
    if (name == "rule") CHECK(psql("SELECT count(*) FROM \"" + table + "_log\"") == "2000");
  }
  psql("DROP TABLE IF EXISTS " + q + ", \"" + table + "_log\"; DROP FUNCTION IF EXISTS \"" + table +
       "_f\"() CASCADE");
}

TEST_CASE("COPY through the SPI: without RETURNING, floats into REAL as the cast rounds them") {
  const auto connection = connect_spi("copy_min_rows=1");
  tessera::Connection& c = *connection;
  const std::string table = prefix() + "reals";
  const std::string q = "\"" + table + "\"";
  spi(c, tessera::op::RawSql{"CREATE TABLE " + q + " (k int4 NOT NULL, r real, i int4)", {}});
  // Doubles the float8-to-float4 cast rounds differently from float4's
  // reading of their shortest text (1 + 2^-24 is a tie: rounds to even, 1),
  // and integers at the edges of int4.
  std::vector<tessera::Value> values;
  constexpr std::int64_t kRows = 2000;
  for (std::int64_t k = 0; k < kRows; ++k) {
    const double d = k == 0 ? 1.0 + 0x1p-24 : k == 1 ? 1e-40 : 1.0 + static_cast<double>(k) / 3e7;
    values.emplace_back(k);
    values.emplace_back(d);
    values.emplace_back(k % 2 ? std::int64_t{2147483647} : std::int64_t{-2147483648});
  }
  tessera::ast::Insert ins;
  ins.table = table;
  ins.columns = {"k", "r", "i"};
  ins.row_count = kRows;
  auto done = spi(c, tessera::op::Insert{&ins, values});
  CHECK(done.affected == static_cast<std::uint64_t>(kRows));
  auto read = spi(
      c, tessera::op::RawSql{
             .sql = "SELECT k, r, i FROM " + q + " ORDER BY k", .params = {}, .reads_all = true});
  std::int64_t wrong = 0;
  for (std::int64_t k = 0; *read.rows->next(); ++k) {
    const double want = static_cast<float>(values[static_cast<std::size_t>(k * 3 + 1)].as_double());
    wrong += read.rows->get_double(1) != want ||
             read.rows->get_int64(2) != values[static_cast<std::size_t>(k * 3 + 2)].as_int64();
  }
  CHECK(wrong == 0);

  // An integer out of int4's range: invalid_value (22003), nothing written.
  values[3 * 1500 + 2] = tessera::Value(std::int64_t{2147483648});
  auto out_of_range = c.exec(tessera::op::Insert{&ins, values});
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(out_of_range.error().kind == ErrorKind::invalid_value);
  CHECK(out_of_range.error().sqlstate == "22003");
  auto count = spi(
      c, tessera::op::RawSql{.sql = "SELECT count(*) FROM " + q, .params = {}, .reads_all = true});
  REQUIRE(*count.rows->next());
  CHECK(count.rows->get_int64(0) == kRows);
  spi(c, tessera::op::RawSql{"DROP TABLE " + q, {}});
}

}  // namespace
}  // namespace pgtest
