// PostgreSQL benchmark: the same workloads, on the same data, through raw
// libpq (a prepared-statement loop, the baseline; pipeline mode; COPY),
// Tessera (the linked postgresql driver), and libpqxx and SOCI when found at
// configure time.
//
//   tessera_bench_postgresql [--url postgresql://...] [--n N] [--reps R] [--out FILE.md]
//                            [--only LIBRARY] [--workload W] [--tessera-options K=V&...]
//                            [--settle SECONDS]
//
// --only runs one library (its name as in the table, e.g. tessera), for
// profiling; its ratios then read 0. --workload runs one workload (its tag,
// e.g. W3a), also for profiling: the table is still filled through the
// library's W1 (or its bulk path), untimed and unreported unless selected.
// Under callgrind, count only the workload with e.g.
// --toggle-collect='*Tessera::w3_vector*'.
//
// The server: --url, else TESSERA_TEST_POSTGRESQL_URL; with neither, exits
// 77 (skipped). Every library gets its own connection and its own schema
// (bench_<library>, first on its search_path; created at start, dropped at
// exit), so each workload runs through every library before the next one
// starts, the library going first rotating with the repetition. Before each
// repetition a library's table is dropped and created again with one DDL
// for all (Tessera runs it through execute_raw), and after W1 an untimed
// ANALYZE runs. Prints one markdown table (ops/s, median of R repetitions, ratio to
// the libpq prepared loop) and the checksums; exits 2 when the checksums of
// libpq, Tessera or a workload's rows differ, while a peer library's
// (libpqxx, SOCI) wrong result is only reported. See docs/performance.md.
#include <endian.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tessera/postgresql.hpp>
#include <tessera/tessera.hpp>
#include <unordered_map>

#ifdef TESSERA_BENCH_HAVE_PQXX
#include <pqxx/pqxx>
#endif
#ifdef TESSERA_BENCH_HAVE_SOCI
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#endif

#include "bench_common.hpp"
#include "bench_tessera.hpp"

namespace {

using bench::Inputs;
using bench::Item;

// Workload names; the batched and bulk rows ("b") are compared with the
// libpq prepared loop on their single-statement row (set_baseline).
const std::string kW1 = "W1 insert (1 tx)";
const std::string kW1b = "W1b insert, bulk path (1 tx)";
const std::string kW2 = "W2 find by pk";
const std::string kW2b = "W2b find by pk, batched";
const std::string kW3a = "W3a scan into vector";
const std::string kW3b = "W3b scan via cursor";
const std::string kW4 = "W4 update by pk (1 tx)";
const std::string kW4b = "W4b update by pk, batched (1 tx)";
const std::string kW5 = "W5 qty BETWEEN, ORDER BY price DESC LIMIT 20";
// In the report's order.
const std::string* const kWorkloads[] = {&kW1, &kW1b, &kW2, &kW2b, &kW3a, &kW3b, &kW4, &kW4b, &kW5};

// The one DDL of every library (three statements: Tessera's execute_raw
// runs one at a time).
const char* const kDdl[] = {
    "DROP TABLE IF EXISTS items",
    "CREATE TABLE items(id BIGSERIAL PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INTEGER NOT "
    "NULL, price DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL)",
    "CREATE INDEX items_qty ON items(qty)"};
const char* const kInsert =
    "INSERT INTO items(name, qty, price, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
const char* const kFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = $1";
const char* const kScan = "SELECT id, name, qty, price, created_at FROM items";
const char* const kUpdate = "UPDATE items SET qty = $1 WHERE id = $2";
const char* const kRange =
    "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN $1 AND $2 "
    "ORDER BY price DESC LIMIT $3";
// How a bulk path (which gets no ids back) learns its rows' ids.
const char* const kIds = "SELECT id, created_at FROM items ORDER BY id";

// Keys per IN (...) query of Tessera's batched find, and rows per
// re-executed bulk statement of SOCI.
constexpr std::size_t kChunk = 1000;

// A bulk path's result: rows[i] gets the i-th id of `ids` (id, created_at in
// id order). True when every created_at matched, i.e. the table holds the
// rows in insertion order with the ids the library now knows.
bool assign_ids(std::vector<Item>& rows,
                const std::vector<std::pair<std::int64_t, std::int64_t>>& ids) {
  if (ids.size() != rows.size()) return false;
  bool ok = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].id = ids[i].first;
    ok = ok && ids[i].second == rows[i].created_at;
  }
  return ok;
}

// W4b's updates as one batch may apply them: each key once, with its last
// value, so the table ends as after applying every update in order.
std::vector<std::pair<std::int64_t, std::int32_t>> last_update_per_key(const Inputs& in) {
  std::unordered_map<std::int64_t, std::size_t> last;
  for (std::size_t i = 0; i < in.updates.size(); ++i) last[in.updates[i].first] = i;
  std::vector<std::pair<std::int64_t, std::int32_t>> out;
  for (std::size_t i = 0; i < in.updates.size(); ++i)
    if (last[in.updates[i].first] == i) out.push_back(in.updates[i]);
  return out;
}

// One library under test. A workload it does not run returns nullopt (a
// dash in the table); each other returns the workload's checksum.
class Library {
 public:
  virtual ~Library() = default;
  virtual std::string name() const = 0;
  // A peer whose wrong result is reported, not fatal.
  virtual bool peer() const { return false; }
  virtual void open(const std::string& url) = 0;
  virtual void close() = 0;
  // Drops and creates the table (untimed) through the library itself.
  virtual void reset_table() = 0;
  // Whether w1_insert runs; a library without it reads the W1b table.
  virtual bool has_w1() const { return true; }
  virtual std::optional<std::uint64_t> w1_insert(std::vector<Item>&) { return {}; }
  // Bulk paths return whether the ids they learned match (assign_ids).
  virtual std::optional<bool> w1b_bulk(std::vector<Item>&) { return {}; }
  virtual std::optional<std::uint64_t> w2_find(const std::vector<std::int64_t>&) { return {}; }
  virtual std::optional<std::uint64_t> w2b_batched(const std::vector<std::int64_t>&) { return {}; }
  virtual std::optional<std::uint64_t> w3_vector() { return {}; }
  virtual std::optional<std::uint64_t> w3_cursor() { return {}; }
  // Updates return the number of rows changed, summed over the updates.
  virtual std::optional<std::uint64_t> w4_update(const Inputs&) { return {}; }
  virtual std::optional<std::uint64_t> w4b_batched(const Inputs&) { return {}; }
  virtual std::optional<std::uint64_t> w5_range(const Inputs&) { return {}; }
};

// ------------------------------------------------------------------ libpq

struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ClearResult>;
struct FinishConn {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, FinishConn>;

[[noreturn]] void fail(PGconn* c, const std::string& what) {
  std::string m = PQerrorMessage(c);
  while (!m.empty() && m.back() == '\n') m.pop_back();
  throw std::runtime_error(what + ": " + m);
}

Conn connect(const std::string& url) {
  Conn c(PQconnectdb(url.c_str()));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) fail(c.get(), "connect");
  return c;
}

// Runs `r`'s check: a command or rows, else throws with `what`.
Result checked(PGconn* c, PGresult* r, const char* what) {
  Result res(r);
  const auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(c, what);
  return res;
}

void exec(PGconn* c, const char* sql) { checked(c, PQexec(c, sql), sql); }

void prepare(PGconn* c, const char* name, const char* sql) {
  checked(c, PQprepare(c, name, sql, 0, nullptr), sql);
}

// Binary wire values (network byte order).
std::int64_t get_int8(const PGresult* r, int row, int col) {
  std::uint64_t v;
  std::memcpy(&v, PQgetvalue(r, row, col), 8);
  return static_cast<std::int64_t>(be64toh(v));
}
std::int32_t get_int4(const PGresult* r, int row, int col) {
  std::uint32_t v;
  std::memcpy(&v, PQgetvalue(r, row, col), 4);
  return static_cast<std::int32_t>(be32toh(v));
}
double get_float8(const PGresult* r, int row, int col) {
  std::uint64_t v;
  std::memcpy(&v, PQgetvalue(r, row, col), 8);
  v = be64toh(v);
  double d;
  std::memcpy(&d, &v, 8);
  return d;
}
void read_item(const PGresult* r, int row, Item& it) {
  it.id = get_int8(r, row, 0);
  it.name.assign(PQgetvalue(r, row, 1), static_cast<std::size_t>(PQgetlength(r, row, 1)));
  it.qty = get_int4(r, row, 2);
  it.price = get_float8(r, row, 3);
  it.created_at = get_int8(r, row, 4);
}

// Binary parameters of one statement, at most four.
class Params {
 public:
  void clear() { n_ = 0; }
  void int8(std::int64_t v) {
    const std::uint64_t b = htobe64(static_cast<std::uint64_t>(v));
    put(&b, 8);
  }
  void int4(std::int32_t v) {
    const std::uint32_t b = htobe32(static_cast<std::uint32_t>(v));
    put(&b, 4);
  }
  void float8(double d) {
    std::uint64_t v;
    std::memcpy(&v, &d, 8);
    v = htobe64(v);
    put(&v, 8);
  }
  void text(const std::string& s) {
    values_[n_] = s.data();
    lengths_[n_] = static_cast<int>(s.size());
    formats_[n_] = 1;
    ++n_;
  }
  int count() const { return n_; }
  const char* const* values() const { return values_; }
  const int* lengths() const { return lengths_; }
  const int* formats() const { return formats_; }

 private:
  void put(const void* p, int len) {
    std::memcpy(scratch_[n_], p, static_cast<std::size_t>(len));
    values_[n_] = scratch_[n_];
    lengths_[n_] = len;
    formats_[n_] = 1;
    ++n_;
  }
  int n_ = 0;
  char scratch_[4][8]{};
  const char* values_[4]{};
  int lengths_[4]{};
  int formats_[4]{};
};

PGresult* exec_prepared(PGconn* c, const char* name, const Params& p) {
  return PQexecPrepared(c, name, p.count(), p.values(), p.lengths(), p.formats(), 1);
}

void item_params(Params& p, const Item& r) {
  p.clear();
  p.text(r.name);
  p.int4(r.qty);
  p.float8(r.price);
  p.int8(r.created_at);
}

// Untimed, through a connection of its own: ANALYZE, sum(qty), and the
// checksum of every stored row; independent of the library under test.
class Checker {
 public:
  explicit Checker(const std::string& url) : c_(connect(url)) {}
  void analyze() { exec(c_.get(), "ANALYZE items"); }
  std::uint64_t qty_total() {
    Result r = checked(c_.get(),
                       PQexecParams(c_.get(), "SELECT sum(qty) FROM items", 0, nullptr, nullptr,
                                    nullptr, nullptr, 1),
                       "sum(qty)");
    return static_cast<std::uint64_t>(get_int8(r.get(), 0, 0));
  }
  std::uint64_t stored_sum() {
    Result r = checked(
        c_.get(), PQexecParams(c_.get(), kScan, 0, nullptr, nullptr, nullptr, nullptr, 1), "scan");
    std::uint64_t sum = 0;
    Item it;
    for (int i = 0, n = PQntuples(r.get()); i < n; ++i) {
      read_item(r.get(), i, it);
      sum += bench::row_sum(it);
    }
    return sum;
  }

 private:
  Conn c_;
};

class LibpqBase : public Library {
 public:
  void open(const std::string& url) override { c_ = connect(url); }
  void close() override { c_.reset(); }
  // The statements are prepared after the DDL: PQprepare checks the table.
  void reset_table() override {
    for (const char* sql : kDdl) exec(c_.get(), sql);
    exec(c_.get(), "DEALLOCATE ALL");
    prepare_statements();
  }

 protected:
  virtual void prepare_statements() {}

  Conn c_;
  Params p_;
};

// One round trip per statement: PQprepare once, PQexecPrepared per row.
class LibpqPrepared final : public LibpqBase {
 public:
  std::string name() const override { return "libpq prepared"; }
  void prepare_statements() override {
    prepare(c_.get(), "ins", kInsert);
    prepare(c_.get(), "find", kFind);
    prepare(c_.get(), "scan", kScan);
    prepare(c_.get(), "upd", kUpdate);
    prepare(c_.get(), "range", kRange);
  }

  std::optional<std::uint64_t> w1_insert(std::vector<Item>& rows) override {
    PGconn* c = c_.get();
    std::uint64_t sum = 0;
    exec(c, "BEGIN");
    for (auto& r : rows) {
      item_params(p_, r);
      Result res = checked(c, exec_prepared(c, "ins", p_), kInsert);
      r.id = get_int8(res.get(), 0, 0);
      sum += bench::row_sum(r);
    }
    exec(c, "COMMIT");
    return sum;
  }
  std::optional<std::uint64_t> w2_find(const std::vector<std::int64_t>& keys) override {
    PGconn* c = c_.get();
    std::uint64_t sum = 0;
    Item r;
    for (auto k : keys) {
      p_.clear();
      p_.int8(k);
      Result res = checked(c, exec_prepared(c, "find", p_), kFind);
      if (PQntuples(res.get()) == 1) {
        read_item(res.get(), 0, r);
        sum += bench::row_sum(r);
      }
    }
    return sum;
  }
  std::optional<std::uint64_t> w3_vector() override {
    p_.clear();
    Result res = checked(c_.get(), exec_prepared(c_.get(), "scan", p_), kScan);
    const int n = PQntuples(res.get());
    std::vector<Item> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) read_item(res.get(), i, out[static_cast<std::size_t>(i)]);
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  // Single-row mode: one row in memory at a time.
  std::optional<std::uint64_t> w3_cursor() override {
    PGconn* c = c_.get();
    if (PQsendQueryPrepared(c, "scan", 0, nullptr, nullptr, nullptr, 1) == 0 ||
        PQsetSingleRowMode(c) == 0)
      fail(c, kScan);
    std::uint64_t sum = 0;
    Item r;
    while (PGresult* raw = PQgetResult(c)) {
      Result res(raw);
      const auto st = PQresultStatus(raw);
      if (st == PGRES_SINGLE_TUPLE) {
        read_item(raw, 0, r);
        sum += bench::row_sum(r);
      } else if (st != PGRES_TUPLES_OK) {
        fail(c, kScan);
      }
    }
    return sum;
  }
  std::optional<std::uint64_t> w4_update(const Inputs& in) override {
    PGconn* c = c_.get();
    std::uint64_t changed = 0;
    exec(c, "BEGIN");
    for (auto [id, qty] : in.updates) {
      p_.clear();
      p_.int4(qty);
      p_.int8(id);
      Result res = checked(c, exec_prepared(c, "upd", p_), kUpdate);
      changed += std::strtoull(PQcmdTuples(res.get()), nullptr, 10);
    }
    exec(c, "COMMIT");
    return changed;
  }
  std::optional<std::uint64_t> w5_range(const Inputs& in) override {
    PGconn* c = c_.get();
    std::uint64_t sum = 0;
    std::vector<Item> page;
    for (auto [lo, hi] : in.ranges) {
      p_.clear();
      p_.int4(lo);
      p_.int4(hi);
      p_.int8(bench::kRangeLimit);
      Result res = checked(c, exec_prepared(c, "range", p_), kRange);
      const int n = PQntuples(res.get());
      page.resize(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) read_item(res.get(), i, page[static_cast<std::size_t>(i)]);
      for (const auto& r : page) sum += bench::row_sum(r);
    }
    return sum;
  }
};

// libpq pipeline mode: every statement sent without waiting for the one
// before, one sync at the end; results read while sending (non-blocking),
// so neither side can block on a full socket buffer.
class LibpqPipeline final : public LibpqBase {
 public:
  std::string name() const override { return "libpq pipeline"; }
  bool has_w1() const override { return false; }
  void prepare_statements() override {
    prepare(c_.get(), "ins", kInsert);
    prepare(c_.get(), "find", kFind);
    prepare(c_.get(), "upd", kUpdate);
  }

  std::optional<bool> w1b_bulk(std::vector<Item>& rows) override {
    exec(c_.get(), "BEGIN");
    pipeline(
        rows.size(),
        [&](std::size_t i) {
          item_params(p_, rows[i]);
          return send("ins");
        },
        [&](std::size_t i, const PGresult* r) { rows[i].id = get_int8(r, 0, 0); });
    exec(c_.get(), "COMMIT");
    return true;  // ids came back through RETURNING
  }
  std::optional<std::uint64_t> w2b_batched(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    Item it;
    pipeline(
        keys.size(),
        [&](std::size_t i) {
          p_.clear();
          p_.int8(keys[i]);
          return send("find");
        },
        [&](std::size_t, const PGresult* r) {
          if (PQntuples(r) == 1) {
            read_item(r, 0, it);
            sum += bench::row_sum(it);
          }
        });
    return sum;
  }
  std::optional<std::uint64_t> w4b_batched(const Inputs& in) override {
    std::uint64_t changed = 0;
    exec(c_.get(), "BEGIN");
    pipeline(
        in.updates.size(),
        [&](std::size_t i) {
          p_.clear();
          p_.int4(in.updates[i].second);
          p_.int8(in.updates[i].first);
          return send("upd");
        },
        [&](std::size_t, const PGresult* r) {
          changed += std::strtoull(PQcmdTuples(const_cast<PGresult*>(r)), nullptr, 10);
        });
    exec(c_.get(), "COMMIT");
    return changed;
  }

 private:
  bool send(const char* stmt) {
    return PQsendQueryPrepared(c_.get(), stmt, p_.count(), p_.values(), p_.lengths(), p_.formats(),
                               1) != 0;
  }

  // Sends statements 0..n-1 (send(i) queues one) and hands each one's
  // result to on_result(i, result), in order. Throws on any failure.
  template <class Send, class OnResult>
  void pipeline(std::size_t n, Send send_one, OnResult on_result) {
    PGconn* c = c_.get();
    if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) == 0) fail(c, "pipeline mode");
    std::size_t sent = 0, done = 0;
    bool synced = false;
    // Parses what has arrived; a null result ends statement `done`.
    auto read_available = [&] {
      if (PQconsumeInput(c) == 0) fail(c, "pipeline read");
      while (!synced && PQisBusy(c) == 0) {
        Result r(PQgetResult(c));
        if (!r) {
          if (done == sent) break;  // nothing in flight has answered yet
          ++done;
          continue;
        }
        const auto st = PQresultStatus(r.get());
        if (st == PGRES_PIPELINE_SYNC)
          synced = true;
        else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
          on_result(done, r.get());
        else
          fail(c, "pipelined statement");
      }
    };
    for (; sent < n;) {
      if (!send_one(sent)) fail(c, "pipeline send");
      ++sent;
      if (PQflush(c) < 0) fail(c, "pipeline flush");
      if (sent % 64 == 0) read_available();
    }
    if (PQpipelineSync(c) == 0) fail(c, "pipeline sync");
    for (;;) {
      const int unsent = PQflush(c);
      if (unsent < 0) fail(c, "pipeline flush");
      read_available();
      if (synced) break;
      pollfd fd{PQsocket(c), static_cast<short>(POLLIN | (unsent ? POLLOUT : 0)), 0};
      if (::poll(&fd, 1, -1) < 0 && errno != EINTR) throw std::runtime_error("poll failed");
    }
    if (done != n) throw std::runtime_error("pipeline: results missing");
    if (PQexitPipelineMode(c) == 0 || PQsetnonblocking(c, 0) != 0) fail(c, "pipeline exit");
  }
};

// COPY ... FROM STDIN (text format) into the fresh table, then the ids
// read back (timed: the library must learn its rows' ids).
class LibpqCopy final : public LibpqBase {
 public:
  std::string name() const override { return "libpq COPY"; }
  bool has_w1() const override { return false; }

  std::optional<bool> w1b_bulk(std::vector<Item>& rows) override {
    PGconn* c = c_.get();
    Result r(PQexec(c, "COPY items(name, qty, price, created_at) FROM STDIN"));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) fail(c, "COPY");
    std::string buf;
    buf.reserve(1 << 17);
    char num[32];
    auto field = [&](auto v, char sep) {
      auto [end, ec] = std::to_chars(num, num + sizeof num, v);  // shortest round trip
      buf.append(num, end);
      buf += sep;
    };
    for (const auto& row : rows) {
      buf += row.name;  // names need no escaping: item-<digits>-<digits>
      buf += '\t';
      field(row.qty, '\t');
      field(row.price, '\t');
      field(row.created_at, '\n');
      if (buf.size() >= (1 << 16)) flush(buf);
    }
    flush(buf);
    if (PQputCopyEnd(c, nullptr) != 1) fail(c, "COPY end");
    checked(c, PQgetResult(c), "COPY");
    while (PGresult* rest = PQgetResult(c)) PQclear(rest);
    Result ids = checked(c, PQexecParams(c, kIds, 0, nullptr, nullptr, nullptr, nullptr, 1), kIds);
    std::vector<std::pair<std::int64_t, std::int64_t>> got(
        static_cast<std::size_t>(PQntuples(ids.get())));
    for (std::size_t i = 0; i < got.size(); ++i)
      got[i] = {get_int8(ids.get(), static_cast<int>(i), 0),
                get_int8(ids.get(), static_cast<int>(i), 1)};
    return assign_ids(rows, got);
  }

 private:
  void flush(std::string& buf) {
    if (!buf.empty() && PQputCopyData(c_.get(), buf.data(), static_cast<int>(buf.size())) != 1)
      fail(c_.get(), "COPY data");
    buf.clear();
  }
};

// ------------------------------------------------------------------ Tessera

// Query options added to Tessera's URL only (--tessera-options), e.g.
// copy_min_rows=0 to compare the driver's insert paths.
std::string g_tessera_options;

class Tessera final : public Library {
 public:
  std::string name() const override { return "tessera"; }
  void open(const std::string& url) override {
    tessera::Options o;
    o.max_connections = 1;  // one session, like every other library
    o.slow_statement = std::chrono::hours(1);
    std::string u = url;
    if (!g_tessera_options.empty())
      u += (u.find('?') == std::string::npos ? "?" : "&") + g_tessera_options;
    db_.emplace(tessera::Db::open(u, o));
  }
  void close() override { db_.reset(); }
  void reset_table() override {
    for (const char* sql : kDdl) db_->execute_raw(sql);
  }

  std::optional<std::uint64_t> w1_insert(std::vector<Item>& rows) override {
    return bench::tessera_run::insert_many(*db_, rows);
  }
  std::optional<std::uint64_t> w2_find(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_each(*db_, keys);
  }
  std::optional<std::uint64_t> w2b_batched(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_batched(*db_, keys, kChunk);
  }
  std::optional<std::uint64_t> w3_vector() override {
    return bench::tessera_run::scan_vector(*db_);
  }
  std::optional<std::uint64_t> w3_cursor() override {
    return bench::tessera_run::scan_cursor(*db_);
  }
  std::optional<std::uint64_t> w4_update(const Inputs& in) override {
    return bench::tessera_run::update_each(*db_, in);
  }
  // update_many sets each key once per operation (one UPDATE ... FROM
  // unnest(arrays) per 5000 rows), so a key updated twice goes in once with
  // its last value. It
  // returns the rows found; every key found means every update hit a row.
  std::optional<std::uint64_t> w4b_batched(const Inputs& in) override {
    const auto last = last_update_per_key(in);
    std::vector<Item> rows(last.size());
    for (std::size_t i = 0; i < last.size(); ++i) {
      rows[i].id = last[i].first;
      rows[i].qty = last[i].second;
    }
    auto tx = db_->transaction();
    const std::uint64_t found = tx.update_many(rows, tessera::only(&Item::qty));
    tx.commit();
    return found == rows.size() ? in.updates.size() : found;
  }
  std::optional<std::uint64_t> w5_range(const Inputs& in) override {
    return bench::tessera_run::range(*db_, in);
  }

 private:
  std::optional<tessera::Db> db_;
};

// ------------------------------------------------------------------ libpqxx

#ifdef TESSERA_BENCH_HAVE_PQXX
void read_item(const pqxx::row& row, Item& r) {
  r.id = row[0].as<std::int64_t>();
  r.name.assign(row[1].c_str(), row[1].size());
  r.qty = row[2].as<std::int32_t>();
  r.price = row[3].as<double>();
  r.created_at = row[4].as<std::int64_t>();
}

// Prepared statements (conn.prepare, exec_prepared); reads outside a
// transaction block go through a nontransaction (autocommit, like libpq).
class Pqxx final : public Library {
 public:
  std::string name() const override { return "libpqxx"; }
  bool peer() const override { return true; }
  void open(const std::string& url) override {
    c_ = std::make_unique<pqxx::connection>(url);
    c_->prepare("ins", kInsert);
    c_->prepare("find", kFind);
    c_->prepare("scan", kScan);
    c_->prepare("upd", kUpdate);
    c_->prepare("range", kRange);
  }
  void close() override { c_.reset(); }
  void reset_table() override {
    pqxx::nontransaction tx(*c_);
    for (const char* sql : kDdl) tx.exec(sql);
  }

  std::optional<std::uint64_t> w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    pqxx::work tx(*c_);
    for (auto& r : rows) {
      const pqxx::result res = tx.exec_prepared("ins", r.name, r.qty, r.price, r.created_at);
      r.id = res[0][0].as<std::int64_t>();
      sum += bench::row_sum(r);
    }
    tx.commit();
    return sum;
  }
  // pqxx::stream_to: COPY FROM STDIN, then the ids read back.
  std::optional<bool> w1b_bulk(std::vector<Item>& rows) override {
    pqxx::work tx(*c_);
    {
      pqxx::stream_to s(tx, "items",
                        std::vector<std::string>{"name", "qty", "price", "created_at"});
      for (const auto& r : rows) s << std::make_tuple(r.name, r.qty, r.price, r.created_at);
      s.complete();
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> got;
    for (const auto& row : tx.exec(kIds))
      got.emplace_back(row[0].as<std::int64_t>(), row[1].as<std::int64_t>());
    tx.commit();
    return assign_ids(rows, got);
  }
  std::optional<std::uint64_t> w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    pqxx::nontransaction tx(*c_);
    Item r;
    for (auto k : keys) {
      const pqxx::result res = tx.exec_prepared("find", k);
      if (res.size() == 1) {
        read_item(res[0], r);
        sum += bench::row_sum(r);
      }
    }
    return sum;
  }
  std::optional<std::uint64_t> w3_vector() override {
    pqxx::nontransaction tx(*c_);
    const pqxx::result res = tx.exec_prepared("scan");
    std::vector<Item> out(res.size());
    for (std::size_t i = 0; i < res.size(); ++i)
      read_item(res[static_cast<pqxx::result::size_type>(i)], out[i]);
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  // pqxx::icursorstream: a server-side cursor fetched kChunk rows at a
  // time. (pqxx::stream_from, libpqxx's COPY TO reader, would be the other
  // candidate, but 6.4.5 fails on this table's rows with "Too few fields
  // to extract from stream_from line".)
  std::optional<std::uint64_t> w3_cursor() override {
    pqxx::work tx(*c_);
    pqxx::icursorstream cur(tx, kScan, "bench_scan",
                            static_cast<pqxx::cursor_base::difference_type>(kChunk));
    std::uint64_t sum = 0;
    Item r;
    pqxx::result chunk;
    while (cur >> chunk)
      for (const auto& row : chunk) {
        read_item(row, r);
        sum += bench::row_sum(r);
      }
    tx.commit();
    return sum;
  }
  std::optional<std::uint64_t> w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    pqxx::work tx(*c_);
    for (auto [id, qty] : in.updates)
      changed += static_cast<std::uint64_t>(tx.exec_prepared("upd", qty, id).affected_rows());
    tx.commit();
    return changed;
  }
  std::optional<std::uint64_t> w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    pqxx::nontransaction tx(*c_);
    std::vector<Item> page;
    for (auto [lo, hi] : in.ranges) {
      const pqxx::result res = tx.exec_prepared("range", lo, hi, bench::kRangeLimit);
      page.resize(res.size());
      for (std::size_t i = 0; i < res.size(); ++i)
        read_item(res[static_cast<pqxx::result::size_type>(i)], page[i]);
      for (const auto& r : page) sum += bench::row_sum(r);
    }
    return sum;
  }

 private:
  std::unique_ptr<pqxx::connection> c_;
};
#endif

// ------------------------------------------------------------------ SOCI

#ifdef TESSERA_BENCH_HAVE_SOCI
// SOCI's placeholders are :names, bound in order.
const char* const kSociInsert =
    "INSERT INTO items(name, qty, price, created_at) VALUES (:n, :q, :p, :c) RETURNING id";
const char* const kSociInsertBulk =
    "INSERT INTO items(name, qty, price, created_at) VALUES (:n, :q, :p, :c)";
const char* const kSociFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = :id";
const char* const kSociUpdate = "UPDATE items SET qty = :q WHERE id = :id";
const char* const kSociRange =
    "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN :lo AND :hi "
    "ORDER BY price DESC LIMIT :lim";

// SOCI 4.0 takes a keyword=value string (it mangles a postgresql:// URI):
// the URL's parts as libpq parses them.
std::string keyword_string(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) {
    const std::string m = err ? err : "out of memory";
    PQfreemem(err);
    throw std::runtime_error("bad URL: " + m);
  }
  std::string out;
  for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    std::string v;
    for (const char* ch = o->val; *ch; ++ch) {
      if (*ch == '\'' || *ch == '\\') v += '\\';
      v += *ch;
    }
    out += std::string(out.empty() ? "" : " ") + o->keyword + "='" + v + "'";
  }
  PQconninfoFree(opts);
  return out;
}

// soci::statement prepared once with use/into, re-executed per row; the
// bulk rows re-execute one prepared statement with refilled vectors of
// kChunk rows (the usage whose stale values the issue reports).
class Soci final : public Library {
 public:
  std::string name() const override { return "SOCI"; }
  bool peer() const override { return true; }
  void open(const std::string& url) override {
    s_ = std::make_unique<soci::session>(*soci::factory_postgresql(), keyword_string(url));
  }
  void close() override { s_.reset(); }
  void reset_table() override {
    for (const char* sql : kDdl) *s_ << sql;
  }

  std::optional<std::uint64_t> w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    Item v;
    long long id = 0, created = 0;
    soci::transaction tx(*s_);
    soci::statement st = (s_->prepare << kSociInsert, soci::use(v.name), soci::use(v.qty),
                          soci::use(v.price), soci::use(created), soci::into(id));
    for (auto& r : rows) {
      v.name = r.name;
      v.qty = r.qty;
      v.price = r.price;
      created = r.created_at;
      st.execute(true);
      r.id = id;
      sum += bench::row_sum(r);
    }
    tx.commit();
    return sum;
  }
  std::optional<bool> w1b_bulk(std::vector<Item>& rows) override {
    std::vector<std::string> names;
    std::vector<int> qtys;
    std::vector<double> prices;
    std::vector<long long> created;
    fill_insert(rows, 0, names, qtys, prices, created);
    soci::transaction tx(*s_);
    soci::statement st = (s_->prepare << kSociInsertBulk, soci::use(names), soci::use(qtys),
                          soci::use(prices), soci::use(created));
    for (std::size_t start = 0; start < rows.size(); start += kChunk) {
      fill_insert(rows, start, names, qtys, prices, created);
      st.execute(true);
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> got;
    std::vector<long long> ids(kChunk), at(kChunk);
    soci::statement q = (s_->prepare << kIds, soci::into(ids), soci::into(at));
    q.execute();
    while (q.fetch()) {
      for (std::size_t i = 0; i < ids.size(); ++i) got.emplace_back(ids[i], at[i]);
      ids.resize(kChunk);
      at.resize(kChunk);
    }
    tx.commit();
    return assign_ids(rows, got);
  }
  std::optional<std::uint64_t> w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    Item r;
    long long id = 0, created = 0, key = 0;
    soci::statement st =
        (s_->prepare << kSociFind, soci::into(id), soci::into(r.name), soci::into(r.qty),
         soci::into(r.price), soci::into(created), soci::use(key));
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
  // Vectors of kChunk rows per fetch (SOCI's bulk into).
  std::optional<std::uint64_t> w3_vector() override {
    std::vector<Item> out;
    std::vector<long long> ids(kChunk), created(kChunk);
    std::vector<std::string> names(kChunk);
    std::vector<int> qtys(kChunk);
    std::vector<double> prices(kChunk);
    soci::statement st = (s_->prepare << kScan, soci::into(ids), soci::into(names),
                          soci::into(qtys), soci::into(prices), soci::into(created));
    st.execute();
    while (st.fetch()) {
      for (std::size_t i = 0; i < ids.size(); ++i)
        out.push_back(Item{ids[i], std::move(names[i]), qtys[i], prices[i], created[i]});
      for (auto* v : {&ids, &created}) v->resize(kChunk);
      names.resize(kChunk);
      qtys.resize(kChunk);
      prices.resize(kChunk);
    }
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  // One row per fetch.
  std::optional<std::uint64_t> w3_cursor() override {
    Item r;
    long long id = 0, created = 0;
    soci::statement st = (s_->prepare << kScan, soci::into(id), soci::into(r.name),
                          soci::into(r.qty), soci::into(r.price), soci::into(created));
    st.execute();
    std::uint64_t sum = 0;
    while (st.fetch()) sum += bench::row_sum(id, r.qty, r.price, created, r.name.size());
    return sum;
  }
  std::optional<std::uint64_t> w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    int qty = 0;
    long long id = 0;
    soci::transaction tx(*s_);
    soci::statement st = (s_->prepare << kSociUpdate, soci::use(qty), soci::use(id));
    for (auto [k, q] : in.updates) {
      id = k;
      qty = q;
      st.execute(true);
      changed += static_cast<std::uint64_t>(st.get_affected_rows());
    }
    tx.commit();
    return changed;
  }
  std::optional<std::uint64_t> w4b_batched(const Inputs& in) override {
    std::uint64_t changed = 0;
    std::vector<int> qtys;
    std::vector<long long> ids;
    auto fill = [&](std::size_t start) {
      const std::size_t end = std::min(in.updates.size(), start + kChunk);
      qtys.clear();
      ids.clear();
      for (std::size_t i = start; i < end; ++i) {
        ids.push_back(in.updates[i].first);
        qtys.push_back(in.updates[i].second);
      }
    };
    fill(0);
    soci::transaction tx(*s_);
    soci::statement st = (s_->prepare << kSociUpdate, soci::use(qtys), soci::use(ids));
    for (std::size_t start = 0; start < in.updates.size(); start += kChunk) {
      fill(start);
      st.execute(true);
      changed += static_cast<std::uint64_t>(st.get_affected_rows());
    }
    tx.commit();
    return changed;
  }
  std::optional<std::uint64_t> w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    Item r;
    long long id = 0, created = 0, limit = bench::kRangeLimit;
    int lo = 0, hi = 0;
    soci::statement st =
        (s_->prepare << kSociRange, soci::into(id), soci::into(r.name), soci::into(r.qty),
         soci::into(r.price), soci::into(created), soci::use(lo), soci::use(hi), soci::use(limit));
    std::vector<Item> page;
    for (auto [l, h] : in.ranges) {
      lo = l;
      hi = h;
      page.clear();
      st.execute();
      while (st.fetch()) page.push_back(Item{id, r.name, r.qty, r.price, created});
      for (const auto& p : page) sum += bench::row_sum(p);
    }
    return sum;
  }

 private:
  static void fill_insert(const std::vector<Item>& rows, std::size_t start,
                          std::vector<std::string>& names, std::vector<int>& qtys,
                          std::vector<double>& prices, std::vector<long long>& created) {
    const std::size_t end = std::min(rows.size(), start + kChunk);
    names.clear();
    qtys.clear();
    prices.clear();
    created.clear();
    for (std::size_t i = start; i < end; ++i) {
      names.push_back(rows[i].name);
      qtys.push_back(rows[i].qty);
      prices.push_back(rows[i].price);
      created.push_back(rows[i].created_at);
    }
  }

  std::unique_ptr<soci::session> s_;
};
#endif

// ------------------------------------------------------------------ driver

// The workload to run (its tag, "W3a"), or empty for all.
std::string g_workload;

// Whether `workload` (a kW* name) is selected by --workload.
bool selected(const std::string& workload) {
  return g_workload.empty() || workload.starts_with(g_workload + " ");
}

// Times `f` (returning an optional checksum) and records it; nothing when
// the library does not run the workload.
template <class F>
void timed(bench::Results& res, const std::string& workload, const std::string& lib,
           std::uint64_t ops, F&& f) {
  if (!selected(workload)) return;
  std::optional<std::uint64_t> sum;
  bench::settle();
  const double s = bench::seconds([&] { sum = f(); });
  if (sum) res.record(workload, lib, ops, s, *sum);
}

// Each library works in a schema of its own (bench_<name>, first on its
// connections' search_path), so that all of them can hold their tables at
// once and every workload can run through every library before the next.
std::string schema_of(const Library& lib) {
  std::string name = "bench_" + lib.name();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

// `url` with the library's schema first on the search path (the libpq
// `options` keyword, which Tessera's URL passes through too).
std::string url_for(const std::string& url, const Library& lib) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" +
         schema_of(lib);
}

// A library under test with its own checking connection (same schema).
struct Runner {
  Library* lib;
  std::unique_ptr<Checker> check;
  std::optional<bool> ids_ok;  // W1b's verdict this repetition
};

// One repetition. Every workload runs through every library (in `order`)
// before the next workload, so the runs compared in one row are seconds
// apart rather than a whole library's workloads apart; the caller rotates
// `order`. Per library, as before: the bulk path first, into a fresh table
// (ids 1..N), its checksum over what the table then holds (read untimed by
// the checker), spoiled when the ids the library learned do not match; then
// W1 into a fresh table again, which the other workloads read.
void run_repetition(const std::vector<Runner*>& order, const std::string& url, const Inputs& in,
                    bench::Results& res) {
  const auto n = static_cast<std::uint64_t>(in.rows.size());
  const auto n_updates = static_cast<std::uint64_t>(in.updates.size());
  for (Runner* r : order) {
    r->lib->open(url_for(url, *r->lib));
    r->lib->reset_table();
    r->ids_ok.reset();
  }
  for (Runner* r : order) {
    Library& lib = *r->lib;
    if (!selected(kW1b) && lib.has_w1()) continue;
    std::vector<Item> rows = in.rows;
    bench::settle();
    const double s = bench::seconds([&] { r->ids_ok = lib.w1b_bulk(rows); });
    if (r->ids_ok && selected(kW1b))
      res.record(kW1b, lib.name(), n, s, r->check->stored_sum() + (*r->ids_ok ? 0 : 1));
  }
  for (Runner* r : order) {
    Library& lib = *r->lib;
    if (!lib.has_w1()) continue;
    if (r->ids_ok) lib.reset_table();
    std::vector<Item> rows = in.rows;  // W1 writes the generated ids back
    if (selected(kW1))
      timed(res, kW1, lib.name(), n, [&] { return lib.w1_insert(rows); });
    else
      (void)lib.w1_insert(rows);  // fills the table the other workloads read
  }
  for (Runner* r : order) r->check->analyze();
  const auto each = [&](const std::string& workload, std::uint64_t ops, auto&& run) {
    for (Runner* r : order) timed(res, workload, r->lib->name(), ops, [&] { return run(*r->lib); });
  };
  each(kW2, n, [&](Library& l) { return l.w2_find(in.lookup_keys); });
  each(kW2b, n, [&](Library& l) { return l.w2b_batched(in.lookup_keys); });
  const std::uint64_t scanned = static_cast<std::uint64_t>(n) * bench::kPasses;
  each(kW3a, scanned, [](Library& l) { return bench::passes([&] { return l.w3_vector(); }); });
  each(kW3b, scanned, [](Library& l) { return bench::passes([&] { return l.w3_cursor(); }); });
  // W4, W5, then W4b on the same table: applying the updates again in
  // order leaves the same rows, so W4 and W4b end in the same sum(qty);
  // W5 reads the table W4 left, whatever a wrong W4b would do to it.
  const auto updates = [&](const std::string& w,
                           std::optional<std::uint64_t> (Library::*run)(const Inputs&)) {
    if (!selected(w)) return;
    for (Runner* r : order) {
      std::optional<std::uint64_t> changed;
      bench::settle();
      const double s = bench::seconds([&] { changed = (r->lib->*run)(in); });
      if (changed)
        res.record(w, r->lib->name(), n_updates, s, *changed * 1000003u + r->check->qty_total());
    }
  };
  updates(kW4, &Library::w4_update);
  each(kW5, in.ranges.size(), [&](Library& l) { return l.w5_range(in); });
  updates(kW4b, &Library::w4b_batched);
  for (Runner* r : order) r->lib->close();
}

[[noreturn]] void usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--url postgresql://...] [--n N] [--reps R] [--out FILE.md] [--only LIBRARY]\n"
            << "  [--settle SECONDS] (before each timed run, wait up to SECONDS for idle CPUs)\n"
            << "  [--tessera-options K=V&...] (added to Tessera's URL only)\n"
               "  [--workload W1|W1b|W2|W2b|W3a|W3b|W4|W4b|W5]\n"
               "  (--url defaults to $TESSERA_TEST_POSTGRESQL_URL)\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args =
      bench::parse_args(argc, argv, {"--url", "--only", "--workload", "--tessera-options"});
  if (!args) usage(argv[0]);
  const std::string load_at_start = bench::load_average();
  const std::int64_t n = args->n;
  const int reps = args->reps;
  const std::string& out_path = args->out;
  const std::string url = args->url("TESSERA_TEST_POSTGRESQL_URL");
  const std::string only = args->get("--only");
  g_workload = args->get("--workload");
  g_tessera_options = args->get("--tessera-options");
  if (url.empty()) {
    std::cerr << "tessera_bench_postgresql: no server: pass --url postgresql://... or set "
                 "TESSERA_TEST_POSTGRESQL_URL\n"
                 "  (scripts/services/postgresql.sh start DIR starts a throwaway one); skipped\n";
    return 77;
  }

  tessera::postgresql::register_linked();
  const std::size_t updates = std::min<std::size_t>(10000, static_cast<std::size_t>(n));
  const std::size_t ranges = 2000;
  const Inputs in = bench::make_inputs(n, updates, ranges);

  std::vector<std::unique_ptr<Library>> libs;
  libs.push_back(std::make_unique<LibpqPrepared>());
  libs.push_back(std::make_unique<LibpqPipeline>());
  libs.push_back(std::make_unique<LibpqCopy>());
  libs.push_back(std::make_unique<Tessera>());
#ifdef TESSERA_BENCH_HAVE_PQXX
  libs.push_back(std::make_unique<Pqxx>());
#endif
#ifdef TESSERA_BENCH_HAVE_SOCI
  libs.push_back(std::make_unique<Soci>());
#endif

  if (!g_workload.empty() && std::none_of(std::begin(kWorkloads), std::end(kWorkloads),
                                          [](const std::string* w) { return selected(*w); }))
    usage(argv[0]);
  if (!only.empty()) {
    std::erase_if(libs, [&](const auto& lib) { return lib->name() != only; });
    if (libs.empty()) usage(argv[0]);
  }

  bench::Results res;
  // The report's order of rows and columns, whatever runs first.
  for (const auto* w : kWorkloads) res.workloads.push_back(*w);
  for (const auto& lib : libs) {
    res.libraries.push_back(lib->name());
    if (lib->peer()) res.mark_peer(lib->name());
  }
  res.set_baseline(kW1b, kW1);
  res.set_baseline(kW2b, kW2);
  res.set_baseline(kW4b, kW4);

  std::string server_version = "?";
  // The libraries' schemas, made here and dropped at the end (also after
  // a failure).
  const auto drop_schemas = [&](PGconn* c) {
    for (const auto& lib : libs)
      exec(c, ("DROP SCHEMA IF EXISTS " + schema_of(*lib) + " CASCADE").c_str());
  };
  try {
    Conn admin = connect(url);
    server_version = std::to_string(PQserverVersion(admin.get()));
    try {
      drop_schemas(admin.get());
      for (const auto& lib : libs) exec(admin.get(), ("CREATE SCHEMA " + schema_of(*lib)).c_str());
      std::vector<Runner> runners;
      for (const auto& lib : libs)
        runners.push_back(Runner{lib.get(), std::make_unique<Checker>(url_for(url, *lib)), {}});
      for (int rep = 0; rep < reps; ++rep) {
        run_repetition(bench::rotated(runners, rep), url, in, res);
        std::cerr << "  rep " << rep + 1 << '/' << reps << " done\n";
      }
    } catch (...) {
      for (const auto& lib : libs) lib->close();
      drop_schemas(admin.get());
      throw;
    }
    drop_schemas(admin.get());
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  // Rows whose workload no library ran stay out of the table.
  std::erase_if(res.workloads, [&](const std::string& w) { return !res.ops.count(w); });

  std::ostringstream report;
  report << "## PostgreSQL benchmark\n\n"
         << "- rows N = " << n << ", W4 updates = " << updates << ", W5 queries = " << ranges
         << ", repetitions = " << reps << " (median)\n"
         << "- CPU: " << bench::cpus() << " x " << bench::cpu_model() << ", load average at start "
         << load_at_start << "\n"
         << "- server " << server_version << " over TCP loopback, libpq " << PQlibVersion()
         << ", compiler " << bench::compiler() << "\n"
         << "- each library: its own connection and its own schema (its table dropped and "
            "created before each repetition, and before W1b; ANALYZE after W1, untimed); each "
            "workload runs through every library before the next, the library going first "
            "rotating with the repetition\n"
         << "- W1b: bulk paths (COPY, stream_to, SOCI vector use in chunks of " << kChunk
         << ") include reading the ids back; libpq pipeline: one pipeline of single-row "
            "INSERT ... RETURNING\n"
         << "- W2b: tessera fetch_all(id IN (" << kChunk
         << " keys)) per chunk; libpq pipeline: one pipeline of point selects\n"
         << bench::passes_note("W3a, W3b")
         << "- W4b: tessera update_many(only qty) on the last update of each key (one "
            "UPDATE ... FROM unnest(arrays) per 5000 keys); libpq pipeline: one pipeline of "
            "updates; SOCI: "
            "vector use in chunks of "
         << kChunk << "\n\n";
  report << bench::markdown("PostgreSQL", res) << '\n';

  // Beyond agreement within a row: a batched or bulk row must give its
  // single-statement row's answer (same rows, same final table).
  std::string mismatches;
  bool ok = res.checksums_agree(&mismatches);
  for (const auto& [w, base] : res.baseline_of) {
    const auto a = res.reference(w), b = res.reference(base);
    if (a && b && *a != *b) {
      ok = false;
      mismatches += "checksum mismatch: " + w + " differs from " + base + "\n";
    }
  }
  report << "- load average at end " << bench::load_average() << "\n";
  if (!ok) report << "\n**CHECKSUM MISMATCH**\n\n" << mismatches;

  return bench::finish(report.str(), out_path, ok, mismatches);
}
