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

// Inserts 5000 rows (a = first, first + 1, ...; b = 400 bytes) into
// "pairs" in one operation: about 2 MB, more than a small map holds.
// Every row of `table` read through its primary key ("") and through each
// of `indexes`, one string per access path: `row` formats a row.
template <class Format>
std::vector<std::string> rows_by_path(Connection& c, const std::string& table,
                                      std::vector<const char*> indexes,
                                      const std::vector<std::string>& cols, Format row) {
  std::vector<std::string> out;
  indexes.insert(indexes.begin(), "");
  for (const char* index : indexes) {
    op::QueryPk q;
    q.table = table;
    q.index = index;
    q.columns = cols;
    auto r = c.exec(q);
    REQUIRE(r.ok());
    std::string s;
    while (*r->rows->next()) s += row(*r->rows) + " ";
    out.push_back(s);
  }
  return out;
}

Result<ExecResponse> insert_large_rows(Connection& c, std::int64_t first) {
  std::vector<Value> values;
  for (std::int64_t i = first; i < first + 5000; ++i) {
    values.push_back(i);
    values.push_back(std::string(400, 'q'));
  }
  ast::Insert ins;
  ins.table = "pairs";
  ins.columns = {"a", "b"};
  ins.row_count = 5000;
  return c.exec(op::Insert{&ins, values});
}

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
  auto r = insert_large_rows(*c, 0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::storage);
  CHECK(r.error().driver == "lmdb");
  held = Error();                         // the reader lets go: now the map may grow
  auto again = insert_large_rows(*c, 0);  // the same rows again
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
  CHECK(again->affected == 5000);
}

TEST_CASE("lmdb driver: a failed write inside a transaction is undone in place") {
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(fresh_dir("undo")));
  TableSchema t;
  t.name = "uniq";
  t.columns = {{"id", ColumnType::int64}, {"u", ColumnType::int64}, {"n", ColumnType::int64}};
  t.primary_key = {"id"};
  t.indexes = {{"ix_uniq_n", {"n"}, false}, {"ux_uniq_u", {"u"}, true}};
  REQUIRE(c->push_schema(Schema{{t}}).ok());
  const auto i = [](std::int64_t v) { return Value(v); };
  insert(*c, "uniq", {"id", "u", "n"}, {i(1), i(10), i(100), i(2), i(20), i(200)});
  const std::vector<std::string> cols{"id", "u", "n"};
  auto all = [&] {
    return rows_by_path(*c, "uniq", {"ix_uniq_n", "ux_uniq_u"}, cols, [](Rows& row) {
      return std::to_string(row.get_int64(0)) + "/" + std::to_string(row.get_int64(1)) + "/" +
             std::to_string(row.get_int64(2));
    });
  };
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::start}).ok());
  insert(*c, "uniq", {"id", "u", "n"}, {i(3), i(30), i(300)});
  const auto before = all();

  // The second row collides on the unique index after the first was written.
  ast::Insert ins;
  ins.table = "uniq";
  ins.columns = {"id", "u", "n"};
  ins.row_count = 2;
  const std::vector<Value> rows{i(4), i(40), i(400), i(5), i(10), i(500)};
  auto r = c->exec(op::Insert{&ins, rows});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::unique_violation);
  CHECK(all() == before);

  // An update that moves index n, then collides on u, for the second key.
  const std::vector<std::vector<Value>> keys{{i(1)}, {i(2)}};
  const std::vector<std::string> set{"n", "u"};
  auto u = c->exec(op::UpdateByKey{"uniq", keys, set, std::vector<Value>{i(7), i(77)}});
  REQUIRE_FALSE(u.ok());
  CHECK(u.error().kind == ErrorKind::unique_violation);
  CHECK(all() == before);

  // The transaction goes on and commits what succeeded.
  const std::vector<std::vector<Value>> key2{{i(2)}}, key1{{i(1)}};
  auto ok = c->exec(op::UpdateByKey{"uniq", key2, set, std::vector<Value>{i(7), i(77)}});
  REQUIRE(ok.ok());
  CHECK(ok->affected == 1);
  auto del = c->exec(op::DeleteByKey{"uniq", key1});
  REQUIRE(del.ok());
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::commit}).ok());
  CHECK(all() ==
        std::vector<std::string>{"2/77/7 3/30/300 ", "2/77/7 3/30/300 ", "3/30/300 2/77/7 "});
}

TEST_CASE("lmdb driver: reads reuse the connection's read transaction") {
  const std::string dir = fresh_dir("reuse");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir));
  auto w = connect(*d, url_of(dir));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  insert(*w, "pairs", {"a", "b"}, {std::int64_t{1}, "x", std::int64_t{2}, "y"});
  const std::vector<std::string> cols{"a", "b"};
  // Rows of one read still stream while the next reads run.
  auto first = c->exec(op::Scan{"pairs", cols});
  REQUIRE(first.ok());
  REQUIRE(*first->rows->next());
  insert(*w, "pairs", {"a", "b"}, {std::int64_t{3}, "z"});
  CHECK(read_pairs(c->exec(op::Scan{"pairs", cols})) == Strings{"1:x", "2:y", "3:z"});
  REQUIRE(*first->rows->next());
  CHECK(first->rows->get_int64(0) == 2);
  CHECK_FALSE(*first->rows->next());  // its own snapshot
  first = Error();
  // Each read sees every commit before it.
  for (std::int64_t k = 4; k < 8; ++k) {
    insert(*w, "pairs", {"a", "b"}, {k, "k"});
    const std::vector<std::vector<Value>> key{{Value(k), Value("k")}};
    CHECK(read_pairs(c->exec(op::GetByKey{"pairs", key, cols})) ==
          Strings{std::to_string(k) + ":k"});
  }
  // A read-only transaction takes the same transaction.
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::start, Isolation::database_default, true})
              .ok());
  CHECK(read_pairs(c->exec(op::Scan{"pairs", cols})).size() == 7);
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::commit}).ok());
}

TEST_CASE("lmdb driver: a transaction's rows outlive its commit, not its rollback") {
  const std::string dir = fresh_dir("snapshot-rows");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  insert(*c, "pairs", {"a", "b"}, {std::int64_t{1}, "x", std::int64_t{2}, "y"});
  const std::vector<std::string> cols{"a", "b"};
  const op::Transaction start{op::Transaction::Kind::start, Isolation::database_default, true};
  const std::vector<std::vector<Value>> key{{Value(std::int64_t{2}), Value("y")}};
  // The transaction's snapshot takes the connection's reader slot.
  REQUIRE(c->exec(start).ok());
  auto held = c->exec(op::Scan{"pairs", cols});
  REQUIRE(held.ok());
  REQUIRE(*held->rows->next());
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::commit}).ok());
  // Reads go on beside the committed transaction's rows, which keep their
  // snapshot until they are let go.
  insert(*c, "pairs", {"a", "b"}, {std::int64_t{3}, "z"});
  CHECK(read_pairs(c->exec(op::Scan{"pairs", cols})).size() == 3);
  CHECK(read_pairs(c->exec(op::GetByKey{"pairs", key, cols})) == Strings{"2:y"});
  REQUIRE(*held->rows->next());
  CHECK(held->rows->get_int64(0) == 2);
  CHECK_FALSE(*held->rows->next());
  held = Error();
  // A rollback ends the snapshot its rows read.
  REQUIRE(c->exec(start).ok());
  held = c->exec(op::Scan{"pairs", cols});
  REQUIRE(held.ok());
  REQUIRE(*held->rows->next());
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::rollback}).ok());
  auto r = held->rows->next();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::invalid_statement);
  held = Error();
  // Every read has let the slot go: finds renew it.
  for (int i = 0; i < 3; ++i)
    CHECK(read_pairs(c->exec(op::GetByKey{"pairs", key, cols})) == Strings{"2:y"});
}

TEST_CASE("lmdb driver: a full map inside a transaction leaves only a rollback") {
  const std::string dir = fresh_dir("fullmap-tx");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir, "?map_size_mb=1"));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  insert(*c, "pairs", {"a", "b"}, {std::int64_t{0}, "kept"});
  REQUIRE(c->exec(op::Transaction{op::Transaction::Kind::start}).ok());
  insert(*c, "pairs", {"a", "b"}, {std::int64_t{1}, "x"});
  auto r = insert_large_rows(*c, 10);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::storage);
  const std::vector<std::string> cols{"a", "b"};
  auto after = c->exec(op::Scan{"pairs", cols});
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().kind == ErrorKind::storage);
  auto commit = c->exec(op::Transaction{op::Transaction::Kind::commit});
  REQUIRE_FALSE(commit.ok());  // rolled back instead
  CHECK(read_pairs(c->exec(op::Scan{"pairs", cols})) == Strings{"0:kept"});
  insert(*c, "pairs", {"a", "b"}, {std::int64_t{1}, "x"});  // the connection goes on
}

TEST_CASE("lmdb driver: an environment with more databases than max_dbs still opens") {
  const std::string dir = fresh_dir("maxdbs");
  auto d = lmdb::make_driver();
  Schema s;
  for (int i = 0; i < 6; ++i) {
    TableSchema t = pairs_table();
    t.name = "pairs" + std::to_string(i);
    t.indexes[0].name = "ix_" + t.name;
    s.tables.push_back(t);
  }
  {
    auto c = connect(*d, url_of(dir, "?max_dbs=32"));
    REQUIRE(c->push_schema(s).ok());  // 13 named databases
  }
  auto c = connect(*d, url_of(dir, "?max_dbs=4"));
  const std::vector<std::string> cols{"a", "b"};
  CHECK(read_pairs(c->exec(op::Scan{"pairs5", cols})).empty());
}

TEST_CASE("lmdb driver: a generated key below a stored one is still written") {
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(fresh_dir("append")));
  TableSchema t;
  t.name = "seqs";
  t.columns = {{"id", ColumnType::int64, false, true}, {"v", ColumnType::text}};
  t.primary_key = {"id"};
  REQUIRE(c->push_schema(Schema{{t}}).ok());
  insert(*c, "seqs", {"v"}, {"a"});  // id 1
  // An update moves the key past the sequence, which stays at 1.
  const std::vector<std::vector<Value>> key{{Value(std::int64_t{1})}};
  const std::vector<std::string> set{"id"};
  REQUIRE(c->exec(op::UpdateByKey{"seqs", key, set, std::vector<Value>{std::int64_t{9}}}).ok());
  insert(*c, "seqs", {"v"}, {"b", "c"});  // ids 2 and 3, below 9
  const std::vector<std::string> cols{"id", "v"};
  CHECK(read_pairs(c->exec(op::Scan{"seqs", cols})) == Strings{"2:b", "3:c", "9:a"});
}

TEST_CASE("lmdb driver: an update rewrites only changed fields and index entries") {
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(fresh_dir("splice")));
  TableSchema t;
  t.name = "items";
  t.columns = {{"id", ColumnType::int64},
               {"name", ColumnType::text},
               {"qty", ColumnType::int64, true},
               {"code", ColumnType::text, true},
               {"price", ColumnType::float64}};
  t.primary_key = {"id"};
  t.indexes = {{"ix_items_qty", {"qty"}, false}, {"ux_items_code", {"code"}, true}};
  REQUIRE(c->push_schema(Schema{{t}}).ok());
  const std::string long_name(300, 'n');  // a varint length of two bytes
  insert(*c, "items", {"id", "name", "qty", "code", "price"},
         {std::int64_t{1}, long_name, std::int64_t{5}, "a", 1.5, std::int64_t{2},
          std::string("b\0c", 3), std::int64_t{6}, "b", 2.5});
  const std::vector<std::string> cols{"id", "name", "qty", "code", "price"};
  // Every row through the primary key and through each index.
  auto all = [&] {
    return rows_by_path(*c, "items", {"ix_items_qty", "ux_items_code"}, cols, [](Rows& row) {
      return std::to_string(row.get_int64(0)) + "/" + std::to_string(row.get_text(1).size()) + "/" +
             (row.is_null(2) ? "null" : std::to_string(row.get_int64(2))) + "/" +
             (row.is_null(3) ? "null" : std::string(row.get_text(3))) + "/" +
             std::to_string(row.get_double(4));
    });
  };
  const std::vector<std::vector<Value>> key1{{std::int64_t{1}}}, key2{{std::int64_t{2}}};
  const std::vector<std::string> qty{"qty"}, code_qty{"code", "qty"}, name{"name"};
  auto update = [&](const std::vector<std::vector<Value>>& keys,
                    const std::vector<std::string>& set, std::vector<Value> values) {
    return c->exec(op::UpdateByKey{"items", keys, set, values});
  };

  // A double that is an integer is stored as one; the index entry moves.
  auto r = update(key1, qty, {7.0});
  REQUIRE(r.ok());
  CHECK(r->affected == 1);
  // The same value again: counted, nothing moves.
  r = update(key1, qty, {std::int64_t{7}});
  REQUIRE(r.ok());
  CHECK(r->affected == 1);
  // NULL in a nullable indexed column, and in the unique one (which then
  // allows duplicates), then back.
  r = update(key2, code_qty, {Value(), Value()});
  REQUIRE(r.ok());
  CHECK(all() == std::vector<std::string>{
                     "1/300/7/a/1.500000 2/3/null/null/2.500000 ",
                     "2/3/null/null/2.500000 1/300/7/a/1.500000 ",
                     "2/3/null/null/2.500000 1/300/7/a/1.500000 ",
                 });
  r = update(key2, code_qty, {"c", std::int64_t{3}});
  REQUIRE(r.ok());
  const auto settled = all();
  CHECK(settled == std::vector<std::string>{
                       "1/300/7/a/1.500000 2/3/3/c/2.500000 ",
                       "2/3/3/c/2.500000 1/300/7/a/1.500000 ",
                       "1/300/7/a/1.500000 2/3/3/c/2.500000 ",
                   });
  // Refused: NOT NULL, a value of another type, a duplicate in the unique
  // index; nothing changes.
  r = update(key1, name, {Value()});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::not_null_violation);
  CHECK(r.error().constraint == "items.name");
  r = update(key1, qty, {"seven"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::invalid_value);
  r = update(key1, code_qty, {"c", std::int64_t{1}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::unique_violation);
  CHECK(all() == settled);
  // A missing key changes nothing and is not counted.
  r = update({{std::int64_t{9}}}, qty, {std::int64_t{1}});
  REQUIRE(r.ok());
  CHECK(r->affected == 0);
}

TEST_CASE("lmdb driver: GetByKey yields each key's row once, in the order first asked") {
  const std::string dir = fresh_dir("repeats");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  std::vector<Value> values;
  for (std::int64_t k = 1; k <= 30; ++k) {
    values.emplace_back(k);
    values.emplace_back("k");
  }
  insert(*c, "pairs", {"a", "b"}, values);
  const std::vector<std::string> cols{"a", "b"};
  auto ask = [&](const std::vector<std::int64_t>& as) {
    std::vector<std::vector<Value>> keys;
    for (std::int64_t a : as) keys.push_back({Value(a), Value("k")});
    return read_pairs(c->exec(op::GetByKey{"pairs", keys, cols}));
  };
  // A few keys (checked one by one) and many (checked through a table);
  // 99 and 0 have no row.
  CHECK(ask({5, 3, 5, 99, 3, 7}) == Strings{"5:k", "3:k", "7:k"});
  std::vector<std::int64_t> many;
  Strings want;
  for (std::int64_t round = 0; round < 3; ++round)
    for (std::int64_t a = 30; a >= 0; a -= 2) {
      many.push_back(a);
      if (round == 0 && a > 0) want.push_back(std::to_string(a) + ":k");
    }
  many.push_back(99);
  many.push_back(1);
  want.push_back("1:k");
  CHECK(ask(many) == want);
}

TEST_CASE("lmdb driver: a scan of a whole table hints its row count before the first row") {
  const std::string dir = fresh_dir("hint");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  insert(*c, "pairs", {"a", "b"},
         {std::int64_t{1}, "x", std::int64_t{2}, "y", std::int64_t{3}, "z"});
  const std::vector<std::string> cols{"a", "b"};
  auto all = c->exec(op::Scan{"pairs", cols});
  REQUIRE(all.ok());
  CHECK(all->rows->size_hint() == 3);
  REQUIRE(*all->rows->next());
  CHECK(all->rows->size_hint() == 0);  // not counted per row
  op::QueryPk limited{"pairs"};
  limited.limit = 2;
  limited.columns = cols;
  auto two = c->exec(limited);
  REQUIRE(two.ok());
  CHECK(two->rows->size_hint() == 2);
  op::QueryPk bounded = limited;
  bounded.lower = {Value(std::int64_t{2})};
  auto some = c->exec(bounded);
  REQUIRE(some.ok());
  CHECK(some->rows->size_hint() == 0);  // a range: not known without reading it
}

// An empty column list is every column in table order (op::GetByKey); a
// GetByKey's keys need only live until exec() returns.
TEST_CASE("lmdb driver: empty columns read every column; GetByKey keys die after exec") {
  const std::string dir = fresh_dir("all-columns");
  auto d = lmdb::make_driver();
  auto c = connect(*d, url_of(dir));
  REQUIRE(c->push_schema(Schema{{pairs_table()}}).ok());
  insert(*c, "pairs", {"a", "b", "n"},
         {std::int64_t{1}, "x", std::int64_t{10}, std::int64_t{2}, "y", std::int64_t{20},
          std::int64_t{3}, "z", std::int64_t{30}});
  auto triples = [](Result<ExecResponse> r) {
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    Rows& rows = *r->rows;
    CHECK(rows.column_count() == 3);
    Strings out;
    while (*rows.next())
      out.push_back(std::to_string(rows.get_int64(0)) + ":" + std::string(rows.get_text(1)) + ":" +
                    std::to_string(rows.get_int64(2)));
    return out;
  };
  CHECK(triples(c->exec(op::Scan{"pairs", {}})) == Strings{"1:x:10", "2:y:20", "3:z:30"});
  op::QueryPk by_n{"pairs", "ix_pairs_n"};
  by_n.lower = {Value(std::int64_t{20})};
  by_n.reverse = true;
  CHECK(triples(c->exec(by_n)) == Strings{"3:z:30", "2:y:20"});

  // One key and several, each destroyed (and its storage overwritten)
  // before the rows are read.
  for (const std::vector<std::int64_t>& as :
       {std::vector<std::int64_t>{2}, std::vector<std::int64_t>{3, 9, 1}}) {
    auto keys = std::make_unique<std::vector<std::vector<Value>>>();
    for (std::int64_t a : as) keys->push_back({Value(a), Value(std::string(40, 'k'))});
    for (auto& k : *keys) k[1] = Value(as.size() == 1 ? "y" : (k[0].as_int64() == 3 ? "z" : "x"));
    auto r = c->exec(op::GetByKey{"pairs", *keys, {}});
    for (auto& k : *keys) k = {Value("overwritten"), Value(std::int64_t{0})};
    keys.reset();
    CHECK(triples(std::move(r)) ==
          (as.size() == 1 ? Strings{"2:y:20"} : Strings{"3:z:30", "1:x:10"}));
  }
  // A list naming columns still selects and orders them.
  const std::vector<std::string> nb{"n", "b"};
  auto named = c->exec(op::Scan{"pairs", nb});
  REQUIRE(named.ok());
  CHECK(named->rows->column_count() == 2);
  REQUIRE(*named->rows->next());
  CHECK(named->rows->get_int64(0) == 10);
  CHECK(named->rows->get_text(1) == "x");
}
