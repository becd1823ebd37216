// W2 under callgrind: instructions per point lookup by primary key, through
// raw sqlite3 (prepared statement reused), Tessera and SQLiteCpp (when
// found), on the same in-memory table. Only the lookup loop is counted:
// collection is switched on around it with the callgrind client requests
// (no-ops when not under valgrind).
//
//   valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=F
//       tessera_bench_point --lib raw|tessera|sqlitecpp [--rows N] [--lookups K]
//
// then instructions per query = the "summary:" of F / K. scripts/bench.sh
// runs it for every library and writes the table; without valgrind the
// program only prints its checksum.
#include <sqlite3.h>

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

namespace bench {
TESSERA_MODEL(Item, "items", (id, tessera::primary_key, tessera::auto_increment), (name),
              (qty, tessera::index), (price), (created_at));
}  // namespace bench

namespace {

using bench::Item;

constexpr const char* kFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = ?1";

// Runs `body` with callgrind collecting (a no-op outside valgrind).
template <class F>
std::uint64_t counted(F&& body) {
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_TOGGLE_COLLECT;
  const std::uint64_t sum = body();
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_STOP_INSTRUMENTATION;
  return sum;
}

std::uint64_t run_raw(const bench::Inputs& in) {
  sqlite3* db = nullptr;
  auto check = [&](int rc) {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
      throw std::runtime_error(sqlite3_errmsg(db));
  };
  check(sqlite3_open(":memory:", &db));
  check(sqlite3_exec(db,
                     "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER "
                     "NOT NULL, price DOUBLE NOT NULL, created_at BIGINT NOT NULL);"
                     "CREATE INDEX items_qty ON items(qty); BEGIN",
                     nullptr, nullptr, nullptr));
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO items(name, qty, price, created_at) VALUES (?,?,?,?)",
                           -1, &ins, nullptr));
  for (const auto& r : in.rows) {
    sqlite3_bind_text(ins, 1, r.name.data(), static_cast<int>(r.name.size()), SQLITE_STATIC);
    sqlite3_bind_int(ins, 2, r.qty);
    sqlite3_bind_double(ins, 3, r.price);
    sqlite3_bind_int64(ins, 4, r.created_at);
    check(sqlite3_step(ins));
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr));
  sqlite3_stmt* st = nullptr;
  check(sqlite3_prepare_v3(db, kFind, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr));
  const std::uint64_t sum = counted([&] {
    std::uint64_t s = 0;
    Item r;
    for (auto k : in.lookup_keys) {
      sqlite3_bind_int64(st, 1, k);
      if (sqlite3_step(st) == SQLITE_ROW) {
        r.id = sqlite3_column_int64(st, 0);
        r.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                      static_cast<std::size_t>(sqlite3_column_bytes(st, 1)));
        r.qty = sqlite3_column_int(st, 2);
        r.price = sqlite3_column_double(st, 3);
        r.created_at = sqlite3_column_int64(st, 4);
        s += bench::row_sum(r);
      }
      sqlite3_reset(st);
    }
    return s;
  });
  sqlite3_finalize(st);
  sqlite3_close(db);
  return sum;
}

std::uint64_t run_tessera(const bench::Inputs& in) {
  tessera::sqlite::register_linked();
  auto db = tessera::Db::open("sqlite::memory:");
  db.push_schema<Item>();
  std::vector<Item> rows = in.rows;
  {
    auto tx = db.transaction();
    tx.insert_many(rows);
    tx.commit();
  }
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

#ifdef TESSERA_BENCH_HAVE_SQLITECPP
std::uint64_t run_sqlitecpp(const bench::Inputs& in) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(
      "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, "
      "price DOUBLE NOT NULL, created_at BIGINT NOT NULL); CREATE INDEX items_qty ON items(qty)");
  {
    SQLite::Transaction tx(db);
    SQLite::Statement ins(db, "INSERT INTO items(name, qty, price, created_at) VALUES (?,?,?,?)");
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
  std::cerr << "usage: " << argv0 << " --lib raw|tessera|sqlitecpp [--rows N] [--lookups K]\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib;
  std::int64_t rows = 100000;
  std::int64_t lookups = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--lib")
      lib = argv[i + 1];
    else if (a == "--rows")
      rows = std::atoll(argv[i + 1]);
    else if (a == "--lookups")
      lookups = std::atoll(argv[i + 1]);
    else
      usage(argv[0]);
  }
  if (argc % 2 == 0 || lib.empty() || rows <= 0 || lookups <= 0) usage(argv[0]);
  bench::Inputs in = bench::make_inputs(rows, 0, 0);
  in.lookup_keys.resize(
      std::min<std::size_t>(in.lookup_keys.size(), static_cast<std::size_t>(lookups)));
  while (in.lookup_keys.size() < static_cast<std::size_t>(lookups))
    in.lookup_keys.push_back(
        in.lookup_keys[in.lookup_keys.size() % static_cast<std::size_t>(rows)]);
  std::uint64_t sum = 0;
  try {
    if (lib == "raw")
      sum = run_raw(in);
    else if (lib == "tessera")
      sum = run_tessera(in);
#ifdef TESSERA_BENCH_HAVE_SQLITECPP
    else if (lib == "sqlitecpp")
      sum = run_sqlitecpp(in);
#endif
    else
      usage(argv[0]);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  std::cout << "lib " << lib << " lookups " << in.lookup_keys.size() << " checksum " << sum << '\n';
  return 0;
}
