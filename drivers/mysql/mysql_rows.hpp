// Rows over binary-protocol results.
//
// A query's rows stream: the statement's result is unbuffered (no
// mysql_stmt_store_result), one mysql_stmt_fetch per next(), so memory stays
// at one row whatever the result's size. The protocol allows one unread
// result per connection; if the connection must run another statement while
// Rows still streams (a query inside a transaction while a cursor of the
// same transaction is open), the connection first asks the Rows to buffer
// the rest of its result in memory (buffer_rest()).
//
// Variable-length columns are fetched into a per-column buffer that grows
// when the library reports MYSQL_DATA_TRUNCATED (the rest of the value is
// read with mysql_stmt_fetch_column and the column rebound for the next
// rows). Getters convert only where no information is lost; anything else
// records a conversion error of kind invalid_value and returns a zero value.
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

class MysqlRows final : public Rows {
 public:
  // Binds the result of the executed statement in `lease`. Errors: the
  // library's, from the result metadata.
  static Result<std::unique_ptr<MysqlRows>> open(StatementLease lease, Session* session);
  ~MysqlRows() override;

  Result<bool> next() override;
  std::size_t column_count() const override { return kinds_.size(); }
  bool is_null(std::size_t col) override;
  bool get_bool(std::size_t col) override;
  std::int64_t get_int64(std::size_t col) override;
  double get_double(std::size_t col) override;
  std::string_view get_text(std::size_t col) override;
  std::span<const std::byte> get_bytes(std::size_t col) override;
  Timestamp get_timestamp(std::size_t col) override;
  Date get_date(std::size_t col) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }

  // Reads every unread row into memory and gives the statement back, so the
  // connection may run another. The current row stays current.
  Status buffer_rest();
  // Appends the (buffered) rows of `other`, which must have the same
  // columns. Precondition: both are buffered and next() was not called.
  void append(MysqlRows& other);
  std::size_t buffered_rows() const { return stored_.size(); }

 private:
  struct Column {
    union {
      long long integer;
      float f32;
      double f64;
      MYSQL_TIME time;
    } fixed;
    std::vector<char> buffer;  // variable-length columns
    unsigned long length = 0;
    my_bool null = 0;
    my_bool truncated = 0;
  };
  struct StoredCell {
    bool null = true;
    long long integer = 0;
    double real = 0;
    MYSQL_TIME time{};
    std::string bytes;
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

  MysqlRows(StatementLease lease, Session* session) : lease_(std::move(lease)), session_(session) {}
  Status bind_columns();
  Result<bool> fetch();
  Status fetch_truncated();
  std::vector<StoredCell> copy_current() const;
  void end_stream() noexcept;
  Cell cell(std::size_t col) const;
  void mismatch(std::size_t col, std::string_view wanted);

  StatementLease lease_;
  Session* session_;
  std::vector<ColumnKind> kinds_;
  std::vector<Column> columns_;
  std::vector<MYSQL_BIND> binds_;
  bool rebind_ = false;
  bool streaming_ = true;  // false once every row is in stored_
  bool done_ = false;
  bool on_row_ = false;  // a current row exists
  std::vector<std::vector<StoredCell>> stored_;
  std::size_t row_ = 0;  // 1-based index into stored_ when buffered; 0 before the first
  std::optional<Error> failure_;
  std::optional<Error> error_;
};

}  // namespace tessera::mysql::detail
