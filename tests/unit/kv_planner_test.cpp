// Key-value planning decisions and in-memory evaluation semantics.
#include <doctest/doctest.h>

#include <map>

#include <tessera/tessera.hpp>

#include "core/kv/evaluate.hpp"
#include "core/kv/planner.hpp"

namespace kvt {
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
}  // namespace kvt

using kvt::Order;
using tessera::col;
using tessera::kv::Access;

namespace {

tessera::Capability kv_capability(bool scan = true) {
  tessera::Capability c;
  c.ordered_scan = true;
  c.secondary_indexes = true;
  c.full_scan = scan;
  return c;
}

tessera::Result<Access> plan(const tessera::Condition<Order>& c, bool scan = true) {
  static const tessera::TableSchema schema = tessera::table_schema<Order>();
  return tessera::kv::plan_access(schema, &c.expr, c.values, kv_capability(scan));
}

}  // namespace

TEST_CASE("kv planner: the access path chosen for each filter") {
  struct Row {
    const char* what;
    tessera::Condition<Order> filter;
    Access::Kind kind;
    std::size_t keys;
  };
  const Row rows[] = {
      {"full key", col(&Order::customer) == 1 && col(&Order::number) == 2, Access::Kind::get_by_key,
       1},
      {"full key with IN", col(&Order::customer).in({1, 2}) && col(&Order::number).in({5, 6, 7}),
       Access::Kind::get_by_key, 6},
      {"full key beats unique index",
       col(&Order::code) == "x" && col(&Order::customer) == 1 && col(&Order::number) == 2,
       Access::Kind::get_by_key, 1},
      {"unique index", col(&Order::code) == "A-1", Access::Kind::find_by_index, 1},
      {"unique index with residual filter", col(&Order::code) == "A-1" && col(&Order::qty) > 3,
       Access::Kind::find_by_index, 1},
      {"key prefix", col(&Order::customer) == 7, Access::Kind::query_pk, 0},
      {"key prefix and range", col(&Order::customer) == 7 && col(&Order::number) >= 10,
       Access::Kind::query_pk, 0},
      {"secondary index", col(&Order::sku) == "bolt", Access::Kind::query_index, 0},
      {"key prefix beats secondary index", col(&Order::sku) == "bolt" && col(&Order::customer) == 3,
       Access::Kind::query_pk, 0},
      {"nothing usable", col(&Order::qty) > 3, Access::Kind::scan, 0},
      {"OR is not split", col(&Order::customer) == 1 || col(&Order::number) == 2,
       Access::Kind::scan, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    auto a = plan(r.filter);
    REQUIRE(a.ok());
    CHECK(a->kind == r.kind);
    CHECK(a->keys.size() == r.keys);
  }
}

TEST_CASE("kv planner: range bounds on the key") {
  auto a = plan(col(&Order::customer) == 7 && col(&Order::number).between(10, 20));
  REQUIRE(a.ok());
  CHECK(a->kind == Access::Kind::query_pk);
  CHECK(a->lower == std::vector<tessera::Value>{std::int64_t{7}, std::int64_t{10}});
  CHECK(a->upper == std::vector<tessera::Value>{std::int64_t{7}, std::int64_t{20}});
}

TEST_CASE("kv planner: without scans a filter no index answers is a typed error naming it") {
  auto a = plan(col(&Order::qty) > 3, /*scan=*/false);
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().kind == tessera::ErrorKind::needs_index);
  CHECK(a.error().message.find("'qty'") != std::string::npos);
}

TEST_CASE("kv planner: one filter shape planned with other values") {
  // The shape is analysed once (as kv::PlanSlot keeps it per statement);
  // what depends on the values (IN-list sizes, NULLs) is planned per call.
  static const tessera::TableSchema schema = tessera::table_schema<Order>();
  const tessera::Condition<Order> c =
      col(&Order::customer) == 1 && col(&Order::number).in({5, 6, 7});
  const tessera::kv::AccessShape shape = tessera::kv::shape_access(schema, &c.expr);
  using V = tessera::Value;
  auto keys = [&](std::vector<V> params) {
    auto a = tessera::kv::plan_access(shape, params, kv_capability());
    REQUIRE(a.ok());
    CHECK(a->kind == Access::Kind::get_by_key);
    return a->keys.size();
  };
  CHECK(keys({V(std::int64_t{1}), V(std::int64_t{5}), V(std::int64_t{6}), V(std::int64_t{7})}) ==
        3);
  // A NULL matches no key: it drops out of the IN list, and an equality with
  // NULL leaves no key at all.
  CHECK(keys({V(std::int64_t{2}), V(std::int64_t{5}), V(), V(std::int64_t{7})}) == 2);
  CHECK(keys({V(), V(std::int64_t{5}), V(std::int64_t{6}), V(std::int64_t{7})}) == 0);

  // A filter no key or index answers: the error names its columns.
  const tessera::Condition<Order> q = col(&Order::qty) > 3;
  const tessera::kv::AccessShape qty = tessera::kv::shape_access(schema, &q.expr);
  auto planned = tessera::kv::plan_access(qty, q.values, kv_capability(/*scan=*/false));
  REQUIRE_FALSE(planned.ok());
  CHECK(planned.error().message.find("'qty'") != std::string::npos);
}

TEST_CASE("kv evaluate: SQL three-valued logic") {
  using tessera::Value;
  using tessera::kv::Truth;
  std::map<std::string, Value> row{
      {"qty", Value(std::int64_t{5})}, {"note", Value()}, {"sku", Value("bolt")}};
  auto reader = [&](const std::string& c) -> const Value& { return row.at(c); };
  auto eval = [&](const tessera::Condition<Order>& c) {
    return tessera::kv::evaluate(c.expr, c.values, reader);
  };
  CHECK(eval(col(&Order::qty) == 5) == Truth::true_);
  CHECK(eval(col(&Order::note) == "x") == Truth::unknown);
  CHECK(eval(col(&Order::note) != "x") == Truth::unknown);
  CHECK(eval(!(col(&Order::note) == "x")) == Truth::unknown);
  CHECK(eval(col(&Order::note) == "x" || col(&Order::qty) == 5) == Truth::true_);
  CHECK(eval(col(&Order::note) == "x" && col(&Order::qty) == 4) == Truth::false_);
  CHECK(eval(col(&Order::note).is_null()) == Truth::true_);
  CHECK(eval(col(&Order::qty).not_in({1, 2})) == Truth::true_);
  CHECK(eval(col(&Order::qty).between(5, 6)) == Truth::true_);
  CHECK(eval(col(&Order::sku).like("b_l%")) == Truth::true_);
  CHECK(eval(col(&Order::sku).like("B%")) == Truth::false_);
}

TEST_CASE("kv evaluate: LIKE and ordering details") {
  CHECK(tessera::kv::like("50% off", "50\\% off"));
  CHECK_FALSE(tessera::kv::like("50x off", "50\\% off"));
  CHECK(tessera::kv::like("h\xC3\xA9llo", "h_llo"));  // '_' is one UTF-8 character
  CHECK(tessera::kv::like("", "%"));
  CHECK(tessera::kv::compare(tessera::Value(), tessera::Value(std::int64_t{-5})) < 0);
  CHECK(tessera::kv::compare(tessera::Value("B"), tessera::Value("a")) < 0);
  CHECK(tessera::kv::compare(tessera::Value(std::int64_t{2}), tessera::Value(1.5)) > 0);
}
