// The pool under concurrent use, and its acquire timeout.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::select;

TEST_CASE("conformance: the pool serves 8 threads x 200 mixed operations") {
  TestDb t([](tessera::Options& o) {
    o.max_connections = 4;
    o.acquire_timeout = std::chrono::milliseconds(30000);
  });
  t.create<Tally>();
  if (!require_capability(t.cap().concurrent_connections,
                          "driver declares no concurrent connections"))
    return;
  auto& db = *t;
  constexpr int kThreads = 8;
  constexpr int kOps = 200;
  constexpr int kMaxAttempts = 5;
  std::atomic<int> failures{0};
  std::atomic<int> conflicts{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  auto fail = [&](std::string what) {
    ++failures;
    std::lock_guard lock(errors_mutex);
    if (errors.size() < 10) errors.push_back(std::move(what));
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      tessera::Db mine = db;  // copies share the pool
      std::int64_t last_id = 0;
      std::int64_t inserted = 0;
      for (int i = 0; i < kOps; ++i) {
        // A deadlock or serialization failure is a legitimate outcome of
        // concurrent writers on a server (InnoDB locks the index ranges an
        // UPDATE scans); the contract is that it surfaces as ConflictError
        // and that retrying the transaction succeeds, as a user would.
        for (int attempt = 1;; ++attempt) {
          try {
            switch (i % 5) {
              case 0: {  // insert
                last_id = mine.insert(Tally{0, w, i, 1}).id;
                ++inserted;
                break;
              }
              case 1: {  // find what was just inserted
                auto r = mine.find<Tally>(last_id);
                if (!r || r->worker != w || r->seq != i - 1) fail("find of own row");
                break;
              }
              case 2: {  // update it
                const auto n =
                    mine.execute(tessera::update<Tally>()
                                     .set(&Tally::value, 10)
                                     .where(col(&Tally::worker) == w && col(&Tally::seq) == i - 2));
                if (n != 1) fail("update affected " + std::to_string(n));
                break;
              }
              case 3: {  // count own rows
                const auto n = mine.count(select<Tally>().where(col(&Tally::worker) == w));
                if (n != inserted)
                  fail("count " + std::to_string(n) + " != " + std::to_string(inserted));
                break;
              }
              case 4: {  // a small transaction
                auto tx = mine.transaction();
                const auto id = tx.insert(Tally{0, w, i, 5}).id;
                if (!tx.find<Tally>(id)) fail("transaction does not see its insert");
                if (i % 10 == 4) {
                  tx.commit();
                  ++inserted;
                }
                break;
              }
            }
            break;
          } catch (const tessera::ConflictError& e) {
            ++conflicts;
            if (attempt == kMaxAttempts) {
              fail(std::string("op ") + std::to_string(i % 5) + " after " +
                   std::to_string(attempt) + " attempts: " + e.what());
              break;
            }
          } catch (const std::exception& e) {
            fail(std::string("op ") + std::to_string(i % 5) + ": " + e.what());
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) MESSAGE(e);
  if (conflicts.load() > 0) MESSAGE("retried " << conflicts.load() << " conflicts");
  CHECK(failures.load() == 0);

  // Per thread: 40 inserts of value 1 (all updated to 10), 20 committed of 5.
  CHECK(db.count(select<Tally>()) == kThreads * 60);
  CHECK(db.count(select<Tally>().where(col(&Tally::value) == 10)) == kThreads * 40);
  CHECK(db.count(select<Tally>().where(col(&Tally::value) == 5)) == kThreads * 20);
  CHECK(db.count(select<Tally>().where(col(&Tally::value) == 1)) == 0);
  for (int w = 0; w < kThreads; ++w)
    CHECK(db.count(select<Tally>().where(col(&Tally::worker) == w)) == 60);
}

TEST_CASE("conformance: acquiring from an exhausted pool times out with pool_timeout") {
  TestDb t([](tessera::Options& o) {
    o.max_connections = 1;
    o.acquire_timeout = std::chrono::milliseconds(100);
  });
  t.create<Item>();
  auto& db = *t;
  {
    auto tx = db.transaction();  // holds the only connection
    tx.insert(Item{.id = 1, .name = "held"});
    std::optional<tessera::Error> err;
    std::chrono::milliseconds waited{};
    std::thread other([&] {
      const auto start = std::chrono::steady_clock::now();
      err = catch_error<tessera::TimeoutError>([&] { db.count(select<Item>()); });
      waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    });
    other.join();
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::pool_timeout);
    CHECK(waited.count() >= 90);
    CHECK(waited.count() < 5000);
    tx.commit();
  }
  // Released: the pool works again.
  CHECK(db.count(select<Item>()) == 1);
}

}  // namespace
}  // namespace conformance
