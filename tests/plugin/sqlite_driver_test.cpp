// The SQLite driver through the SPI, linked statically: storage forms,
// batching, streaming, error mapping, transactions, URLs. Behaviour shared by
// every driver belongs in the conformance suite; this file keeps what is
// SQLite's own (storage text, PRAGMAs, the statement cache).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/sql/serializer.hpp"
#include "tessera/sqlite.hpp"

namespace fs = std::filesystem;
using namespace tessera;

namespace {

Url memory_url() {
  Url url;
  url.text = "sqlite::memory:";
  url.scheme = "sqlite";
  url.path = ":memory:";
  return url;
}

Url file_url(const fs::path& file) {
  Url url;
  url.scheme = "sqlite";
  url.has_authority = true;
  url.path = file.string();
  url.text = "sqlite://" + url.path;
  return url;
}

std::unique_ptr<Connection> connect(const Url& url) {
  auto driver = sqlite::make_driver();
  auto conn = driver->connect(url);
  REQUIRE_MESSAGE(conn.ok(), conn.error().message);
  return std::move(*conn);
}

ColumnDef col(std::string name, ColumnType type, bool nullable = true) {
  ColumnDef c;
  c.name = std::move(name);
  c.type = type;
  c.nullable = nullable;
  return c;
}

TableSchema things_table() {
  TableSchema t;
  t.name = "things";
  ColumnDef id = col("id", ColumnType::int64, false);
  id.auto_increment = true;
  t.columns = {id,
               col("flag", ColumnType::boolean),
               col("n", ColumnType::int64),
               col("x", ColumnType::float64),
               col("s", ColumnType::text),
               col("b", ColumnType::bytes),
               col("ts", ColumnType::timestamp),
               col("d", ColumnType::date)};
  t.primary_key = {"id"};
  return t;
}

const std::vector<std::string> kThingColumns = {"flag", "n", "x", "s", "b", "ts", "d"};

Result<ExecResponse> raw(Connection& c, std::string_view sql, std::span<const Value> params = {}) {
  return c.exec(op::RawSql{.sql = sql, .params = params});
}

std::int64_t scalar(Connection& c, std::string_view sql) {
  auto r = raw(c, sql);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  REQUIRE(r->rows);
  auto has = r->rows->next();
  REQUIRE(has.ok());
  REQUIRE(*has);
  return r->rows->get_int64(0);
}

Result<ExecResponse> tx(Connection& c, op::Transaction::Kind kind, bool read_only = false,
                        std::string_view savepoint = {}) {
  op::Transaction t;
  t.kind = kind;
  t.read_only = read_only;
  t.savepoint = savepoint;
  return c.exec(t);
}

}  // namespace

TEST_CASE("values round-trip through SQLite storage") {
  auto conn = connect(memory_url());
  Schema schema{{things_table()}};
  REQUIRE(conn->push_schema(schema).ok());

  const std::string with_nul("a\0b", 3);
  const Timestamp ts = Timestamp::from_civil(2024, 2, 29, 23, 59, 58, 123456);
  const Timestamp old_ts = Timestamp::from_civil(1, 1, 1, 0, 0, 0, 1);
  const std::vector<Value> params = {
      true, std::numeric_limits<std::int64_t>::min(), 1.5, with_nul, Bytes{}, ts,
      Date::from_civil(1969, 12, 31),
      // second row: NULLs, max int64, infinity, empty text, bytes, old timestamp
      Value(), std::numeric_limits<std::int64_t>::max(), std::numeric_limits<double>::infinity(),
      "", to_bytes(std::string("\0\xff", 2)), old_ts, Value()};
  ast::Insert ins;
  ins.table = "things";
  ins.columns = kThingColumns;
  ins.row_count = 2;
  ins.returning = {"id", "ts"};
  auto inserted = conn->exec(op::Insert{.statement = &ins, .params = params});
  REQUIRE_MESSAGE(inserted.ok(), inserted.error().message);
  CHECK(inserted->affected == 2);
  REQUIRE(inserted->rows);
  REQUIRE(*inserted->rows->next());
  CHECK(inserted->rows->get_int64(0) == 1);
  CHECK(inserted->rows->get_timestamp(1) == ts);
  REQUIRE(*inserted->rows->next());
  CHECK(inserted->rows->get_int64(0) == 2);
  CHECK_FALSE(*inserted->rows->next());

  ast::Select sel;
  sel.table = "things";
  sel.columns = kThingColumns;
  sel.order_by = {{"id", false}};
  auto sql = sql::render(sel, SqlDialect::sqlite);
  REQUIRE(sql.ok());
  ast::Statement stmt = sel;
  auto r = conn->exec(op::QuerySql{.statement = &stmt, .sql = *sql, .params = {}, .cache_key = 7});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  Rows& rows = *r->rows;
  REQUIRE(*rows.next());
  CHECK(rows.get_bool(0));
  CHECK(rows.get_int64(1) == std::numeric_limits<std::int64_t>::min());
  CHECK(rows.get_double(2) == 1.5);
  CHECK(rows.get_text(3) == with_nul);
  CHECK_FALSE(rows.is_null(4));  // an empty blob stays a blob
  CHECK(rows.get_bytes(4).empty());
  CHECK(rows.get_timestamp(5) == ts);
  CHECK(rows.get_date(6) == Date::from_civil(1969, 12, 31));
  CHECK(rows.conversion_error() == nullptr);
  REQUIRE(*rows.next());
  CHECK(rows.is_null(0));
  CHECK(rows.get_int64(1) == std::numeric_limits<std::int64_t>::max());
  CHECK(std::isinf(rows.get_double(2)));
  CHECK(rows.get_text(3).empty());
  CHECK_FALSE(rows.is_null(3));
  CHECK(rows.get_bytes(4).size() == 2);
  CHECK(rows.get_timestamp(5) == old_ts);
  CHECK(rows.is_null(6));
  CHECK(rows.conversion_error() == nullptr);
  // SQLite is dynamically typed: reading the wrong storage is an error.
  CHECK(rows.get_timestamp(1) == Timestamp{});
  REQUIRE(rows.conversion_error() != nullptr);
  CHECK(rows.conversion_error()->kind == ErrorKind::invalid_value);
  CHECK_FALSE(*rows.next());
  CHECK_FALSE(*rows.next());

  // The storage text sorts as time sorts.
  auto text = raw(*conn, "SELECT ts, d FROM things WHERE id = 1");
  REQUIRE(text.ok());
  REQUIRE(*text->rows->next());
  CHECK(text->rows->get_text(0) == "2024-02-29 23:59:58.123456");
  CHECK(text->rows->get_text(1) == "1969-12-31");
}

TEST_CASE("out-of-range timestamps are refused") {
  auto conn = connect(memory_url());
  const std::vector<Value> params = {Timestamp::from_civil(10000, 1, 1)};
  auto r = raw(*conn, "SELECT ?1", params);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::invalid_value);
}

TEST_CASE("a large insert is split into batches, RETURNING rows in order") {
  auto conn = connect(memory_url());
  TableSchema t;
  t.name = "pairs";
  ColumnDef id = col("id", ColumnType::int64, false);
  id.auto_increment = true;
  t.columns = {id, col("a", ColumnType::int64), col("b", ColumnType::text)};
  t.primary_key = {"id"};
  REQUIRE(conn->push_schema(Schema{{t}}).ok());

  const Capability& cap = conn->capability();
  const std::size_t per_batch = std::min<std::size_t>(cap.max_bind_params / 2, cap.max_insert_rows);
  REQUIRE(per_batch > 0);
  const std::size_t total = per_batch * 2 + 3;
  std::vector<Value> params;
  for (std::size_t i = 0; i < total; ++i) {
    params.emplace_back(static_cast<std::int64_t>(i));
    params.emplace_back("row");
  }
  ast::Insert ins;
  ins.table = "pairs";
  ins.columns = {"a", "b"};
  ins.row_count = total;
  ins.returning = {"a"};
  auto r = conn->exec(op::Insert{.statement = &ins, .params = params});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->affected == total);
  std::size_t n = 0;
  bool in_order = true;
  while (*r->rows->next())
    in_order = in_order && r->rows->get_int64(0) == static_cast<std::int64_t>(n++);
  CHECK(n == total);
  CHECK(in_order);

  // A failing batch takes the earlier ones with it.
  t.name = "uniq";
  t.indexes = {IndexDef{"uniq_a", {"a"}, true}};
  REQUIRE(conn->push_schema(Schema{{t}}).ok());
  params[params.size() - 2] = Value(std::int64_t{0});  // duplicate in the last batch
  ins.table = "uniq";
  ins.returning.clear();
  auto dup = conn->exec(op::Insert{.statement = &ins, .params = params});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().kind == ErrorKind::unique_violation);
  CHECK(scalar(*conn, "SELECT count(*) FROM uniq") == 0);
}

TEST_CASE("constraint errors are mapped with the constraint's name") {
  auto conn = connect(memory_url());
  REQUIRE(raw(*conn,
              "CREATE TABLE p (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, "
              "age INTEGER CONSTRAINT age_positive CHECK (age > 0))")
              .ok());
  REQUIRE(raw(*conn, "CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id))").ok());
  REQUIRE(raw(*conn, "INSERT INTO p VALUES (1, 'a', 1)").ok());

  auto unique = raw(*conn, "INSERT INTO p VALUES (2, 'a', 1)");
  REQUIRE_FALSE(unique.ok());
  CHECK(unique.error().kind == ErrorKind::unique_violation);
  CHECK(unique.error().constraint == "p.email");
  CHECK(unique.error().driver == "sqlite");
  CHECK(unique.error().statement == "INSERT INTO p VALUES (2, 'a', 1)");

  auto pk = raw(*conn, "INSERT INTO p VALUES (1, 'b', 1)");
  REQUIRE_FALSE(pk.ok());
  CHECK(pk.error().kind == ErrorKind::unique_violation);

  auto not_null = raw(*conn, "INSERT INTO p VALUES (3, NULL, 1)");
  REQUIRE_FALSE(not_null.ok());
  CHECK(not_null.error().kind == ErrorKind::not_null_violation);
  CHECK(not_null.error().constraint == "p.email");

  auto check = raw(*conn, "INSERT INTO p VALUES (4, 'd', -1)");
  REQUIRE_FALSE(check.ok());
  CHECK(check.error().kind == ErrorKind::check_violation);
  CHECK(check.error().constraint == "age_positive");

  auto fk = raw(*conn, "INSERT INTO c VALUES (1, 99)");
  REQUIRE_FALSE(fk.ok());
  CHECK(fk.error().kind == ErrorKind::foreign_key_violation);

  auto syntax = raw(*conn, "SELEC 1");
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.error().kind == ErrorKind::invalid_statement);

  auto two = raw(*conn, "SELECT 1; SELECT 2");
  REQUIRE_FALSE(two.ok());
  CHECK(two.error().kind == ErrorKind::invalid_statement);
  CHECK(raw(*conn, "SELECT 1; -- trailing comment").ok());

  auto kv = conn->exec(op::Scan{});
  REQUIRE_FALSE(kv.ok());
  CHECK(kv.error().kind == ErrorKind::unsupported);

  CHECK(conn->is_valid());
  CHECK(conn->ping().ok());
  // LIKE is case-sensitive.
  CHECK(scalar(*conn, "SELECT 'Abc' LIKE 'abc'") == 0);
}

TEST_CASE("raw SQL reports changed rows; DDL reports none") {
  auto conn = connect(memory_url());
  REQUIRE(raw(*conn, "CREATE TABLE t (a INTEGER)").ok());
  auto ins = raw(*conn, "INSERT INTO t VALUES (1), (2), (3)");
  REQUIRE(ins.ok());
  CHECK(ins->affected == 3);
  CHECK_FALSE(ins->rows);
  auto ddl = raw(*conn, "CREATE TABLE u (a INTEGER)");
  REQUIRE(ddl.ok());
  CHECK(ddl->affected == 0);
  const std::vector<Value> two = {std::int64_t{2}};
  auto upd = raw(*conn, "UPDATE t SET a = a + 10 WHERE a >= ?", two);
  REQUIRE(upd.ok());
  CHECK(upd->affected == 2);
}

TEST_CASE("a cached statement in use by a live cursor is not shared") {
  auto conn = connect(memory_url());
  REQUIRE(raw(*conn, "CREATE TABLE t (a INTEGER)").ok());
  REQUIRE(raw(*conn, "INSERT INTO t VALUES (1), (2), (3)").ok());
  ast::Select sel;
  sel.table = "t";
  sel.columns = {"a"};
  sel.order_by = {{"a", false}};
  ast::Statement stmt = sel;
  const std::string sql = *sql::render(sel, SqlDialect::sqlite);
  const op::QuerySql q{.statement = &stmt, .sql = sql, .params = {}, .cache_key = 42};
  auto first = conn->exec(q);
  auto second = conn->exec(q);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(*first->rows->next());
  REQUIRE(*second->rows->next());
  REQUIRE(*first->rows->next());
  CHECK(first->rows->get_int64(0) == 2);
  CHECK(second->rows->get_int64(0) == 1);
  first = Error();
  second = Error();
  for (int i = 0; i < 3; ++i) {  // reused from the cache, reset each time
    auto again = conn->exec(q);
    REQUIRE(again.ok());
    int n = 0;
    while (*again->rows->next()) ++n;
    CHECK(n == 3);
  }
}

TEST_CASE("transactions: commit, rollback, savepoints, read-only") {
  auto conn = connect(memory_url());
  using K = op::Transaction::Kind;
  REQUIRE(raw(*conn, "CREATE TABLE t (a INTEGER)").ok());

  REQUIRE(tx(*conn, K::start).ok());
  REQUIRE(raw(*conn, "INSERT INTO t VALUES (1)").ok());
  REQUIRE(tx(*conn, K::savepoint, false, "sp1").ok());
  REQUIRE(raw(*conn, "INSERT INTO t VALUES (2)").ok());
  REQUIRE(tx(*conn, K::rollback_to, false, "sp1").ok());
  REQUIRE(tx(*conn, K::release, false, "sp1").ok());
  REQUIRE(tx(*conn, K::commit).ok());
  CHECK(scalar(*conn, "SELECT count(*) FROM t") == 1);

  REQUIRE(tx(*conn, K::start).ok());
  REQUIRE(raw(*conn, "INSERT INTO t VALUES (3)").ok());
  REQUIRE(tx(*conn, K::rollback).ok());
  CHECK(scalar(*conn, "SELECT count(*) FROM t") == 1);

  REQUIRE(tx(*conn, K::start, true).ok());
  CHECK(scalar(*conn, "SELECT count(*) FROM t") == 1);
  auto write = raw(*conn, "INSERT INTO t VALUES (4)");
  REQUIRE_FALSE(write.ok());
  CHECK(write.error().kind == ErrorKind::invalid_statement);
  REQUIRE(tx(*conn, K::rollback).ok());
  CHECK(raw(*conn, "INSERT INTO t VALUES (5)").ok());  // writable again
  CHECK(scalar(*conn, "SELECT count(*) FROM t") == 2);
}

TEST_CASE("file databases: WAL, shared between connections, relative paths, drop_tables") {
  const fs::path dir = fs::temp_directory_path() / "tessera-sqlite-driver-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto driver = sqlite::make_driver();
  CHECK(driver->max_connections(memory_url()) == 1);
  CHECK(driver->max_connections(file_url(dir / "a.db")) == 0);

  auto a = connect(file_url(dir / "a.db"));
  auto b = connect(file_url(dir / "a.db"));
  CHECK(a->capability().concurrent_connections);
  auto mode = raw(*a, "PRAGMA journal_mode");
  REQUIRE(mode.ok());
  REQUIRE(*mode->rows->next());
  CHECK(mode->rows->get_text(0) == "wal");
  mode = Error();
  CHECK(scalar(*a, "PRAGMA foreign_keys") == 1);

  REQUIRE(raw(*a, "CREATE TABLE parent (id INTEGER PRIMARY KEY)").ok());
  REQUIRE(
      raw(*a, "CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id))").ok());
  REQUIRE(raw(*a, "INSERT INTO parent VALUES (1)").ok());
  REQUIRE(raw(*a, "INSERT INTO child VALUES (1, 1)").ok());
  CHECK(scalar(*b, "SELECT count(*) FROM child") == 1);
  // Parent first: foreign keys are off while dropping.
  CHECK(b->drop_tables({"parent", "child", "never_existed"}).ok());
  CHECK(scalar(*b, "PRAGMA foreign_keys") == 1);
  CHECK(scalar(*a, "SELECT count(*) FROM sqlite_master WHERE type = 'table'") == 0);

  // sqlite://rel/path.db: host + path, relative to the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  Url rel;
  rel.scheme = "sqlite";
  rel.has_authority = true;
  rel.host = "sub";
  rel.path = "/rel.db";
  fs::create_directories(dir / "sub");
  { auto c = connect(rel); }
  fs::current_path(cwd);
  CHECK(fs::exists(dir / "sub" / "rel.db"));

  Url ro = file_url(dir / "a.db");
  ro.query = {{"mode", "ro"}};
  auto reader = connect(ro);
  auto refused = raw(*reader, "CREATE TABLE x (a INTEGER)");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::storage);

  Url missing = file_url(dir / "no" / "such" / "dir.db");
  auto failed = driver->connect(missing);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::storage);

  Url bad = file_url(dir / "a.db");
  bad.query = {{"busy_timeout_ms", "soon"}};
  auto invalid = driver->connect(bad);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().kind == ErrorKind::invalid_url);
  fs::remove_all(dir);
}
