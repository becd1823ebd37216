#include "sqlite_rows.hpp"

#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <new>
#include <utility>

#include "sqlite_errors.hpp"
#include "sqlite_values.hpp"
#include "tessera/driver/spare_block.hpp"

namespace tessera::sqlite::detail {
namespace {

std::string_view storage_name(int type) {
  switch (type) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

}  // namespace

template <class D>
void CellRows<D>::mismatch(std::size_t col, const Cell& c, std::string_view wanted) {
  if (error_) return;
  try {
    std::string message = "column " + std::to_string(col) + " holds " +
                          std::string(storage_name(c.type)) + ", which cannot be read as " +
                          std::string(wanted);
    error_ = driver_error(ErrorKind::invalid_value, std::move(message));
  } catch (...) {
    error_.emplace();  // out of memory: still an error, kind internal, no message
  }
}

template <class D>
bool CellRows<D>::is_null(std::size_t col) {
  return static_cast<D*>(this)->cell(col).type == SQLITE_NULL;
}

template <class D>
bool CellRows<D>::get_bool(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  if (c.type == SQLITE_INTEGER) return c.integer != 0;
  if (c.type != SQLITE_NULL) mismatch(col, c, "boolean");
  return false;
}

template <class D>
std::int64_t CellRows<D>::get_int64(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  if (c.type == SQLITE_INTEGER) return c.integer;
  // A REAL-affinity column returns whole numbers as REAL: exact ones convert.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (c.type == SQLITE_FLOAT && std::trunc(c.real) == c.real && c.real >= -kTwo63 &&
      c.real < kTwo63)
    return static_cast<std::int64_t>(c.real);
  if (c.type != SQLITE_NULL) mismatch(col, c, "int64");
  return 0;
}

template <class D>
double CellRows<D>::get_double(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  if (c.type == SQLITE_FLOAT) return c.real;
  if (c.type == SQLITE_INTEGER) return static_cast<double>(c.integer);
  if (c.type != SQLITE_NULL) mismatch(col, c, "float64");
  return 0.0;
}

template <class D>
std::string_view CellRows<D>::get_text(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  if (c.type == SQLITE_TEXT) return c.bytes;
  if (c.type != SQLITE_NULL) mismatch(col, c, "text");
  return {};
}

template <class D>
std::span<const std::byte> CellRows<D>::get_bytes(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  if (c.type == SQLITE_BLOB)
    return {reinterpret_cast<const std::byte*>(c.bytes.data()), c.bytes.size()};
  if (c.type != SQLITE_NULL) mismatch(col, c, "bytes");
  return {};
}

template <class D>
Timestamp CellRows<D>::get_timestamp(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  Timestamp t;
  if (c.type == SQLITE_TEXT && parse_timestamp(c.bytes, t)) return t;
  if (c.type != SQLITE_NULL) mismatch(col, c, "timestamp");
  return {};
}

template <class D>
Date CellRows<D>::get_date(std::size_t col) {
  const Cell c = static_cast<D*>(this)->cell(col);
  Date d;
  if (c.type == SQLITE_TEXT && parse_date(c.bytes, d)) return d;
  if (c.type != SQLITE_NULL) mismatch(col, c, "date");
  return {};
}

namespace {
// The thread's last destroyed StreamingRows' block, for its next one.
thread_local SpareBlock spare_rows;
}  // namespace

void* StreamingRows::operator new(std::size_t size) {
  return spare_rows.take(size, sizeof(StreamingRows));
}

void StreamingRows::operator delete(void* p, std::size_t size) noexcept {
  spare_rows.keep(p, size, sizeof(StreamingRows));
}

StreamingRows::StreamingRows(StatementLease&& lease, bool first_row_ready, bool* broken)
    : lease_(std::move(lease)),
      columns_(static_cast<std::size_t>(sqlite3_column_count(lease_.get()))),
      first_row_ready_(first_row_ready),
      done_(!first_row_ready),
      broken_(broken) {
  if (done_) lease_.release();
}

Result<bool> StreamingRows::next() {
  try {
    return step();
  } catch (...) {
    // Out of memory while building an error: end the rows all the same.
    done_ = true;
    lease_.release();
    return Error();
  }
}

Result<bool> StreamingRows::step() {
  clear_conversion_error();
  if (failure_) return *failure_;
  if (done_) return false;
  if (first_row_ready_) {
    first_row_ready_ = false;
    return true;
  }
  sqlite3_stmt* stmt = lease_.get();
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    done_ = true;
    lease_.release();  // ends the statement's read of the database now
    return false;
  }
  if (is_fatal(rc) && broken_ != nullptr) *broken_ = true;
  failure_ = make_error(sqlite3_db_handle(stmt), rc, sqlite3_sql(stmt));
  lease_.release();
  return *failure_;
}

bool StreamingRows::is_null(std::size_t col) {
  return sqlite3_column_type(lease_.get(), static_cast<int>(col)) == SQLITE_NULL;
}

std::int64_t StreamingRows::get_int64(std::size_t col) {
  sqlite3_value* v = sqlite3_column_value(lease_.get(), static_cast<int>(col));
  if (sqlite3_value_type(v) == SQLITE_INTEGER) return sqlite3_value_int64(v);
  return CellRows::get_int64(col);
}

double StreamingRows::get_double(std::size_t col) {
  sqlite3_value* v = sqlite3_column_value(lease_.get(), static_cast<int>(col));
  if (sqlite3_value_type(v) == SQLITE_FLOAT) return sqlite3_value_double(v);
  return CellRows::get_double(col);
}

std::string_view StreamingRows::get_text(std::size_t col) {
  sqlite3_value* v = sqlite3_column_value(lease_.get(), static_cast<int>(col));
  if (sqlite3_value_type(v) == SQLITE_TEXT) {
    // Text first, then its length (https://sqlite.org/c3ref/column_blob.html).
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return {p, static_cast<std::size_t>(sqlite3_value_bytes(v))};
  }
  return CellRows::get_text(col);
}

Cell StreamingRows::cell(std::size_t col) {
  // One sqlite3_column_value (which checks the index and takes the handle's
  // mutex once), then the value accessors, which do neither: cheaper than a
  // sqlite3_column_type plus a sqlite3_column_* call.
  sqlite3_value* v = sqlite3_column_value(lease_.get(), static_cast<int>(col));
  Cell c;
  c.type = sqlite3_value_type(v);
  switch (c.type) {
    case SQLITE_INTEGER: c.integer = sqlite3_value_int64(v); break;
    case SQLITE_FLOAT: c.real = sqlite3_value_double(v); break;
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
      c.bytes = std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(v)));
      break;
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_value_blob(v));
      const auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
      c.bytes = n == 0 ? std::string_view() : std::string_view(p, n);
      break;
    }
    default: break;
  }
  return c;
}

void BufferedRows::append_current(sqlite3_stmt* stmt) {
  for (std::size_t col = 0; col < columns_; ++col) {
    const int i = static_cast<int>(col);
    StoredCell s;
    s.type = sqlite3_column_type(stmt, i);
    switch (s.type) {
      case SQLITE_INTEGER: s.integer = sqlite3_column_int64(stmt, i); break;
      case SQLITE_FLOAT: s.real = sqlite3_column_double(stmt, i); break;
      case SQLITE_TEXT:
        s.bytes.assign(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i)),
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
        break;
      case SQLITE_BLOB: {
        const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt, i));
        if (n != 0) s.bytes.assign(static_cast<const char*>(sqlite3_column_blob(stmt, i)), n);
        break;
      }
      default: break;
    }
    cells_.push_back(std::move(s));
  }
}

Result<bool> BufferedRows::next() {
  clear_conversion_error();
  const std::size_t rows = columns_ == 0 ? 0 : cells_.size() / columns_;
  if (row_ <= rows) ++row_;
  return row_ <= rows;
}

Cell BufferedRows::cell(std::size_t col) {
  const StoredCell& s = cells_[(row_ - 1) * columns_ + col];
  Cell c;
  c.type = s.type;
  c.integer = s.integer;
  c.real = s.real;
  c.bytes = s.bytes;
  return c;
}

template class CellRows<StreamingRows>;
template class CellRows<BufferedRows>;

}  // namespace tessera::sqlite::detail
