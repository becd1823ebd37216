#include "mysql_values.hpp"

#include <cstring>
#include <string>

#include "mysql_errors.hpp"

namespace tessera::mysql::detail {
namespace {

constexpr std::int64_t kMicrosPerDay = 86'400'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool set_civil(std::int64_t days, MYSQL_TIME& out) {
  const auto c = tessera::detail::civil_from_days(days);
  if (c.year < 1 || c.year > 9999) return false;
  out.year = static_cast<unsigned>(c.year);
  out.month = c.month;
  out.day = c.day;
  return true;
}

bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool valid_date(const MYSQL_TIME& t) {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (t.year < 1 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1) return false;
  return t.day <= (t.month == 2 && leap(t.year) ? 29u : days[t.month - 1]);
}

// An empty text or blob still needs a non-null buffer, or the library
// would send NULL.
char empty_buffer[1] = {0};

}  // namespace

bool to_mysql_time(Timestamp t, MYSQL_TIME& out) {
  std::memset(&out, 0, sizeof out);
  const std::int64_t days = floor_div(t.micros, kMicrosPerDay);
  const std::int64_t in_day = t.micros - days * kMicrosPerDay;
  if (!set_civil(days, out)) return false;
  const std::int64_t secs = in_day / 1'000'000;
  out.hour = static_cast<unsigned>(secs / 3600);
  out.minute = static_cast<unsigned>(secs / 60 % 60);
  out.second = static_cast<unsigned>(secs % 60);
  out.second_part = static_cast<unsigned long>(in_day % 1'000'000);
  out.time_type = MYSQL_TIMESTAMP_DATETIME;
  return true;
}

bool to_mysql_date(Date d, MYSQL_TIME& out) {
  std::memset(&out, 0, sizeof out);
  if (!set_civil(d.days, out)) return false;
  out.time_type = MYSQL_TIMESTAMP_DATE;
  return true;
}

bool from_mysql_time(const MYSQL_TIME& t, Timestamp& out) {
  if (!valid_date(t) || t.neg || t.hour > 23 || t.minute > 59 || t.second > 59 ||
      t.second_part > 999'999)
    return false;
  const std::int64_t days = tessera::detail::days_from_civil(t.year, t.month, t.day);
  out.micros = days * kMicrosPerDay +
               (std::int64_t{t.hour} * 3600 + t.minute * 60 + t.second) * 1'000'000 +
               static_cast<std::int64_t>(t.second_part);
  return true;
}

bool from_mysql_date(const MYSQL_TIME& t, Date& out) {
  if (!valid_date(t)) return false;
  out.days = static_cast<std::int32_t>(tessera::detail::days_from_civil(t.year, t.month, t.day));
  return true;
}

bool ParamBinder::set(MYSQL_BIND& b, enum_field_types type, void* buffer) {
  if (b.buffer_type == type && b.buffer == buffer) return false;
  b = MYSQL_BIND{};
  b.buffer_type = type;
  b.buffer = buffer;
  return true;
}

Status ParamBinder::bind(MYSQL_STMT* stmt, std::span<const Value> params) {
  if (!checked_ || binds_.size() != params.size()) {
    const unsigned long expected = mysql_stmt_param_count(stmt);
    if (expected != params.size())
      return driver_error(ErrorKind::invalid_statement,
                          "the statement has " + std::to_string(expected) + " parameters, " +
                              std::to_string(params.size()) + " values were given");
    // A fresh MYSQL_BIND has type MYSQL_TYPE_DECIMAL, which no parameter
    // is bound as: set() sees every parameter as changed.
    binds_.assign(params.size(), MYSQL_BIND{});
    slots_.resize(params.size());
    checked_ = true;
    bound_ = false;
  }
  if (params.empty()) return {};
  bool changed = !bound_;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Value& v = params[i];
    MYSQL_BIND& b = binds_[i];
    Slot& slot = slots_[i];
    switch (v.type()) {
      case ValueType::null: changed |= set(b, MYSQL_TYPE_NULL, nullptr); break;
      case ValueType::boolean:
        slot.boolean = v.as_bool() ? 1 : 0;
        changed |= set(b, MYSQL_TYPE_TINY, &slot.boolean);
        break;
      case ValueType::int64:
        slot.integer = v.as_int64();
        changed |= set(b, MYSQL_TYPE_LONGLONG, &slot.integer);
        break;
      case ValueType::float64:
        slot.real = v.as_double();
        changed |= set(b, MYSQL_TYPE_DOUBLE, &slot.real);
        break;
      case ValueType::text: {
        const std::string_view s = v.as_text();
        if (set(b, MYSQL_TYPE_STRING, s.empty() ? empty_buffer : const_cast<char*>(s.data()))) {
          b.length = &slot.length;
          changed = true;
        }
        slot.length = s.size();
        break;
      }
      case ValueType::bytes: {
        const Bytes& bytes = v.as_bytes();
        if (set(b, MYSQL_TYPE_BLOB,
                bytes.empty() ? static_cast<void*>(empty_buffer)
                              : const_cast<std::byte*>(bytes.data()))) {
          b.length = &slot.length;
          changed = true;
        }
        slot.length = bytes.size();
        break;
      }
      case ValueType::timestamp:
        if (!to_mysql_time(v.as_timestamp(), slot.time))
          return driver_error(ErrorKind::invalid_value, "timestamp parameter " + std::to_string(i) +
                                                            " is outside the years 0001..9999");
        changed |= set(b, MYSQL_TYPE_DATETIME, &slot.time);
        break;
      case ValueType::date:
        if (!to_mysql_date(v.as_date(), slot.time))
          return driver_error(ErrorKind::invalid_value, "date parameter " + std::to_string(i) +
                                                            " is outside the years 0001..9999");
        changed |= set(b, MYSQL_TYPE_DATE, &slot.time);
        break;
    }
  }
  if (!changed) return {};
  bound_ = false;
  if (mysql_stmt_bind_param(stmt, binds_.data()) != 0)
    return make_error(mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt), mysql_stmt_error(stmt),
                      {});
  bound_ = true;
  return {};
}

}  // namespace tessera::mysql::detail
