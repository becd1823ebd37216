// LMDB benchmark: the workloads of sqlite_bench.cpp, on the same generated
// data, through liblmdb's C API used directly (the baseline) and through
// Tessera's LMDB driver (linked, lmdb:// URL, push_schema).
//
//   tessera_bench_lmdb [--n N] [--reps R] [--out FILE.md] [--dir DIR] [--clock wall|cpu]
//
// --clock cpu times each workload by the process's CPU time (user + system,
// getrusage) instead of the wall clock: steadier on a shared machine, and
// blind to the time a synced commit waits for the disk.
//
// Prints one markdown table (ops/s, median of R repetitions, ratio to raw
// LMDB) and the per-workload checksums, which are the same numbers as the
// SQLite benchmark's for the same N; exits 2 when the checksums differ
// between libraries or repetitions. The issue asks for W2-W5 on LMDB; W1 is
// included as well and marked so. See docs/performance.md.
//
// Raw LMDB, as a careful user writes it:
// - one environment per directory, opened as Tessera opens its own (map
//   1 GiB, MDB_NOTLS, synced commits);
// - `items`: key = id as 8 bytes big-endian; value = qty (4 bytes), price (8),
//   created_at (8), native byte order, then the name's bytes (its length is
//   the value's size - 20);
// - `items_qty`: key = qty (4 bytes big-endian, sign bit flipped) then id (8
//   bytes big-endian), empty value: an index range is a key range;
// - W1: one write transaction, rows put with MDB_APPEND (ids ascend) and
//   MDB_RESERVE (encoded in place), index entries with plain puts;
// - W2: a read transaction per lookup, as Tessera's find() outside a
//   transaction has, but one handle reused with mdb_txn_reset/renew (Tessera
//   begins a fresh one per call); W2c: one read transaction for all lookups
//   (Tessera: the same find() calls in a read-only transaction);
// - W3: one read transaction, a cursor from first to last;
// - W4: one write transaction; per update a get, the index entry moved when
//   qty changes, the row rewritten;
// - W5: a read transaction per query (reset/renew, as W2); an index cursor
//   over [lo, hi] collects (price, row) for each candidate, the 20 highest
//   prices are kept (partial_sort) and only those decoded.
#include <lmdb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tessera/lmdb.hpp>
#include <tessera/tessera.hpp>

#include "bench_common.hpp"
#include "bench_tessera.hpp"

namespace {

using bench::Inputs;
using bench::Item;

// One library under test. Each repetition opens a fresh directory, then runs
// the workloads in order (W1 fills the table the others read).
class Library {
 public:
  virtual ~Library() = default;
  virtual std::string name() const = 0;
  virtual void open(const std::string& dir) = 0;
  virtual void close() = 0;
  // Each returns the workload's checksum.
  virtual std::uint64_t w1_insert(std::vector<Item>& rows) = 0;
  virtual std::uint64_t w2_find(const std::vector<std::int64_t>& keys) = 0;
  virtual std::uint64_t w2_find_one_txn(const std::vector<std::int64_t>& keys) = 0;
  // W2b, Tessera only: nullopt when the library has no batched find.
  virtual std::optional<std::uint64_t> w2_batched(const std::vector<std::int64_t>&) {
    return std::nullopt;
  }
  virtual std::uint64_t w3_vector() = 0;
  virtual std::uint64_t w3_cursor() = 0;
  virtual std::uint64_t w4_update(const Inputs& in) = 0;
  // Untimed: what W4 left in the table (sum of qty).
  virtual std::uint64_t qty_total() = 0;
  virtual std::uint64_t w5_range(const Inputs& in) = 0;
};

// ------------------------------------------------------------------ raw

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
}

// A transaction aborted unless committed.
class Txn {
 public:
  Txn(MDB_env* env, unsigned flags) { check(mdb_txn_begin(env, nullptr, flags, &t_), "begin"); }
  ~Txn() {
    if (t_) mdb_txn_abort(t_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  MDB_txn* get() const { return t_; }
  void commit() {
    const int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    check(rc, "commit");
  }

 private:
  MDB_txn* t_ = nullptr;
};

// A cursor closed on scope exit (in a write transaction it must be closed
// before the commit; in a read transaction it may be renewed).
class Cursor {
 public:
  Cursor(MDB_txn* txn, MDB_dbi dbi) { check(mdb_cursor_open(txn, dbi, &c_), "cursor"); }
  ~Cursor() { mdb_cursor_close(c_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  MDB_cursor* get() const { return c_; }

 private:
  MDB_cursor* c_ = nullptr;
};

constexpr std::size_t kFixed = 20;  // qty, price, created_at before the name
constexpr std::size_t kIndexKey = 12;

void put_be64(unsigned char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v);
}
std::uint64_t get_be64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
void put_be32(unsigned char* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v);
}
// Signed qty ordered as unsigned bytes.
std::uint32_t qty_bits(std::int32_t qty) { return static_cast<std::uint32_t>(qty) ^ 0x80000000u; }

void encode_value(const Item& r, void* out) {
  auto* p = static_cast<unsigned char*>(out);
  std::memcpy(p, &r.qty, 4);
  std::memcpy(p + 4, &r.price, 8);
  std::memcpy(p + 12, &r.created_at, 8);
  std::memcpy(p + kFixed, r.name.data(), r.name.size());
}
void decode(const MDB_val& k, const MDB_val& v, Item& r) {
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  r.id = static_cast<std::int64_t>(get_be64(static_cast<const unsigned char*>(k.mv_data)));
  std::memcpy(&r.qty, p, 4);
  std::memcpy(&r.price, p + 4, 8);
  std::memcpy(&r.created_at, p + 12, 8);
  r.name.assign(reinterpret_cast<const char*>(p + kFixed), v.mv_size - kFixed);
}
std::int32_t value_qty(const MDB_val& v) {
  std::int32_t q;
  std::memcpy(&q, v.mv_data, 4);
  return q;
}
double value_price(const MDB_val& v) {
  double d;
  std::memcpy(&d, static_cast<const unsigned char*>(v.mv_data) + 4, 8);
  return d;
}

class Raw final : public Library {
 public:
  std::string name() const override { return "raw LMDB"; }
  void open(const std::string& dir) override {
    check(mdb_env_create(&env_), "env_create");
    check(mdb_env_set_maxdbs(env_, 4), "set_maxdbs");
    check(mdb_env_set_mapsize(env_, std::size_t{1024} * 1024 * 1024), "set_mapsize");
    check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0664), "env_open");
    Txn tx(env_, 0);
    check(mdb_dbi_open(tx.get(), "items", MDB_CREATE, &rows_), "dbi items");
    check(mdb_dbi_open(tx.get(), "items_qty", MDB_CREATE, &by_qty_), "dbi items_qty");
    tx.commit();
  }
  void close() override {
    mdb_env_close(env_);
    env_ = nullptr;
  }

  // Ids continue from the largest key, as an auto-increment would.
  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    Txn tx(env_, 0);
    std::int64_t next = 1;
    {
      Cursor c(tx.get(), rows_);
      MDB_val k, v;
      const int rc = mdb_cursor_get(c.get(), &k, &v, MDB_LAST);
      if (rc == MDB_SUCCESS)
        next = static_cast<std::int64_t>(get_be64(static_cast<unsigned char*>(k.mv_data))) + 1;
      else if (rc != MDB_NOTFOUND)
        check(rc, "last");
    }
    unsigned char key[8], ix[kIndexKey];
    for (auto& r : rows) {
      r.id = next++;
      put_be64(key, static_cast<std::uint64_t>(r.id));
      MDB_val k{sizeof key, key}, v{kFixed + r.name.size(), nullptr};
      check(mdb_put(tx.get(), rows_, &k, &v, MDB_APPEND | MDB_RESERVE), "put row");
      encode_value(r, v.mv_data);
      put_be32(ix, qty_bits(r.qty));
      std::memcpy(ix + 4, key, 8);
      MDB_val ik{sizeof ix, ix}, iv{0, nullptr};
      check(mdb_put(tx.get(), by_qty_, &ik, &iv, 0), "put index");
      sum += bench::row_sum(r);
    }
    tx.commit();
    return sum;
  }

  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    Txn tx(env_, MDB_RDONLY);
    mdb_txn_reset(tx.get());
    unsigned char key[8];
    Item r;
    for (auto id : keys) {
      check(mdb_txn_renew(tx.get()), "renew");
      put_be64(key, static_cast<std::uint64_t>(id));
      MDB_val k{sizeof key, key}, v;
      const int rc = mdb_get(tx.get(), rows_, &k, &v);
      if (rc == MDB_SUCCESS) {
        decode(k, v, r);
        sum += bench::row_sum(r);
      } else if (rc != MDB_NOTFOUND) {
        check(rc, "get");
      }
      mdb_txn_reset(tx.get());
    }
    return sum;
  }
  std::uint64_t w2_find_one_txn(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    Txn tx(env_, MDB_RDONLY);
    unsigned char key[8];
    Item r;
    for (auto id : keys) {
      put_be64(key, static_cast<std::uint64_t>(id));
      MDB_val k{sizeof key, key}, v;
      const int rc = mdb_get(tx.get(), rows_, &k, &v);
      if (rc == MDB_SUCCESS) {
        decode(k, v, r);
        sum += bench::row_sum(r);
      } else if (rc != MDB_NOTFOUND) {
        check(rc, "get");
      }
    }
    return sum;
  }

  template <class F>
  void scan(F&& f) {
    Txn tx(env_, MDB_RDONLY);
    Cursor c(tx.get(), rows_);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c.get(), &k, &v, MDB_FIRST); rc != MDB_NOTFOUND;
         rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT)) {
      check(rc, "scan");
      f(k, v);
    }
  }
  std::uint64_t w3_vector() override {
    std::vector<Item> out;
    scan([&](const MDB_val& k, const MDB_val& v) { decode(k, v, out.emplace_back()); });
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    std::uint64_t sum = 0;
    Item r;
    scan([&](const MDB_val& k, const MDB_val& v) {
      decode(k, v, r);
      sum += bench::row_sum(r);
    });
    return sum;
  }

  std::uint64_t w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    Txn tx(env_, 0);
    unsigned char key[8], ix[kIndexKey];
    std::string buf;
    for (auto [id, qty] : in.updates) {
      put_be64(key, static_cast<std::uint64_t>(id));
      MDB_val k{sizeof key, key}, v;
      const int rc = mdb_get(tx.get(), rows_, &k, &v);
      if (rc == MDB_NOTFOUND) continue;
      check(rc, "get");
      ++changed;
      const std::int32_t old = value_qty(v);
      if (old == qty) continue;  // nothing to write
      std::memcpy(ix + 4, key, 8);
      put_be32(ix, qty_bits(old));
      MDB_val ik{sizeof ix, ix};
      check(mdb_del(tx.get(), by_qty_, &ik, nullptr), "del index");
      put_be32(ix, qty_bits(qty));
      MDB_val nk{sizeof ix, ix}, nv{0, nullptr};
      check(mdb_put(tx.get(), by_qty_, &nk, &nv, 0), "put index");
      // v points into the map, which the put may change: copy first.
      buf.assign(static_cast<const char*>(v.mv_data), v.mv_size);
      std::memcpy(buf.data(), &qty, 4);
      MDB_val nr{buf.size(), buf.data()};
      check(mdb_put(tx.get(), rows_, &k, &nr, 0), "put row");
    }
    tx.commit();
    return changed;
  }
  std::uint64_t qty_total() override {
    std::uint64_t total = 0;
    scan([&](const MDB_val&, const MDB_val& v) {
      total += static_cast<std::uint64_t>(static_cast<std::int64_t>(value_qty(v)));
    });
    return total;
  }

  std::uint64_t w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    Txn tx(env_, MDB_RDONLY);
    Cursor c(tx.get(), by_qty_);
    mdb_txn_reset(tx.get());
    struct Candidate {
      double price;
      MDB_val key, row;
    };
    std::vector<Candidate> found;
    std::vector<Item> page;
    unsigned char from[kIndexKey] = {};
    for (auto [lo, hi] : in.ranges) {
      check(mdb_txn_renew(tx.get()), "renew");
      check(mdb_cursor_renew(tx.get(), c.get()), "cursor renew");
      found.clear();
      put_be32(from, qty_bits(lo));
      MDB_val k{sizeof from, from}, v;
      const std::uint32_t last = qty_bits(hi);
      for (int rc = mdb_cursor_get(c.get(), &k, &v, MDB_SET_RANGE); rc != MDB_NOTFOUND;
           rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT)) {
        check(rc, "index");
        const auto* p = static_cast<const unsigned char*>(k.mv_data);
        const std::uint32_t q = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                (std::uint32_t{p[2]} << 8) | p[3];
        if (q > last) break;
        // The row key is the index key's tail, which stays valid (read-only
        // transaction); so does the row's value.
        MDB_val rk{8, const_cast<unsigned char*>(p + 4)}, rv;
        check(mdb_get(tx.get(), rows_, &rk, &rv), "get row");
        found.push_back({value_price(rv), rk, rv});
      }
      const auto top = found.begin() + static_cast<std::ptrdiff_t>(
                                           std::min<std::size_t>(found.size(), bench::kRangeLimit));
      std::partial_sort(found.begin(), top, found.end(),
                        [](const Candidate& a, const Candidate& b) { return a.price > b.price; });
      page.resize(static_cast<std::size_t>(top - found.begin()));
      for (std::size_t i = 0; i < page.size(); ++i) decode(found[i].key, found[i].row, page[i]);
      for (const auto& r : page) sum += bench::row_sum(r);
      mdb_txn_reset(tx.get());
    }
    return sum;
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi rows_ = 0, by_qty_ = 0;
};

// ------------------------------------------------------------------ Tessera

// The same calls as the Tessera column of sqlite_bench.cpp.
class Tessera final : public Library {
 public:
  std::string name() const override { return "tessera"; }
  void open(const std::string& dir) override {
    db_.emplace(tessera::Db::open("lmdb://" + dir));
    db_->push_schema<Item>();
  }
  void close() override { db_.reset(); }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    return bench::tessera_run::insert_many(*db_, rows);
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_each(*db_, keys);
  }
  std::uint64_t w2_find_one_txn(const std::vector<std::int64_t>& keys) override {
    auto tx = db_->transaction({.read_only = true});
    const std::uint64_t sum = bench::tessera_run::find_each(tx, keys);
    tx.commit();
    return sum;
  }
  std::optional<std::uint64_t> w2_batched(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_batched(*db_, keys, 500);
  }
  std::uint64_t w3_vector() override { return bench::tessera_run::scan_vector(*db_); }
  std::uint64_t w3_cursor() override { return bench::tessera_run::scan_cursor(*db_); }
  std::uint64_t w4_update(const Inputs& in) override {
    return bench::tessera_run::update_each(*db_, in);
  }
  // No SQL on LMDB: the lazy cursor.
  std::uint64_t qty_total() override {
    std::uint64_t total = 0;
    for (const Item& r : db_->cursor(tessera::select<Item>()))
      total += static_cast<std::uint64_t>(static_cast<std::int64_t>(r.qty));
    return total;
  }
  std::uint64_t w5_range(const Inputs& in) override { return bench::tessera_run::range(*db_, in); }

 private:
  std::optional<tessera::Db> db_;
};

// ------------------------------------------------------------------ driver

bool g_cpu_clock = false;  // --clock cpu

double cpu_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// The seconds `f` takes: wall clock, or CPU time with --clock cpu.
template <class F>
double seconds(F&& f) {
  if (!g_cpu_clock) return bench::seconds(std::forward<F>(f));
  const double t0 = cpu_now();
  f();
  return cpu_now() - t0;
}

const char* const kW1 = "W1 insert (1 tx) [beyond the issue's W2-W5]";
const char* const kW2 = "W2 find by pk (read txn per lookup)";
const char* const kW2c = "W2c find by pk, one read txn";
const char* const kW2b = "W2b find by pk, batched";
const char* const kW3a = "W3a scan into vector";
const char* const kW3b = "W3b scan via cursor";
const char* const kW4 = "W4 update by pk (1 tx)";
const char* const kW5 = "W5 qty BETWEEN, ORDER BY price DESC LIMIT 20";

void run(const std::string& root, const Inputs& in, int reps,
         std::vector<std::unique_ptr<Library>>& libs, bench::Results& res) {
  const auto n = static_cast<std::uint64_t>(in.rows.size());
  res.workloads = {kW1, kW2, kW2c, kW2b, kW3a, kW3b, kW4, kW5};
  res.set_baseline(kW2b, kW2);
  for (int rep = 0; rep < reps; ++rep) {
    for (auto& lib : libs) {
      const std::string l = lib->name();
      // A directory per library: Tessera keeps one environment per directory
      // for the process, and each run starts from an empty one.
      const std::filesystem::path dir = std::filesystem::path(root) / (l == "tessera" ? "t" : "r");
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      lib->open(dir.string());
      std::uint64_t sum = 0;
      std::vector<Item> rows = in.rows;  // W1 writes the generated ids back
      double s = seconds([&] { sum = lib->w1_insert(rows); });
      res.record(kW1, l, n, s, sum);
      s = seconds([&] { sum = lib->w2_find(in.lookup_keys); });
      res.record(kW2, l, n, s, sum);
      s = seconds([&] { sum = lib->w2_find_one_txn(in.lookup_keys); });
      res.record(kW2c, l, n, s, sum);
      std::optional<std::uint64_t> batched;
      s = seconds([&] { batched = lib->w2_batched(in.lookup_keys); });
      // Only Tessera has this row, so its checksum is checked against its
      // own W2 (which checksums_agree compares with raw LMDB's).
      if (batched) {
        res.record(kW2b, l, n, s, *batched);
        if (*batched != res.sums.at({kW2, l}).back())
          res.mark_wrong(kW2b, l, "differs from its own W2 (" + std::to_string(*batched) + ")");
      }
      const std::uint64_t scanned = static_cast<std::uint64_t>(n) * bench::kPasses;
      s = seconds([&] { sum = bench::passes([&] { return lib->w3_vector(); }); });
      res.record(kW3a, l, scanned, s, sum);
      s = seconds([&] { sum = bench::passes([&] { return lib->w3_cursor(); }); });
      res.record(kW3b, l, scanned, s, sum);
      s = seconds([&] { sum = bench::passes([&] { return lib->w4_update(in); }); });
      sum = sum * 1000003u + lib->qty_total();
      res.record(kW4, l, in.updates.size() * bench::kPasses, s, sum);
      s = seconds([&] { sum = lib->w5_range(in); });
      res.record(kW5, l, in.ranges.size(), s, sum);
      lib->close();
      std::filesystem::remove_all(dir);
      std::cerr << "  rep " << rep + 1 << '/' << reps << ' ' << l << " done\n";
    }
  }
  std::erase_if(res.workloads, [&](const std::string& w) { return !res.ops.count(w); });
}

[[noreturn]] void usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--n N] [--reps R] [--out FILE.md] [--dir DIR] [--clock wall|cpu]\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = bench::parse_args(argc, argv, {"--dir", "--clock"});
  if (!args) usage(argv[0]);
  const std::string clock = args->get("--clock", "wall");
  if (clock != "wall" && clock != "cpu") usage(argv[0]);
  g_cpu_clock = clock == "cpu";
  const std::int64_t n = args->n;
  const int reps = args->reps;
  const std::string& out_path = args->out;
  const std::string dir = args->get("--dir", std::filesystem::temp_directory_path().string());

  tessera::lmdb::register_linked();
  const std::size_t updates = std::min<std::size_t>(10000, static_cast<std::size_t>(n));
  const std::size_t ranges = 2000;
  const Inputs in = bench::make_inputs(n, updates, ranges);
  // Absolute: lmdb:// URLs take an absolute directory.
  const std::string root =
      std::filesystem::absolute(std::filesystem::path(dir) /
                                ("tessera-bench-lmdb-" + std::to_string(::getpid())))
          .string();

  std::vector<std::unique_ptr<Library>> libs;
  libs.push_back(std::make_unique<Raw>());
  libs.push_back(std::make_unique<Tessera>());

  std::ostringstream report;
  report
      << "## LMDB benchmark\n\n"
      << "- rows N = " << n << ", W4 updates = " << updates << ", W5 queries = " << ranges
      << ", repetitions = " << reps << " (median)\n"
      << "- CPU: " << bench::cpu_model() << ", nproc " << bench::cpus()
      << ", load average at start " << bench::load_average() << "\n"
      << "- " << mdb_version(nullptr, nullptr, nullptr) << ", compiler " << bench::compiler()
      << "\n"
      << "- directories under " << root
      << " (map 1 GiB, MDB_NOTLS, synced commits, as Tessera's defaults)\n"
      << "- timed by " << (g_cpu_clock ? "CPU time (user + system)" : "wall clock") << "\n"
      << "- W2: a read transaction per lookup (raw: one handle, mdb_txn_reset/renew; "
         "Tessera: `find_into` outside a transaction); W2c: one read transaction for all lookups "
         "(Tessera: `find_into` in a read-only `transaction()`); W2b: Tessera's `fetch_all(id IN "
         "chunk)` per 500 keys; W5: a read transaction per query\n"
      << bench::passes_note("W3a, W3b, W4") << '\n';

  bool ok = true;
  std::string mismatches;
  try {
    bench::Results res;
    run(root, in, reps, libs, res);
    report << bench::markdown("LMDB", res) << '\n';
    // Also fails on a cell marked wrong (W2b differing from W2).
    if (!res.checksums_agree(&mismatches)) ok = false;
  } catch (const std::exception& e) {
    std::filesystem::remove_all(root);
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  std::filesystem::remove_all(root);
  report << "- load average at end " << bench::load_average() << "\n";
  if (!ok) report << "\n**CHECKSUM MISMATCH**\n\n" << mismatches;

  return bench::finish(report.str(), out_path, ok, mismatches);
}
