// SQLite benchmark: the same workloads, on the same data, through the raw
// sqlite3 C API (prepared statements reused), Tessera (the linked sqlite
// driver) and SQLiteCpp (when found at configure time), on an in-memory
// database and on a file database (WAL, synchronous=NORMAL).
//
//   tessera_bench_sqlite [--n N] [--reps R] [--out FILE.md] [--dir DIR]
//
// Prints one markdown table per backend (ops/s, median of R repetitions,
// ratio to raw sqlite3) and the per-workload checksums; exits 2 when the
// checksums differ between libraries or repetitions. See docs/performance.md.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <tessera/sqlite.hpp>
#include <tessera/tessera.hpp>

#ifdef TESSERA_BENCH_HAVE_SQLITECPP
#include <SQLiteCpp/SQLiteCpp.h>
#endif

#include "bench_common.hpp"

namespace bench {
TESSERA_MODEL(Item, "items", (id, tessera::primary_key, tessera::auto_increment), (name),
              (qty, tessera::index), (price), (created_at));
}  // namespace bench

namespace {

using bench::Inputs;
using bench::Item;

enum class Backend { memory, file };

// One library under test. Each repetition opens a fresh database, then runs
// the workloads in order (W1 fills the table the others read).
class Library {
 public:
  virtual ~Library() = default;
  virtual std::string name() const = 0;
  virtual void open(Backend b, const std::string& path) = 0;
  virtual void close() = 0;
  // Each returns the workload's checksum.
  virtual std::uint64_t w1_insert(std::vector<Item>& rows) = 0;
  virtual std::uint64_t w2_find(const std::vector<std::int64_t>& keys) = 0;
  virtual std::uint64_t w3_vector() = 0;
  virtual std::uint64_t w3_cursor() = 0;
  virtual std::uint64_t w4_update(const Inputs& in) = 0;
  // Untimed: what W4 left in the table (sum of qty).
  virtual std::uint64_t qty_total() = 0;
  virtual std::uint64_t w5_range(const Inputs& in) = 0;
};

// ------------------------------------------------------------------ raw

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "?"));
}

const char* kCreateTable =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INTEGER NOT NULL, "
    "price DOUBLE NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE INDEX items_qty ON items(qty);";
const char* kInsert = "INSERT INTO items(name, qty, price, created_at) VALUES (?1, ?2, ?3, ?4)";
const char* kFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = ?1";
const char* kScan = "SELECT id, name, qty, price, created_at FROM items";
const char* kUpdate = "UPDATE items SET qty = ?1 WHERE id = ?2";
const char* kRange =
    "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN ?1 AND ?2 "
    "ORDER BY price DESC LIMIT ?3";

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr), db, sql);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  bool step() {
    const int rc = sqlite3_step(s_);
    check(rc, db_, "step");
    return rc == SQLITE_ROW;
  }
  void reset() { sqlite3_reset(s_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

void read_item(sqlite3_stmt* s, Item& r) {
  r.id = sqlite3_column_int64(s, 0);
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
  r.name.assign(text, static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
  r.qty = sqlite3_column_int(s, 2);
  r.price = sqlite3_column_double(s, 3);
  r.created_at = sqlite3_column_int64(s, 4);
}

class Raw final : public Library {
 public:
  std::string name() const override { return "raw sqlite3"; }
  void open(Backend b, const std::string& path) override {
    check(sqlite3_open_v2(b == Backend::memory ? ":memory:" : path.c_str(), &db_,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
          db_, "open");
    if (b == Backend::file) exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    exec(kCreateTable);
  }
  void close() override {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  void exec(const char* sql) { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), db_, sql); }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    exec("BEGIN");
    Stmt st(db_, kInsert);
    for (auto& r : rows) {
      sqlite3_bind_text(st.get(), 1, r.name.data(), static_cast<int>(r.name.size()), SQLITE_STATIC);
      sqlite3_bind_int(st.get(), 2, r.qty);
      sqlite3_bind_double(st.get(), 3, r.price);
      sqlite3_bind_int64(st.get(), 4, r.created_at);
      st.step();
      st.reset();
      r.id = sqlite3_last_insert_rowid(db_);
      sum += bench::row_sum(r);
    }
    exec("COMMIT");
    return sum;
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    Stmt st(db_, kFind);
    Item r;
    for (auto k : keys) {
      sqlite3_bind_int64(st.get(), 1, k);
      if (st.step()) {
        read_item(st.get(), r);
        sum += bench::row_sum(r);
      }
      st.reset();
    }
    return sum;
  }
  std::uint64_t w3_vector() override {
    std::vector<Item> out;
    Stmt st(db_, kScan);
    while (st.step()) read_item(st.get(), out.emplace_back());
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    std::uint64_t sum = 0;
    Stmt st(db_, kScan);
    Item r;
    while (st.step()) {
      read_item(st.get(), r);
      sum += bench::row_sum(r);
    }
    return sum;
  }
  std::uint64_t w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    exec("BEGIN");
    Stmt st(db_, kUpdate);
    for (auto [id, qty] : in.updates) {
      sqlite3_bind_int(st.get(), 1, qty);
      sqlite3_bind_int64(st.get(), 2, id);
      st.step();
      changed += static_cast<std::uint64_t>(sqlite3_changes(db_));
      st.reset();
    }
    exec("COMMIT");
    return changed;
  }
  std::uint64_t qty_total() override {
    Stmt st(db_, "SELECT sum(qty) FROM items");
    st.step();
    return static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 0));
  }
  std::uint64_t w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    Stmt st(db_, kRange);
    std::vector<Item> page;
    for (auto [lo, hi] : in.ranges) {
      page.clear();
      sqlite3_bind_int(st.get(), 1, lo);
      sqlite3_bind_int(st.get(), 2, hi);
      sqlite3_bind_int64(st.get(), 3, bench::kRangeLimit);
      while (st.step()) read_item(st.get(), page.emplace_back());
      st.reset();
      for (const auto& r : page) sum += bench::row_sum(r);
    }
    return sum;
  }

 private:
  sqlite3* db_ = nullptr;
};

// ------------------------------------------------------------------ Tessera

class Tessera final : public Library {
 public:
  std::string name() const override { return "tessera"; }
  void open(Backend b, const std::string& path) override {
    db_.emplace(tessera::Db::open(b == Backend::memory
                                      ? std::string("sqlite::memory:")
                                      : "sqlite://" + path + "?synchronous=NORMAL"));
    db_->push_schema<Item>();
  }
  void close() override { db_.reset(); }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    auto tx = db_->transaction();
    tx.insert_many(rows);
    tx.commit();
    std::uint64_t sum = 0;
    for (const auto& r : rows) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    for (auto k : keys)
      if (auto r = db_->find<Item>(k)) sum += bench::row_sum(*r);
    return sum;
  }
  std::uint64_t w3_vector() override {
    const auto out = db_->fetch_all(tessera::select<Item>());
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    std::uint64_t sum = 0;
    for (const Item& r : db_->cursor(tessera::select<Item>())) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w4_update(const Inputs& in) override {
    using tessera::col;
    std::uint64_t changed = 0;
    auto tx = db_->transaction();
    for (auto [id, qty] : in.updates)
      changed +=
          tx.execute(tessera::update<Item>().set(&Item::qty, qty).where(col(&Item::id) == id));
    tx.commit();
    return changed;
  }
  std::uint64_t qty_total() override {
    auto r = db_->query<std::tuple<std::int64_t>>("SELECT sum(qty) FROM items");
    return static_cast<std::uint64_t>(std::get<0>(r.at(0)));
  }
  std::uint64_t w5_range(const Inputs& in) override {
    using tessera::col;
    std::uint64_t sum = 0;
    for (auto [lo, hi] : in.ranges) {
      const auto page = db_->fetch_all(tessera::select<Item>()
                                           .where(col(&Item::qty).between(lo, hi))
                                           .order_by(col(&Item::price).desc())
                                           .limit(bench::kRangeLimit));
      for (const auto& r : page) sum += bench::row_sum(r);
    }
    return sum;
  }

 private:
  std::optional<tessera::Db> db_;
};

// ------------------------------------------------------------------ SQLiteCpp

#ifdef TESSERA_BENCH_HAVE_SQLITECPP
void read_item(SQLite::Statement& q, Item& r) {
  r.id = q.getColumn(0).getInt64();
  const SQLite::Column name = q.getColumn(1);
  r.name.assign(name.getText(), static_cast<std::size_t>(name.getBytes()));
  r.qty = q.getColumn(2).getInt();
  r.price = q.getColumn(3).getDouble();
  r.created_at = q.getColumn(4).getInt64();
}

class SqliteCpp final : public Library {
 public:
  std::string name() const override { return "SQLiteCpp"; }
  void open(Backend b, const std::string& path) override {
    db_ = std::make_unique<SQLite::Database>(b == Backend::memory ? ":memory:" : path,
                                             SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    if (b == Backend::file) db_->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    db_->exec(kCreateTable);
  }
  void close() override { db_.reset(); }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_, kInsert);
    for (auto& r : rows) {
      q.bindNoCopy(1, r.name);
      q.bind(2, r.qty);
      q.bind(3, r.price);
      q.bind(4, static_cast<std::int64_t>(r.created_at));
      q.exec();
      q.reset();
      r.id = db_->getLastInsertRowid();
      sum += bench::row_sum(r);
    }
    tx.commit();
    return sum;
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    SQLite::Statement q(*db_, kFind);
    Item r;
    for (auto k : keys) {
      q.bind(1, static_cast<std::int64_t>(k));
      if (q.executeStep()) {
        read_item(q, r);
        sum += bench::row_sum(r);
      }
      q.reset();
    }
    return sum;
  }
  std::uint64_t w3_vector() override {
    std::vector<Item> out;
    SQLite::Statement q(*db_, kScan);
    while (q.executeStep()) read_item(q, out.emplace_back());
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    std::uint64_t sum = 0;
    SQLite::Statement q(*db_, kScan);
    Item r;
    while (q.executeStep()) {
      read_item(q, r);
      sum += bench::row_sum(r);
    }
    return sum;
  }
  std::uint64_t w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_, kUpdate);
    for (auto [id, qty] : in.updates) {
      q.bind(1, qty);
      q.bind(2, static_cast<std::int64_t>(id));
      changed += static_cast<std::uint64_t>(q.exec());
      q.reset();
    }
    tx.commit();
    return changed;
  }
  std::uint64_t qty_total() override {
    return static_cast<std::uint64_t>(db_->execAndGet("SELECT sum(qty) FROM items").getInt64());
  }
  std::uint64_t w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    SQLite::Statement q(*db_, kRange);
    std::vector<Item> page;
    for (auto [lo, hi] : in.ranges) {
      page.clear();
      q.bind(1, lo);
      q.bind(2, hi);
      q.bind(3, static_cast<std::int64_t>(bench::kRangeLimit));
      while (q.executeStep()) read_item(q, page.emplace_back());
      q.reset();
      for (const auto& r : page) sum += bench::row_sum(r);
    }
    return sum;
  }

 private:
  std::unique_ptr<SQLite::Database> db_;
};
#endif

// ------------------------------------------------------------------ driver

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix);
}

void run_backend(Backend b, const std::string& path, const Inputs& in, int reps,
                 std::vector<std::unique_ptr<Library>>& libs, bench::Results& res) {
  const auto n = static_cast<std::uint64_t>(in.rows.size());
  for (int rep = 0; rep < reps; ++rep) {
    for (auto& lib : libs) {
      if (b == Backend::file) remove_db(path);
      lib->open(b, path);
      const std::string l = lib->name();
      std::uint64_t sum = 0;
      std::vector<Item> rows = in.rows;  // W1 writes the generated ids back
      double s = bench::seconds([&] { sum = lib->w1_insert(rows); });
      res.record("W1 insert (1 tx)", l, n, s, sum);
      s = bench::seconds([&] { sum = lib->w2_find(in.lookup_keys); });
      res.record("W2 find by pk", l, n, s, sum);
      s = bench::seconds([&] { sum = lib->w3_vector(); });
      res.record("W3a scan into vector", l, n, s, sum);
      s = bench::seconds([&] { sum = lib->w3_cursor(); });
      res.record("W3b scan via cursor", l, n, s, sum);
      s = bench::seconds([&] { sum = lib->w4_update(in); });
      sum = sum * 1000003u + lib->qty_total();
      res.record("W4 update by pk (1 tx)", l, in.updates.size(), s, sum);
      s = bench::seconds([&] { sum = lib->w5_range(in); });
      res.record("W5 qty BETWEEN, ORDER BY price DESC LIMIT 20", l, in.ranges.size(), s, sum);
      lib->close();
      if (b == Backend::file) remove_db(path);
      std::cerr << "  " << (b == Backend::memory ? "memory" : "file") << " rep " << rep + 1 << '/'
                << reps << ' ' << l << " done\n";
    }
  }
}

[[noreturn]] void usage(const char* argv0) {
  std::cerr << "usage: " << argv0 << " [--n N] [--reps R] [--out FILE.md] [--dir DIR]\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 100000;
  int reps = 3;
  std::string out_path;
  std::string dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    if (a == "--n")
      n = std::atoll(argv[++i]);
    else if (a == "--reps")
      reps = std::atoi(argv[++i]);
    else if (a == "--out")
      out_path = argv[++i];
    else if (a == "--dir")
      dir = argv[++i];
    else
      usage(argv[0]);
  }
  if (n <= 0 || reps <= 0) usage(argv[0]);

  tessera::sqlite::register_linked();
  const std::size_t updates = std::min<std::size_t>(10000, static_cast<std::size_t>(n));
  const std::size_t ranges = 2000;
  const Inputs in = bench::make_inputs(n, updates, ranges);
  const std::string path =
      (std::filesystem::path(dir) / ("tessera-bench-" + std::to_string(::getpid()) + ".db"))
          .string();

  std::vector<std::unique_ptr<Library>> libs;
  libs.push_back(std::make_unique<Raw>());
  libs.push_back(std::make_unique<Tessera>());
#ifdef TESSERA_BENCH_HAVE_SQLITECPP
  libs.push_back(std::make_unique<SqliteCpp>());
#endif

  std::ostringstream report;
  report << "## SQLite benchmark\n\n"
         << "- rows N = " << n << ", W4 updates = " << updates << ", W5 queries = " << ranges
         << ", repetitions = " << reps << " (median)\n"
         << "- CPU: " << bench::cpu_model() << ", nproc " << bench::cpus()
         << ", load average at start " << bench::load_average() << "\n"
         << "- SQLite " << sqlite3_libversion() << ", compiler " << bench::compiler() << "\n"
         << "- file backend: " << path << " (WAL, synchronous=NORMAL)\n\n";

  bool ok = true;
  std::string mismatches;
  try {
    for (Backend b : {Backend::memory, Backend::file}) {
      bench::Results res;
      run_backend(b, path, in, reps, libs, res);
      report << bench::markdown(b == Backend::memory ? "SQLite in memory"
                                                     : "SQLite file (WAL, synchronous=NORMAL)",
                                res)
             << '\n';
      if (!res.checksums_agree(&mismatches)) ok = false;
    }
  } catch (const std::exception& e) {
    remove_db(path);
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  report << "- load average at end " << bench::load_average() << "\n";
  if (!ok) report << "\n**CHECKSUM MISMATCH**\n\n" << mismatches;

  std::cout << report.str();
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    f << report.str();
    if (!f) {
      std::cerr << "error: cannot write " << out_path << '\n';
      return 1;
    }
  }
  if (!ok) {
    std::cerr << mismatches;
    return 2;
  }
  return 0;
}
