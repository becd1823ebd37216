// MariaDB benchmark: the same workloads, on the same data, through MariaDB
// Connector/C (prepared statements, one round trip per statement: the
// baseline), Connector/C's bulk paths (array binding; multi-row VALUES),
// Tessera (the linked mysql driver) and SOCI (when found at configure time).
//
//   tessera_bench_mysql [--url mysql://user:pw@host:port/db] [--n N] [--reps R] [--out FILE.md]
//                       [--only LIBRARY] [--workload W] [--settle SECONDS]
//
// --only runs one library (its name as in the table, e.g. tessera), for
// profiling. --workload runs one workload (its tag, e.g. W3a), also for
// profiling: the table is still filled through the library's W1, untimed
// and unreported unless selected. Under callgrind, count only the workload
// with e.g. --toggle-collect='*Tessera::w3_vector*' (or
// '*Prepared::w3_vector*' for Connector/C).
//
// Each timed workload also prints the client's CPU time per operation
// (getrusage) on stderr, `cpu: WORKLOAD / LIBRARY: X us/op client (user U,
// system S)`: wall times here are shared with the server and other load,
// the client's user time is what a driver change moves.
//
// Without --url the URL comes from TESSERA_TEST_MYSQL_URL; with neither the
// program says so and exits 77 (CTest's "skipped"). Prints one markdown
// table (ops/s, median of R repetitions, ratio to the Connector/C prepared
// loop) and the per-workload checksums; exits 2 when the checksums of the
// baseline or Tessera differ. A peer library's (SOCI's) wrong checksum is
// shown as "wrong" and noted, without failing the run. See
// docs/performance.md.
//
// Every library works in a database of its own (tessera_bench_<library>,
// created at start and dropped at exit; the server must grant the user all
// privileges on `tessera\_bench\_%`.*, as scripts/services/mariadb.sh
// does), so each workload runs through every library before the next one
// starts, the library going first rotating with the repetition. Every
// repetition of every library starts from an empty table: each library
// drops and creates `items` through its own connection with the one DDL
// below (Tessera with execute_raw, not push_schema, whose mapping of the
// model would differ: LONGTEXT name).
#include <mysql.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tessera/mysql.hpp>
#include <tessera/tessera.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#ifdef TESSERA_BENCH_HAVE_SOCI
#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>
#endif

#include "bench_common.hpp"
#include "bench_tessera.hpp"

namespace {

using bench::Item;

const char* kDropTable = "DROP TABLE IF EXISTS items";
const char* kCreateTable =
    "CREATE TABLE items(id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, "
    "qty INT NOT NULL, price DOUBLE NOT NULL, created_at BIGINT NOT NULL, INDEX(qty)) "
    "ENGINE=InnoDB";
const char* kInsert = "INSERT INTO items(name, qty, price, created_at) VALUES (?, ?, ?, ?)";
const char* kFind = "SELECT id, name, qty, price, created_at FROM items WHERE id = ?";
const char* kScan = "SELECT id, name, qty, price, created_at FROM items";
const char* kUpdate = "UPDATE items SET qty = ? WHERE id = ?";
const char* kRange =
    "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN ? AND ? "
    "ORDER BY price DESC LIMIT ?";

// Rows per execution of the bulk paths (array binding, SOCI's vectors) and
// keys per IN (...) of Tessera's batched find.
constexpr std::size_t kArrayRows = 10000;
constexpr std::size_t kSociBulkRows = 1000;
constexpr std::size_t kFindBatch = 1000;

// A bulk path's rows per execution: `cap`, but at most an eighth of the
// total, so that a small run (the smoke test) re-executes its statements
// with refilled buffers too, which is where bulk APIs have gone wrong.
std::size_t bulk_rows(std::size_t total, std::size_t cap) {
  return std::max<std::size_t>(1, std::min(cap, total / 8));
}

// The workloads' inputs, with what the MariaDB runs add: W4's updates
// adjusted so that each one changes its row (SOCI's MySQL backend counts
// changed rows, the others matched rows; with every update a change both
// counts agree), and the same updates with one entry per key (the last
// value wins, as applied in order) for the batched paths, which cannot
// apply two values to one key in one statement in a defined order.
struct Inputs : bench::Inputs {
  std::vector<std::pair<std::int64_t, std::int32_t>> unique_updates;  // W4b: row number, qty
};

Inputs make_inputs(std::int64_t n, std::size_t updates, std::size_t ranges) {
  Inputs in;
  static_cast<bench::Inputs&>(in) = bench::make_inputs(n, updates, ranges);
  // Ids are 1..n: each repetition inserts into a new table.
  std::vector<std::int32_t> initial(static_cast<std::size_t>(n) + 1), current;
  for (std::size_t i = 0; i < in.rows.size(); ++i) initial[i + 1] = in.rows[i].qty;
  current = initial;
  std::unordered_map<std::int64_t, std::size_t> last;  // id -> index of its last update
  for (std::size_t i = 0; i < in.updates.size(); ++i) last[in.updates[i].first] = i;
  for (std::size_t i = 0; i < in.updates.size(); ++i) {
    auto& [id, qty] = in.updates[i];
    const auto k = static_cast<std::size_t>(id);
    while (qty == current[k] || (last[id] == i && qty == initial[k]))
      qty = (qty + 1) % bench::kQtyRange;
    current[k] = qty;
  }
  std::unordered_map<std::int64_t, bool> seen;
  for (const auto& [id, qty] : in.updates)
    if (!seen[id]) {
      seen[id] = true;
      in.unique_updates.emplace_back(id, current[static_cast<std::size_t>(id)]);
    }
  return in;
}

using Updates = std::vector<std::pair<std::int64_t, std::int32_t>>;  // id, new qty

enum class Work { w1, w1b, w2, w2b, w3a, w3b, w4, w4b, w5 };

// One library under test. A library implements some of the workloads
// (has()); the others throw. Each returns the workload's checksum; W4 and
// W4b return the number of rows they changed.
class Library {
 public:
  virtual ~Library() = default;
  virtual std::string name() const = 0;
  virtual bool has(Work w) const = 0;
  virtual void connect() = 0;
  virtual void disconnect() = 0;
  // DROP and CREATE items through this library's connection.
  virtual void recreate() = 0;
  virtual std::uint64_t w1_insert(std::vector<Item>&) { return none(); }
  // Fills each row's id (the verifier checks them; see run_library).
  virtual void w1_bulk(std::vector<Item>&) { none(); }
  virtual std::uint64_t w2_find(const std::vector<std::int64_t>&) { return none(); }
  virtual std::uint64_t w2_batched(const std::vector<std::int64_t>&) { return none(); }
  virtual std::uint64_t w3_vector() { return none(); }
  virtual std::uint64_t w3_cursor() { return none(); }
  virtual std::uint64_t w4_update(const Inputs&) { return none(); }
  // `updates`: Inputs::unique_updates with the ids this library's W1b got.
  virtual std::uint64_t w4_bulk(const Updates&) { return none(); }
  virtual std::uint64_t w5_range(const Inputs&) { return none(); }

 private:
  std::uint64_t none() const { throw std::logic_error(name() + ": workload not implemented"); }
};

// ------------------------------------------------------------------ URL

struct Url {
  std::string user, password, host = "127.0.0.1", database;
  unsigned port = 3306;
};

// mysql://user:password@host:port/database[?options] (options ignored).
Url parse_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) throw std::runtime_error("not a mysql:// URL: " + url);
  std::string rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find('?'));
  Url u;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string auth = rest.substr(0, at);
    const auto colon = auth.find(':');
    u.user = auth.substr(0, colon);
    if (colon != std::string::npos) u.password = auth.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  const auto slash = rest.find('/');
  if (slash != std::string::npos) u.database = rest.substr(slash + 1);
  const std::string hostport = rest.substr(0, slash);
  const auto colon = hostport.find(':');
  u.host = hostport.substr(0, colon);
  if (colon != std::string::npos)
    u.port = static_cast<unsigned>(std::stoul(hostport.substr(colon + 1)));
  return u;
}

// ------------------------------------------------------------------ Connector/C

struct CloseMysql {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
using MysqlPtr = std::unique_ptr<MYSQL, CloseMysql>;

// `url` (mysql://user:password@host:port/database[?options]) naming
// `database` instead.
std::string with_database(const std::string& url, const std::string& database) {
  const std::size_t authority = url.find("://");
  const std::size_t slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  const std::size_t query = url.find('?', slash == std::string::npos ? url.size() : slash);
  if (slash == std::string::npos) return url + "/" + database;
  return url.substr(0, slash + 1) + database +
         (query == std::string::npos ? std::string() : url.substr(query));
}

MysqlPtr connect_mysql(const Url& u) {
  MysqlPtr db(mysql_init(nullptr));
  if (!db) throw std::runtime_error("mysql_init: out of memory");
  mysql_optionsv(db.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // CLIENT_FOUND_ROWS: UPDATE counts matched rows, as Tessera's sessions do.
  if (mysql_real_connect(db.get(), u.host.c_str(), u.user.c_str(), u.password.c_str(),
                         u.database.c_str(), u.port, nullptr, CLIENT_FOUND_ROWS) == nullptr)
    throw std::runtime_error(std::string("connect: ") + mysql_error(db.get()));
  return db;
}

void run_sql(MYSQL* db, const char* sql) {
  if (mysql_query(db, sql) != 0)
    throw std::runtime_error(std::string(sql) + ": " + mysql_error(db));
  if (MYSQL_RES* res = mysql_store_result(db)) mysql_free_result(res);
}

// One text-protocol row of a one-row query, as strings.
std::vector<std::string> query_row(MYSQL* db, const char* sql) {
  if (mysql_query(db, sql) != 0)
    throw std::runtime_error(std::string(sql) + ": " + mysql_error(db));
  MYSQL_RES* res = mysql_store_result(db);
  if (res == nullptr) throw std::runtime_error(std::string(sql) + ": no result");
  std::vector<std::string> out;
  if (MYSQL_ROW row = mysql_fetch_row(res))
    for (unsigned i = 0; i < mysql_num_fields(res); ++i) out.emplace_back(row[i] ? row[i] : "NULL");
  mysql_free_result(res);
  return out;
}

class Stmt {
 public:
  Stmt(MYSQL* db, std::string_view sql) : s_(mysql_stmt_init(db)) {
    if (s_ == nullptr) throw std::runtime_error("mysql_stmt_init: out of memory");
    if (mysql_stmt_prepare(s_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
      fail("prepare");
  }
  ~Stmt() { mysql_stmt_close(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  MYSQL_STMT* get() const { return s_; }

  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string(what) + ": " + mysql_stmt_error(s_));
  }
  void bind(MYSQL_BIND* params) {
    if (mysql_stmt_bind_param(s_, params) != 0) fail("bind_param");
  }
  void execute() {
    if (mysql_stmt_execute(s_) != 0) fail("execute");
  }
  // Next row of an unbuffered result into the bound buffers; false at the end.
  bool fetch() {
    const int rc = mysql_stmt_fetch(s_);
    if (rc == 0) return true;
    if (rc == MYSQL_NO_DATA) return false;
    if (rc == MYSQL_DATA_TRUNCATED) throw std::runtime_error("fetch: a value was truncated");
    fail("fetch");
  }

 private:
  MYSQL_STMT* s_;
};

MYSQL_BIND bind_of(enum_field_types type, void* buffer, unsigned long* length = nullptr) {
  MYSQL_BIND b;
  std::memset(&b, 0, sizeof b);
  b.buffer_type = type;
  b.buffer = buffer;
  b.length = length;
  return b;
}

// Result buffers for the five columns of items, bound once per statement
// (binary protocol); copy() moves the current row into an Item.
class ItemResult {
 public:
  void bind(Stmt& st) {
    MYSQL_BIND b[5] = {bind_of(MYSQL_TYPE_LONGLONG, &id_),
                       bind_of(MYSQL_TYPE_STRING, name_, &name_len_),
                       bind_of(MYSQL_TYPE_LONG, &qty_), bind_of(MYSQL_TYPE_DOUBLE, &price_),
                       bind_of(MYSQL_TYPE_LONGLONG, &created_at_)};
    b[1].buffer_length = sizeof name_;
    if (mysql_stmt_bind_result(st.get(), b) != 0) st.fail("bind_result");
  }
  void copy(Item& r) const {
    r.id = id_;
    r.name.assign(name_, name_len_);
    r.qty = qty_;
    r.price = price_;
    r.created_at = created_at_;
  }
  std::uint64_t sum() const { return bench::row_sum(id_, qty_, price_, created_at_, name_len_); }

 private:
  long long id_ = 0;
  char name_[256];  // VARCHAR(64) of utf8mb4: at most 256 bytes
  unsigned long name_len_ = 0;
  std::int32_t qty_ = 0;
  double price_ = 0;
  long long created_at_ = 0;
};

// The reference connection, outside every library under test: reads what a
// library left in the table (untimed) and the server's settings.
class Verifier {
 public:
  explicit Verifier(const Url& u) : db_(connect_mysql(u)) {}

  // Rows the library reported (with the ids it got back) that the table does
  // not hold exactly, plus the difference in row counts. 0 when the table is
  // exactly `rows`.
  std::uint64_t mismatches(const std::vector<Item>& rows) {
    std::unordered_map<std::int64_t, const Item*> by_id;
    for (const auto& r : rows) by_id.emplace(r.id, &r);
    Stmt st(db_.get(), kScan);
    ItemResult res;
    st.execute();
    res.bind(st);
    std::uint64_t bad = 0, count = 0;
    Item got;
    while (st.fetch()) {
      ++count;
      res.copy(got);
      auto it = by_id.find(got.id);
      const Item* want = it == by_id.end() ? nullptr : it->second;
      if (!want || want->name != got.name || want->qty != got.qty || want->price != got.price ||
          want->created_at != got.created_at)
        ++bad;
    }
    bad += count > rows.size() ? count - rows.size() : rows.size() - count;
    bad += rows.size() - by_id.size();  // ids reported twice
    return bad;
  }
  std::uint64_t qty_total() {
    return std::stoull(query_row(db_.get(), "SELECT CAST(sum(qty) AS SIGNED) FROM items").at(0));
  }
  std::string settings() {
    const auto v =
        query_row(db_.get(),
                  "SELECT @@version, @@innodb_flush_log_at_trx_commit, @@sync_binlog, "
                  "@@log_bin, @@innodb_doublewrite, @@innodb_flush_method, "
                  "@@innodb_buffer_pool_size, @@innodb_autoinc_lock_mode, "
                  "@@auto_increment_increment, @@max_allowed_packet, @@innodb_log_file_size");
    std::ostringstream o;
    o << "- server: MariaDB " << v.at(0) << " over TCP (127.0.0.1), Connector/C "
      << mysql_get_client_info() << "\n"
      << "- durability: innodb_flush_log_at_trx_commit=" << v.at(1)
      << (v.at(1) == "1" ? " (redo log flushed and synced at every commit)" : "")
      << ", sync_binlog=" << v.at(2) << ", log_bin=" << v.at(3)
      << ", innodb_doublewrite=" << v.at(4) << ", innodb_flush_method=" << v.at(5)
      << " (scripts/services/mariadb.sh sets none of them: server defaults, and "
         "--skip-log-bin)\n"
      << "- innodb_buffer_pool_size=" << v.at(6) << ", innodb_log_file_size=" << v.at(10)
      << ", innodb_autoinc_lock_mode=" << v.at(7) << ", auto_increment_increment=" << v.at(8)
      << ", max_allowed_packet=" << v.at(9) << "\n";
    return o.str();
  }
  void drop() { run_sql(db_.get(), kDropTable); }
  void run(const std::string& sql) { run_sql(db_.get(), sql.c_str()); }

 private:
  MysqlPtr db_;
};

// Connector/C as documented for speed: each statement prepared once per
// workload, parameters and results bound to buffers, the binary protocol,
// one round trip per statement.
class Prepared : public Library {
 public:
  explicit Prepared(const Url& u) : url_(u) {}
  std::string name() const override { return "Connector/C prepared"; }
  bool has(Work w) const override { return w != Work::w1b && w != Work::w2b && w != Work::w4b; }
  void connect() override { db_ = connect_mysql(url_); }
  void disconnect() override { db_.reset(); }
  void recreate() override {
    run_sql(db_.get(), kDropTable);
    run_sql(db_.get(), kCreateTable);
  }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    std::uint64_t sum = 0;
    run_sql(db_.get(), "START TRANSACTION");
    Stmt st(db_.get(), kInsert);
    unsigned long name_len = 0;
    for (auto& r : rows) {
      name_len = r.name.size();
      MYSQL_BIND b[4] = {bind_of(MYSQL_TYPE_STRING, r.name.data(), &name_len),
                         bind_of(MYSQL_TYPE_LONG, &r.qty), bind_of(MYSQL_TYPE_DOUBLE, &r.price),
                         bind_of(MYSQL_TYPE_LONGLONG, &r.created_at)};
      st.bind(b);
      st.execute();
      r.id = static_cast<std::int64_t>(mysql_stmt_insert_id(st.get()));
      sum += bench::row_sum(r);
    }
    run_sql(db_.get(), "COMMIT");
    return sum;
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    std::uint64_t sum = 0;
    Stmt st(db_.get(), kFind);
    long long key = 0;
    MYSQL_BIND p = bind_of(MYSQL_TYPE_LONGLONG, &key);
    st.bind(&p);
    ItemResult res;
    res.bind(st);
    Item r;
    for (auto k : keys) {
      key = k;
      st.execute();
      while (st.fetch()) {
        res.copy(r);
        sum += bench::row_sum(r);
      }
    }
    return sum;
  }
  std::uint64_t w3_vector() override {
    std::vector<Item> out;
    Stmt st(db_.get(), kScan);
    ItemResult res;
    res.bind(st);
    st.execute();
    while (st.fetch()) res.copy(out.emplace_back());
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    std::uint64_t sum = 0;
    Stmt st(db_.get(), kScan);
    ItemResult res;
    res.bind(st);
    st.execute();
    Item r;
    while (st.fetch()) {
      res.copy(r);
      sum += bench::row_sum(r);
    }
    return sum;
  }
  std::uint64_t w4_update(const Inputs& in) override {
    std::uint64_t changed = 0;
    run_sql(db_.get(), "START TRANSACTION");
    Stmt st(db_.get(), kUpdate);
    std::int32_t qty = 0;
    long long id = 0;
    MYSQL_BIND b[2] = {bind_of(MYSQL_TYPE_LONG, &qty), bind_of(MYSQL_TYPE_LONGLONG, &id)};
    st.bind(b);
    for (const auto& u : in.updates) {
      id = u.first;
      qty = u.second;
      st.execute();
      changed += mysql_stmt_affected_rows(st.get());
    }
    run_sql(db_.get(), "COMMIT");
    return changed;
  }
  std::uint64_t w5_range(const Inputs& in) override {
    std::uint64_t sum = 0;
    Stmt st(db_.get(), kRange);
    std::int32_t lo = 0, hi = 0;
    long long limit = bench::kRangeLimit;
    MYSQL_BIND b[3] = {bind_of(MYSQL_TYPE_LONG, &lo), bind_of(MYSQL_TYPE_LONG, &hi),
                       bind_of(MYSQL_TYPE_LONGLONG, &limit)};
    st.bind(b);
    ItemResult res;
    res.bind(st);
    std::vector<Item> page;
    for (const auto& r : in.ranges) {
      lo = r.first;
      hi = r.second;
      page.clear();
      st.execute();
      while (st.fetch()) res.copy(page.emplace_back());
      for (const auto& p : page) sum += bench::row_sum(p);
    }
    return sum;
  }

 protected:
  Url url_;
  MysqlPtr db_;
};

// MariaDB's array binding (Connector/C 3, MariaDB >= 10.2): one execution
// of a prepared statement carries many parameter sets (STMT_ATTR_ARRAY_SIZE,
// column-wise arrays; strings as an array of pointers plus lengths); the
// server runs the statement once per set without further round trips.
class ArrayBinding final : public Prepared {
 public:
  using Prepared::Prepared;
  std::string name() const override { return "Connector/C array binding"; }
  bool has(Work w) const override { return w == Work::w1b || w == Work::w4b; }

  // Ids: mysql_stmt_insert_id() after a bulk execution is the first row's
  // id; the others are taken as its successors. No document guarantees
  // that for array binding (the row count is not known up front, so InnoDB
  // treats it like a bulk insert: lock mode 1 holds the table's AUTO-INC
  // lock for the statement, and no other session inserts here anyway); the
  // verifier reads every row back by the ids reported here. Between
  // executions the ids have gaps: InnoDB reserves blocks of growing size
  // for an insert of unknown row count and drops what it did not use.
  void w1_bulk(std::vector<Item>& rows) override {
    run_sql(db_.get(), "START TRANSACTION");
    Stmt st(db_.get(), kInsert);
    std::vector<const char*> names;
    std::vector<unsigned long> name_lens;
    std::vector<std::int32_t> qtys;
    std::vector<double> prices;
    std::vector<long long> created;
    const std::size_t batch = bulk_rows(rows.size(), kArrayRows);
    for (std::size_t start = 0; start < rows.size(); start += batch) {
      const std::size_t n = std::min(batch, rows.size() - start);
      names.clear();
      name_lens.clear();
      qtys.clear();
      prices.clear();
      created.clear();
      for (std::size_t i = start; i < start + n; ++i) {
        names.push_back(rows[i].name.data());
        name_lens.push_back(rows[i].name.size());
        qtys.push_back(rows[i].qty);
        prices.push_back(rows[i].price);
        created.push_back(rows[i].created_at);
      }
      unsigned int size = static_cast<unsigned int>(n);
      if (mysql_stmt_attr_set(st.get(), STMT_ATTR_ARRAY_SIZE, &size) != 0) st.fail("array size");
      MYSQL_BIND b[4] = {bind_of(MYSQL_TYPE_STRING, names.data(), name_lens.data()),
                         bind_of(MYSQL_TYPE_LONG, qtys.data()),
                         bind_of(MYSQL_TYPE_DOUBLE, prices.data()),
                         bind_of(MYSQL_TYPE_LONGLONG, created.data())};
      st.bind(b);
      st.execute();
      if (mysql_stmt_affected_rows(st.get()) != n)
        throw std::runtime_error("array insert: affected rows != rows sent");
      const auto first = static_cast<std::int64_t>(mysql_stmt_insert_id(st.get()));
      for (std::size_t i = 0; i < n; ++i) rows[start + i].id = first + static_cast<std::int64_t>(i);
    }
    run_sql(db_.get(), "COMMIT");
  }
  std::uint64_t w4_bulk(const Updates& ups) override {
    std::uint64_t changed = 0;
    run_sql(db_.get(), "START TRANSACTION");
    Stmt st(db_.get(), kUpdate);
    std::vector<std::int32_t> qtys;
    std::vector<long long> ids;
    const std::size_t batch = bulk_rows(ups.size(), kArrayRows);
    for (std::size_t start = 0; start < ups.size(); start += batch) {
      const std::size_t n = std::min(batch, ups.size() - start);
      qtys.clear();
      ids.clear();
      for (std::size_t i = start; i < start + n; ++i) {
        ids.push_back(ups[i].first);
        qtys.push_back(ups[i].second);
      }
      unsigned int size = static_cast<unsigned int>(n);
      if (mysql_stmt_attr_set(st.get(), STMT_ATTR_ARRAY_SIZE, &size) != 0) st.fail("array size");
      MYSQL_BIND b[2] = {bind_of(MYSQL_TYPE_LONG, qtys.data()),
                         bind_of(MYSQL_TYPE_LONGLONG, ids.data())};
      st.bind(b);
      st.execute();
      changed += mysql_stmt_affected_rows(st.get());
    }
    run_sql(db_.get(), "COMMIT");
    return changed;
  }
};

// One multi-row INSERT ... VALUES (?,?,?,?),(...)... per batch of
// floor(65535 / 4) rows (the protocol's parameter limit; bulk_rows()),
// prepared once per batch size: what Tessera's driver sends for insert_many, without Tessera.
// Ids: InnoDB reserves one consecutive block for a simple multi-row insert
// (innodb_autoinc_lock_mode 0 or 1; see drivers/mysql/README.md), the first
// from mysql_stmt_insert_id(); the verifier reads them back.
class MultiRow final : public Prepared {
 public:
  using Prepared::Prepared;
  std::string name() const override { return "Connector/C multi-row VALUES"; }
  bool has(Work w) const override { return w == Work::w1b; }

  void w1_bulk(std::vector<Item>& rows) override {
    const std::size_t batch = bulk_rows(rows.size(), 65535 / 4);
    run_sql(db_.get(), "START TRANSACTION");
    std::unique_ptr<Stmt> st;
    std::size_t prepared_rows = 0;
    std::vector<MYSQL_BIND> binds;
    std::vector<unsigned long> lens;
    for (std::size_t start = 0; start < rows.size(); start += batch) {
      const std::size_t n = std::min(batch, rows.size() - start);
      if (n != prepared_rows) {
        std::string sql = "INSERT INTO items(name, qty, price, created_at) VALUES ";
        for (std::size_t i = 0; i < n; ++i) sql += i ? ",(?,?,?,?)" : "(?,?,?,?)";
        st = std::make_unique<Stmt>(db_.get(), sql);
        prepared_rows = n;
      }
      binds.clear();
      lens.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        Item& r = rows[start + i];
        lens[i] = r.name.size();
        binds.push_back(bind_of(MYSQL_TYPE_STRING, r.name.data(), &lens[i]));
        binds.push_back(bind_of(MYSQL_TYPE_LONG, &r.qty));
        binds.push_back(bind_of(MYSQL_TYPE_DOUBLE, &r.price));
        binds.push_back(bind_of(MYSQL_TYPE_LONGLONG, &r.created_at));
      }
      st->bind(binds.data());
      st->execute();
      if (mysql_stmt_affected_rows(st->get()) != n)
        throw std::runtime_error("multi-row insert: affected rows != rows sent");
      const auto first = static_cast<std::int64_t>(mysql_stmt_insert_id(st->get()));
      for (std::size_t i = 0; i < n; ++i) rows[start + i].id = first + static_cast<std::int64_t>(i);
    }
    run_sql(db_.get(), "COMMIT");
  }
};

// ------------------------------------------------------------------ Tessera

class Tessera final : public Library {
 public:
  explicit Tessera(std::string url) : url_(std::move(url)) {}
  std::string name() const override { return "tessera"; }
  bool has(Work w) const override { return w != Work::w1b; }
  void connect() override { db_.emplace(tessera::Db::open(url_)); }
  void disconnect() override { db_.reset(); }
  void recreate() override {
    db_->execute_raw(kDropTable);
    db_->execute_raw(kCreateTable);
  }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    return bench::tessera_run::insert_many(*db_, rows);
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_each(*db_, keys);
  }
  // The keys in chunks, one IN (...) query each; the rows found are mapped
  // back to every lookup of the chunk (keys repeat).
  std::uint64_t w2_batched(const std::vector<std::int64_t>& keys) override {
    return bench::tessera_run::find_batched(*db_, keys, kFindBatch);
  }
  std::uint64_t w3_vector() override { return bench::tessera_run::scan_vector(*db_); }
  std::uint64_t w3_cursor() override { return bench::tessera_run::scan_cursor(*db_); }
  std::uint64_t w4_update(const Inputs& in) override {
    return bench::tessera_run::update_each(*db_, in);
  }
  std::uint64_t w4_bulk(const Updates& ups) override {
    std::vector<Item> rows(ups.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i].id = ups[i].first;
      rows[i].qty = ups[i].second;
    }
    auto tx = db_->transaction();
    const std::uint64_t changed = tx.update_many(rows, tessera::only(&Item::qty));
    tx.commit();
    return changed;
  }
  std::uint64_t w5_range(const Inputs& in) override { return bench::tessera_run::range(*db_, in); }

 private:
  std::string url_;
  std::optional<tessera::Db> db_;
};

// ------------------------------------------------------------------ SOCI

#ifdef TESSERA_BENCH_HAVE_SOCI
// SOCI's MySQL backend (4.0): statements are "prepared" on the client (the
// text is split at the placeholders) and each execution sends the text with
// the values escaped into it; results are read whole (mysql_store_result).
// Used as its documentation says: soci::statement prepared once with
// use/into, execute(true) per row; vectors for the bulk rows.
class Soci final : public Library {
 public:
  explicit Soci(const Url& u) {
    std::ostringstream o;
    o << "host=" << u.host << " port=" << u.port << " dbname=" << u.database << " user=" << u.user
      << " password=" << u.password << " charset=utf8mb4";
    connect_string_ = o.str();
  }
  std::string name() const override { return "SOCI"; }
  bool has(Work w) const override { return w != Work::w2b; }
  void connect() override { sql_ = std::make_unique<soci::session>(soci::mysql, connect_string_); }
  void disconnect() override { sql_.reset(); }
  void recreate() override {
    *sql_ << kDropTable;
    *sql_ << kCreateTable;
  }

  std::uint64_t w1_insert(std::vector<Item>& rows) override {
    using soci::use;
    std::uint64_t sum = 0;
    soci::transaction tr(*sql_);
    std::string name;
    int qty = 0;
    double price = 0;
    long long created = 0;
    soci::statement st = (sql_->prepare << "INSERT INTO items(name, qty, price, created_at) "
                                           "VALUES (:name, :qty, :price, :created_at)",
                          use(name), use(qty), use(price), use(created));
    for (auto& r : rows) {
      name = r.name;
      qty = r.qty;
      price = r.price;
      created = r.created_at;
      st.execute(true);
      long long id = 0;
      sql_->get_last_insert_id("items", id);
      r.id = id;
      sum += bench::row_sum(r);
    }
    tr.commit();
    return sum;
  }
  // Vectors of bulk_rows() refilled for each execution of one statement.
  // The backend sends one INSERT per row; after the batch,
  // get_last_insert_id() is its last row's id, and the batch's ids are taken
  // as the run of ids ending there (the verifier reads them back).
  void w1_bulk(std::vector<Item>& rows) override {
    using soci::use;
    soci::transaction tr(*sql_);
    const std::size_t batch = bulk_rows(rows.size(), kSociBulkRows);
    std::vector<std::string> names(batch);
    std::vector<int> qtys(batch);
    std::vector<double> prices(batch);
    std::vector<long long> created(batch);
    soci::statement st = (sql_->prepare << "INSERT INTO items(name, qty, price, created_at) "
                                           "VALUES (:name, :qty, :price, :created_at)",
                          use(names), use(qtys), use(prices), use(created));
    for (std::size_t start = 0; start < rows.size(); start += batch) {
      const std::size_t n = std::min(batch, rows.size() - start);
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
      sql_->get_last_insert_id("items", last);
      for (std::size_t i = 0; i < n; ++i)
        rows[start + i].id = last - static_cast<long long>(n - 1 - i);
    }
    tr.commit();
  }
  std::uint64_t w2_find(const std::vector<std::int64_t>& keys) override {
    using soci::into;
    using soci::use;
    std::uint64_t sum = 0;
    Row row;
    long long key = 0;
    soci::statement st =
        (sql_->prepare << "SELECT id, name, qty, price, created_at FROM items WHERE id = :id",
         into(row.id), into(row.name), into(row.qty), into(row.price), into(row.created_at),
         use(key));
    for (auto k : keys) {
      key = k;
      if (st.execute(true)) sum += row.sum();
    }
    return sum;
  }
  // Bulk fetch into vectors of 1000, resized back after each fetch (as
  // SOCI's documentation shows), appended to the result vector.
  std::uint64_t w3_vector() override {
    using soci::into;
    constexpr std::size_t kChunk = 1000;
    std::vector<long long> ids(kChunk), created(kChunk);
    std::vector<std::string> names(kChunk);
    std::vector<int> qtys(kChunk);
    std::vector<double> prices(kChunk);
    std::vector<Item> out;
    soci::statement st =
        (sql_->prepare << kScan, into(ids), into(names), into(qtys), into(prices), into(created));
    st.execute();
    while (st.fetch()) {
      for (std::size_t i = 0; i < ids.size(); ++i)
        out.push_back(Item{ids[i], std::move(names[i]), qtys[i], prices[i], created[i]});
      ids.resize(kChunk);
      names.resize(kChunk);
      qtys.resize(kChunk);
      prices.resize(kChunk);
      created.resize(kChunk);
    }
    std::uint64_t sum = 0;
    for (const auto& r : out) sum += bench::row_sum(r);
    return sum;
  }
  std::uint64_t w3_cursor() override {
    using soci::into;
    std::uint64_t sum = 0;
    Row row;
    soci::statement st = (sql_->prepare << kScan, into(row.id), into(row.name), into(row.qty),
                          into(row.price), into(row.created_at));
    if (st.execute(true)) do
        sum += row.sum();
      while (st.fetch());
    return sum;
  }
  std::uint64_t w4_update(const Inputs& in) override {
    using soci::use;
    std::uint64_t changed = 0;
    soci::transaction tr(*sql_);
    int qty = 0;
    long long id = 0;
    soci::statement st =
        (sql_->prepare << "UPDATE items SET qty = :qty WHERE id = :id", use(qty), use(id));
    for (const auto& u : in.updates) {
      id = u.first;
      qty = u.second;
      st.execute(true);
      changed += static_cast<std::uint64_t>(st.get_affected_rows());
    }
    tr.commit();
    return changed;
  }
  std::uint64_t w4_bulk(const Updates& ups) override {
    using soci::use;
    std::uint64_t changed = 0;
    soci::transaction tr(*sql_);
    const std::size_t batch = bulk_rows(ups.size(), kSociBulkRows);
    std::vector<int> qtys(batch);
    std::vector<long long> ids(batch);
    soci::statement st =
        (sql_->prepare << "UPDATE items SET qty = :qty WHERE id = :id", use(qtys), use(ids));
    for (std::size_t start = 0; start < ups.size(); start += batch) {
      const std::size_t n = std::min(batch, ups.size() - start);
      qtys.resize(n);
      ids.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        ids[i] = ups[start + i].first;
        qtys[i] = ups[start + i].second;
      }
      st.execute(true);
      changed += static_cast<std::uint64_t>(st.get_affected_rows());
    }
    tr.commit();
    return changed;
  }
  std::uint64_t w5_range(const Inputs& in) override {
    using soci::into;
    using soci::use;
    std::uint64_t sum = 0;
    Row row;
    int lo = 0, hi = 0;
    long long limit = bench::kRangeLimit;
    soci::statement st =
        (sql_->prepare << "SELECT id, name, qty, price, created_at FROM items WHERE qty BETWEEN "
                          ":lo AND :hi ORDER BY price DESC LIMIT :lim",
         into(row.id), into(row.name), into(row.qty), into(row.price), into(row.created_at),
         use(lo), use(hi), use(limit));
    std::vector<Item> page;
    for (const auto& r : in.ranges) {
      lo = r.first;
      hi = r.second;
      page.clear();
      if (st.execute(true)) do
          page.push_back(Item{row.id, row.name, row.qty, row.price, row.created_at});
        while (st.fetch());
      for (const auto& p : page) sum += bench::row_sum(p);
    }
    return sum;
  }

 private:
  // SOCI's into() takes long long for BIGINT (std::int64_t is long here).
  struct Row {
    long long id = 0;
    std::string name;
    int qty = 0;
    double price = 0;
    long long created_at = 0;
    std::uint64_t sum() const { return bench::row_sum(id, qty, price, created_at, name.size()); }
  };
  std::string connect_string_;
  std::unique_ptr<soci::session> sql_;
};
#endif

// ------------------------------------------------------------------ driver

const std::string kW1 = "W1 insert (1 tx)";
const std::string kW1b = "W1b insert, bulk path";
const std::string kW2 = "W2 find by pk";
const std::string kW2b = "W2b find by pk, batched";
const std::string kW3a = "W3a scan into vector";
const std::string kW3b = "W3b scan via cursor";
const std::string kW4 = "W4 update by pk (1 tx)";
const std::string kW4b = "W4b update by pk, batched";
const std::string kW5 = "W5 qty BETWEEN, ORDER BY price DESC LIMIT 20";
const std::string* const kWorkloads[] = {&kW1, &kW1b, &kW2, &kW2b, &kW3a, &kW3b, &kW4, &kW4b, &kW5};

// What the verifier found wrong in a written table turns the checksum into a
// different number (and is said on stderr), so the cell reads "wrong".
std::uint64_t with_verdict(std::uint64_t sum, std::uint64_t bad, const std::string& what,
                           std::vector<std::string>& notes) {
  if (bad == 0) return sum;
  notes.push_back(what + ": the table differs from what the library reported in " +
                  std::to_string(bad) + " row(s)");
  return sum + bad * 0x9e3779b97f4a7c15ull;
}

// This process's CPU time in seconds: user, and system (the kernel's share,
// mostly the socket calls, the same per round trip for every library).
struct CpuTime {
  double user = 0, system = 0;
};
CpuTime cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return {sec(u.ru_utime), sec(u.ru_stime)};
}

// The CPU time (user + system, seconds) of the server process whose pid is
// in TESSERA_BENCH_SERVER_PID (a server on this machine), or -1.
double server_cpu_seconds() {
  static const char* pid = std::getenv("TESSERA_BENCH_SERVER_PID");
  if (pid == nullptr) return -1;
  std::ifstream f(std::string("/proc/") + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i)  // utime, stime: fields 14 and 15
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Wall seconds of `f`; says the client's (and, see server_cpu_seconds, the
// server's) CPU per operation on stderr.
template <class F>
double measured(const std::string& workload, const std::string& library, std::uint64_t ops, F&& f) {
  const double per_op = 1e6 / static_cast<double>(std::max<std::uint64_t>(ops, 1));
  bench::settle();
  const CpuTime cpu0 = cpu_seconds();
  const double server0 = server_cpu_seconds();
  const double s = bench::seconds(std::forward<F>(f));
  const CpuTime cpu1 = cpu_seconds();
  const double user = (cpu1.user - cpu0.user) * per_op,
               system = (cpu1.system - cpu0.system) * per_op;
  std::cerr << "cpu: " << workload << " / " << library << ": " << user + system
            << " us/op client (user " << user << ", system " << system << ")";
  if (server0 >= 0) std::cerr << ", " << (server_cpu_seconds() - server0) * per_op << " server";
  std::cerr << ", " << s * per_op << " wall\n";
  return s;
}

// The workload to run (its tag, "W3a"), or empty for all.
std::string g_workload;

// Whether `workload` (a kW* name) is selected by --workload.
bool selected(const std::string& workload) {
  return g_workload.empty() || workload.starts_with(g_workload + " ");
}

// A library under test, in a database of its own (so that all of them can
// hold their tables at once), with a verifier connected to that database.
struct Runner {
  Library* lib;
  std::unique_ptr<Verifier> verifier;
};

// One repetition. Every workload runs through every library (in `order`)
// before the next workload, so the runs compared in one row are seconds
// apart rather than a whole library's workloads apart; the caller rotates
// `order`.
void run_repetition(const std::vector<Runner*>& order, const Inputs& in, bench::Results& res,
                    std::vector<std::string>& notes) {
  const auto n = static_cast<std::uint64_t>(in.rows.size());
  // Runs `body(lib, verifier)` (returning the checksum) through each library
  // that has `w`, timed.
  const auto each = [&](Work w, const std::string& workload, std::uint64_t ops, auto&& body) {
    if (!selected(workload)) return;
    for (Runner* r : order) {
      Library& lib = *r->lib;
      if (!lib.has(w) || !lib.has(Work::w1)) continue;  // only W1 fills this table
      std::uint64_t sum = 0;
      const double s = measured(workload, lib.name(), ops, [&] { sum = body(lib); });
      res.record(workload, lib.name(), ops, s, sum);
    }
  };
  for (Runner* r : order) r->lib->connect();
  // Single-statement paths and reads, on the table W1 fills.
  std::map<const Runner*, std::vector<Item>> rows;  // W1 writes the generated ids back
  for (Runner* r : order) {
    Library& lib = *r->lib;
    if (!lib.has(Work::w1)) continue;
    lib.recreate();
    rows[r] = in.rows;
  }
  for (Runner* r : order) {
    Library& lib = *r->lib;
    if (!lib.has(Work::w1)) continue;
    if (selected(kW1)) {
      std::uint64_t sum = 0;
      const double s = measured(kW1, lib.name(), n, [&] { sum = lib.w1_insert(rows[r]); });
      res.record(
          kW1, lib.name(), n, s,
          with_verdict(sum, r->verifier->mismatches(rows[r]), kW1 + " / " + lib.name(), notes));
    } else {
      (void)lib.w1_insert(rows[r]);  // fills the table the other workloads read
    }
  }
  rows.clear();
  each(Work::w2, kW2, n, [&](Library& l) { return l.w2_find(in.lookup_keys); });
  each(Work::w2b, kW2b, n, [&](Library& l) { return l.w2_batched(in.lookup_keys); });
  const std::uint64_t scanned = static_cast<std::uint64_t>(n) * bench::kPasses;
  each(Work::w3a, kW3a, scanned,
       [](Library& l) { return bench::passes([&] { return l.w3_vector(); }); });
  each(Work::w3b, kW3b, scanned,
       [](Library& l) { return bench::passes([&] { return l.w3_cursor(); }); });
  if (selected(kW4))
    for (Runner* r : order) {
      Library& lib = *r->lib;
      if (!lib.has(Work::w4) || !lib.has(Work::w1)) continue;
      std::uint64_t sum = 0;
      const double s =
          measured(kW4, lib.name(), in.updates.size(), [&] { sum = lib.w4_update(in); });
      res.record(kW4, lib.name(), in.updates.size(), s, sum * 1000003u + r->verifier->qty_total());
    }
  each(Work::w5, kW5, in.ranges.size(), [&](Library& l) { return l.w5_range(in); });

  // Bulk paths, on a new table: W1b (or, untimed, W1 to fill it), then W4b.
  // W1b's ids may have gaps (array binding), so its checksum counts each
  // row by its number (1..N) and the verifier checks every reported id;
  // W4b updates the rows by number, through the ids this library got.
  const auto bulk = [](const Library& lib) {
    return (lib.has(Work::w1b) && selected(kW1b)) || (lib.has(Work::w4b) && selected(kW4b));
  };
  for (Runner* r : order) {
    Library& lib = *r->lib;
    if (!bulk(lib)) continue;
    lib.recreate();
    rows[r] = in.rows;
  }
  for (Runner* r : order) {
    Library& lib = *r->lib;
    if (!bulk(lib)) continue;
    std::vector<Item>& mine = rows[r];
    if (lib.has(Work::w1b) && selected(kW1b)) {
      const double s = measured(kW1b, lib.name(), n, [&] { lib.w1_bulk(mine); });
      std::uint64_t by_number = 0;
      for (std::size_t i = 0; i < mine.size(); ++i) {
        Item item = mine[i];
        item.id = static_cast<std::int64_t>(i) + 1;
        by_number += bench::row_sum(item);
      }
      res.record(
          kW1b, lib.name(), n, s,
          with_verdict(by_number, r->verifier->mismatches(mine), kW1b + " / " + lib.name(), notes));
      if (!mine.empty() && mine.back().id != static_cast<std::int64_t>(mine.size()))
        notes.push_back(kW1b + " / " + lib.name() + ": the " + std::to_string(mine.size()) +
                        " ids reported run from " + std::to_string(mine.front().id) + " to " +
                        std::to_string(mine.back().id) + " (auto-increment gaps)");
    } else if (lib.has(Work::w1)) {
      lib.w1_insert(mine);
    } else {
      lib.w1_bulk(mine);
    }
  }
  if (selected(kW4b))
    for (Runner* r : order) {
      Library& lib = *r->lib;
      if (!lib.has(Work::w4b)) continue;
      Updates ups = in.unique_updates;
      for (auto& u : ups) u.first = rows[r].at(static_cast<std::size_t>(u.first) - 1).id;
      std::uint64_t sum = 0;
      const double s = measured(kW4b, lib.name(), ups.size(), [&] { sum = lib.w4_bulk(ups); });
      res.record(kW4b, lib.name(), ups.size(), s, sum * 1000003u + r->verifier->qty_total());
    }
  for (Runner* r : order) r->lib->disconnect();
}

[[noreturn]] void usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--url mysql://user:pw@host:port/db] [--n N] [--reps R] [--out FILE.md]"
            << " [--settle SECONDS]"
               " [--only LIBRARY] [--workload W1|W1b|W2|W2b|W3a|W3b|W4|W4b|W5]\n";
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = bench::parse_args(argc, argv, {"--url", "--only", "--workload"});
  if (!args) usage(argv[0]);
  const std::int64_t n = args->n;
  const int reps = args->reps;
  const std::string& out_path = args->out;
  const std::string url = args->url("TESSERA_TEST_MYSQL_URL");
  const std::string only = args->get("--only");
  g_workload = args->get("--workload");
  if (!g_workload.empty() &&
      std::none_of(std::begin(kWorkloads), std::end(kWorkloads),
                   [](const std::string* w) { return w->starts_with(g_workload + " "); }))
    usage(argv[0]);
  if (url.empty()) {
    std::cerr << "tessera_bench_mysql: no server: pass --url mysql://user:pw@host:port/db or set "
                 "TESSERA_TEST_MYSQL_URL (scripts/services/mariadb.sh start DIR prints one); "
                 "skipped\n";
    return 77;
  }

  tessera::mysql::register_linked();
  const std::size_t updates = std::min<std::size_t>(10000, static_cast<std::size_t>(n));
  const std::size_t ranges = 2000;
  const Inputs in = make_inputs(n, updates, ranges);

  std::ostringstream report;
  bool ok = true;
  std::string mismatches, peer_notes;
  std::vector<std::string> notes;
  try {
    const Url u = parse_url(url);
    Verifier verifier(u);
    // Each library works in a database of its own (tessera_bench_<tag>,
    // made here and dropped at the end), so that every workload can run
    // through every library before the next.
    std::vector<std::pair<std::unique_ptr<Library>, Url>> entries;
    const auto in_db = [&](const std::string& tag) {
      Url v = u;
      v.database = "tessera_bench_" + tag;
      return v;
    };
    const auto add = [&](std::unique_ptr<Library> lib, Url where) {
      entries.emplace_back(std::move(lib), std::move(where));
    };
    add(std::make_unique<Prepared>(in_db("prepared")), in_db("prepared"));
    add(std::make_unique<ArrayBinding>(in_db("array")), in_db("array"));
    add(std::make_unique<MultiRow>(in_db("multirow")), in_db("multirow"));
    add(std::make_unique<Tessera>(with_database(url, in_db("tessera").database)), in_db("tessera"));
#ifdef TESSERA_BENCH_HAVE_SOCI
    add(std::make_unique<Soci>(in_db("soci")), in_db("soci"));
#endif
    if (!only.empty()) {
      std::erase_if(entries, [&](const auto& e) { return e.first->name() != only; });
      if (entries.empty()) usage(argv[0]);
    }
    const auto drop_databases = [&] {
      for (const auto& [lib, where] : entries) {
        lib->disconnect();
        verifier.run("DROP DATABASE IF EXISTS `" + where.database + "`");
      }
    };

    report << "## MariaDB benchmark\n\n"
           << "- rows N = " << n << ", W4 updates = " << updates
           << " (W4b: the same with one entry per key, " << in.unique_updates.size()
           << "), W5 queries = " << ranges << ", repetitions = " << reps << " (median)\n"
           << "- CPU: " << bench::cpu_model() << ", nproc " << bench::cpus()
           << ", load average at start " << bench::load_average() << "\n"
           << verifier.settings() << "- compiler " << bench::compiler() << "\n"
           << "- every library works in a database of its own (tessera_bench_<library>) and "
              "drops and creates `items` there with the same DDL (Tessera through "
              "execute_raw): `"
           << kCreateTable
           << "`; each workload runs through every library before the next, the library "
              "going first rotating with the repetition\n"
           << bench::passes_note("W3a, W3b") << '\n';

    bench::Results res;
    res.set_baseline(kW1b, kW1);
    res.set_baseline(kW2b, kW2);
    res.set_baseline(kW4b, kW4);
#ifdef TESSERA_BENCH_HAVE_SOCI
    res.mark_peer("SOCI");
#endif
    // The report's columns in this order, whichever runs first.
    for (const auto& [lib, where] : entries) res.libraries.push_back(lib->name());
    try {
      drop_databases();
      std::vector<Runner> runners;
      for (const auto& [lib, where] : entries) {
        try {
          verifier.run("CREATE DATABASE `" + where.database +
                       "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        } catch (const std::exception& e) {
          throw std::runtime_error(std::string(e.what()) +
                                   " (the benchmark makes a database per library: it needs all "
                                   "privileges on `tessera\\_bench\\_%`.*, which "
                                   "scripts/services/mariadb.sh grants)");
        }
        runners.push_back(Runner{lib.get(), std::make_unique<Verifier>(where)});
      }
      for (int rep = 0; rep < reps; ++rep) {
        run_repetition(bench::rotated(runners, rep), in, res, notes);
        std::cerr << "  rep " << rep + 1 << '/' << reps << " done\n";
      }
    } catch (...) {
      drop_databases();
      throw;
    }
    drop_databases();
    // Report order: each batched row under its single-statement row.
    std::vector<std::string> order;
    for (const auto& w : {kW1, kW1b, kW2, kW2b, kW3a, kW3b, kW4, kW4b, kW5})
      if (std::find(res.workloads.begin(), res.workloads.end(), w) != res.workloads.end())
        order.push_back(w);
    res.workloads = order;
    report << bench::markdown("MariaDB (TCP, loopback)", res) << '\n';
    ok = res.checksums_agree(&mismatches, &peer_notes);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  report << "- load average at end " << bench::load_average() << "\n";
  std::sort(notes.begin(), notes.end());
  notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
  for (const auto& note : notes) report << "- " << note << "\n";
  if (!peer_notes.empty()) report << "\n**Peer library checksum mismatch**\n\n" << peer_notes;
  if (!ok) report << "\n**CHECKSUM MISMATCH**\n\n" << mismatches;

  return bench::finish(report.str(), out_path, ok, mismatches, peer_notes);
}
