// StatementLru, the statement caches' bookkeeping: leases, recency and
// eviction, without a database (the drivers' statement handles are opaque
// to it).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/driver/statement_lru.hpp"

namespace {

struct Entry {
  std::uint64_t key;
  std::string sql;
  bool leased = true;
};

bool any(const Entry&) { return true; }

}  // namespace

TEST_CASE("statement lru: a free entry is leased once, then again after it is given back") {
  tessera::StatementLru<Entry> lru(4);
  CHECK(lru.lease(1, any) == nullptr);
  CHECK_FALSE(lru.contains(1));
  REQUIRE(lru.make_room([](Entry&) { FAIL("nothing to evict"); }));
  Entry& e = lru.add(Entry{1, "SELECT 1"});
  CHECK(e.leased);
  CHECK(lru.contains(1));
  CHECK(lru.lease(1, any) == nullptr);  // leased: a second user gets nothing
  e.leased = false;
  CHECK(lru.lease(1, any) == &e);
  CHECK(e.leased);
  e.leased = false;
  // A hit that the caller's check refuses (a hash collision) is no hit.
  CHECK(lru.lease(1, [](const Entry& x) { return x.sql == "SELECT 2"; }) == nullptr);
  CHECK_FALSE(e.leased);
}

TEST_CASE("statement lru: eviction closes the least recently used free entry") {
  tessera::StatementLru<Entry> lru(3);
  std::vector<std::uint64_t> closed;
  auto close = [&](Entry& x) { closed.push_back(x.key); };
  for (std::uint64_t k = 1; k <= 3; ++k) {
    REQUIRE(lru.make_room(close));
    lru.add(Entry{k, "q" + std::to_string(k)}).leased = false;
  }
  // Use 1 again: 2 becomes the least recent.
  lru.lease(1, any)->leased = false;
  REQUIRE(lru.make_room(close));
  CHECK(closed == std::vector<std::uint64_t>{2});
  CHECK_FALSE(lru.contains(2));
  lru.add(Entry{4, "q4"});  // leased
  // 3 is now the least recent free entry; 4 is leased and never evicted.
  lru.lease(1, any);  // leased too
  REQUIRE(lru.make_room(close));
  CHECK(closed == std::vector<std::uint64_t>{2, 3});
  lru.add(Entry{5, "q5"});  // leased: 1, 4, 5 all leased now
  CHECK_FALSE(lru.make_room(close));
  CHECK(lru.size() == 3);
}

TEST_CASE("statement lru: the most recent entry, once evicted, is not handed out") {
  tessera::StatementLru<Entry> lru(1);
  std::vector<std::uint64_t> closed;
  auto close = [&](Entry& x) { closed.push_back(x.key); };
  REQUIRE(lru.make_room(close));
  lru.add(Entry{7, "a"}).leased = false;
  REQUIRE(lru.make_room(close));  // evicts 7, the most recent
  CHECK(closed == std::vector<std::uint64_t>{7});
  CHECK(lru.lease(7, any) == nullptr);
  Entry& b = lru.add(Entry{8, "b"});
  b.leased = false;
  CHECK(lru.lease(8, any) == &b);
}
