// SQLite benchmark: the same workloads, on the same data, through the raw
// sqlite3 C API (prepared statements reused), Tessera (the linked sqlite
// driver), SQLiteCpp and SOCI's sqlite3 backend (each when found at configure
// time), on an in-memory database and on a file database (WAL,
// synchronous=NORMAL). Batched and bulk paths get their own rows (W1b, W2b,
// W4b), their ratios taken against raw sqlite3 on the unbatched workload, and
// their results checked against the same library's unbatched result.
//
//   tessera_bench_sqlite [--n N] [--reps R] [--out FILE.md] [--dir DIR]
//                        [--rss ROWS | --rss-only ROWS]
//
// Prints one markdown table per backend (ops/s, median of R repetitions,
// ratio to raw sqlite3) and the per-workload checksums; exits 2 when the
// checksums differ between libraries or repetitions, or Tessera's or the
// baseline's batched result differs from its unbatched one (a peer's wrong
// result is marked in the table instead). --rss adds a section with the peak
// RSS of reading ROWS rows into a vector and through the lazy cursor, each in
// its own child process; --rss-only runs just that. See docs/performance.md.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <tessera/sqlite.hpp>
#include <tessera/tessera.hpp>
#include <unordered_map>

#ifdef TESSERA_BENCH_HAVE_SQLITECPP
#include <SQLiteCpp/SQLiteCpp.h>
#endif
#ifdef TESSERA_BENCH_HAVE_SOCI
#include <soci/soci.h>
// soci/sqlite3/soci-sqlite3.h includes <sqlite3.h> inside a namespace and
// redefines SQLITE_STATIC, which breaks the raw sqlite3 code in this file;
// its one entry point used here is declared as libsoci_sqlite3 exports it.
namespace soci {
extern "C" backend_factory const* factory_sqlite3();
}  // namespace soci
#endif

#include "bench_common.hpp"
#include "bench_tessera.hpp"

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

  // Optional paths, each reported as its own row (W1b, W2b, W4b) next to the
  // one-statement-per-row workload it batches; a library says which it has.
  struct Paths {
    bool bulk_insert = false;     // w1_bulk
    bool batched_find = false;    // w2_batched
    bool batched_update = false;  // w4_batched
  };
  virtual Paths paths() const { return {}; }
  // W1b: the library's bulk insert path; the checksum of the ids it got back
  // and the rows sent (as w1_insert).
  virtual std::uint64_t w1_bulk(std::vector<Item>& rows);
  // W2b: the same lookups as W2, batched; each key counts once per lookup,
  // duplicates included, so the checksum equals W2's.
  virtual std::uint64_t w2_batched(const std::vector<std::int64_t>& keys);
  // W4b: the same updates as W4, batched, with W4's result (the updates
  // applied, each key's last value winning), so the checksum equals W4's.
  virtual std::uint64_t w4_batched(const Inputs& in);
  // False for the baseline and Tessera: a wrong result of theirs fails the
  // run; a peer's is reported in the table (Results::mark_wrong).
  virtual bool peer() const { return true; }
};

std::uint64_t Library::w1_bulk(std::vector<Item>&) { throw std::logic_error("no bulk insert"); }
std::uint64_t Library::w2_batched(const std::vector<std::int64_t>&) {
  throw std::logic_error("no batched find");
}
std::uint64_t Library::w4_batched(const Inputs&) { throw std::logic_error("no batched update"); }

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
  bool peer() const override { return false; }
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
  bool peer() const override { return false; }
  Paths paths() const override { return {.batched_find = true, .batched_update = true}; }
  void open(Backend b, const std::string& path) override {
    db_.emplace(tessera::Db::open(b == Backend::memory
                                      ? std::string("sqlite::memory:")
                                      : "sqlite://" + path + "?synchronous=NORMAL"));
    db_->push_schema<Item>();
  }
  void close() override { db_.reset(); }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    return bench::tessera_run::insert_many(*db_, rows);
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_each(*db_, keys);
  }
  // fetch_all(id IN chunk) per 500 lookup keys, the rows mapped back to the
  // keys (a key repeated in the chunk gets the same row each time).
  std::uint64_t w2_batched(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_batched(*db_, keys, 500);
  }
  // update_many(rows, only(qty)) in one transaction. It sets one value per
  // key (one CASE per batch), so the update list is first reduced to each
  // key's last value, which is what W4's statements in order leave behind;
  // the superseded updates count as applied, as they do in W4.
  std::uint64_t w4_batched(const Inputs& in) override {
    std::vector<Item> rows;
    rows.reserve(in.updates.size());
    std::unordered_map<std::int64_t, std::size_t> at;
    at.reserve(in.updates.size());
    for (auto [id, qty] : in.updates) {
      auto [it, fresh] = at.try_emplace(id, rows.size());
      if (fresh) {
        Item& r = rows.emplace_back();
        r.id = id;
        r.qty = qty;
      } else {
        rows[it->second].qty = qty;
      }
    }
    auto tx = db_->transaction();
    const std::uint64_t found = tx.update_many(rows, tessera::only(&Item::qty));
    tx.commit();
    return found + (in.updates.size() - rows.size());
  }
  std::uint64_t w3_vector() override { return bench::tessera_run::scan_vector(*db_); }
  std::uint64_t w3_cursor() override { return bench::tessera_run::scan_cursor(*db_); }
  std::uint64_t w4_update(const Inputs& in) override {
    return bench::tessera_run::update_each(*db_, in);
  }
  std::uint64_t qty_total() override {
    auto r = db_->query<std::tuple<std::int64_t>>("SELECT sum(qty) FROM items");
    return static_cast<std::uint64_t>(std::get<0>(r.at(0)));
  }
  std::uint64_t w5_range(const Inputs& in) override { return bench::tessera_run::range(*db_, in); }

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

// ------------------------------------------------------------------ SOCI

#ifdef TESSERA_BENCH_HAVE_SOCI
// SOCI's sqlite3 backend names placeholders `:x` and binds use() elements in
// order.
const char* kSociInsert =
    "INSERT INTO items(name, qty, price, created_at) VALUES (:name, :qty, :price, :created_at)";
const char* kSociInsertReturning =
    "INSERT INTO items(name, qty, price, created_at) VALUES (:name, :qty, :price, :created_at) "
    "RETURNING id";
const char* kSociFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = :id";
const char* kSociUpdate = "UPDATE items SET qty = :qty WHERE id = :id";
const char* kSociRange =
    "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN :lo AND :hi "
    "ORDER BY price DESC LIMIT :lim";

// Prepared soci::statements with use()/into() bound once to local variables
// and re-executed, as SOCI's documentation describes for repeated statements;
// 64-bit columns go through `long long`, SOCI 4.0's 64-bit exchange type.
class Soci final : public Library {
 public:
  std::string name() const override { return "SOCI"; }
  Paths paths() const override { return {.bulk_insert = true}; }
  void open(Backend b, const std::string& path) override {
    sql_ = std::make_unique<soci::session>(*soci::factory_sqlite3(),
                                           b == Backend::memory ? "db=:memory:" : "db=" + path);
    if (b == Backend::file) {
      *sql_ << "PRAGMA journal_mode=WAL";
      *sql_ << "PRAGMA synchronous=NORMAL";
    }
    // One statement per call: the backend prepares only the first.
    *sql_ << "CREATE TABLE items(id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INTEGER "
             "NOT NULL, price DOUBLE NOT NULL, created_at BIGINT NOT NULL)";
    *sql_ << "CREATE INDEX items_qty ON items(qty)";
  }
  void close() override { sql_.reset(); }

  // The id comes back through RETURNING into(): session::get_last_insert_id
  // runs `select max(rowid)` (after probing sqlite_sequence) on each call in
  // SOCI 4.0's sqlite3 backend.
  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    std::string name;
    int qty = 0;
    double price = 0;
    long long created = 0, id = 0;
    soci::transaction tx(*sql_);
    {
      // A RETURNING statement stays active until reset: it must be gone
      // before the commit.
      soci::statement st = (sql_->prepare << kSociInsertReturning, soci::use(name), soci::use(qty),
                            soci::use(price), soci::use(created), soci::into(id));
      for (auto& r : rows) {
        name = r.name;
        qty = r.qty;
        price = r.price;
        created = r.created_at;
        if (!st.execute(true)) throw std::runtime_error("SOCI: INSERT RETURNING gave no id");
        r.id = id;
        sum += bench::row_sum(r);
      }
    }
    tx.commit();
    return sum;
  }
  // Vectors of 1,000 rows bound once with use(), refilled and re-executed
  // per chunk. The ids are read once per chunk (get_last_insert_id: the
  // table's largest rowid) and taken as the chunk's consecutive ids, which
  // holds for INTEGER PRIMARY KEY in a fresh table with one writer; the
  // read-back after W1b checks it.
  std::uint64_t w1_bulk(std::vector<Item>& rows) override {
    constexpr std::size_t kBatch = 1000;
    std::uint64_t sum = 0;
    std::vector<std::string> names(kBatch);
    std::vector<int> qtys(kBatch);
    std::vector<double> prices(kBatch);
    std::vector<long long> created(kBatch);
    soci::transaction tx(*sql_);
    soci::statement st = (sql_->prepare << kSociInsert, soci::use(names), soci::use(qtys),
                          soci::use(prices), soci::use(created));
    for (std::size_t start = 0; start < rows.size(); start += kBatch) {
      const std::size_t n = std::min(kBatch, rows.size() - start);
      names.resize(n);
      qtys.resize(n);
      prices.resize(n);
      created.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        const Item& r = rows[start + i];
        names[i] = r.name;
        qtys[i] = r.qty;
        prices[i] = r.price;
        created[i] = r.created_at;
      }
      st.execute(true);
      long long last = 0;
      if (!sql_->get_last_insert_id("items", last))
        throw std::runtime_error("SOCI: get_last_insert_id failed");
      for (std::size_t i = 0; i < n; ++i) {
        Item& r = rows[start + i];
        r.id = last - static_cast<long long>(n - 1 - i);
        sum += bench::row_sum(r);
      }
    }
    tx.commit();
    return sum;
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    long long key = 0, id = 0, created = 0;
    Item r;
    soci::statement st =
        (sql_->prepare << kSociFind, soci::use(key), soci::into(id), soci::into(r.name),
         soci::into(r.qty), soci::into(r.price), soci::into(created));
    for (auto k : keys) {
      key = k;
      if (st.execute(true)) {
        r.id = id;
        r.created_at = created;
        sum += bench::row_sum(r);
      }
    }
    return sum;
  }
  std::uint64_t w3_vector() override {
    std::vector<Item> out;
    long long id = 0, created = 0;
    Item r;
    soci::statement st = (sql_->prepare << kScan, soci::into(id), soci::into(r.name),
                          soci::into(r.qty), soci::into(r.price), soci::into(created));
    st.execute();
    while (st.fetch()) {
      r.id = id;
      r.created_at = created;
      out.push_back(r);
    }
    std::uint64_t sum = 0;
    for (const auto& x : out) sum += bench::row_sum(x);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    std::uint64_t sum = 0;
    long long id = 0, created = 0;
    Item r;
    soci::statement st = (sql_->prepare << kScan, soci::into(id), soci::into(r.name),
                          soci::into(r.qty), soci::into(r.price), soci::into(created));
    st.execute();
    while (st.fetch()) {
      r.id = id;
      r.created_at = created;
      sum += bench::row_sum(r);
    }
    return sum;
  }
  std::uint64_t w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    int qty = 0;
    long long id = 0;
    soci::transaction tx(*sql_);
    soci::statement st = (sql_->prepare << kSociUpdate, soci::use(qty), soci::use(id));
    for (auto [k, q] : in.updates) {
      qty = q;
      id = k;
      st.execute(true);
      changed += static_cast<std::uint64_t>(st.get_affected_rows());
    }
    tx.commit();
    return changed;
  }
  std::uint64_t qty_total() override {
    long long total = 0;
    *sql_ << "SELECT sum(qty) FROM items", soci::into(total);
    return static_cast<std::uint64_t>(total);
  }
  std::uint64_t w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    int lo = 0, hi = 0;
    long long limit = bench::kRangeLimit, id = 0, created = 0;
    Item r;
    soci::statement st = (sql_->prepare << kSociRange, soci::use(lo), soci::use(hi),
                          soci::use(limit), soci::into(id), soci::into(r.name), soci::into(r.qty),
                          soci::into(r.price), soci::into(created));
    std::vector<Item> page;
    for (auto [l, h] : in.ranges) {
      page.clear();
      lo = l;
      hi = h;
      st.execute();
      while (st.fetch()) {
        r.id = id;
        r.created_at = created;
        page.push_back(r);
      }
      for (const auto& x : page) sum += bench::row_sum(x);
    }
    return sum;
  }

 private:
  std::unique_ptr<soci::session> sql_;
};
#endif

// ------------------------------------------------------------------ driver

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix);
}

// Workload names, in report order.
const char* const kW1 = "W1 insert (1 tx)";
const char* const kW1b = "W1b insert, bulk path";
const char* const kW2 = "W2 find by pk";
const char* const kW2b = "W2b find by pk, batched";
const char* const kW3a = "W3a scan into vector";
const char* const kW3b = "W3b scan via cursor";
const char* const kW4 = "W4 update by pk (1 tx)";
const char* const kW4b = "W4b update by pk, batched (1 tx)";
const char* const kW5 = "W5 qty BETWEEN, ORDER BY price DESC LIMIT 20";

// A batched path's result must equal the unbatched workload's (`expected`,
// the same library's checksum in the same repetition, itself compared with
// every other library's). A mismatch marks the cell wrong; for a non-peer it
// also lands in `fatal`.
void verify(bench::Results& res, const Library& lib, const std::string& workload, std::uint64_t got,
            std::uint64_t expected, const std::string& why, std::string& fatal) {
  if (got == expected) return;
  res.mark_wrong(
      workload, lib.name(),
      why + " (checksum " + std::to_string(got) + ", expected " + std::to_string(expected) + ")");
  if (!lib.peer()) fatal += "wrong result: " + workload + " / " + lib.name() + '\n';
}

// The file a library's database lives in on the file backend: `path`
// with the library's name appended.
std::string library_db(const std::string& path, const Library& lib) {
  std::string name = lib.name();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  return path + "." + name;
}

// Each repetition runs every workload through every library before the
// next workload, so the runs compared in one row of the table are seconds
// apart, not a whole library's workloads apart (this machine's speed can
// change by 2x within a minute, from outside the VM); the library that goes
// first rotates with the repetition. Each library has a database of its own
// (its own file, or its own in-memory database), fresh for W1..W5 (with W2b
// after W2, on the same rows); then, for the libraries with a bulk insert or
// a batched update, a second fresh one filled by W1b (or, untimed, by W1) on
// which W4b runs, since W4 has already applied its updates to the first.
void run_backend(Backend b, const std::string& path, const Inputs& in, int reps,
                 std::vector<std::unique_ptr<Library>>& libs, bench::Results& res,
                 std::string& fatal) {
  const auto n = static_cast<std::uint64_t>(in.rows.size());
  res.workloads = {kW1, kW1b, kW2, kW2b, kW3a, kW3b, kW4, kW4b, kW5};
  res.set_baseline(kW1b, kW1);
  res.set_baseline(kW2b, kW2);
  res.set_baseline(kW4b, kW4);
  for (auto& lib : libs)
    if (lib->peer()) res.mark_peer(lib->name());
  const auto db_path = [&](const Library& lib) { return library_db(path, lib); };
  const auto open = [&](Library& lib) {
    if (b == Backend::file) remove_db(db_path(lib));
    lib.open(b, db_path(lib));
  };
  const auto close = [&](Library& lib) {
    lib.close();
    if (b == Backend::file) remove_db(db_path(lib));
  };
  // What a library's W1, W2 and W4 gave this repetition: its batched paths
  // must give the same.
  struct Sums {
    std::uint64_t w1 = 0, w2 = 0, w4 = 0;
  };
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<Library*> order;
    for (std::size_t i = 0; i < libs.size(); ++i)
      order.push_back(libs[(i + static_cast<std::size_t>(rep)) % libs.size()].get());
    std::map<const Library*, Sums> sums;
    // Runs `workload` through each library in turn, recording its time and
    // checksum (`after`, untimed, may adjust the checksum).
    const auto each = [&](const char* workload, std::uint64_t ops, auto&& want, auto&& run,
                          auto&& after) {
      for (Library* lib : order) {
        if (!want(*lib)) continue;
        std::uint64_t sum = 0;
        const double s = bench::seconds([&] { sum = run(*lib); });
        res.record(workload, lib->name(), ops, s, after(*lib, sum));
      }
    };
    const std::uint64_t updates = in.updates.size(), ranges = in.ranges.size();
    const auto all = [](const Library&) { return true; };
    const auto same = [](const Library&, std::uint64_t sum) { return sum; };

    for (Library* lib : order) open(*lib);
    std::map<const Library*, std::vector<Item>> rows;  // W1 writes the generated ids back
    for (Library* lib : order) rows[lib] = in.rows;
    each(
        kW1, n, all, [&](Library& l) { return l.w1_insert(rows[&l]); },
        [&](Library& l, std::uint64_t sum) { return sums[&l].w1 = sum; });
    rows.clear();
    each(
        kW2, n, all, [&](Library& l) { return l.w2_find(in.lookup_keys); },
        [&](Library& l, std::uint64_t sum) { return sums[&l].w2 = sum; });
    each(
        kW2b, n, [](const Library& l) { return l.paths().batched_find; },
        [&](Library& l) { return l.w2_batched(in.lookup_keys); },
        [&](Library& l, std::uint64_t sum) {
          verify(res, l, kW2b, sum, sums[&l].w2, "differs from its own W2", fatal);
          return sum;
        });
    const std::uint64_t scanned = static_cast<std::uint64_t>(n) * bench::kPasses;
    each(
        kW3a, scanned, all, [](Library& l) { return bench::passes([&] { return l.w3_vector(); }); },
        same);
    each(
        kW3b, scanned, all, [](Library& l) { return bench::passes([&] { return l.w3_cursor(); }); },
        same);
    each(
        kW4, updates * bench::kPasses, all,
        [&](Library& l) { return bench::passes([&] { return l.w4_update(in); }); },
        [&](Library& l, std::uint64_t sum) {
          return sums[&l].w4 = sum * 1000003u + l.qty_total();
        });
    each(
        kW5, ranges, all, [&](Library& l) { return l.w5_range(in); }, same);
    for (Library* lib : order) close(*lib);

    const auto second = [](const Library& l) {
      return l.paths().bulk_insert || l.paths().batched_update;
    };
    for (Library* lib : order)
      if (second(*lib)) {
        open(*lib);
        rows[lib] = in.rows;
        if (!lib->paths().bulk_insert) lib->w1_insert(rows[lib]);
      }
    each(
        kW1b, n, [](const Library& l) { return l.paths().bulk_insert; },
        [&](Library& l) { return l.w1_bulk(rows[&l]); },
        [&](Library& l, std::uint64_t sum) {
          // What the table holds, read back untimed with the library's own
          // scan: a bulk path that re-sent stale values shows here.
          const std::uint64_t stored = l.w3_cursor();
          verify(res, l, kW1b, sum, sums[&l].w1, "ids and rows sent differ from its own W1", fatal);
          verify(res, l, kW1b, stored, sums[&l].w1, "rows read back differ from the rows sent",
                 fatal);
          return stored;
        });
    each(
        kW4b, updates * bench::kPasses, [](const Library& l) { return l.paths().batched_update; },
        [&](Library& l) { return bench::passes([&] { return l.w4_batched(in); }); },
        [&](Library& l, std::uint64_t sum) {
          sum = sum * 1000003u + l.qty_total();
          verify(res, l, kW4b, sum, sums[&l].w4, "differs from its own W4", fatal);
          return sum;
        });
    for (Library* lib : order)
      if (second(*lib)) close(*lib);
    std::cerr << "  " << (b == Backend::memory ? "memory" : "file") << " rep " << rep + 1 << '/'
              << reps << " done\n";
  }
  // Rows no library ran (no bulk or batched path compiled in).
  std::erase_if(res.workloads, [&](const std::string& w) { return !res.ops.count(w); });
}

// ------------------------------------------------------------------ peak RSS

// What a child process reports to the parent through a pipe.
struct ChildReport {
  long open_kb = 0;  // the child's peak RSS (ru_maxrss, KiB) once the database is open
  std::uint64_t rows = 0;
  std::uint64_t checksum = 0;
  double seconds = 0;  // the read alone
  char error[256] = {};
};

struct RssRun {
  std::string variant;
  ChildReport report;
  long peak_kb = 0;  // the child's ru_maxrss from wait4
  bool ok = false;
};

// Runs `body` in a forked child, so each variant's peak is its own: the
// report comes back through a pipe, the peak from wait4(). The child starts
// with the parent's resident pages, so the parent must stay small.
RssRun in_child(const std::string& variant, const std::function<void(ChildReport&)>& body) {
  RssRun run{variant, {}, 0, false};
  int fd[2];
  if (::pipe(fd) != 0) throw std::runtime_error("pipe failed");
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fd[0]);
    ChildReport r;
    try {
      body(r);
    } catch (const std::exception& e) {
      std::snprintf(r.error, sizeof r.error, "%s", e.what());
    }
    const char* p = reinterpret_cast<const char*>(&r);
    std::size_t left = sizeof r;
    while (left > 0) {
      const ssize_t w = ::write(fd[1], p, left);
      if (w <= 0) break;
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    ::_exit(r.error[0] ? 1 : 0);
  }
  ::close(fd[1]);
  char* p = reinterpret_cast<char*>(&run.report);
  std::size_t got = 0;
  while (got < sizeof run.report) {
    const ssize_t r = ::read(fd[0], p + got, sizeof run.report - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd[0]);
  int status = 0;
  struct rusage ru {};
  if (::wait4(pid, &status, 0, &ru) != pid) throw std::runtime_error("wait4 failed");
  run.peak_kb = ru.ru_maxrss;
  run.ok = got == sizeof run.report && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!run.ok && !run.report.error[0])
    std::snprintf(run.report.error, sizeof run.report.error, "child failed (status %d)", status);
  return run;
}

long max_rss_kb() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Peak RSS of reading every row of an N-row SQLite file, one forked child
// per variant, all reading `SELECT id, name, qty, price, created_at FROM
// items` (what select<Item>() renders) into bench::Item: Tessera's fetch_all
// into a vector and its lazy cursor, and raw sqlite3 step loops (into one
// reused struct, and into a vector) as references. Returns the report
// section; `ok` false when a child failed or the checksums differ.
std::string rss_section(std::int64_t n, const std::string& path, bool& ok) {
  using tessera::col;
  const std::string url = "sqlite://" + path + "?synchronous=NORMAL";
  const long parent_kb = max_rss_kb();
  remove_db(path);
  // Filled by a child too, so the parent never holds the data set.
  const RssRun fill = in_child("fill", [&](ChildReport& r) {
    const Inputs data = bench::make_inputs(n, 0, 0);
    std::vector<Item> rows = data.rows;
    auto db = tessera::Db::open(url);
    db.push_schema<Item>();
    auto tx = db.transaction();
    tx.insert_many(rows);
    tx.commit();
    for (const auto& x : rows) r.checksum += bench::row_sum(x);
    r.rows = rows.size();
  });
  if (!fill.ok) throw std::runtime_error(std::string("filling the database: ") + fill.report.error);

  // Tessera opens connections lazily: a one-row lookup opens one (and reads
  // the schema) before the baseline is taken. Raw: open and prepare.
  auto tessera_open = [&](ChildReport& r) {
    auto db = std::make_unique<tessera::Db>(tessera::Db::open(url));
    db->find<Item>(std::int64_t{1});
    r.open_kb = max_rss_kb();
    return db;
  };
  std::vector<RssRun> runs;
  runs.push_back(in_child("tessera fetch_all into std::vector", [&](ChildReport& r) {
    auto db = tessera_open(r);
    const auto t0 = bench::Clock::now();
    const auto all = db->fetch_all(tessera::select<Item>());
    for (const auto& x : all) r.checksum += bench::row_sum(x);
    r.rows = all.size();
    r.seconds = std::chrono::duration<double>(bench::Clock::now() - t0).count();
  }));
  runs.push_back(in_child("tessera cursor", [&](ChildReport& r) {
    auto db = tessera_open(r);
    const auto t0 = bench::Clock::now();
    for (const Item& x : db->cursor(tessera::select<Item>())) {
      r.checksum += bench::row_sum(x);
      ++r.rows;
    }
    r.seconds = std::chrono::duration<double>(bench::Clock::now() - t0).count();
  }));
  for (const bool into_vector : {false, true}) {
    runs.push_back(in_child(
        into_vector ? "raw sqlite3 step loop into std::vector"
                    : "raw sqlite3 step loop (one reused struct)",
        [&](ChildReport& r) {
          sqlite3* db = nullptr;
          check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), db, "open");
          {
            Stmt st(db, kScan);
            r.open_kb = max_rss_kb();
            const auto t0 = bench::Clock::now();
            std::vector<Item> all;
            Item x;
            while (st.step()) {
              Item& dst = into_vector ? all.emplace_back() : x;
              read_item(st.get(), dst);
              r.checksum += bench::row_sum(dst);
              ++r.rows;
            }
            r.seconds = std::chrono::duration<double>(bench::Clock::now() - t0).count();
          }
          sqlite3_close_v2(db);
        }));
  }
  remove_db(path);

  std::ostringstream o;
  auto mib = [](long kb) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(kb) / 1024.0);
    return std::string(buf);
  };
  o << "### Peak memory: reading " << n << " rows from an SQLite file\n\n"
    << "Each variant runs in its own forked child; peak RSS is the child's `ru_maxrss` from "
       "`wait4`, \"after open\" its `ru_maxrss` once the database is open (Tessera: after one "
       "`find`, which opens the pooled connection). The parent's own peak RSS before the "
       "forks (its pages are shared with each child): "
    << mib(parent_kb) << " MiB. Same query and struct for all; the file was filled by "
    << "another child with Tessera's `insert_many` (checksum " << fill.report.checksum << ").\n\n"
    << "| variant | rows | RSS after open (MiB) | peak RSS (MiB) | peak − after open (MiB) | read "
       "s | checksum |\n|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& run : runs) {
    const bool same = run.ok && run.report.checksum == fill.report.checksum &&
                      run.report.rows == static_cast<std::uint64_t>(n);
    if (!same) ok = false;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", run.report.seconds);
    o << "| " << run.variant << " | " << run.report.rows << " | " << mib(run.report.open_kb)
      << " | " << mib(run.peak_kb) << " | " << mib(run.peak_kb - run.report.open_kb) << " | "
      << secs << " | " << run.report.checksum << (same ? "" : " **MISMATCH**") << " |\n";
    if (run.report.error[0]) o << "\n- " << run.variant << ": error: " << run.report.error << '\n';
  }
  return o.str();
}

[[noreturn]] void usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--n N] [--reps R] [--out FILE.md] [--dir DIR] [--rss ROWS | --rss-only ROWS]\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = bench::parse_args(argc, argv, {"--dir", "--rss", "--rss-only"});
  if (!args || (args->extra.count("--rss") && args->extra.count("--rss-only"))) usage(argv[0]);
  const std::int64_t n = args->n;
  const int reps = args->reps;
  const std::string& out_path = args->out;
  const std::string dir = args->get("--dir", std::filesystem::temp_directory_path().string());
  // --rss ROWS adds the peak-memory section; --rss-only ROWS runs only it.
  const bool workloads = !args->extra.count("--rss-only");
  const std::int64_t rss_rows =
      std::atoll(args->get("--rss", args->get("--rss-only", "0")).c_str());  // 0: none
  if ((args->extra.count("--rss") || !workloads) && rss_rows <= 0) usage(argv[0]);

  tessera::sqlite::register_linked();
  const std::string path =
      (std::filesystem::path(dir) / ("tessera-bench-" + std::to_string(::getpid()) + ".db"))
          .string();
  std::ostringstream report;
  report << "## SQLite benchmark\n\n"
         << "- CPU: " << bench::cpu_model() << ", nproc " << bench::cpus()
         << ", load average at start " << bench::load_average() << "\n"
         << "- SQLite " << sqlite3_libversion() << ", compiler " << bench::compiler() << "\n";
  bool ok = true;
  std::string mismatches;

  // First, while this process is still small: its pages are every child's
  // starting RSS.
  if (rss_rows > 0) {
    try {
      report << '\n' << rss_section(rss_rows, path, ok) << '\n';
      if (!ok) mismatches += "peak-memory section: a child failed or its checksum differs\n";
    } catch (const std::exception& e) {
      remove_db(path);
      std::cerr << "error: " << e.what() << '\n';
      return 1;
    }
  }

  if (workloads) {
    const std::size_t updates = std::min<std::size_t>(10000, static_cast<std::size_t>(n));
    const std::size_t ranges = 2000;
    const Inputs in = bench::make_inputs(n, updates, ranges);

    std::vector<std::unique_ptr<Library>> libs;
    libs.push_back(std::make_unique<Raw>());
    libs.push_back(std::make_unique<Tessera>());
#ifdef TESSERA_BENCH_HAVE_SQLITECPP
    libs.push_back(std::make_unique<SqliteCpp>());
#endif
#ifdef TESSERA_BENCH_HAVE_SOCI
    libs.push_back(std::make_unique<Soci>());
#endif

    report << "- rows N = " << n << ", W4 updates = " << updates << ", W5 queries = " << ranges
           << ", repetitions = " << reps << " (median)\n"
           << "- file backend: " << path
           << ".LIBRARY, a file per library (WAL, synchronous=NORMAL)\n"
           << "- each workload runs through every library before the next workload; the library "
              "going first rotates with the repetition\n"
           << bench::passes_note("W3a, W3b, W4, W4b")
           << "- W2b: `fetch_all(select<Item>().where(col(&Item::id).in(chunk)))` per 500 lookup "
              "keys, rows mapped back to the keys; W4b: `update_many(rows, only(&Item::qty))`, "
              "the update list first reduced to each key's last value; W1b (SOCI): `use()` of "
              "vectors of 1,000 rows, refilled per chunk, the table read back afterwards\n\n";
    try {
      for (Backend b : {Backend::memory, Backend::file}) {
        bench::Results res;
        run_backend(b, path, in, reps, libs, res, mismatches);
        report << bench::markdown(b == Backend::memory ? "SQLite in memory"
                                                       : "SQLite file (WAL, synchronous=NORMAL)",
                                  res)
               << '\n';
        if (!res.checksums_agree(&mismatches)) ok = false;
      }
    } catch (const std::exception& e) {
      for (const auto& lib : libs) remove_db(library_db(path, *lib));
      std::cerr << "error: " << e.what() << '\n';
      return 1;
    }
    if (!mismatches.empty()) ok = false;
  }
  report << "- load average at end " << bench::load_average() << "\n";
  if (!ok) report << "\n**CHECKSUM MISMATCH**\n\n" << mismatches;

  return bench::finish(report.str(), out_path, ok, mismatches);
}
