#include "postgresql_connection.hpp"
#include "tessera/driver/sql_dispatch.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <deque>
#include <exception>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/sql/serializer.hpp"
#include "postgresql_errors.hpp"

namespace tessera::postgresql::detail {
namespace {

// PostgreSQL's protocol counts parameters in an int16 field.
constexpr std::uint32_t kMaxBindParams = 65535;
// Parameters per pipelined INSERT statement (rows = this / columns). All
// statements of one insert are in flight at once, so smaller statements
// cost no round trips; they cost the server less than statements at the
// protocol's limit (parse, plan and execution of a 65535-parameter VALUES
// list): 100,000 rows of 4 columns took 560-610 ms of server CPU in
// statements of 1000-2000 rows against 900-950 ms in statements of 16383
// rows, with client CPU alike (raw libpq, PostgreSQL 15).
constexpr std::uint32_t kInsertBatchParams = 4096;
// An insert of at least this many rows sends them as one array per column
// (INSERT ... SELECT * FROM unnest($1::int8[], ...)): one parameter per
// column whatever the row count, so one statement text serves every batch
// size, and the server receives a few arrays instead of thousands of
// separate parameters and VALUES expressions. A single row stays a plain
// VALUES statement.
constexpr std::size_t kArrayMinRows = 2;
// Rows per array statement, and the payload bytes one statement may carry
// (a batch ends early at this size; a larger row alone goes as VALUES), so
// the client's encoding buffer and the server's arrays stay bounded.
// Measured on W1 (100,000 rows of 4 columns, one transaction, PostgreSQL
// 15, minimum of 12 interleaved runs on a loaded 2-core machine): server
// CPU 600 ms as VALUES batches of 1024 rows, 510-540 ms as arrays of
// 1000 to 50,000 rows (no trend inside that range), client CPU 37 ms
// against 34 ms. 5000 keeps a batch's buffers small (about 0.3 MB here)
// while 100,000 rows take 20 statements.
constexpr std::size_t kArrayBatchRows = 5000;
constexpr std::size_t kArrayBatchBytes = std::size_t{16} << 20;
// Rows an abandoned stream may discard before the driver asks the server
// to cancel the query instead of reading it to the end.
constexpr int kCancelAfterRows = 1000;
// A lazy cursor over a SELECT is a server-side cursor read in batches: its
// first FETCH asks for kFirstFetchRows (a short cursor, or one left early,
// makes the server compute few rows ahead), each later one for as many
// rows as fit kFetchBytes of libpq result at the size of the rows so far,
// at most kMaxFetchRows. Only one cursor is open per connection at a time.
constexpr int kFirstFetchRows = 100;
constexpr int kMaxFetchRows = 1000;
constexpr std::size_t kFetchBytes = std::size_t{2} << 20;
constexpr const char* kCursorName = "tessera_cursor";
constexpr std::string_view kSchemaSavepoint = "\"tessera_push_schema\"";
// Statement cache key spaces: engine cache keys and the driver's own
// insert-shape ids are distinct counters.
constexpr char kQueryKeySpace = 'q';
constexpr char kInsertKeySpace = 'i';
constexpr char kArrayKeySpace = 'u';
constexpr char kUpdateKeySpace = 'm';  // keyed by a hash of the text, checked on lookup
// Rows per UPDATE ... FROM unnest(...) statement of an UpdateMany (a batch
// also ends at kArrayBatchBytes of payload). Measured on 10,000 updates of
// an indexed int4 column by key in a 100,000-row table (PostgreSQL 15,
// medians of 9 rounds, 3 interleaved runs, loaded 2-core machine): server
// CPU 140-160 ms at 1000, 5000 and 20,000 rows alike (against 190-200 ms
// for the CASE statements of 500 keys), client CPU 2.5 ms. 5000 matches the
// insert path's batches and keeps the buffers small.
constexpr std::size_t kUpdateBatchRows = 5000;

// Runs `body`, turning any exception into an Error: nothing escapes the SPI.
template <class F>
auto guarded(F&& body) -> decltype(body()) {
  return catch_all(kDriverName, std::forward<F>(body));
}

Error from_serializer(Error e) {
  if (e.driver.empty()) e.driver = std::string(kDriverName);
  return e;
}

bool same_shape(const ast::Insert& a, const ast::Insert& b) {
  return a.table == b.table && a.columns == b.columns && a.on_conflict == b.on_conflict &&
         a.returning == b.returning;
}

std::uint64_t affected_rows(const pg_result* r) {
  const char* text = PQcmdTuples(const_cast<pg_result*>(r));
  std::uint64_t n = 0;
  if (text != nullptr) std::from_chars(text, text + std::char_traits<char>::length(text), n);
  return n;
}

Capability make_capability(int server_version) {
  Capability c;
  c.sql = SqlDialect::postgresql;
  c.returning = true;
  c.upsert = true;  // ON CONFLICT: 9.5+, and the driver requires 10+
  c.upsert_target = true;
  c.savepoints = true;
  // READ UNCOMMITTED runs as READ COMMITTED, which gives at least what was
  // asked; the other levels are PostgreSQL's own.
  c.isolation_levels = 0b11111;
  c.read_only_transactions = true;
  c.max_bind_params = kMaxBindParams;
  c.max_insert_rows = 0;
  c.stores_nan = true;
  c.stores_infinity = true;
  c.text_embedded_nul = false;  // text cannot hold U+0000
  c.raw_sql = true;
  c.transactional_ddl = true;
  c.for_update = true;
  c.concurrent_connections = true;
  c.update_many = true;  // exec_update_many
  (void)server_version;  // nothing differs between the supported versions yet
  return c;
}

void ignore_notice(void*, const char*) {}

}  // namespace

// One statement of a pipelined insert: rows [first_row, first_row + rows).
struct InsertBatch {
  std::size_t first_row;
  std::size_t rows;
  // Array form: the element type of each column (ValueType::null for a
  // column of only NULLs); empty: the VALUES form.
  std::vector<ValueType> types;
};

namespace {

// Appends VALUES batches of at most `per_batch` rows for rows [first, end).
void plan_values(std::size_t first, std::size_t end, std::size_t per_batch,
                 std::vector<InsertBatch>& out) {
  for (; first < end; first += per_batch)
    out.push_back({first, std::min(per_batch, end - first), {}});
}

// Splits `total` rows of `columns` values into array batches of at most
// `max_rows` rows and kArrayBatchBytes of payload. A range in which a
// column holds values of two types (an array has one element type), or in
// which every column is NULL (nothing to unnest), and a row larger than
// kArrayBatchBytes alone, go as VALUES batches of `values_rows` rows: they
// keep the behaviour, and errors, of the VALUES form. With `fixed` every
// range is exactly `max_rows` rows (the last one fewer), and a range past
// kArrayBatchBytes goes as VALUES instead of being cut short.
void plan_arrays(std::span<const Value> params, std::size_t columns, std::size_t total,
                 std::size_t max_rows, bool fixed, std::size_t values_rows,
                 std::vector<InsertBatch>& out) {
  std::vector<ValueType> types;
  for (std::size_t first = 0; first < total;) {
    types.assign(columns, ValueType::null);
    bool mixed = false;
    std::size_t bytes = 0;
    std::size_t end = first;
    for (; end < total && end - first < max_rows; ++end) {
      const Value* row = &params[end * columns];
      std::size_t row_bytes = 0;
      for (std::size_t c = 0; c < columns; ++c) row_bytes += 4 + ColumnArrays::payload_size(row[c]);
      if (!fixed && end > first && bytes + row_bytes > kArrayBatchBytes) break;
      bytes += row_bytes;
      for (std::size_t c = 0; c < columns; ++c) {
        const ValueType t = row[c].type();
        if (t == ValueType::null || t == types[c]) continue;
        if (types[c] == ValueType::null)
          types[c] = t;
        else
          mixed = true;
      }
    }
    const bool all_null =
        std::all_of(types.begin(), types.end(), [](ValueType t) { return t == ValueType::null; });
    if (mixed || all_null || bytes > kArrayBatchBytes)
      plan_values(first, end, values_rows, out);
    else
      out.push_back({first, end - first, types});
    first = end;
  }
}

// The array form's text for one element-type signature:
//   <head> SELECT * FROM unnest($1::int8[], $2::text[])<tail>
// or, when a column has only NULLs (no array: its type is unknown), an
// untyped NULL in its place, which INSERT coerces to the column's type as it
// does an untyped NULL parameter:
//   <head> SELECT "u"."c0", NULL FROM unnest($1::int8[]) AS "u"("c0")<tail>
std::string array_insert_sql(const std::string& head, const std::string& tail,
                             std::span<const ValueType> types) {
  const bool any_null =
      std::any_of(types.begin(), types.end(), [](ValueType t) { return t == ValueType::null; });
  std::string select;
  std::string args;
  std::string names;
  std::uint32_t param = 0;
  for (std::size_t c = 0; c < types.size(); ++c) {
    if (c > 0) select += ", ";
    if (types[c] == ValueType::null) {
      select += "NULL";
      continue;
    }
    const std::string name = "\"c" + std::to_string(c) + "\"";
    select += "\"u\"." + name;
    if (param > 0) {
      args += ", ";
      names += ", ";
    }
    args += tessera::sql::placeholder(param++, SqlDialect::postgresql);
    args += "::";
    args += ColumnArrays::element_sql_type(types[c]);
    args += "[]";
    names += name;
  }
  std::string sql = head;
  if (any_null)
    sql += " SELECT " + select + " FROM unnest(" + args + ") AS \"u\"(" + names + ")";
  else
    sql += " SELECT * FROM unnest(" + args + ")";
  sql += tail;
  return sql;
}

// UPDATE ... FROM one array per column of an UpdateMany:
//   UPDATE "t" AS "tessera_t" SET "qty" = "tessera_u"."c1"
//   FROM unnest($1::int8[], $2::int8[]) AS "tessera_u"("c0", "c1")
//   WHERE "tessera_t"."id" = "tessera_u"."c0"
// Arrays carry the Value type of each declared column type (every integer
// as int8, float32 as float8): the assignment casts the server applies to
// the SET values keep out-of-range values an error, as with update(). The
// aliases differ from each other whatever the table is called.
std::string update_many_sql(const op::UpdateMany& u, std::span<const ValueType> types) {
  constexpr SqlDialect pg = SqlDialect::postgresql;
  const std::size_t keys = u.key_columns.size();
  auto element = [](std::size_t c) { return "\"tessera_u\".\"c" + std::to_string(c) + "\""; };
  std::string sql =
      "UPDATE " + tessera::sql::quote_identifier(u.table, pg) + " AS \"tessera_t\" SET ";
  for (std::size_t i = 0; i < u.set_columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += tessera::sql::quote_identifier(u.set_columns[i], pg) + " = " + element(keys + i);
  }
  sql += " FROM unnest(";
  for (std::size_t c = 0; c < types.size(); ++c) {
    if (c > 0) sql += ", ";
    sql += tessera::sql::placeholder(static_cast<std::uint32_t>(c), pg);
    sql += "::";
    sql += ColumnArrays::element_sql_type(types[c]);
    sql += "[]";
  }
  sql += ") AS \"tessera_u\"(";
  for (std::size_t c = 0; c < types.size(); ++c) {
    if (c > 0) sql += ", ";
    sql += "\"c" + std::to_string(c) + "\"";
  }
  sql += ") WHERE ";
  for (std::size_t k = 0; k < keys; ++k) {
    if (k > 0) sql += " AND ";
    sql += "\"tessera_t\"." + tessera::sql::quote_identifier(u.key_columns[k], pg) + " = " +
           element(k);
  }
  return sql;
}

// Splits `total` rows of `width` values into batches of at most
// kUpdateBatchRows rows and kArrayBatchBytes of array payload (a larger row
// goes alone): (first row, rows) each.
void plan_update_batches(std::span<const Value> values, std::size_t width, std::size_t total,
                         std::vector<std::pair<std::size_t, std::size_t>>& out) {
  out.clear();
  for (std::size_t first = 0; first < total;) {
    std::size_t bytes = 0;
    std::size_t end = first;
    for (; end < total && end - first < kUpdateBatchRows; ++end) {
      std::size_t row_bytes = 0;
      for (std::size_t c = 0; c < width; ++c)
        row_bytes += 4 + ColumnArrays::payload_size(values[end * width + c]);
      if (end > first && bytes + row_bytes > kArrayBatchBytes) break;
      bytes += row_bytes;
    }
    out.emplace_back(first, end - first);
    first = end;
  }
}

}  // namespace

void PgConnection::FinishConn::operator()(pg_conn* c) const { PQfinish(c); }

std::size_t PgConnection::InsertKeyHash::operator()(const InsertKey& k) const {
  return std::hash<const void*>{}(k.shape) ^ (k.rows * 0x9e3779b97f4a7c15ull);
}

PgConnection::PgConnection(pg_conn* conn, const ConnectOptions& options)
    : conn_(conn),
      capability_(make_capability(PQserverVersion(conn))),
      statements_(options.statement_cache_size) {}

PgConnection::~PgConnection() {
  // A Rows must not outlive its connection (rows.hpp); should one do so by
  // mistake, it must not call back into a destroyed connection.
  if (stream_ != nullptr) stream_->detach();
}

Result<std::unique_ptr<Connection>> PgConnection::open(const ConnectOptions& options) {
  return guarded([&]() -> Result<std::unique_ptr<Connection>> {
    std::vector<const char*> keywords;
    std::vector<const char*> values;
    for (std::size_t i = 0; i < options.keywords.size(); ++i) {
      keywords.push_back(options.keywords[i].c_str());
      values.push_back(options.values[i].c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    // expand_dbname = 0: the database name is a name, never parsed as a
    // connection string.
    pg_conn* raw = PQconnectdbParams(keywords.data(), values.data(), 0);
    if (raw == nullptr) return driver_error(ErrorKind::internal, "out of memory in libpq");
    std::unique_ptr<pg_conn, FinishConn> conn(raw);
    if (PQstatus(raw) != CONNECTION_OK) {
      std::string message = PQerrorMessage(raw);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
      return driver_error(ErrorKind::unavailable,
                          "cannot connect to " + options.redacted_url + ": " + message);
    }
    // libpq prints notices ("table does not exist, skipping") to stderr
    // by default.
    PQsetNoticeProcessor(raw, ignore_notice, nullptr);
    const int version = PQserverVersion(raw);
    if (version < 100000)
      return driver_error(ErrorKind::unsupported,
                          "the postgresql driver needs PostgreSQL 10 or newer (server is " +
                              std::to_string(version) + ")");
    const char* integer_datetimes = PQparameterStatus(raw, "integer_datetimes");
    if (integer_datetimes == nullptr || std::string_view(integer_datetimes) != "on")
      return driver_error(ErrorKind::unsupported,
                          "the server stores timestamps as floating point (integer_datetimes "
                          "is off), which the binary protocol of this driver does not read");
    return std::unique_ptr<Connection>(new PgConnection(conn.release(), options));
  });
}

bool PgConnection::is_valid() const { return !broken_ && PQstatus(conn_.get()) == CONNECTION_OK; }

bool PgConnection::transaction_open() const {
  const auto s = PQtransactionStatus(conn_.get());
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}

Error PgConnection::fail(const pg_result* result, std::string_view sql) {
  Error e = make_error(conn_.get(), result, sql, tx_before_);
  if (e.kind == ErrorKind::connection_lost || e.kind == ErrorKind::transaction_outcome_unknown ||
      PQstatus(conn_.get()) != CONNECTION_OK)
    broken_ = true;
  return e;
}

Status PgConnection::begin_command() {
  if (stream_ != nullptr) stream_->buffer_rest();  // ends the stream: stream_ is null after
  if (ending_) {
    // The CLOSE or COMMIT of a cursor that has ended. It ends a read that
    // has delivered its rows: a failure here has nothing left to report to,
    // except a broken connection (checked below).
    ending_ = false;
    drain();
  }
  if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    broken_ = true;
    return driver_error(ErrorKind::connection_lost,
                        "the connection to the PostgreSQL server is broken");
  }
  tx_before_ = transaction_open();
  // DEALLOCATE only outside transactions, where its failure cannot abort
  // the caller's transaction.
  if (statements_.has_evicted() && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) {
    std::string sql;
    for (const auto& name : statements_.take_evicted()) {
      if (!sql.empty()) sql += "; ";
      sql += "DEALLOCATE " + tessera::sql::quote_identifier(name, SqlDialect::postgresql);
    }
    if (Status s = run(sql); !s && broken_) return s;
  }
  return {};
}

Status PgConnection::run(const std::string& sql) {
  ResultPtr r(PQexec(conn_.get(), sql.c_str()));
  const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY)
    return {};
  return fail(r.get(), sql);
}

void PgConnection::drain() noexcept {
  while (pg_result* r = PQgetResult(conn_.get())) PQclear(r);
}

Result<ExecResponse> PgConnection::exec(const Operation& op) {
  return dispatch_sql(*this, op, kDriverName);
}

Result<const std::string*> PgConnection::prepared(std::uint64_t key, std::string_view sql,
                                                  std::span<const Value> params) {
  signature_.assign(1, kQueryKeySpace);
  append_type_signature(params, signature_);
  if (const std::string* name = statements_.find(key, signature_, {})) return name;
  const std::string& name = statements_.add(key, signature_, {});
  const std::string text(sql);
  ResultPtr r(
      PQprepare(conn_.get(), name.c_str(), text.c_str(), encoded_.count(), encoded_.types()));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    Error e = fail(r.get(), sql);
    statements_.forget(key, signature_);
    return e;
  }
  return &name;
}

Result<ExecResponse> PgConnection::finish_streaming_command(std::string_view sql) {
  ResultPtr r(PQgetResult(conn_.get()));
  if (!r) return fail(nullptr, sql);
  ExecResponse response;
  switch (PQresultStatus(r.get())) {
    case PGRES_SINGLE_TUPLE: {
      auto rows = std::make_unique<PgRows>(this, std::move(r));
      stream_ = rows.get();
      response.rows = std::move(rows);
      return response;
    }
    case PGRES_TUPLES_OK:
      // The whole result (not in single-row mode), or a stream without any
      // row: the final result carries the columns.
      drain();
      response.rows = std::make_unique<PgRows>(std::move(r));
      return response;
    case PGRES_COMMAND_OK:
      response.affected = affected_rows(r.get());
      drain();
      return response;
    case PGRES_EMPTY_QUERY: drain(); return response;
    default: {
      Error e = fail(r.get(), sql);
      drain();
      return e;
    }
  }
}

namespace {

std::string fetch_sql(int rows) {
  return rows > 0 ? "FETCH FORWARD " + std::to_string(rows) + " FROM " + kCursorName
                  : std::string("FETCH ALL FROM ") + kCursorName;
}

// The rows of the next FETCH after one of `rows` rows taking `bytes`.
int next_fetch_rows(int rows, std::size_t bytes) {
  const std::size_t per_row = std::max<std::size_t>(1, bytes / static_cast<std::size_t>(rows));
  return static_cast<int>(
      std::clamp<std::size_t>(kFetchBytes / per_row, 1, static_cast<std::size_t>(kMaxFetchRows)));
}

}  // namespace

Result<ExecResponse> PgConnection::open_cursor(const op::QuerySql& q) {
  pg_conn* conn = conn_.get();
  const bool own = !tx_before_;
  const std::string declare =
      std::string("DECLARE ") + kCursorName + " NO SCROLL CURSOR FOR " + std::string(q.sql);
  const std::string fetch = fetch_sql(kFirstFetchRows);
  // One round trip: [BEGIN,] DECLARE (with the parameters), the first
  // FETCH (binary), one sync. Each answer is small and read after all is
  // sent, so blocking sends cannot deadlock.
  if (PQenterPipelineMode(conn) == 0) return fail(nullptr, q.sql);
  const bool sent =
      (!own || PQsendQueryParams(conn, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) != 0) &&
      PQsendQueryParams(conn, declare.c_str(), encoded_.count(), encoded_.types(),
                        encoded_.values(), encoded_.lengths(), encoded_.formats(), 1) != 0 &&
      PQsendQueryParams(conn, fetch.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1) != 0 &&
      PQpipelineSync(conn) != 0;
  if (!sent) return pipeline_broken(q.sql);
  std::optional<Error> error;
  ResultPtr first;
  const int commands = own ? 3 : 2;
  for (int i = 0; i < commands; ++i) {
    while (ResultPtr r{PQgetResult(conn)}) {
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_TUPLES_OK && i == commands - 1)
        first = std::move(r);
      else if (status != PGRES_COMMAND_OK && status != PGRES_PIPELINE_ABORTED && !error)
        error = fail(r.get(), q.sql);
    }
  }
  ResultPtr sync{PQgetResult(conn)};
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC || PQexitPipelineMode(conn) == 0)
    return error ? *error : pipeline_broken(q.sql);
  if (error || !first) {
    // The caller's transaction is aborted, as by any failed statement; the
    // driver's own is rolled back.
    if (own && !broken_) (void)run("ROLLBACK");
    if (error) return *error;
    return driver_error(ErrorKind::invalid_statement, "FETCH returned no rows", q.sql);
  }
  cursor_own_tx_ = own;
  ExecResponse response;
  const int got = PQntuples(first.get());
  if (got < kFirstFetchRows) {
    // The whole result came in the first batch.
    end_cursor(false);
    response.rows = std::make_unique<PgRows>(std::move(first));
    return response;
  }
  fetch_rows_ = next_fetch_rows(got, PQresultMemorySize(first.get()));
  auto rows = std::make_unique<PgRows>(this, std::move(first));
  stream_ = rows.get();
  cursor_ = true;
  response.rows = std::move(rows);
  return response;
}

void PgConnection::end_cursor(bool failed) noexcept {
  cursor_ = false;
  const char* sql = nullptr;
  if (cursor_own_tx_)
    sql = failed ? "ROLLBACK" : "COMMIT";
  else if (!failed)
    sql = "CLOSE tessera_cursor";
  if (sql == nullptr) return;
  if (PQsendQuery(conn_.get(), sql) == 0)
    broken_ = true;
  else
    ending_ = true;
}

ResultPtr PgConnection::stream_next(PgRows* rows, std::optional<Error>& failure, bool rest) {
  if (stream_ != rows) return nullptr;
  if (cursor_) {
    const int asked = rest ? 0 : fetch_rows_;
    ResultPtr r(PQexecParams(conn_.get(), fetch_sql(asked).c_str(), 0, nullptr, nullptr, nullptr,
                             nullptr, 1));
    stream_ = nullptr;  // until the batch proves there may be more
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      failure = fail(r.get(), {});
      if (!broken_) end_cursor(true);
      cursor_ = false;
      return nullptr;
    }
    const int got = PQntuples(r.get());
    if (asked == 0 || got < asked) {
      end_cursor(false);  // the last batch
    } else {
      stream_ = rows;
      fetch_rows_ = next_fetch_rows(got, PQresultMemorySize(r.get()));
    }
    return r;
  }
  for (;;) {
    ResultPtr r(PQgetResult(conn_.get()));
    if (!r) {
      stream_ = nullptr;
      if (PQstatus(conn_.get()) != CONNECTION_OK) failure = fail(nullptr, {});
      return nullptr;
    }
    switch (PQresultStatus(r.get())) {
      case PGRES_SINGLE_TUPLE: return r;
      case PGRES_TUPLES_OK: continue;  // the end of the rows; NULL follows
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
        failure = fail(r.get(), {});
        drain();
        stream_ = nullptr;
        return nullptr;
      default: continue;
    }
  }
}

void PgConnection::abandon_stream(PgRows* rows) noexcept {
  if (stream_ != rows) return;
  stream_ = nullptr;
  if (cursor_) {
    end_cursor(false);  // the rows not fetched are never computed
    return;
  }
  // Inside a transaction a cancelled query would abort the transaction, so
  // there the rest is read and discarded; outside, a long remainder is
  // cancelled (the query_canceled error that ends it is expected).
  const bool may_cancel = !tx_before_;
  int discarded = 0;
  while (pg_result* r = PQgetResult(conn_.get())) {
    PQclear(r);
    if (may_cancel && ++discarded == kCancelAfterRows) {
      if (PGcancel* cancel = PQgetCancel(conn_.get())) {
        char message[256];
        (void)PQcancel(cancel, message, sizeof message);
        PQfreeCancel(cancel);
      }
    }
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK) broken_ = true;
}

Result<ExecResponse> PgConnection::exec_query(const op::QuerySql& q) {
  if (q.params.size() > kMaxBindParams)
    return driver_error(ErrorKind::invalid_statement,
                        "a statement can bind at most 65535 parameters", q.sql);
  if (Status s = begin_command(); !s) return std::move(s).error();
  if (Status s = encoded_.encode(q.params); !s) return std::move(s).error();
  if (!q.reads_all && std::holds_alternative<ast::Select>(*q.statement)) return open_cursor(q);
  int sent = 0;
  if (q.cache_key != 0) {
    auto name = prepared(q.cache_key, q.sql, q.params);
    if (!name) return std::move(name).error();
    sent = PQsendQueryPrepared(conn_.get(), (*name)->c_str(), encoded_.count(), encoded_.values(),
                               encoded_.lengths(), encoded_.formats(), 1);
  } else {
    const std::string text(q.sql);
    sent = PQsendQueryParams(conn_.get(), text.c_str(), encoded_.count(), encoded_.types(),
                             encoded_.values(), encoded_.lengths(), encoded_.formats(), 1);
  }
  if (sent == 0) return fail(nullptr, q.sql);
  // A query read to its end comes back as one PGresult (one allocation
  // pattern like a plain PQexecPrepared); a lazy cursor streams row by row
  // so that its memory stays flat.
  if (!q.reads_all) PQsetSingleRowMode(conn_.get());
  return finish_streaming_command(q.sql);
}

Result<ExecResponse> PgConnection::exec_raw(const op::RawSql& raw) {
  // The unnamed statement: one round trip, no server-side state for SQL
  // that may never be run again.
  if (raw.params.size() > kMaxBindParams)
    return driver_error(ErrorKind::invalid_statement,
                        "a statement can bind at most 65535 parameters", raw.sql);
  if (Status s = begin_command(); !s) return std::move(s).error();
  if (Status s = encoded_.encode(raw.params); !s) return std::move(s).error();
  const std::string text(raw.sql);
  if (PQsendQueryParams(conn_.get(), text.c_str(), encoded_.count(), encoded_.types(),
                        encoded_.values(), encoded_.lengths(), encoded_.formats(), 1) == 0)
    return fail(nullptr, raw.sql);
  if (!raw.reads_all) PQsetSingleRowMode(conn_.get());  // as in exec_query
  return finish_streaming_command(raw.sql);
}

Result<const PgConnection::InsertShape*> PgConnection::insert_shape(const ast::Insert& shape,
                                                                    std::size_t rows) {
  const InsertKey key{&shape, rows};
  auto it = insert_shapes_.find(key);
  if (it == insert_shapes_.end() || !same_shape(it->second.shape, shape)) {
    // Distinct (shape, batch size) pairs are few; should a program make
    // many (shapes built on the fly), start over rather than grow.
    if (it == insert_shapes_.end() && insert_shapes_.size() >= statements_.capacity())
      insert_shapes_.clear();
    ast::Insert batch = shape;
    batch.row_count = rows;
    auto sql = tessera::sql::render(batch, SqlDialect::postgresql);
    if (!sql) return from_serializer(std::move(sql).error());
    it =
        insert_shapes_
            .insert_or_assign(key, InsertShape{std::move(batch),
                                               std::make_shared<const std::string>(std::move(*sql)),
                                               next_insert_id_++})
            .first;
  }
  return &it->second;
}

Result<PgConnection::ArrayShape*> PgConnection::array_shape(const ast::Insert& shape) {
  auto it = array_shapes_.find(&shape);
  if (it != array_shapes_.end() && same_shape(it->second.shape, shape)) return &it->second;
  if (it == array_shapes_.end() && array_shapes_.size() >= statements_.capacity())
    array_shapes_.clear();
  // The serializer's one-row statement is
  //   INSERT INTO "t" ("a", "b") VALUES ($1, $2)[ ON CONFLICT ...][ RETURNING ...]
  // The array form keeps its text around the VALUES list; the head is
  // rebuilt with the serializer's quoting and must match exactly, else the
  // shape keeps the VALUES form (a serializer that renders differently one
  // day costs speed, never correctness).
  ArrayShape form;
  form.shape = shape;
  form.id = next_insert_id_++;
  ast::Insert one = shape;
  one.row_count = 1;
  auto sql = tessera::sql::render(one, SqlDialect::postgresql);
  if (!sql) return from_serializer(std::move(sql).error());
  form.head = "INSERT INTO " + tessera::sql::quote_identifier(shape.table, SqlDialect::postgresql);
  std::string values = " VALUES (";
  for (std::size_t c = 0; c < shape.columns.size(); ++c) {
    form.head += c == 0 ? " (" : ", ";
    form.head += tessera::sql::quote_identifier(shape.columns[c], SqlDialect::postgresql);
    if (c > 0) values += ", ";
    values += tessera::sql::placeholder(static_cast<std::uint32_t>(c), SqlDialect::postgresql);
  }
  form.head += ")";
  values += ")";
  const std::string_view text = *sql;
  form.usable = !shape.columns.empty() && text.starts_with(form.head) &&
                text.substr(form.head.size()).starts_with(values);
  if (form.usable) form.tail = std::string(text.substr(form.head.size() + values.size()));
  it = array_shapes_.insert_or_assign(&shape, std::move(form)).first;
  return &it->second;
}

Result<ExecResponse> PgConnection::exec_insert(const op::Insert& ins) {
  if (Status s = check_insert(ins, kDriverName); !s) return std::move(s).error();
  const ast::Insert& shape = *ins.statement;
  const std::size_t columns = shape.columns.size();
  const std::size_t total = shape.row_count;
  if (total == 0) {
    ExecResponse empty;
    if (!shape.returning.empty())
      empty.rows =
          std::make_unique<ValueRows>(shape.returning.size(), std::vector<std::vector<Value>>{});
    return empty;
  }
  // A row of only defaults (DEFAULT VALUES) is one row per statement.
  const std::size_t per_batch =
      columns == 0 ? 1 : std::max<std::size_t>(1, kInsertBatchParams / columns);
  std::vector<InsertBatch> batches;
  bool arrays = false;
  if (columns > 0 && total >= kArrayMinRows) {
    auto form = array_shape(shape);
    if (!form) return std::move(form).error();
    arrays = (*form)->usable;
  }
  // An upsert that updates keeps the VALUES form's statement boundaries:
  // PostgreSQL refuses to update one row twice in a statement, so moving
  // the boundaries would change which inputs (a key repeated a few
  // thousand rows apart) fail.
  const bool keep_boundaries = shape.on_conflict.action == ast::OnConflict::Action::update;
  if (arrays)
    plan_arrays(ins.params, columns, total, keep_boundaries ? per_batch : kArrayBatchRows,
                keep_boundaries, per_batch, batches);
  else
    plan_values(0, total, per_batch, batches);
  if (Status s = begin_command(); !s) return std::move(s).error();
  return run_pipeline(shape, ins.params, batches);
}

// What a pipeline has sent and not yet seen answered, and what it gathered.
struct PipelineState {
  struct Pending {
    bool prepare;  // a PREPARE (else an insert batch)
    std::uint64_t key;
    std::string signature;
    std::shared_ptr<const std::string> sql;
  };
  std::deque<Pending> pending;
  bool collect_rows = false;
  bool synced = false;
  std::uint64_t affected = 0;
  std::vector<ResultPtr> returned;
  std::optional<Error> error;  // the first failure; later commands are aborted
};

Status PgConnection::open_pipeline(std::string_view what) {
  // Non-blocking, so sending a large batch never waits on a server that is
  // itself waiting for us to read the previous batch's results.
  if (PQsetnonblocking(conn_.get(), 1) != 0 || PQenterPipelineMode(conn_.get()) == 0)
    return fail(nullptr, what);
  return {};
}

bool PgConnection::queue_prepared(PipelineState& state, std::uint64_t key,
                                  const std::shared_ptr<const std::string>& sql,
                                  const ParamView& params, bool text_key) {
  pg_conn* conn = conn_.get();
  const std::string_view text = text_key ? std::string_view(*sql) : std::string_view();
  const std::string* name = statements_.find(key, signature_, text);
  if (name == nullptr) {
    name = &statements_.add(key, signature_, text);
    if (PQsendPrepare(conn, name->c_str(), sql->c_str(), params.count, params.types) == 0)
      return false;
    state.pending.push_back({true, key, signature_, sql});
  }
  if (PQsendQueryPrepared(conn, name->c_str(), params.count, params.values, params.lengths,
                          params.formats, 1) == 0)
    return false;
  state.pending.push_back({false, key, {}, sql});
  return true;
}

Error PgConnection::pipeline_broken(std::string_view what) {
  Error e = fail(nullptr, what);
  broken_ = true;  // the pipeline's state is unknown now
  return e;
}

Result<ExecResponse> PgConnection::close_pipeline(PipelineState& state, std::string_view what) {
  pg_conn* conn = conn_.get();
  if (PQpipelineSync(conn) == 0) return pipeline_broken(what);
  if (Status st = pump(true, state); !st) return std::move(st).error();
  if (PQexitPipelineMode(conn) == 0 || PQsetnonblocking(conn, 0) != 0) return pipeline_broken(what);
  if (state.error) return std::move(*state.error);
  ExecResponse response;
  response.affected = state.affected;
  if (state.collect_rows) response.rows = std::make_unique<PgRows>(std::move(state.returned));
  return response;
}

Result<ExecResponse> PgConnection::run_pipeline(const ast::Insert& shape,
                                                std::span<const Value> params,
                                                std::vector<InsertBatch>& batches) {
  const std::size_t columns = shape.columns.size();
  const std::string what = "INSERT INTO " + shape.table;
  PipelineState state;
  state.collect_rows = !shape.returning.empty();
  if (Status s = open_pipeline(what); !s) return std::move(s).error();
  for (const InsertBatch& batch : batches) {
    if (state.error) break;  // the server aborts everything after a failure anyway
    const auto values = params.subspan(batch.first_row * columns, batch.rows * columns);
    bool sent = false;
    if (batch.types.empty()) {
      if (Status s = encoded_.encode(values); !s) {
        state.error = std::move(s).error();
        break;
      }
      auto shape_for = insert_shape(shape, batch.rows);
      if (!shape_for) {
        state.error = std::move(shape_for).error();
        break;
      }
      signature_.assign(1, kInsertKeySpace);
      append_type_signature(values, signature_);
      sent = queue_prepared(state, (*shape_for)->id, (*shape_for)->sql,
                            {encoded_.count(), encoded_.values(), encoded_.lengths(),
                             encoded_.formats(), encoded_.types()});
    } else {
      if (Status s = arrays_.encode(values, columns, batch.types); !s) {
        state.error = std::move(s).error();
        break;
      }
      auto form = array_shape(shape);
      if (!form) {
        state.error = std::move(form).error();
        break;
      }
      signature_.assign(1, kArrayKeySpace);
      for (ValueType t : batch.types) signature_ += static_cast<char>('a' + static_cast<int>(t));
      auto& sql = (*form)->sql[signature_];
      if (!sql)
        sql = std::make_shared<const std::string>(
            array_insert_sql((*form)->head, (*form)->tail, batch.types));
      sent = queue_prepared(state, (*form)->id, sql,
                            {arrays_.count(), arrays_.values(), arrays_.lengths(),
                             arrays_.formats(), arrays_.types()});
    }
    if (!sent) return pipeline_broken(what);
    if (Status st = pump(false, state); !st) return std::move(st).error();
  }
  return close_pipeline(state, what);
}

Result<ExecResponse> PgConnection::exec_update_many(const op::UpdateMany& u) {
  const std::size_t keys = u.key_columns.size();
  const std::size_t width = keys + u.set_columns.size();
  if (keys == 0 || u.set_columns.empty() || u.key_types.size() != keys ||
      u.set_types.size() != u.set_columns.size())
    return driver_error(ErrorKind::invalid_statement,
                        "UpdateMany needs key and set columns with one type each");
  if (u.values.size() != u.row_count * width)
    return driver_error(ErrorKind::invalid_statement,
                        "an UpdateMany of " + std::to_string(u.row_count) + " rows of " +
                            std::to_string(width) + " columns needs " +
                            std::to_string(u.row_count * width) + " values, " +
                            std::to_string(u.values.size()) + " were given");
  if (u.row_count == 0) return ExecResponse{};
  // Each array's element type comes from the declared column type, so a
  // column NULL in some or every row still has its type.
  std::vector<ValueType>& types = update_types_;
  types.clear();
  for (ColumnType t : u.key_types) types.push_back(value_type_of(t));
  for (ColumnType t : u.set_types) types.push_back(value_type_of(t));
  for (std::size_t r = 0; r < u.row_count; ++r) {
    const Value* row = &u.values[r * width];
    for (std::size_t c = 0; c < width; ++c) {
      if (row[c].is_null() || row[c].type() == types[c]) continue;
      const std::string& column = c < keys ? u.key_columns[c] : u.set_columns[c - keys];
      const ColumnType declared = c < keys ? u.key_types[c] : u.set_types[c - keys];
      return driver_error(ErrorKind::invalid_value,
                          "UpdateMany: a " + std::string(to_string(row[c].type())) +
                              " value for column \"" + column + "\" of type " +
                              std::string(to_string(declared)) + " (row " + std::to_string(r) +
                              ")");
    }
  }
  auto sql = std::make_shared<const std::string>(update_many_sql(u, types));
  const std::uint64_t key = std::hash<std::string_view>{}(*sql);
  std::vector<std::pair<std::size_t, std::size_t>>& batches = update_batches_;
  plan_update_batches(u.values, width, u.row_count, batches);
  if (Status s = begin_command(); !s) return std::move(s).error();
  PipelineState state;
  if (Status s = open_pipeline(*sql); !s) return std::move(s).error();
  for (const auto& [first, rows] : batches) {
    if (state.error) break;  // the server aborts everything after a failure anyway
    if (Status s = arrays_.encode(u.values.subspan(first * width, rows * width), width, types);
        !s) {
      state.error = std::move(s).error();
      break;
    }
    // The types are part of the text, so the text alone names the statement.
    signature_.assign(1, kUpdateKeySpace);
    if (!queue_prepared(state, key, sql,
                        {arrays_.count(), arrays_.values(), arrays_.lengths(), arrays_.formats(),
                         arrays_.types()},
                        true))
      return pipeline_broken(*sql);
    if (Status st = pump(false, state); !st) return std::move(st).error();
  }
  return close_pipeline(state, *sql);
}

Status PgConnection::wait_socket(bool for_write) {
  pollfd fd{};
  fd.fd = PQsocket(conn_.get());
  fd.events = static_cast<short>(POLLIN | (for_write ? POLLOUT : 0));
  for (;;) {
    const int rc = ::poll(&fd, 1, -1);
    if (rc > 0) return {};
    if (rc < 0 && errno != EINTR) {
      broken_ = true;
      return driver_error(ErrorKind::connection_lost, "poll() on the PostgreSQL socket failed");
    }
  }
}

Status PgConnection::pump(bool until_sync, PipelineState& state) {
  pg_conn* conn = conn_.get();
  for (;;) {
    const int unsent = PQflush(conn);  // 0: all sent, 1: more to send, -1: failure
    if (unsent < 0 || PQconsumeInput(conn) == 0) {
      broken_ = true;
      return fail(nullptr, "pipelined statements");
    }
    while (PQisBusy(conn) == 0) {
      ResultPtr r(PQgetResult(conn));
      if (!r) {
        // The end of the oldest command's results, or nothing to read yet.
        if (state.pending.empty()) break;
        state.pending.pop_front();
        continue;
      }
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_PIPELINE_SYNC) {
        state.synced = true;
        return {};
      }
      if (state.pending.empty()) continue;  // not expected: nothing is waiting for it
      const auto& p = state.pending.front();
      switch (status) {
        case PGRES_PIPELINE_ABORTED: break;
        case PGRES_COMMAND_OK:
          if (!p.prepare) state.affected += affected_rows(r.get());
          break;
        // libpq 15 keeps single-row mode from the last query before the
        // pipeline for the pipeline's first query: its rows may come one
        // per result, then an empty TUPLES_OK with the count.
        case PGRES_SINGLE_TUPLE:
        case PGRES_TUPLES_OK:
          state.affected += affected_rows(r.get());
          if (state.collect_rows) state.returned.push_back(std::move(r));
          break;
        default:
          if (!state.error) state.error = fail(r.get(), *p.sql);
          if (p.prepare) statements_.forget(p.key, p.signature);
          break;
      }
    }
    if (!until_sync && unsent == 0) return {};
    if (Status s = wait_socket(unsent == 1); !s) return s;
  }
}

Result<ExecResponse> PgConnection::exec_transaction(const op::Transaction& t) {
  if (Status s = begin_command(); !s) return std::move(s).error();
  auto statements = tessera::sql::render_transaction(t, SqlDialect::postgresql);
  if (!statements) return from_serializer(std::move(statements).error());
  for (const auto& s : *statements)
    if (Status st = run(s); !st) return std::move(st).error();
  return ExecResponse{};
}

Status PgConnection::ping() {
  return guarded([&]() -> Status {
    if (Status s = begin_command(); !s) return s;
    return run("");
  });
}

Status PgConnection::push_schema(const Schema& schema) {
  return guarded([&]() -> Status {
    if (Status s = begin_command(); !s) return s;
    // One round trip: the whole script as one simple-protocol query, in a
    // transaction of its own, or a savepoint inside the caller's.
    const bool own = !tx_before_;
    const std::string savepoint(kSchemaSavepoint);
    std::string script = own ? "BEGIN" : "SAVEPOINT " + savepoint;
    for (const auto& table : schema.tables) {
      auto statements = tessera::sql::render_create_table(table, SqlDialect::postgresql);
      if (!statements) return from_serializer(std::move(statements).error());
      for (const auto& s : *statements) script += "; " + s;
    }
    script += own ? "; COMMIT" : "; RELEASE SAVEPOINT " + savepoint;
    Status status = run(script);
    if (!status && !broken_) {
      if (own && transaction_open())
        (void)run("ROLLBACK");
      else if (!own)
        (void)run("ROLLBACK TO SAVEPOINT " + savepoint + "; RELEASE SAVEPOINT " + savepoint);
    }
    return status;
  });
}

Status PgConnection::drop_tables(const std::vector<std::string>& tables) {
  return guarded([&]() -> Status {
    if (tables.empty()) return {};
    if (Status s = begin_command(); !s) return s;
    // CASCADE also drops foreign keys of other tables that reference these.
    std::string script;
    for (const auto& t : tables) {
      if (!script.empty()) script += "; ";
      script += tessera::sql::render_drop_table(t, SqlDialect::postgresql);
    }
    return run(script);
  });
}

}  // namespace tessera::postgresql::detail
