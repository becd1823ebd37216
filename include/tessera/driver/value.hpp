// Value: the untyped scalar that crosses the driver SPI.
//
// A Value is what the engine binds as a statement parameter and what a
// key-value driver stores. The SQL hot path does not build Values per row:
// rows are read through typed accessors on Rows (see rows.hpp).
//
// Thread safety: a Value is a regular value type; distinct objects may be used
// from distinct threads without synchronisation.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tessera {

// A point in time, UTC, with microsecond precision. Stored as microseconds since
// 1970-01-01T00:00:00Z. Range: years 0001..9999 are guaranteed to round-trip
// through every driver; values outside that range are refused by drivers that
// cannot store them (kind invalid_value).
struct Timestamp {
  std::int64_t micros = 0;

  friend constexpr auto operator<=>(const Timestamp&, const Timestamp&) = default;

  // Builds a timestamp from a civil UTC date and time. Fields are not
  // validated beyond what the arithmetic needs; pass a real date.
  static constexpr Timestamp from_civil(int year, unsigned month, unsigned day, unsigned hour = 0,
                                        unsigned minute = 0, unsigned second = 0,
                                        unsigned microsecond = 0);
  // The current system time, truncated to microseconds.
  static Timestamp now();
};

// A calendar date without time zone: days since 1970-01-01 (negative before).
struct Date {
  std::int32_t days = 0;

  friend constexpr auto operator<=>(const Date&, const Date&) = default;

  static constexpr Date from_civil(int year, unsigned month, unsigned day);
};

// Binary data. A distinct type from std::string so that text and bytes never
// convert into each other silently.
using Bytes = std::vector<std::byte>;

// Converts a string's bytes to Bytes (no encoding is applied).
inline Bytes to_bytes(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

namespace detail {
// Days from civil, after Howard Hinnant's public-domain algorithm.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};
constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}
}  // namespace detail

constexpr Timestamp Timestamp::from_civil(int year, unsigned month, unsigned day, unsigned hour,
                                          unsigned minute, unsigned second, unsigned microsecond) {
  const std::int64_t days = detail::days_from_civil(year, month, day);
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  return Timestamp{secs * 1'000'000 + microsecond};
}

constexpr Date Date::from_civil(int year, unsigned month, unsigned day) {
  return Date{static_cast<std::int32_t>(detail::days_from_civil(year, month, day))};
}

// The runtime type of a Value.
enum class ValueType : std::uint8_t { null, boolean, int64, float64, text, bytes, timestamp, date };

// A nullable scalar. Integers of every width travel as int64; float as double.
class Value {
 public:
  Value() = default;  // NULL
  Value(std::nullptr_t) {}
  Value(bool v) : v_(v) {}
  Value(std::int64_t v) : v_(v) {}
  Value(double v) : v_(v) {}
  Value(std::string v) : v_(std::move(v)) {}
  Value(std::string_view v) : v_(std::string(v)) {}
  Value(const char* v) : v_(std::string(v)) {}
  Value(Bytes v) : v_(std::move(v)) {}
  Value(Timestamp v) : v_(v) {}
  Value(Date v) : v_(v) {}

  // A text value that refers to `text` instead of copying it. The caller
  // keeps the characters alive and unchanged for as long as this Value, or
  // any copy of it, is used. The typed API binds the members of the rows it
  // is given this way (an Operation does not outlive its call); a driver
  // that keeps a parameter beyond the operation copies the text (as it
  // would any pointer the Operation holds). Otherwise it is a text value
  // like any other: same type(), as_text() and equality.
  static Value text_view(std::string_view text) { return Value(TextView{text}); }

  // The argument of the constructor text_view() uses: a Value can be
  // constructed in place from it (std::vector::emplace_back) with no
  // temporary Value to move from. Same contract as text_view().
  struct TextView {
    std::string_view text;
  };
  explicit Value(TextView t) : v_(std::in_place_index<kTextView>, t.text) {}

  ValueType type() const {
    const std::size_t i = v_.index();
    return i == kTextView ? ValueType::text : static_cast<ValueType>(i);
  }
  bool is_null() const { return v_.index() == 0; }

  // Accessors. Precondition: type() is the matching type.
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int64() const { return std::get<std::int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  std::string_view as_text() const {
    if (v_.index() == kTextView) return std::get<kTextView>(v_);
    return std::get<std::string>(v_);
  }
  const Bytes& as_bytes() const { return std::get<Bytes>(v_); }
  Timestamp as_timestamp() const { return std::get<Timestamp>(v_); }
  Date as_date() const { return std::get<Date>(v_); }

  // Equal types and values; an owned text equals a viewed one with the
  // same characters.
  friend bool operator==(const Value& a, const Value& b) {
    if (a.type() == ValueType::text && b.type() == ValueType::text)
      return a.as_text() == b.as_text();
    return a.v_ == b.v_;
  }

 private:
  // The index of the viewed-text alternative; every other index is its
  // ValueType.
  static constexpr std::size_t kTextView = 8;
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Bytes, Timestamp, Date,
               std::string_view>
      v_;
};

// The storage type of a column, as declared by a model. Drivers map each to a
// native type; integer widths are enforced by the engine on write.
enum class ColumnType : std::uint8_t {
  boolean,
  int8,
  int16,
  int32,
  int64,
  uint8,
  uint16,
  uint32,
  float32,
  float64,
  text,
  bytes,
  timestamp,
  date,
};

// The Value type a column of this ColumnType is bound and read as.
constexpr ValueType value_type_of(ColumnType t) {
  switch (t) {
    case ColumnType::boolean: return ValueType::boolean;
    case ColumnType::float32:
    case ColumnType::float64: return ValueType::float64;
    case ColumnType::text: return ValueType::text;
    case ColumnType::bytes: return ValueType::bytes;
    case ColumnType::timestamp: return ValueType::timestamp;
    case ColumnType::date: return ValueType::date;
    default: return ValueType::int64;
  }
}

// Names, for messages.
constexpr std::string_view to_string(ColumnType t) {
  constexpr std::string_view names[] = {"boolean", "int8",   "int16",     "int32",   "int64",
                                        "uint8",   "uint16", "uint32",    "float32", "float64",
                                        "text",    "bytes",  "timestamp", "date"};
  return names[static_cast<int>(t)];
}
constexpr std::string_view to_string(ValueType t) {
  constexpr std::string_view names[] = {"null", "boolean", "int64",     "float64",
                                        "text", "bytes",   "timestamp", "date"};
  return names[static_cast<int>(t)];
}

}  // namespace tessera
