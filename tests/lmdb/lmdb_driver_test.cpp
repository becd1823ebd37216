// The LMDB driver through the SPI alone: key ranges with prefix bounds,
// reverse and limit; the catalog and sequences across a reopen; serializable
// transactions; the writer gate; foreign-key actions; a full map that cannot
// grow while a reader is live.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tessera/lmdb.hpp"

// GCC 12 reports -Wmaybe-uninitialized inside std::variant when an
// initializer list of Values mixes alternatives (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

using namespace tessera;

std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tessera-lmdb-driver-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

Url url_of(const std::string& dir, const std::string& query = "") {
  Url u;
  u.scheme = "lmdb";
  u.has_authority = true;
  u.path = dir;
  u.text = "lmdb://" + dir + query;
  if (!query.empty()) {
    const auto eq = query.find('=');
    u.query.emplace_back(query.substr(1, eq - 1), query.substr(eq + 1));
  }
  return u;
}

std::unique_ptr<Connection> connect(Driver& d, const Url& u) {
  auto c = d.connect(u);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  return std::move(c).value();
}

TableSchema pairs_table() {
  TableSchema t;
  t.name = "pairs";
  t.columns = {{"a", ColumnType::int64}, {"b", ColumnType::text}, {"n", ColumnType::int64, true}};
  t.primary_key = {"a", "b"};
  t.indexes = {{"ix_pairs_n", {"n"}, false}};
  return t;
}

void insert(Connection& c, const std::string& table, std::vector<std::string> columns,
            std::vector<Value> values, ast::OnConflict oc = {}) {
  ast::Insert ins;
  ins.table = table;
  ins.columns = std::move(columns);
  ins.row_count = values.size() / ins.columns.size();
  ins.on_conflict = std::move(oc);
  auto r = c.exec(op::Insert{&ins, values});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
}

// The rows of a response as "a:b" strings.
std::vector<std::string> read_pairs(Result<ExecResponse> r) {
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  std::vector<std::string> out;
  Rows& rows = *r->rows;
  while (*rows.next())
    out.push_back(std::to_string(rows.get_int64(0)) + ":" + std::string(rows.get_text(1)));
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("lmdb driver: ranges over composite keys honour prefix bounds, reverse and limit") {
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(fresh_dir("range")));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  insert(*c, "pairs", {"a", "b", "n"},
         {std::int64_t{1}, "x", std::int64_t{5}, std::int64_t{1}, "y", Value(), std::int64_t{2},
          "a", std::int64_t{7}, std::int64_t{2}, "b", std::int64_t{5}, std::int64_t{3}, "c",
          std::int64_t{1}});
  const std::vector<std::string> cols{"a", "b"};
  auto q = [&](std::vector<Value> lo, bool lo_in, std::vector<Value> hi, bool hi_in,
               bool reverse = false, std::int64_t limit = -1, std::string index = "") {
    op::QueryPk p;
    p.table = "pairs";
    p.index = index;
    p.lower = std::move(lo);
    p.lower_inclusive = lo_in;
    p.upper = std::move(hi);
    p.upper_inclusive = hi_in;
    p.reverse = reverse;
    p.limit = limit;
    p.columns = cols;
    return read_pairs(c->exec(p));
  };
  const Value one(std::int64_t{1}), two(std::int64_t{2});
  CHECK(q({}, true, {}, true) == Strings{"1:x", "1:y", "2:a", "2:b", "3:c"});
  CHECK(q({one}, false, {}, true) == Strings{"2:a", "2:b", "3:c"});
  CHECK(q({}, true, {two}, true) == Strings{"1:x", "1:y", "2:a", "2:b"});
  CHECK(q({}, true, {two}, false) == Strings{"1:x", "1:y"});
  CHECK(q({two}, true, {two}, true) == Strings{"2:a", "2:b"});
  CHECK(q({two, "a"}, false, {two}, true) == Strings{"2:b"});
  CHECK(q({one, "y"}, true, {two, "a"}, true) == Strings{"1:y", "2:a"});
  CHECK(q({}, true, {}, true, true, 2) == Strings{"3:c", "2:b"});
  CHECK(q({one}, true, {two}, false, true) == Strings{"1:y", "1:x"});
  CHECK(q({}, true, {two}, true, true, 3) == Strings{"2:b", "2:a", "1:y"});
  // A bound of another type widens the range (the engine re-filters).
  CHECK(q({Value(1.5)}, true, {}, true).size() == 5);
  // The index: NULL first, then by n, ties by primary key.
  CHECK(q({}, true, {}, true, false, -1, "ix_pairs_n") ==
        Strings{"1:y", "3:c", "1:x", "2:b", "2:a"});
  CHECK(q({Value(std::int64_t{5})}, true, {Value(std::int64_t{5})}, true, false, -1,
          "ix_pairs_n") == Strings{"1:x", "2:b"});
}

TEST_CASE("lmdb driver: the catalog and sequences survive a reopen") {
  const std::string dir = fresh_dir("reopen");
  auto d = lmdb::make_driver();
  TableSchema t;
  t.name = "seqs";
  t.columns = {{"id", ColumnType::int64, false, true}, {"v", ColumnType::text}};
  t.primary_key = {"id"};
  {
    auto c = connect(*d, url_of(dir));
    REQUIRE(c->push_schema(Schema{{t}}).ok());
    insert(*c, "seqs", {"v"}, {"a", "b"});
    insert(*c, "seqs", {"id", "v"}, {std::int64_t{10}, "c"});
  }  // the environment closes with its last connection
  auto c = connect(*d, url_of(dir));
  ast::Insert ins;
  ins.table = "seqs";
  ins.columns = {"v"};
  ins.returning = {"id"};
  const std::vector<Value> v{"d"};
  auto r = c->exec(op::Insert{&ins, v});
  REQUIRE(r.ok());
  REQUIRE(*r->rows->next());
  CHECK(r->rows->get_int64(0) == 11);  // after the explicit 10
}

TEST_CASE("lmdb driver: a write after a stale read fails with serialization_failure") {
  const std::string dir = fresh_dir("serial");
  auto d = lmdb::make_driver();
  auto a = connect(*d, url_of(dir, "?busy_timeout_ms=200"));
  auto b = connect(*d, url_of(dir, "?busy_timeout_ms=200"));
  REQUIRE(a->push_schema(Schema{{pairs_table()}}).ok());
  const std::vector<std::string> cols{"a", "b"};
  REQUIRE(a->exec(op::Transaction{op::Transaction::Kind::start}).ok());
  CHECK(read_pairs(a->exec(op::Scan{"pairs", cols})).empty());  // a snapshot
  insert(*b, "pairs", {"a", "b"}, {std::int64_t{1}, "x"});      // commits after it
  ast::Insert ins;
  ins.table = "pairs";
  ins.columns = {"a", "b"};
  const std::vector<Value> v{std::int64_t{2}, "y"};
  auto r = a->exec(op::Insert{&ins, v});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::serialization_failure);
  REQUIRE(a->exec(op::Transaction{op::Transaction::Kind::rollback}).ok());

  // A transaction that writes holds the process's writer gate: another
  // connection's write times out instead of deadlocking this thread.
  REQUIRE(a->exec(op::Transaction{op::Transaction::Kind::start}).ok());
  insert(*a, "pairs", {"a", "b"}, {std::int64_t{3}, "z"});
  auto blocked = b->exec(op::Insert{&ins, v});
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().kind == ErrorKind::timeout);
  CHECK(read_pairs(b->exec(op::Scan{"pairs", cols})) == Strings{"1:x"});  // readers go on
  REQUIRE(a->exec(op::Transaction{op::Transaction::Kind::commit}).ok());
  insert(*b, "pairs", {"a", "b"}, {std::int64_t{2}, "y"});
  CHECK(read_pairs(a->exec(op::Scan{"pairs", cols})) == Strings{"1:x", "2:y", "3:z"});
}

TEST_CASE("lmdb driver: foreign keys cascade, set NULL or refuse") {
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(fresh_dir("fk")));
  TableSchema parent;
  parent.name = "parents";
  parent.columns = {{"id", ColumnType::int64}};
  parent.primary_key = {"id"};
  auto child = [](std::string name, ForeignKeyAction action, bool nullable) {
    TableSchema t;
    t.name = name;
    t.columns = {{"id", ColumnType::int64}, {"pid", ColumnType::int64, nullable}};
    t.primary_key = {"id"};
    t.foreign_keys = {{"fk_" + name, {"pid"}, "parents", {"id"}, action}};
    return t;
  };
  REQUIRE(c->push_schema(Schema{{parent, child("cascades", ForeignKeyAction::cascade, false),
                                 child("nulls", ForeignKeyAction::set_null, true)}})
              .ok());
  insert(*c, "parents", {"id"}, {std::int64_t{1}, std::int64_t{2}});
  insert(*c, "cascades", {"id", "pid"},
         {std::int64_t{10}, std::int64_t{1}, std::int64_t{11}, std::int64_t{2}});
  insert(*c, "nulls", {"id", "pid"}, {std::int64_t{20}, std::int64_t{1}});
  const std::vector<std::vector<Value>> key1{{std::int64_t{1}}};
  auto r = c->exec(op::DeleteByKey{"parents", key1});
  REQUIRE(r.ok());
  CHECK(r->affected == 1);
  const std::vector<std::string> cols{"id", "pid"};
  auto rows = c->exec(op::Scan{"cascades", cols});
  REQUIRE(rows.ok());
  REQUIRE(*rows->rows->next());
  CHECK(rows->rows->get_int64(0) == 11);
  CHECK_FALSE(*rows->rows->next());
  auto nulls = c->exec(op::Scan{"nulls", cols});
  REQUIRE(nulls.ok());
  REQUIRE(*nulls->rows->next());
  CHECK(nulls->rows->is_null(1));
}

TEST_CASE("lmdb driver: a full map with a live reader fails cleanly with storage") {
  const std::string dir = fresh_dir("full");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir, "?map_size_mb=1"));
  auto reader = connect(*d, url_of(dir, "?map_size_mb=1"));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  const std::vector<std::string> cols{"a", "b"};
  auto held = reader->exec(op::Scan{"pairs", cols});  // holds a read transaction
  REQUIRE(held.ok());
  std::vector<Value> values;
  for (std::int64_t i = 0; i < 5000; ++i) {
    values.push_back(i);
    values.push_back(std::string(400, 'q'));
  }
  ast::Insert ins;
  ins.table = "pairs";
  ins.columns = {"a", "b"};
  ins.row_count = 5000;
  auto r = c->exec(op::Insert{&ins, values});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::storage);
  CHECK(r.error().driver == "lmdb");
  held = Error();  // the reader lets go: now the map may grow
  auto again = c->exec(op::Insert{&ins, values});
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
  CHECK(again->affected == 5000);
}
