// The SQLite driver through the SPI, linked statically: storage forms,
// batching, streaming, error mapping, transactions, URLs. Behaviour shared by
// every driver belongs in the conformance suite; this file keeps what is
// SQLite's own (storage text, PRAGMAs, the statement cache).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// SQLite-specific storage and connection behaviour that the conformance
// suite cannot see through the portable API: batch splitting, the
// statement cache, WAL files shared between connections, relative paths.
// Portable behaviour (value round trips, error mapping, transactions) is
// tested once, in tests/conformance, for every driver.
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

}  // namespace

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
