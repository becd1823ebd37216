#include "sqlite_values.hpp"

#include <sqlite3.h>

#include <string>
#include <utility>

#include "sqlite_errors.hpp"

namespace tessera::sqlite::detail {
namespace {

constexpr std::int64_t kMicrosPerDay = 86'400'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void put_digits(char* out, std::int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

bool write_civil_date(std::int64_t days, char* out) {
  const auto c = tessera::detail::civil_from_days(days);
  if (c.year < 1 || c.year > 9999) return false;
  put_digits(out, c.year, 4);
  out[4] = '-';
  put_digits(out + 5, c.month, 2);
  out[7] = '-';
  put_digits(out + 8, c.day, 2);
  return true;
}

// Reads exactly `width` digits.
bool read_digits(std::string_view text, std::size_t pos, int width, unsigned& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (int i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(unsigned y, unsigned m) {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Parses the "YYYY-MM-DD" prefix of `text` into days since the epoch.
bool read_date(std::string_view text, std::int64_t& days) {
  unsigned y = 0, m = 0, d = 0;
  if (!read_digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' ||
      !read_digits(text, 5, 2, m) || text[7] != '-' || !read_digits(text, 8, 2, d))
    return false;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return false;
  days = tessera::detail::days_from_civil(y, m, d);
  return true;
}

}  // namespace

bool format_timestamp(Timestamp t, char* out) {
  const std::int64_t days = floor_div(t.micros, kMicrosPerDay);
  std::int64_t rest = t.micros - days * kMicrosPerDay;
  if (!write_civil_date(days, out)) return false;
  const std::int64_t micros = rest % 1'000'000;
  rest /= 1'000'000;
  out[10] = ' ';
  put_digits(out + 11, rest / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, rest / 60 % 60, 2);
  out[16] = ':';
  put_digits(out + 17, rest % 60, 2);
  out[19] = '.';
  put_digits(out + 20, micros, 6);
  return true;
}

bool format_date(Date d, char* out) { return write_civil_date(d.days, out); }

bool parse_timestamp(std::string_view text, Timestamp& out) {
  if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
  std::int64_t days = 0;
  unsigned h = 0, mi = 0, s = 0;
  if (!read_date(text, days) || text.size() < 19 || (text[10] != ' ' && text[10] != 'T') ||
      !read_digits(text, 11, 2, h) || text[13] != ':' || !read_digits(text, 14, 2, mi) ||
      text[16] != ':' || !read_digits(text, 17, 2, s) || h > 23 || mi > 59 || s > 59)
    return false;
  std::int64_t micros = 0;
  if (text.size() > 19) {
    const std::size_t digits = text.size() - 20;
    if (text[19] != '.' || digits < 1 || digits > 6) return false;
    unsigned fraction = 0;
    if (!read_digits(text, 20, static_cast<int>(digits), fraction)) return false;
    micros = fraction;
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
  }
  out.micros = days * kMicrosPerDay + (h * 3600 + mi * 60 + s) * std::int64_t{1'000'000} + micros;
  return true;
}

bool parse_date(std::string_view text, Date& out) {
  std::int64_t days = 0;
  if (text.size() != kDateTextSize || !read_date(text, days)) return false;
  out.days = static_cast<std::int32_t>(days);
  return true;
}

Error param_count_error(sqlite3_stmt* stmt, std::size_t given) {
  return driver_error(ErrorKind::invalid_statement,
                      "the statement has " + std::to_string(sqlite3_bind_parameter_count(stmt)) +
                          " parameters, " + std::to_string(given) + " values were given",
                      sqlite3_sql(stmt));
}

namespace {

// Binds parameter `i` (0-based) of a type other than int64, float64 and
// text, setting `rc`: out of bind_params' loop, which then stays on few
// instruction-cache lines for the common types. Timestamps and dates bind
// as ISO text; an error for one outside the years 0001..9999.
[[gnu::noinline]] Status bind_other(sqlite3_stmt* stmt, std::size_t i, const Value& v, int& rc) {
  const int pos = static_cast<int>(i + 1);
  switch (v.type()) {
    case ValueType::null: rc = sqlite3_bind_null(stmt, pos); break;
    case ValueType::boolean: rc = sqlite3_bind_int64(stmt, pos, v.as_bool() ? 1 : 0); break;
    case ValueType::bytes: {
      const Bytes& b = v.as_bytes();
      // A null pointer would bind NULL; an empty blob must stay a blob.
      rc = b.empty() ? sqlite3_bind_zeroblob(stmt, pos, 0)
                     : sqlite3_bind_blob64(stmt, pos, b.data(), b.size(), SQLITE_STATIC);
      break;
    }
    case ValueType::timestamp:
    case ValueType::date: {
      const bool timestamp = v.type() == ValueType::timestamp;
      char text[kTimestampTextSize];  // the longer of the two forms
      const bool in_range =
          timestamp ? format_timestamp(v.as_timestamp(), text) : format_date(v.as_date(), text);
      if (!in_range)
        return driver_error(ErrorKind::invalid_value,
                            std::string(timestamp ? "timestamp" : "date") + " parameter " +
                                std::to_string(i) + " is outside the years 0001..9999",
                            sqlite3_sql(stmt));
      const auto size = static_cast<int>(timestamp ? kTimestampTextSize : kDateTextSize);
      rc = sqlite3_bind_text(stmt, pos, text, size, SQLITE_TRANSIENT);
      break;
    }
    case ValueType::int64:
    case ValueType::float64:
    case ValueType::text: break;  // bound by bind_params itself
  }
  return {};
}

[[gnu::cold, gnu::noinline]] Status bind_failed(sqlite3_stmt* stmt, int rc) {
  return make_error(sqlite3_db_handle(stmt), rc, sqlite3_sql(stmt));
}

// Binds `v` to parameter `i` (0-based). Text and blobs without a copy.
inline Status bind_one(sqlite3_stmt* stmt, std::size_t i, const Value& v) {
  const int pos = static_cast<int>(i + 1);
  int rc = SQLITE_OK;
  const ValueType type = v.type();
  if (type == ValueType::int64) {
    rc = sqlite3_bind_int64(stmt, pos, v.as_int64());
  } else if (type == ValueType::text) {
    const std::string_view s = v.as_text();
    rc = sqlite3_bind_text64(stmt, pos, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
  } else if (type == ValueType::float64) {
    rc = sqlite3_bind_double(stmt, pos, v.as_double());
  } else if (Status s = bind_other(stmt, i, v, rc); !s) [[unlikely]] {
    return s;
  }
  if (rc != SQLITE_OK) [[unlikely]]
    return bind_failed(stmt, rc);
  return {};
}

}  // namespace

Status bind_params(sqlite3_stmt* stmt, std::span<const Value> params, bool check_count) {
  if (check_count && static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt)) != params.size())
      [[unlikely]]
    return param_count_error(stmt, params.size());
  for (std::size_t i = 0; i < params.size(); ++i)
    if (Status s = bind_one(stmt, i, params[i]); !s) [[unlikely]]
      return s;
  return {};
}

void RowParamBinder::bind_null(std::size_t column) {
  done(sqlite3_bind_null(stmt_, static_cast<int>(column + 1)));
}

void RowParamBinder::bind_int64(std::size_t column, std::int64_t v) {
  done(sqlite3_bind_int64(stmt_, static_cast<int>(column + 1), v));
}

void RowParamBinder::bind_double(std::size_t column, double v) {
  done(sqlite3_bind_double(stmt_, static_cast<int>(column + 1), v));
}

void RowParamBinder::bind_text(std::size_t column, std::string_view v) {
  // A null pointer would bind NULL; empty text must stay text.
  done(sqlite3_bind_text64(stmt_, static_cast<int>(column + 1), v.data() ? v.data() : "", v.size(),
                           SQLITE_STATIC, SQLITE_UTF8));
}

void RowParamBinder::bind_bytes(std::size_t column, std::span<const std::byte> v) {
  const int pos = static_cast<int>(column + 1);
  done(v.empty() ? sqlite3_bind_zeroblob(stmt_, pos, 0)
                 : sqlite3_bind_blob64(stmt_, pos, v.data(), v.size(), SQLITE_STATIC));
}

void RowParamBinder::bind_value(std::size_t column, const Value& v) {
  ++bound_;
  if (Status s = bind_one(stmt_, column, v); !s && !failed_) [[unlikely]] {
    error_ = std::move(s);
    failed_ = true;
  }
}

void RowParamBinder::failed(int rc) {
  if (failed_) return;
  error_ = bind_failed(stmt_, rc);
  failed_ = true;
}

Status RowParamBinder::finish_failed(std::size_t columns) {
  if (failed_) {
    failed_ = false;
    return std::exchange(error_, Status());
  }
  if (bound_ != columns)
    return driver_error(ErrorKind::internal,
                        "an insert row source bound " + std::to_string(bound_) + " values to " +
                            std::to_string(columns) + " columns",
                        sqlite3_sql(stmt_));
  return {};
}

}  // namespace tessera::sqlite::detail
