// Rows over binary-protocol results.
//
// A query's rows stream: the statement's result is unbuffered (no
// mysql_stmt_store_result), one mysql_stmt_fetch per next(), so memory stays
// at one row whatever the result's size. (Storing the whole result when the
// engine reads it all, op::QuerySql::reads_all, measured no faster.) The
// protocol allows one unread result per connection; if the connection must
// run another statement while Rows still streams (a query inside a
// transaction while a cursor of the same transaction is open), the
// connection first asks the Rows to copy the rest of its result into memory
// (buffer_rest()).
//
// Values are decoded into the statement's ResultBinding: buffers bound once
// per prepared statement and reused by its later executions, so a row
// costs no allocation. Getters convert only where no information is lost;
// anything else records a conversion error of kind invalid_value and
// returns a zero value.
#pragma once

#include <mysql.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mysql_statement_cache.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera::mysql::detail {

class MysqlRows;

// What Rows needs from its connection.
class Session {
 public:
  // Maps the statement's last error, marking the connection broken where
  // the error says so.
  virtual Error statement_failed(MYSQL_STMT* stmt, std::string_view sql) = 0;
  // The Rows no longer holds an unread result.
  virtual void stream_finished(MysqlRows* rows) noexcept = 0;

 protected:
  ~Session() = default;
};

// How a column's values are held.
enum class ColumnKind : std::uint8_t {
  integer,           // any integer type, signed
  unsigned_integer,  // any integer type, UNSIGNED
  float32,
  float64,
  decimal,  // DECIMAL, as text
  text,     // character data
  binary,   // binary strings and blobs
  datetime,
  date,
  time,  // TIME: no Tessera type reads it
};

// The result columns of one prepared statement: their kinds, the buffers
// the library decodes each row into, and the MYSQL_BINDs that point at
// them. Made at the statement's first execution and kept with it (see
// StatementLease::binding()); remade only when the result's columns change
// kind (a table altered under a cached statement, `SELECT ?` with a
// parameter of another type).
//
// A variable-length column has a bound buffer of at most kMaxBound bytes,
// grown to the longest value seen up to that size. A longer value is
// reported truncated by the library and read whole with
// mysql_stmt_fetch_column into the column's `long_value`, which is emptied
// when the Rows ends: memory kept per statement stays bounded.
struct ResultBinding {
  static constexpr unsigned long kInitialBound = 256;
  static constexpr unsigned long kMaxBound = 64 * 1024;

  struct Column {
    union {
      long long integer;
      float f32;
      double f64;
      MYSQL_TIME time;
    } fixed;
    std::vector<char> buffer;      // bound buffer of a variable-length column
    std::vector<char> long_value;  // a value longer than `buffer`, this row only
    const char* data = nullptr;    // the current variable-length value
    unsigned long length = 0;
    my_bool null = 0;
    my_bool truncated = 0;
    ColumnKind kind = ColumnKind::integer;
  };

  // True if the columns are those of `fields` (same number, same kinds).
  bool matches(const MYSQL_FIELD* fields, unsigned n) const;
  // Makes the columns and buffers for `fields`.
  void build(const MYSQL_FIELD* fields, unsigned n);
  // Releases what long values took; bound buffers stay.
  void trim() noexcept;

  std::vector<Column> columns;
  std::vector<MYSQL_BIND> binds;
  bool bound = false;           // the library has `binds` (mysql_stmt_bind_result)
  bool has_long_value = false;  // some column's long_value holds a value
};

class MysqlRows final : public Rows {
 public:
  // Streams the result of the executed statement in `lease`. Errors: the
  // library's, from the result metadata.
  static Result<std::unique_ptr<MysqlRows>> open(StatementLease lease, Session* session);
  // The same in two steps, for Rows that live on the caller's stack:
  // construct, then start() before anything else.
  MysqlRows(StatementLease lease, Session* session) : lease_(std::move(lease)), session_(session) {}
  Status start() { return bind_columns(); }
  ~MysqlRows() override;

  Result<bool> next() override;
  std::size_t column_count() const override { return column_count_; }
  bool is_null(std::size_t col) override;
  bool get_bool(std::size_t col) override;
  std::int64_t get_int64(std::size_t col) override;
  double get_double(std::size_t col) override;
  std::string_view get_text(std::size_t col) override;
  std::span<const std::byte> get_bytes(std::size_t col) override;
  Timestamp get_timestamp(std::size_t col) override;
  Date get_date(std::size_t col) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }

  // Copies every unread row into memory and gives the statement back, so
  // the connection may run another. The current row stays current.
  Status buffer_rest();
  // Appends the copied rows of `other`, which must have the same columns.
  // Precondition: both copied everything (buffer_rest) and next() was not
  // called.
  void append(MysqlRows& other);
  std::size_t buffered_rows() const { return copied_rows_; }

 private:
  // A copied value: the number, or where its bytes or time are.
  struct CopiedCell {
    union {
      long long integer;
      double real;
      std::size_t offset;  // into bytes_ (variable length) or times_ (times)
    };
    std::uint32_t size;  // bytes of a variable-length value
    bool null;
  };
  // One cell, wherever it lives.
  struct Cell {
    bool null;
    ColumnKind kind;
    long long integer;
    double real;
    const MYSQL_TIME* time;
    std::string_view bytes;
  };

  Status bind_columns();
  enum class Fetched : std::uint8_t { row, end, failed };
  // One row into the binding; on failure the error is in failure_.
  Fetched fetch();
  // What mysql_stmt_fetch's `rc` means, reading long values of a truncated
  // row; on failure the error is in failure_.
  Fetched fetched(int rc);
  // next() where the row does not come straight from mysql_stmt_fetch:
  // copied rows, the end, long values, a pending conversion error.
  [[gnu::noinline]] Result<bool> next_slow();
  // next() after a mysql_stmt_fetch that returned `rc` != 0.
  [[gnu::noinline]] Result<bool> next_after(int rc);
  Status fetch_long_values();
  void copy_current();
  void end_result() noexcept;
  Cell cell(std::size_t col) const;
  void mismatch(std::size_t col, std::string_view wanted);
  [[gnu::noinline]] std::int64_t int64_slow(std::size_t col);
  [[gnu::noinline]] double double_slow(std::size_t col);
  [[gnu::noinline]] std::string_view text_slow(std::size_t col);
  [[gnu::noinline]] std::span<const std::byte> bytes_slow(std::size_t col);

  StatementLease lease_;
  Session* session_;
  ResultBinding* binding_ = nullptr;  // the lease's; valid while the lease is held
  // binding_->columns.data(): the getters' fast path reads the current
  // row here unless copied_.
  const ResultBinding::Column* columns_ = nullptr;
  std::size_t column_count_ = 0;
  bool streaming_ = true;  // an unread result is on the connection
  bool copied_ = false;    // rows come from the copies below
  bool done_ = false;
  bool on_row_ = false;  // a current row exists
  // Copied rows (buffer_rest), row-major.
  std::vector<ColumnKind> copied_kinds_;
  std::vector<CopiedCell> cells_;
  std::string bytes_;
  std::vector<MYSQL_TIME> times_;
  std::size_t copied_rows_ = 0;
  std::size_t row_ = 0;  // 1-based index of the current copied row; 0 before the first
  std::optional<Error> failure_;
  std::optional<Error> error_;
};

}  // namespace tessera::mysql::detail
