// Values in SQLite storage: binding parameters, and the TEXT forms of
// timestamps and dates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tessera/driver/error.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/value.hpp"

struct sqlite3_stmt;

namespace tessera::sqlite::detail {

// "YYYY-MM-DD HH:MM:SS.ffffff" is 26 characters; "YYYY-MM-DD" is 10.
inline constexpr std::size_t kTimestampTextSize = 26;
inline constexpr std::size_t kDateTextSize = 10;

// Writes the storage text of `t` into `out` (kTimestampTextSize bytes, no
// NUL). False if the year is outside 0001..9999.
bool format_timestamp(Timestamp t, char* out);
bool format_date(Date d, char* out);

// Parses "YYYY-MM-DD HH:MM:SS[.f{1,6}]" ('T' also separates date and time,
// a trailing 'Z' is allowed). False for anything else or an impossible date.
bool parse_timestamp(std::string_view text, Timestamp& out);
// Parses "YYYY-MM-DD".
bool parse_date(std::string_view text, Date& out);

// Binds params[i] to parameter i + 1. Text and blobs are bound without a
// copy: `params` must outlive the statement's use (see operation.hpp).
// Errors: invalid_statement if the statement has a different number of
// parameters; invalid_value for a timestamp or date out of range.
//
// check_count = false skips the count check, for a caller that binds many
// rows to one statement and has made it once, with param_count_error.
Status bind_params(sqlite3_stmt* stmt, std::span<const Value> params, bool check_count = true);

// The invalid_statement error for a statement that does not have `given`
// parameters.
[[gnu::cold]] Error param_count_error(sqlite3_stmt* stmt, std::size_t given);

// Binds an insert's rows to one statement, a row at a time, from
// InsertRowSource::bind_row: column i to parameter i + 1, as bind_params
// binds values (texts and blobs without a copy: they live until the next
// row is bound, after the statement has run). Keeps the first failure.
// Usage per row: start(), the source's bind_row(), finish().
class RowParamBinder final : public RowBinder {
 public:
  explicit RowParamBinder(sqlite3_stmt* stmt) : stmt_(stmt) {}

  void start() { bound_ = 0; }
  // The first bind that failed since start(); internal when the source
  // bound another number of values than `columns`.
  Status finish(std::size_t columns) {
    if (failed_ || bound_ != columns) [[unlikely]]
      return finish_failed(columns);
    return {};
  }

  void bind_null(std::size_t column) override;
  void bind_int64(std::size_t column, std::int64_t v) override;
  void bind_double(std::size_t column, double v) override;
  void bind_text(std::size_t column, std::string_view v) override;
  void bind_bytes(std::size_t column, std::span<const std::byte> v) override;
  void bind_value(std::size_t column, const Value& v) override;

 private:
  void done(int rc) {
    ++bound_;
    if (rc != 0) [[unlikely]]
      failed(rc);
  }
  [[gnu::cold]] void failed(int rc);
  [[gnu::cold]] Status finish_failed(std::size_t columns);

  sqlite3_stmt* stmt_;
  std::size_t bound_ = 0;
  bool failed_ = false;  // error_ holds the first failure
  Status error_;
};

}  // namespace tessera::sqlite::detail
