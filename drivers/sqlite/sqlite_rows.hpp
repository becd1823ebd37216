// Rows over SQLite results.
//
// SQLite is dynamically typed, so every getter checks the stored type of the
// cell (INTEGER, REAL, TEXT, BLOB) and converts from Tessera's storage forms
// (see README.md); anything else records a conversion error of kind
// invalid_value and returns a zero value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sqlite_statement_cache.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera::sqlite::detail {

// One cell as SQLite stores it. `text` holds TEXT and BLOB bytes.
struct Cell {
  int type = 0;  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL
  std::int64_t integer = 0;
  double real = 0;
  std::string_view bytes;
};

// The typed getters, written once over Derived::cell() (static dispatch:
// one virtual call per column read, the getter's).
template <class Derived>
class CellRows : public Rows {
 public:
  bool is_null(std::size_t col) override;
  bool get_bool(std::size_t col) override;
  std::int64_t get_int64(std::size_t col) override;
  double get_double(std::size_t col) override;
  std::string_view get_text(std::size_t col) override;
  std::span<const std::byte> get_bytes(std::size_t col) override;
  Timestamp get_timestamp(std::size_t col) override;
  Date get_date(std::size_t col) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }

 protected:
  void clear_conversion_error() { error_.reset(); }

 private:
  void mismatch(std::size_t col, const Cell& c, std::string_view wanted);
  std::optional<Error> error_;
};

// Streams a statement's rows: one sqlite3_step per next(), nothing buffered.
// The statement goes back to its cache at the end of the rows or when this
// is destroyed.
class StreamingRows final : public CellRows<StreamingRows> {
 public:
  // `first_row_ready`: the caller already stepped once and got a row.
  // `broken` is set on a fatal error; it belongs to the connection, which
  // outlives its Rows.
  StreamingRows(StatementLease&& lease, bool first_row_ready, bool* broken);

  Result<bool> next() override;
  // Moves onto the row the caller stepped to (first_row_ready), as next()
  // would, without a call: Connection::read hands a point select's row to
  // its sink this way. Precondition: constructed with first_row_ready and
  // next() not called yet.
  void take_ready_row() { first_row_ready_ = false; }
  std::size_t column_count() const override { return columns_; }
  bool is_null(std::size_t col) override;
  // The stored type a column of that type holds, read straight from the
  // statement; anything else takes CellRows' conversions.
  std::int64_t get_int64(std::size_t col) override;
  double get_double(std::size_t col) override;
  std::string_view get_text(std::size_t col) override;
  Cell cell(std::size_t col);

  // One StreamingRows is allocated per query; each thread keeps one freed
  // block for the next, sparing a point query the allocator's round trip.
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;

 private:
  Result<bool> step();

  StatementLease lease_;
  std::size_t columns_;
  bool first_row_ready_;
  bool done_ = false;
  std::optional<Error> failure_;
  bool* broken_;
};

// Rows copied out of statements (RETURNING rows of a batched insert).
class BufferedRows final : public CellRows<BufferedRows> {
 public:
  struct StoredCell {
    int type = 0;
    std::int64_t integer = 0;
    double real = 0;
    std::string bytes;
  };
  explicit BufferedRows(std::size_t columns) : columns_(columns) {}

  // Appends the statement's current row.
  void append_current(sqlite3_stmt* stmt);

  Result<bool> next() override;
  std::size_t column_count() const override { return columns_; }
  Cell cell(std::size_t col);

 private:
  std::size_t columns_;
  std::vector<StoredCell> cells_;  // row-major
  std::size_t row_ = 0;            // 1-based current row; 0 before the first
};

// Defined in sqlite_rows.cpp.
extern template class CellRows<StreamingRows>;
extern template class CellRows<BufferedRows>;

}  // namespace tessera::sqlite::detail
