// The key-value planner, end to end: for a table of filters, which
// operations reach a real LMDB connection (recorded by a ConnectionWrapper),
// and that the rows returned equal SQLite's for the same query.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <tessera/driver/connection_wrapper.hpp>
#include <tessera/lmdb.hpp>
#include <tessera/sqlite.hpp>
#include <tessera/tessera.hpp>

#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pot {
struct Order {
  std::int64_t customer{};
  std::int64_t number{};
  std::string sku;
  std::string code;
  std::int32_t qty{};
  std::optional<std::string> note;
};
TESSERA_MODEL(Order, "orders", (customer, tessera::primary_key), (number, tessera::primary_key),
              (sku, tessera::index), (code, tessera::unique), (qty), (note));

// Scalar columns of every kind, with NULLs, ties, NaN and signed zeros, to
// order by.
struct Reading {
  std::int64_t id{};
  std::optional<double> value;
  std::optional<tessera::Timestamp> at;
  std::optional<bool> ok;
  tessera::Date day;
  std::int32_t grp{};
  std::string label;
};
TESSERA_MODEL(Reading, "readings", (id, tessera::primary_key), (value), (at), (ok), (day), (grp),
              (label));
}  // namespace pot

using pot::Order;
using pot::Reading;
using tessera::col;

namespace {

// Records the name of every operation (with the index for QueryPk).
class Recorder : public tessera::ConnectionWrapper {
 public:
  Recorder(std::unique_ptr<tessera::Connection> c, std::vector<std::string>* log)
      : ConnectionWrapper(std::move(c)), log_(log) {}
  tessera::Result<tessera::ExecResponse> exec(const tessera::Operation& op) override {
    std::string name(tessera::operation_name(op));
    if (const auto* q = std::get_if<tessera::op::QueryPk>(&op); q && !q->index.empty())
      name += ":" + std::string(q->index);
    log_->push_back(name);
    return target().exec(op);
  }

 private:
  std::vector<std::string>* log_;
};

// Operations the recorder saw; the tests here run one at a time.
std::vector<std::string>& recorded() {
  static std::vector<std::string> log;
  return log;
}

struct Pair {
  tessera::Db kv;
  tessera::Db sql;
};

Pair open_both() {
  tessera::lmdb::register_linked();
  tessera::sqlite::register_linked();
  const std::filesystem::path dir = std::filesystem::path(TESSERA_TEST_DIR) / "planner-ops";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  tessera::Options o;
  o.wrap_connection =
      [](std::unique_ptr<tessera::Connection> c) -> std::unique_ptr<tessera::Connection> {
    return std::make_unique<Recorder>(std::move(c), &recorded());
  };
  Pair p{tessera::Db::open("lmdb://" + dir.string(), o), tessera::Db::open("sqlite::memory:")};
  for (tessera::Db* db : {&p.kv, &p.sql}) {
    db->push_schema<Order>();
    std::vector<Order> rows;
    for (std::int64_t c = 1; c <= 4; ++c)
      for (std::int64_t n = 1; n <= 5; ++n)
        rows.push_back(Order{c, n, n % 2 ? "bolt" : "nut", "C" + std::to_string(c * 10 + n),
                             static_cast<std::int32_t>(c * n),
                             n == 3 ? std::nullopt : std::optional<std::string>("x")});
    db->insert_many(rows);
  }
  recorded().clear();
  return p;
}

std::vector<std::pair<std::int64_t, std::int64_t>> keys(const std::vector<Order>& rows) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& r : rows) out.emplace_back(r.customer, r.number);
  return out;
}

}  // namespace

TEST_CASE("kv planner: operations emitted for each filter, and the same rows as SQL") {
  Pair p = open_both();
  struct Row {
    const char* what;
    tessera::Condition<Order> filter;
    std::vector<std::string> ops;
  };
  const Row table[] = {
      {"full key", col(&Order::customer) == 2 && col(&Order::number) == 3, {"GetByKey"}},
      {"full key, IN lists",
       col(&Order::customer).in({1, 4}) && col(&Order::number).in({2, 5}),
       {"GetByKey"}},
      {"full key, missing keys and repeats",
       col(&Order::customer).in({1, 9, 1}) && col(&Order::number) == 5,
       {"GetByKey"}},
      {"full key and residual",
       col(&Order::customer) == 2 && col(&Order::number) == 3 && col(&Order::qty) == 100,
       {"GetByKey"}},
      {"unique index", col(&Order::code) == "C23", {"FindPkByIndex", "GetByKey"}},
      {"unique index and residual",
       col(&Order::code).in({"C23", "C11"}) && col(&Order::qty) > 2,
       {"FindPkByIndex", "GetByKey"}},
      {"key prefix", col(&Order::customer) == 3, {"QueryPk"}},
      {"key prefix and range", col(&Order::customer) == 3 && col(&Order::number) > 2, {"QueryPk"}},
      {"secondary index", col(&Order::sku) == "nut", {"QueryPk:ix_orders_sku"}},
      {"no index: scan", col(&Order::qty) >= 6, {"Scan"}},
      {"OR: scan", col(&Order::customer) == 1 || col(&Order::qty) == 20, {"Scan"}},
      {"NULL semantics", !(col(&Order::note) == "x"), {"Scan"}},
  };
  for (const auto& r : table) {
    CAPTURE(r.what);
    auto& log = recorded();
    log.clear();
    auto q = tessera::select<Order>().where(r.filter).order_by(col(&Order::customer),
                                                               col(&Order::number));
    const auto kv_rows = p.kv.fetch_all(q);
    CHECK(log == r.ops);
    CHECK(keys(kv_rows) == keys(p.sql.fetch_all(q)));
    CHECK(p.kv.count(q) == p.sql.count(q));
  }

  auto& log = recorded();
  log.clear();
  CHECK(p.kv.execute(
            tessera::update<Order>().set(&Order::qty, 0).where(col(&Order::code) == "C12")) == 1);
  CHECK(log == std::vector<std::string>{"FindPkByIndex", "GetByKey", "UpdateByKey"});
  log.clear();
  CHECK(p.kv.execute(tessera::delete_from<Order>().where(col(&Order::customer) == 4)) == 5);
  CHECK(log == std::vector<std::string>{"QueryPk", "DeleteByKey"});

  // Exactly the full key: straight to the driver, which counts only the rows
  // that exist; anything more still reads and filters first.
  const auto full_key = col(&Order::customer) == 2 && col(&Order::number) == 3;
  log.clear();
  CHECK(p.kv.execute(tessera::update<Order>().set(&Order::qty, 7).where(full_key)) == 1);
  CHECK(log == std::vector<std::string>{"UpdateByKey"});
  log.clear();
  CHECK(p.kv.execute(tessera::update<Order>()
                         .set(&Order::qty, 7)
                         .where(col(&Order::customer) == 2 && col(&Order::number) == 99)) == 0);
  CHECK(log == std::vector<std::string>{"UpdateByKey"});
  log.clear();
  CHECK(p.kv.execute(tessera::update<Order>()
                         .set(&Order::qty, 8)
                         .where(full_key && col(&Order::qty) == 100)) == 0);
  CHECK(log == std::vector<std::string>{"GetByKey"});
  CHECK(p.kv.fetch_all(tessera::select<Order>().where(full_key)).at(0).qty == 7);
  log.clear();
  CHECK(p.kv.execute(tessera::delete_from<Order>().where(full_key)) == 1);
  CHECK(log == std::vector<std::string>{"DeleteByKey"});
  log.clear();
  CHECK(p.kv.execute(tessera::delete_from<Order>().where(full_key)) == 0);
  CHECK(log == std::vector<std::string>{"DeleteByKey"});
  std::vector<Order> back{{2, 3, "bolt", "C23", 6, std::nullopt}};  // as it was
  p.kv.insert_many(back);
  log.clear();
  auto page = p.kv.fetch_page(tessera::select<Order>().order_by(col(&Order::qty).desc()), 1, 4);
  CHECK(page.total == 15);
  CHECK(page.items.size() == 4);

  // ORDER BY with LIMIT keeps only offset + limit rows while reading; every
  // page must still be the slice of the whole ordered result, ties (qty
  // repeats) in the same order.
  const auto by_qty = tessera::select<Order>().order_by(col(&Order::qty).desc());
  const auto all = keys(p.kv.fetch_all(by_qty));
  REQUIRE(all.size() == 15);
  for (std::int64_t off = 0; off <= 16; off += 3)
    for (std::int64_t lim : {0, 1, 4, 20}) {
      CAPTURE(off);
      CAPTURE(lim);
      const auto b = all.begin() + std::min<std::int64_t>(off, 15);
      const auto e = all.begin() + std::min<std::int64_t>(off + lim, 15);
      CHECK(keys(p.kv.fetch_all(by_qty.limit(lim).offset(off))) == decltype(all)(b, e));
    }
}

// ORDER BY scalar columns with a LIMIT ranks candidates by their key's
// scalars in a bounded heap; without a LIMIT every match is sorted as
// Values. Every page must be the slice of the whole ordered result, NULLs
// first, NaN above every number, -0.0 equal to 0.0, ties in store order.
TEST_CASE("kv planner: ORDER BY ... LIMIT pages are slices of the whole order, every scalar type") {
  tessera::lmdb::register_linked();
  const std::filesystem::path dir = std::filesystem::path(TESSERA_TEST_DIR) / "planner-ops-order";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  tessera::Db db = tessera::Db::open("lmdb://" + dir.string());
  db.push_schema<Reading>();
  const std::optional<double> values[] = {1.5,
                                          std::nullopt,
                                          -0.0,
                                          0.0,
                                          std::numeric_limits<double>::quiet_NaN(),
                                          -2.0,
                                          std::numeric_limits<double>::infinity(),
                                          1.5,
                                          -std::numeric_limits<double>::infinity()};
  std::vector<Reading> rows;
  for (std::int64_t i = 1; i <= 60; ++i) {
    Reading r;
    r.id = i;
    r.value = values[static_cast<std::size_t>(i * 7) % std::size(values)];
    if (i % 5 != 0) r.at = tessera::Timestamp{(i % 4) * 1000 - 1500};
    if (i % 3 != 0) r.ok = i % 2 == 0;
    r.day = tessera::Date{static_cast<std::int32_t>(i % 6) - 3};
    r.grp = static_cast<std::int32_t>(i % 3);
    r.label = "r" + std::to_string(i);
    rows.push_back(r);
  }
  db.insert_many(rows);
  auto ids = [](const std::vector<Reading>& got) {
    std::vector<std::int64_t> out;
    for (const auto& r : got) out.push_back(r.id);
    return out;
  };
  const auto base = tessera::select<Reading>();
  const auto filtered = tessera::select<Reading>().where(col(&Reading::grp) != 1);
  const std::vector<decltype(base.order_by(col(&Reading::value)))> orders = {
      base.order_by(col(&Reading::value)),
      base.order_by(col(&Reading::value).desc()),
      base.order_by(col(&Reading::at).desc()).order_by(col(&Reading::value)),
      base.order_by(col(&Reading::ok)).order_by(col(&Reading::day).desc()),
      base.order_by(col(&Reading::grp)).order_by(col(&Reading::value).desc()),
      filtered.order_by(col(&Reading::value).desc()),
      filtered.order_by(col(&Reading::ok).desc()).order_by(col(&Reading::at)),
  };
  for (std::size_t o = 0; o < orders.size(); ++o) {
    CAPTURE(o);
    const auto all = ids(db.fetch_all(orders[o]));
    REQUIRE(!all.empty());
    const auto n = static_cast<std::int64_t>(all.size());
    for (std::int64_t off : {0, 3, 17, 70})
      for (std::int64_t lim : {0, 1, 5, 13, 100}) {
        CAPTURE(off);
        CAPTURE(lim);
        const auto b = all.begin() + std::min(off, n);
        const auto e = all.begin() + std::min(off + lim, n);
        CHECK(ids(db.fetch_all(orders[o].limit(lim).offset(off))) == decltype(all)(b, e));
      }
  }
}
