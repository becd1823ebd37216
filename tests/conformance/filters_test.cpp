// Every filter operator, with exact id sets and SQL NULL semantics.
#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::select;
using tessera::Timestamp;

// The ids matching `c`, read three ways that must agree: fetch_all, count
// and exists.
template <class C>
Ids matching(tessera::Db& db, const C& c) {
  auto q = select<Item>().where(c);
  Ids ids = ids_of(db.fetch_all(q));
  CHECK(db.count(q) == static_cast<std::int64_t>(ids.size()));
  CHECK(db.exists(q) == !ids.empty());
  return ids;
}

TEST_CASE("conformance: comparison operators") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto qty = col(&Item::qty);
  CHECK(matching(db, qty == 30) == Ids{3});
  CHECK(matching(db, qty != 30) == Ids{1, 2, 4, 5, 6, 7, 8});
  CHECK(matching(db, qty < 10) == Ids{6, 7, 8});
  CHECK(matching(db, qty <= 10) == Ids{1, 6, 7, 8});
  CHECK(matching(db, qty > 30) == Ids{4, 5});
  CHECK(matching(db, qty >= 30) == Ids{3, 4, 5});
  CHECK(matching(db, qty == 31) == Ids{});
  // Integer columns accept other integer types.
  CHECK(matching(db, qty == std::int64_t{-5}) == Ids{7});
  CHECK(matching(db, qty == std::int8_t{7}) == Ids{8});

  const auto price = col(&Item::price);
  CHECK(matching(db, price < 1.0) == Ids{3, 5, 6});
  CHECK(matching(db, price == 0.25) == Ids{3});
  CHECK(matching(db, price >= 3) == Ids{4, 7, 8});

  CHECK(matching(db, col(&Item::color) == Color::red) == Ids{1, 4, 7});
  CHECK(matching(db, col(&Item::color) != Color::blue) == Ids{1, 2, 4, 5, 7, 8});
  CHECK(matching(db, col(&Item::made) < Timestamp::from_civil(1970, 1, 1)) == Ids{1, 2, 3, 4});
  CHECK(matching(db, col(&Item::made) == Timestamp::from_civil(1970, 1, 1, 0, 0, 0, 7)) == Ids{5});
  CHECK(matching(db, col(&Item::made) == Timestamp::from_civil(1970, 1, 1, 0, 0, 0, 8)) == Ids{});
}

TEST_CASE("conformance: text comparison is by bytes and case-sensitive") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto name = col(&Item::name);
  CHECK(matching(db, name == "apple") == Ids{1});
  CHECK(matching(db, name == "APPLE") == Ids{});
  CHECK(matching(db, name == std::string("Apple")) == Ids{2});
  CHECK(matching(db, name == std::string_view("B")) == Ids{8});
  // "B" < "a": upper case sorts before lower case in byte order.
  CHECK(matching(db, name < "a") == Ids{2, 4, 5, 8});
  CHECK(matching(db, name > "B") == Ids{1, 3, 6, 7});
  CHECK(matching(db, name >= "apple") == Ids{1, 3, 7});
}

TEST_CASE("conformance: like is case-sensitive with % _ and escapes") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto name = col(&Item::name);
  CHECK(matching(db, name.like("a%")) == Ids{1, 6, 7});
  CHECK(matching(db, name.like("A%")) == Ids{2});
  CHECK(matching(db, name.like("%an%")) == Ids{3});
  CHECK(matching(db, name.like("_pple")) == Ids{1, 2});
  CHECK(matching(db, name.like("a_b")) == Ids{6, 7});
  CHECK(matching(db, name.like("a\\_b")) == Ids{6});
  CHECK(matching(db, name.like("100%")) == Ids{4, 5});
  CHECK(matching(db, name.like("100\\%")) == Ids{4});
  CHECK(matching(db, name.like("%\\%")) == Ids{4});
  CHECK(matching(db, name.like("apple")) == Ids{1});
  CHECK(matching(db, name.like("%")) == Ids{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(matching(db, name.like("b")) == Ids{});
  CHECK(matching(db, col(&Item::note).like("%e%")) == Ids{1, 2, 6});
}

TEST_CASE("conformance: in and not_in, including empty lists") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto qty = col(&Item::qty);
  CHECK(matching(db, qty.in({10, 30, 99})) == Ids{1, 3});
  CHECK(matching(db, qty.in(std::vector<int>{50})) == Ids{5});
  CHECK(matching(db, qty.not_in({10, 30})) == Ids{2, 4, 5, 6, 7, 8});
  CHECK(matching(db, qty.in(std::vector<int>{})) == Ids{});
  CHECK(matching(db, qty.not_in(std::vector<int>{})) == Ids{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(matching(db, col(&Item::name).in({"B", "b", "banana"})) == Ids{3, 8});
  CHECK(matching(db, col(&Item::color).in({Color::blue, Color::green})) == Ids{2, 3, 5, 6, 8});
  // NULL is neither in nor not in a list.
  const auto tier = col(&Item::tier);
  CHECK(matching(db, tier.in({1, 3})) == Ids{1, 3});
  CHECK(matching(db, tier.not_in({1, 3})) == Ids{5, 6, 8});
  // An empty not_in matches every row, NULLs included.
  CHECK(matching(db, tier.not_in(std::vector<int>{})) == Ids{1, 2, 3, 4, 5, 6, 7, 8});
  // A long list.
  std::vector<std::int64_t> many;
  for (std::int64_t i = 0; i < 500; i += 2) many.push_back(i);
  CHECK(matching(db, qty.in(many)) == Ids{1, 2, 3, 4, 5, 6});
}

TEST_CASE("conformance: is_null, is_not_null and NULL semantics") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto tier = col(&Item::tier);
  const auto note = col(&Item::note);
  CHECK(matching(db, tier.is_null()) == Ids{2, 4, 7});
  CHECK(matching(db, tier.is_not_null()) == Ids{1, 3, 5, 6, 8});
  CHECK(matching(db, note.is_null()) == Ids{3, 4});
  // A NULL column never matches == or != (nor any comparison).
  CHECK(matching(db, tier == 3) == Ids{3});
  CHECK(matching(db, tier != 3) == Ids{1, 5, 6, 8});
  CHECK(matching(db, tier < 100) == Ids{1, 3, 5, 6, 8});
  CHECK(matching(db, note != "x") == Ids{1, 2, 6, 7, 8});
  // NOT of an unknown comparison is still unknown.
  CHECK(matching(db, !(tier == 3)) == Ids{1, 5, 6, 8});
  CHECK(matching(db, !(tier == 3) || tier.is_null()) == Ids{1, 2, 4, 5, 6, 7, 8});
  CHECK(matching(db, !tier.is_null()) == Ids{1, 3, 5, 6, 8});
}

TEST_CASE("conformance: between is inclusive") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  CHECK(matching(db, col(&Item::qty).between(0, 30)) == Ids{1, 2, 3, 6, 8});
  CHECK(matching(db, col(&Item::qty).between(31, 39)) == Ids{});
  CHECK(matching(db, col(&Item::price).between(-1, 1.5)) == Ids{1, 3, 5, 6});
  CHECK(matching(db, col(&Item::name).between("a", "az")) == Ids{1, 6, 7});
  CHECK(matching(db, col(&Item::tier).between(1, 5)) == Ids{1, 3, 5});
  CHECK(matching(db, col(&Item::made)
                         .between(Timestamp::from_civil(1966, 1, 1),
                                  Timestamp::from_civil(1970, 1, 1, 0, 0, 0, 7))) == Ids{3, 4, 5});
}

TEST_CASE("conformance: and, or, not and nested groups") {
  TestDb t;
  t.create<Item>();
  insert_sample_items(*t);
  auto& db = *t;
  const auto qty = col(&Item::qty);
  const auto tier = col(&Item::tier);
  const auto note = col(&Item::note);
  const auto name = col(&Item::name);
  CHECK(matching(db, qty > 5 && qty < 40) == Ids{1, 2, 3, 8});
  CHECK(matching(db, qty < 0 || qty > 45) == Ids{5, 7});
  CHECK(matching(db, !(qty > 10)) == Ids{1, 6, 7, 8});
  CHECK(matching(db, (qty < 15 || qty > 45) && (tier.is_null() || note == "x")) == Ids{5, 7});
  CHECK(matching(db, qty < 15 || (qty > 45 && tier.is_null())) == Ids{1, 6, 7, 8});
  CHECK(matching(db, !((qty < 15 || qty > 45) && name.like("a%"))) == Ids{2, 3, 4, 5, 8});
  CHECK(matching(db, (name == "apple" || name == "B") &&
                         (qty == 7 || (tier == 1 && note == "red"))) == Ids{1, 8});
  // A where() called twice ANDs the conditions.
  CHECK(ids_of(db.fetch_all(select<Item>().where(qty > 0).where(qty < 30))) == Ids{1, 2, 8});
  // Parameters keep their order across groups.
  CHECK(matching(db, (qty == 10 && name == "apple") || (qty == 20 && name == "Apple") ||
                         (qty == 30 && name == "nope")) == Ids{1, 2});
}

}  // namespace
}  // namespace conformance
