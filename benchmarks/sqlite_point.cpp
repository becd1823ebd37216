// Instructions per operation under callgrind, raw sqlite3 (prepared
// statements reused) against Tessera (and SQLiteCpp for W2), on the same
// in-memory table. Only the measured loop is counted: collection is switched
// on around it with the callgrind client requests (no-ops outside valgrind).
//
//   valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=F
//       tessera_bench_point --lib raw|raw_nomutex|tessera|sqlitecpp [--workload W]
//                           [--rows N] [--lookups K] [--file PATH]
//
// W: find (W2, the default: K lookups by key; Tessera's find() returns a
// fresh std::optional each time), find_into (the same, Tessera's find_into()
// into one reused struct, as the raw and SQLiteCpp loops do in both), insert (W1: N rows in one
// transaction), scan (W3a: all rows into a vector), update (W4: K updates
// by key in one transaction: Tessera's update(row, only(...)); update_dsl:
// Tessera's execute(update<T>().set(...).where(...)); update_prepared: that
// statement with placeholders, prepared once on the transaction and run with
// execute(qty, id)); range (W5: K/10 queries
// qty BETWEEN ? AND ? ORDER BY price DESC LIMIT 20). Instructions per operation = the "totals:"
// of F / the operation count the program prints. scripts/bench.sh runs it for every library and
// writes the table; without valgrind the program only prints its checksum.
// --file PATH: a new database file at PATH (WAL, synchronous=NORMAL, as the
// wall-clock benchmark's file backend) instead of memory; raw and Tessera
// only. The file and its WAL are removed first.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <tessera/sqlite.hpp>
#include <tessera/tessera.hpp>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_TOGGLE_COLLECT
#endif

#ifdef TESSERA_BENCH_HAVE_SQLITECPP
#include <SQLiteCpp/SQLiteCpp.h>
#endif

#include "bench_common.hpp"
#include "bench_tessera.hpp"

namespace {

using bench::Item;

constexpr const char* kCreate =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, "
    "price DOUBLE NOT NULL, created_at BIGINT NOT NULL); CREATE INDEX items_qty ON items(qty)";
constexpr const char* kInsert = "INSERT INTO items(name, qty, price, created_at) VALUES (?,?,?,?)";
constexpr const char* kFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = ?1";
constexpr const char* kScan = "SELECT id, name, qty, price, created_at FROM items";
constexpr const char* kUpdate = "UPDATE items SET qty = ?1 WHERE id = ?2";
constexpr const char* kRange =
    "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN ?1 AND ?2 "
    "ORDER BY price DESC LIMIT ?3";

enum class Workload { find, find_into, insert, scan, update, update_dsl, update_prepared, range };

// Wall-clock seconds of the measured loop (printed; meaningful outside
// valgrind only, and only as an A/B between builds on a quiet machine).
double g_seconds = 0;

// Runs `body` with callgrind collecting (a no-op outside valgrind).
template <class F>
std::uint64_t counted(F&& body) {
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_TOGGLE_COLLECT;
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t sum = body();
  g_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_STOP_INSTRUMENTATION;
  return sum;
}

// ------------------------------------------------------------------ raw

// `nomutex`: open with SQLITE_OPEN_NOMUTEX, as Tessera's driver opens its
// connections (one thread at a time each), sparing the handle's mutex on
// every API call; the default (serialized) is the baseline of the issue's
// reference counts and of the wall-clock benchmark.
// The database file of --file; empty: in memory.
std::string g_file;

struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(bool nomutex) {
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | (nomutex ? SQLITE_OPEN_NOMUTEX : 0);
    check(sqlite3_open_v2(g_file.empty() ? ":memory:" : g_file.c_str(), &db, flags, nullptr));
    if (!g_file.empty()) exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    exec(kCreate);
  }
  ~RawDb() { sqlite3_close(db); }
  void check(int rc) const {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
      throw std::runtime_error(sqlite3_errmsg(db));
  }
  void exec(const char* sql) const { check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr)); }
  sqlite3_stmt* prepare(const char* sql) const {
    sqlite3_stmt* st = nullptr;
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr));
    return st;
  }
  std::uint64_t insert(std::vector<Item>& rows) const {
    std::uint64_t sum = 0;
    exec("BEGIN");
    sqlite3_stmt* ins = prepare(kInsert);
    for (auto& r : rows) {
      sqlite3_bind_text(ins, 1, r.name.data(), static_cast<int>(r.name.size()), SQLITE_STATIC);
      sqlite3_bind_int(ins, 2, r.qty);
      sqlite3_bind_double(ins, 3, r.price);
      sqlite3_bind_int64(ins, 4, r.created_at);
      check(sqlite3_step(ins));
      sqlite3_reset(ins);
      r.id = sqlite3_last_insert_rowid(db);
      sum += bench::row_sum(r);
    }
    sqlite3_finalize(ins);
    exec("COMMIT");
    return sum;
  }
};

void read_item(sqlite3_stmt* st, Item& r) {
  r.id = sqlite3_column_int64(st, 0);
  r.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                static_cast<std::size_t>(sqlite3_column_bytes(st, 1)));
  r.qty = sqlite3_column_int(st, 2);
  r.price = sqlite3_column_double(st, 3);
  r.created_at = sqlite3_column_int64(st, 4);
}

std::uint64_t run_raw(Workload w, const bench::Inputs& in, bool nomutex) {
  RawDb d(nomutex);
  std::vector<Item> rows = in.rows;
  if (w == Workload::insert) return counted([&] { return d.insert(rows); });
  d.insert(rows);
  if (w == Workload::find || w == Workload::find_into) {
    sqlite3_stmt* st = d.prepare(kFind);
    const std::uint64_t sum = counted([&] {
      std::uint64_t s = 0;
      Item r;
      for (auto k : in.lookup_keys) {
        sqlite3_bind_int64(st, 1, k);
        if (sqlite3_step(st) == SQLITE_ROW) {
          read_item(st, r);
          s += bench::row_sum(r);
        }
        sqlite3_reset(st);
      }
      return s;
    });
    sqlite3_finalize(st);
    return sum;
  }
  if (w == Workload::scan) {
    sqlite3_stmt* st = d.prepare(kScan);
    const std::uint64_t sum = counted([&] {
      std::vector<Item> out;
      while (sqlite3_step(st) == SQLITE_ROW) read_item(st, out.emplace_back());
      sqlite3_reset(st);
      std::uint64_t s = 0;
      for (const auto& r : out) s += bench::row_sum(r);
      return s;
    });
    sqlite3_finalize(st);
    return sum;
  }
  if (w == Workload::range) {
    sqlite3_stmt* st = d.prepare(kRange);
    const std::uint64_t sum = counted([&] {
      std::uint64_t s = 0;
      std::vector<Item> page;
      for (auto [lo, hi] : in.ranges) {
        page.clear();
        sqlite3_bind_int(st, 1, lo);
        sqlite3_bind_int(st, 2, hi);
        sqlite3_bind_int64(st, 3, bench::kRangeLimit);
        while (sqlite3_step(st) == SQLITE_ROW) read_item(st, page.emplace_back());
        sqlite3_reset(st);
        for (const auto& r : page) s += bench::row_sum(r);
      }
      return s;
    });
    sqlite3_finalize(st);
    return sum;
  }
  // update, update_dsl and update_prepared: the same statement.
  sqlite3_stmt* st = d.prepare(kUpdate);
  const std::uint64_t sum = counted([&] {
    std::uint64_t changed = 0;
    d.exec("BEGIN");
    for (auto [id, qty] : in.updates) {
      sqlite3_bind_int(st, 1, qty);
      sqlite3_bind_int64(st, 2, id);
      d.check(sqlite3_step(st));
      changed += static_cast<std::uint64_t>(sqlite3_changes(d.db));
      sqlite3_reset(st);
    }
    d.exec("COMMIT");
    return changed;
  });
  sqlite3_finalize(st);
  return sum;
}

// ------------------------------------------------------------------ Tessera

std::uint64_t run_tessera(Workload w, const bench::Inputs& in) {
  using tessera::col;
  tessera::sqlite::register_linked();
  auto db = tessera::Db::open(g_file.empty() ? std::string("sqlite::memory:")
                                             : "sqlite://" + g_file + "?synchronous=normal");
  db.push_schema<Item>();
  std::vector<Item> rows = in.rows;
  auto insert = [&] {
    auto tx = db.transaction();
    tx.insert_many(rows);
    tx.commit();
    std::uint64_t s = 0;
    for (const auto& r : rows) s += bench::row_sum(r);
    return s;
  };
  if (w == Workload::insert) return counted(insert);
  insert();
  if (w == Workload::find) {
    // One lookup outside the count: the plan and the prepared statement are
    // cached per shape, as in a long-running service.
    (void)db.find<Item>(std::int64_t{1});
    return counted([&] {
      std::uint64_t s = 0;
      for (auto k : in.lookup_keys)
        if (auto r = db.find<Item>(k)) s += bench::row_sum(*r);
      return s;
    });
  }
  if (w == Workload::find_into) {
    Item r;
    (void)db.find_into(r, std::int64_t{1});
    return counted([&] {
      std::uint64_t s = 0;
      for (auto k : in.lookup_keys)
        if (db.find_into(r, k)) s += bench::row_sum(r);
      return s;
    });
  }
  if (w == Workload::scan) {
    (void)db.fetch_all(tessera::select<Item>().limit(1));
    return counted([&] {
      const auto out = db.fetch_all(tessera::select<Item>());
      std::uint64_t s = 0;
      for (const auto& r : out) s += bench::row_sum(r);
      return s;
    });
  }
  if (w == Workload::range) {
    (void)bench::tessera_run::range(db, bench::Inputs{});
    return counted([&] { return bench::tessera_run::range(db, in); });
  }
  if (w == Workload::update) {
    (void)db.update(Item{.id = -1}, tessera::only(&Item::qty));
    return counted([&] { return bench::tessera_run::update_each(db, in); });
  }
  if (w == Workload::update_prepared) {
    // Prepared inside the counted transaction, as a service would per
    // transaction (its plan is cached by shape, as update_dsl's is).
    using tessera::param;
    const auto shape = [] {
      return tessera::update<Item>()
          .set(&Item::qty, param<std::int32_t>())
          .where(col(&Item::id) == param<std::int64_t>());
    };
    (void)db.prepare<std::int32_t, std::int64_t>(shape()).execute(0, std::int64_t{-1});
    return counted([&] {
      std::uint64_t changed = 0;
      auto tx = db.transaction();
      const auto set_qty = tx.prepare<std::int32_t, std::int64_t>(shape());
      for (auto [id, qty] : in.updates) changed += set_qty.execute(qty, id);
      tx.commit();
      return changed;
    });
  }
  (void)db.execute(tessera::update<Item>().set(&Item::qty, 0).where(col(&Item::id) == -1));
  return counted([&] {
    std::uint64_t changed = 0;
    auto tx = db.transaction();
    for (auto [id, qty] : in.updates)
      changed +=
          tx.execute(tessera::update<Item>().set(&Item::qty, qty).where(col(&Item::id) == id));
    tx.commit();
    return changed;
  });
}

// ------------------------------------------------------------------ SQLiteCpp

#ifdef TESSERA_BENCH_HAVE_SQLITECPP
std::uint64_t run_sqlitecpp(Workload w, const bench::Inputs& in) {
  if (w != Workload::find && w != Workload::find_into)
    throw std::runtime_error("SQLiteCpp: only --workload find or find_into");
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(kCreate);
  {
    SQLite::Transaction tx(db);
    SQLite::Statement ins(db, kInsert);
    for (const auto& r : in.rows) {
      ins.bindNoCopy(1, r.name);
      ins.bind(2, r.qty);
      ins.bind(3, r.price);
      ins.bind(4, static_cast<std::int64_t>(r.created_at));
      ins.exec();
      ins.reset();
    }
    tx.commit();
  }
  SQLite::Statement q(db, kFind);
  return counted([&] {
    std::uint64_t s = 0;
    Item r;
    for (auto k : in.lookup_keys) {
      q.bind(1, static_cast<std::int64_t>(k));
      if (q.executeStep()) {
        r.id = q.getColumn(0).getInt64();
        const SQLite::Column name = q.getColumn(1);
        r.name.assign(name.getText(), static_cast<std::size_t>(name.getBytes()));
        r.qty = q.getColumn(2).getInt();
        r.price = q.getColumn(3).getDouble();
        r.created_at = q.getColumn(4).getInt64();
        s += bench::row_sum(r);
      }
      q.reset();
    }
    return s;
  });
}
#endif

[[noreturn]] void usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " --lib raw|raw_nomutex|tessera|sqlitecpp [--workload "
               "find|find_into|insert|scan|update|update_dsl|update_prepared|range] "
               "[--rows N]"
               " [--lookups K] [--file PATH]\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib;
  std::string workload = "find";
  std::int64_t rows = 100000;
  std::int64_t lookups = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--lib")
      lib = argv[i + 1];
    else if (a == "--workload")
      workload = argv[i + 1];
    else if (a == "--rows")
      rows = std::atoll(argv[i + 1]);
    else if (a == "--lookups")
      lookups = std::atoll(argv[i + 1]);
    else if (a == "--file")
      g_file = argv[i + 1];
    else
      usage(argv[0]);
  }
  if (argc % 2 == 0 || lib.empty() || rows <= 0 || lookups <= 0) usage(argv[0]);
  Workload w;
  if (workload == "find")
    w = Workload::find;
  else if (workload == "find_into")
    w = Workload::find_into;
  else if (workload == "insert")
    w = Workload::insert;
  else if (workload == "scan")
    w = Workload::scan;
  else if (workload == "update")
    w = Workload::update;
  else if (workload == "update_dsl")
    w = Workload::update_dsl;
  else if (workload == "update_prepared")
    w = Workload::update_prepared;
  else if (workload == "range")
    w = Workload::range;
  else
    usage(argv[0]);
  const auto k = static_cast<std::size_t>(lookups);
  bench::Inputs in = bench::make_inputs(rows, k, k / 10);
  // As many lookup keys as asked for (make_inputs draws N).
  while (in.lookup_keys.size() < k)
    in.lookup_keys.push_back(
        in.lookup_keys[in.lookup_keys.size() % static_cast<std::size_t>(rows)]);
  in.lookup_keys.resize(k);
  std::uint64_t ops = 0;
  switch (w) {
    case Workload::find:
    case Workload::find_into: ops = k; break;
    case Workload::insert:
    case Workload::scan: ops = static_cast<std::uint64_t>(rows); break;
    case Workload::update:
    case Workload::update_dsl:
    case Workload::update_prepared: ops = in.updates.size(); break;
    case Workload::range: ops = in.ranges.size(); break;
  }
  if (!g_file.empty())
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((g_file + suffix).c_str());
  std::uint64_t sum = 0;
  try {
    if (lib == "raw" || lib == "raw_nomutex")
      sum = run_raw(w, in, lib == "raw_nomutex");
    else if (lib == "tessera")
      sum = run_tessera(w, in);
#ifdef TESSERA_BENCH_HAVE_SQLITECPP
    else if (lib == "sqlitecpp")
      sum = run_sqlitecpp(w, in);
#endif
    else
      usage(argv[0]);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  std::cout << "lib " << lib << " workload " << workload << " operations " << ops << " checksum "
            << sum << " seconds " << g_seconds << '\n';
  return 0;
}
