// kv::execute's per-plan analysis (kv::PlanSlot) on a real LMDB connection:
// the first executions of a statement racing from several threads, a slot
// handed another table schema, a table dropped and recreated with other
// columns under one Db, and a model with fewer columns than its stored table.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <tessera/lmdb.hpp>
#include <tessera/tessera.hpp>

#include <filesystem>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "core/kv/executor.hpp"

// GCC 12 reports -Wmaybe-uninitialized inside std::variant when an
// initializer list of Values mixes alternatives (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace kst {
struct Wide {
  std::int64_t id{};
  std::string name;
  std::int64_t qty{};
};
TESSERA_MODEL(Wide, "shapes", (id, tessera::primary_key), (name), (qty, tessera::index));

// The same table name, other columns.
struct Narrow {
  std::int64_t id{};
  double weight{};
};
TESSERA_MODEL(Narrow, "shapes", (id, tessera::primary_key), (weight));

// Wide's table seen through fewer of its columns (a model that dropped one).
struct Slim {
  std::int64_t id{};
  std::int64_t qty{};
};
TESSERA_MODEL(Slim, "shapes", (id, tessera::primary_key), (qty, tessera::index));

// Wide's columns in another order, and with one renamed: as many columns as
// the stored table, so only their names tell them apart.
struct Shuffled {
  std::int64_t id{};
  std::int64_t qty{};
  std::string name;
};
TESSERA_MODEL(Shuffled, "shapes", (id, tessera::primary_key), (qty, tessera::index), (name));
struct Renamed {
  std::int64_t id{};
  std::string title;
  std::int64_t qty{};
};
TESSERA_MODEL(Renamed, "shapes", (id, tessera::primary_key), (title), (qty, tessera::index));
}  // namespace kst

namespace {

using namespace tessera;

std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tessera-kv-slot-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

Url url_of(const std::string& dir) {
  Url u;
  u.scheme = "lmdb";
  u.has_authority = true;
  u.path = dir;
  u.text = "lmdb://" + dir;
  return u;
}

std::unique_ptr<Connection> connect(Driver& d, const Url& u) {
  auto c = d.connect(u);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  return std::move(c).value();
}

TableSchema items_table() {
  TableSchema t;
  t.name = "items";
  t.columns = {{"id", ColumnType::int64}, {"name", ColumnType::text}, {"qty", ColumnType::int64}};
  t.primary_key = {"id"};
  t.indexes = {{"ix_items_qty", {"qty"}, false}};
  return t;
}

TableSchema items_table_other_columns() {
  TableSchema t;
  t.name = "items";
  t.columns = {{"id", ColumnType::int64}, {"label", ColumnType::text}};
  t.primary_key = {"id"};
  return t;
}

void push(Connection& c, const TableSchema& t) {
  Schema s;
  s.tables = {t};
  auto r = c.push_schema(s);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
}

void insert(Connection& c, const std::string& table, std::vector<std::string> columns,
            std::vector<Value> values) {
  ast::Insert ins;
  ins.table = table;
  ins.columns = std::move(columns);
  ins.row_count = values.size() / ins.columns.size();
  auto r = c.exec(op::Insert{&ins, values});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
}

ast::Expr column(const std::string& name) {
  ast::Expr e;
  e.kind = ast::Expr::Kind::column;
  e.column = name;
  return e;
}

ast::Expr param(std::uint32_t i) {
  ast::Expr e;
  e.kind = ast::Expr::Kind::param;
  e.param = i;
  return e;
}

ast::Expr compare(ast::Expr::Kind kind, std::vector<ast::Expr> children) {
  ast::Expr e;
  e.kind = kind;
  e.children = std::move(children);
  return e;
}

// SELECT <columns> FROM <table> WHERE <where> [ORDER BY <order> DESC].
ast::Statement select(const std::string& table, std::vector<std::string> columns, ast::Expr where,
                      const std::string& order = "") {
  ast::Select s;
  s.table = table;
  s.columns = std::move(columns);
  s.has_where = true;
  s.where = std::move(where);
  if (!order.empty()) s.order_by.push_back({order, true});
  return s;
}

// Each row's columns, 'i' (int64) or 't' (text) per `types`, joined by ':'.
std::vector<std::string> rows_of(Result<ExecResponse> r, std::string_view types) {
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  std::vector<std::string> out;
  if (!r->rows) return out;
  Rows& rows = *r->rows;
  while (*rows.next()) {
    std::string line;
    for (std::size_t c = 0; c < types.size(); ++c) {
      if (c) line += ":";
      line += types[c] == 't' ? std::string(rows.get_text(c)) : std::to_string(rows.get_int64(c));
    }
    out.push_back(line);
  }
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("kv slot: the first executions of a plan race from several threads and agree") {
  auto driver = lmdb::make_driver();
  const Url url = url_of(fresh_dir("race"));
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < kThreads; ++i) connections.push_back(connect(*driver, url));
  const TableSchema table = items_table();
  push(*connections[0], table);
  std::vector<Value> values;
  for (std::int64_t id = 1; id <= 40; ++id)
    for (Value v : {Value(id), Value("n" + std::to_string(id)), Value(id % 5)})
      values.push_back(std::move(v));
  insert(*connections[0], "items", {"id", "name", "qty"}, values);

  using Kind = ast::Expr::Kind;
  // A find by key, a range on an index with an ordering, and a filter no key
  // answers: each analysed on its first execution.
  const ast::Statement find =
      select("items", {"id", "name", "qty"}, compare(Kind::eq, {column("id"), param(0)}));
  const ast::Statement range =
      select("items", {"id"}, compare(Kind::between, {column("qty"), param(0), param(1)}), "id");
  const ast::Statement scan =
      select("items", {"name"}, compare(Kind::gt, {column("id"), param(0)}));

  for (int round = 0; round < 20; ++round) {
    // Fresh slots every round, so every round races to build them.
    kv::PlanSlot find_slot, range_slot, scan_slot;
    std::vector<Strings> found(kThreads), ranged(kThreads), scanned(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&, i] {
        Connection& c = *connections[static_cast<std::size_t>(i)];
        const std::vector<Value> key{Value(std::int64_t{7 + i})};
        const std::vector<Value> bounds{Value(std::int64_t{3}), Value(std::int64_t{4})};
        const std::vector<Value> above{Value(std::int64_t{37})};
        start.arrive_and_wait();
        found[i] = rows_of(kv::execute(c, find, key, table, find_slot), "iti");
        ranged[i] = rows_of(kv::execute(c, range, bounds, table, range_slot), "i");
        scanned[i] = rows_of(kv::execute(c, scan, above, table, scan_slot), "t");
      });
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
      const std::int64_t id = 7 + i;
      CHECK(found[i] ==
            Strings{std::to_string(id) + ":n" + std::to_string(id) + ":" + std::to_string(id % 5)});
      CHECK(ranged[i] == Strings{"39", "38", "34", "33", "29", "28", "24", "23", "19", "18", "14",
                                 "13", "9", "8", "4", "3"});
      CHECK(scanned[i] == Strings{"n38", "n39", "n40"});
    }
  }
}

TEST_CASE("kv slot: a slot handed another table schema analyses that table afresh") {
  auto driver = lmdb::make_driver();
  auto c = connect(*driver, url_of(fresh_dir("other-schema")));
  using Kind = ast::Expr::Kind;
  const ast::Statement labels =
      select("items", {"label"}, compare(Kind::ge, {column("id"), param(0)}));
  kv::PlanSlot slot;
  const std::vector<Value> from{Value(std::int64_t{2})};

  const TableSchema wide = items_table();
  push(*c, wide);
  auto refused = kv::execute(*c, labels, from, wide, slot);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("no column 'label'") != std::string::npos);

  // Dropped and recreated with other columns: the slot holds the analysis
  // made with the first schema, which must not answer for the second.
  auto dropped = c->drop_tables({"items"});
  REQUIRE(dropped.ok());
  const TableSchema narrow = items_table_other_columns();
  push(*c, narrow);
  insert(*c, "items", {"id", "label"},
         {Value(std::int64_t{1}), Value("one"), Value(std::int64_t{2}), Value("two"),
          Value(std::int64_t{3}), Value("three")});
  CHECK(rows_of(kv::execute(*c, labels, from, narrow, slot), "t") == Strings{"two", "three"});
}

// The engine keeps one TableSchema per (table, model), so the new model's
// statements are analysed with its own columns.
TEST_CASE("kv slot: a table dropped and recreated with other columns under one Db") {
  lmdb::register_linked();
  Db db = Db::open("lmdb://" + fresh_dir("recreate"));
  db.push_schema<kst::Wide>();
  db.insert(kst::Wide{1, "one", 10});
  db.insert(kst::Wide{2, "two", 20});
  REQUIRE(db.find<kst::Wide>(std::int64_t{2}));
  CHECK(db.find<kst::Wide>(std::int64_t{2})->name == "two");
  CHECK(db.fetch_all(select<kst::Wide>().where(col(&kst::Wide::qty) >= 15)).size() == 1);

  db.drop_tables<kst::Wide>();
  db.push_schema<kst::Narrow>();
  db.insert(kst::Narrow{2, 2.5});
  auto narrow = db.find<kst::Narrow>(std::int64_t{2});
  REQUIRE(narrow);
  CHECK(narrow->weight == 2.5);
  CHECK(db.fetch_all(select<kst::Narrow>().where(col(&kst::Narrow::id) >= 1)).size() == 1);
}

// kv::execute names the model's columns in every read, so a model that
// differs from its stored table reads the columns it names.
TEST_CASE("kv slot: a model with fewer columns than its stored table reads them by name") {
  lmdb::register_linked();
  Db db = Db::open("lmdb://" + fresh_dir("fewer-columns"));
  db.push_schema<kst::Wide>();
  db.insert(kst::Wide{1, "one", 10});
  db.insert(kst::Wide{2, "two", 20});
  db.insert(kst::Wide{3, "three", 30});
  auto found = db.find<kst::Slim>(std::int64_t{2});  // GetByKey
  REQUIRE(found);
  CHECK(found->qty == 20);
  auto ranged = db.fetch_all(select<kst::Slim>().where(col(&kst::Slim::qty) >= 25));  // QueryPk
  REQUIRE(ranged.size() == 1);
  CHECK(ranged[0].qty == 30);
  auto all = db.fetch_all(select<kst::Slim>());  // Scan
  REQUIRE(all.size() == 3);
  CHECK(all[0].qty == 10);
  CHECK(all[2].qty == 30);
  auto some = db.fetch_all(
      select<kst::Slim>().where(col(&kst::Slim::id).in({std::int64_t{3}, std::int64_t{1}})));
  REQUIRE(some.size() == 2);
  CHECK(some[0].qty + some[1].qty == 40);
}

// Same column count, other order or another name: read by name, or refused,
// never the stored columns by position.
TEST_CASE("kv slot: a model with its table's columns reordered or renamed") {
  lmdb::register_linked();
  Db db = Db::open("lmdb://" + fresh_dir("reordered-columns"));
  db.push_schema<kst::Wide>();
  db.insert(kst::Wide{1, "one", 10});
  db.insert(kst::Wide{2, "two", 20});
  auto found = db.find<kst::Shuffled>(std::int64_t{2});
  REQUIRE(found);
  CHECK(found->qty == 20);
  CHECK(found->name == "two");
  auto all = db.fetch_all(select<kst::Shuffled>());
  REQUIRE(all.size() == 2);
  CHECK(all[0].qty == 10);
  CHECK(all[0].name == "one");
  auto ranged = db.fetch_all(select<kst::Shuffled>().where(col(&kst::Shuffled::qty) >= 15));
  REQUIRE(ranged.size() == 1);
  CHECK(ranged[0].name == "two");
  CHECK_THROWS_AS((void)db.find<kst::Renamed>(std::int64_t{1}), tessera::DbError);
  CHECK_THROWS_AS((void)db.fetch_all(select<kst::Renamed>()), tessera::DbError);
}
