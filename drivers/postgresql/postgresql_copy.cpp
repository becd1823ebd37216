#include "postgresql_copy.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

#include "postgresql_values.hpp"

namespace tessera::postgresql::detail {
namespace {

// Bytes a number, a date or a timestamp takes at most: an int64 (20), a
// shortest double (24), or `-YYYYYYYYYYYY-MM-DD HH:MM:SS.ffffff+00 BC`.
constexpr std::size_t kScalarBound = 48;

template <class T>
char* write_number(T v, char* out) {
  return std::to_chars(out, out + kScalarBound, v).ptr;  // shortest round trip
}

template <class F>
char* write_float(F v, char* out) {
  std::string_view text;
  if (std::isnan(v))
    text = "NaN";
  else if (std::isinf(v))
    text = v > 0 ? "Infinity" : "-Infinity";
  else
    return write_number(v, out);
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// `digits` decimal digits of `v`, zero-padded (more if `v` needs them).
char* write_padded(std::uint64_t v, int digits, char* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 || n < digits);
  while (n > 0) *out++ = buf[--n];
  return out;
}

// YYYY-MM-DD of days since 1970-01-01; a year before 1 is written as the
// server reads it, as its positive BC year (year 0 is 1 BC).
char* write_civil_date(std::int64_t days, bool& bc, char* out) {
  const auto civil = tessera::detail::civil_from_days(days);
  bc = civil.year <= 0;
  const std::int64_t year = bc ? 1 - civil.year : civil.year;
  out = write_padded(static_cast<std::uint64_t>(year), 4, out);
  *out++ = '-';
  out = write_padded(civil.month, 2, out);
  *out++ = '-';
  return write_padded(civil.day, 2, out);
}

// The escape letter of a byte COPY's text format escapes, or 0.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> e{};
  e['\\'] = '\\';
  e['\n'] = 'n';
  e['\r'] = 'r';
  e['\t'] = 't';
  return e;
}();

char* write_escaped(std::string_view text, char* out) {
  for (char ch : text) {
    const char escape = kEscapes[static_cast<unsigned char>(ch)];
    if (escape == 0) {
      *out++ = ch;
    } else {
      *out++ = '\\';
      *out++ = escape;
    }
  }
  return out;
}

}  // namespace

bool copy_accepts(unsigned column_oid, ValueType type) {
  switch (column_oid) {
    case kOidBool: return type == ValueType::boolean;
    case kOidInt2:
    case kOidInt4:
    case kOidInt8: return type == ValueType::int64;
    case kOidFloat4:
    case kOidFloat8: return type == ValueType::float64 || type == ValueType::int64;
    case kOidText:
    case kOidVarchar: return type == ValueType::text;
    case kOidBytea: return type == ValueType::bytes;
    case kOidTimestamptz: return type == ValueType::timestamp;
    case kOidDate: return type == ValueType::date;
    default: return false;
  }
}

std::size_t copy_field_bound(const Value& v) {
  switch (v.type()) {
    case ValueType::text: return 2 * v.as_text().size();
    case ValueType::bytes: return 3 + 2 * v.as_bytes().size();
    default: return kScalarBound;
  }
}

char* write_copy_field(const Value& v, bool float4, char* out) {
  switch (v.type()) {
    case ValueType::null:
      *out++ = '\\';
      *out++ = 'N';
      return out;
    case ValueType::boolean: *out++ = v.as_bool() ? 't' : 'f'; return out;
    case ValueType::int64: return write_number(v.as_int64(), out);
    case ValueType::float64: {
      const double d = v.as_double();
      if (float4) {
        // What float8-to-float4 gives, unless it refuses d (overflow to
        // infinity, underflow to zero): float4 input refuses d's text too.
        const auto f = static_cast<float>(d);
        const bool refused = (std::isinf(f) && !std::isinf(d)) || (f == 0.0f && d != 0.0);
        if (!refused) return write_float(f, out);
      }
      return write_float(d, out);
    }
    case ValueType::text: return write_escaped(v.as_text(), out);
    case ValueType::bytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      // bytea's hex input, its backslash escaped for COPY.
      *out++ = '\\';
      *out++ = '\\';
      *out++ = 'x';
      for (std::byte b : v.as_bytes()) {
        const auto u = static_cast<unsigned>(b);
        *out++ = kHex[u >> 4];
        *out++ = kHex[u & 15];
      }
      return out;
    }
    case ValueType::timestamp: {
      constexpr std::int64_t kDay = 86'400'000'000;
      const std::int64_t micros = v.as_timestamp().micros;
      std::int64_t days = micros / kDay;
      std::int64_t rest = micros % kDay;
      if (rest < 0) {
        rest += kDay;
        --days;
      }
      bool bc = false;
      out = write_civil_date(days, bc, out);
      const auto r = static_cast<std::uint64_t>(rest);
      *out++ = ' ';
      out = write_padded(r / 3'600'000'000, 2, out);
      *out++ = ':';
      out = write_padded(r / 60'000'000 % 60, 2, out);
      *out++ = ':';
      out = write_padded(r / 1'000'000 % 60, 2, out);
      *out++ = '.';
      out = write_padded(r % 1'000'000, 6, out);
      std::memcpy(out, bc ? "+00 BC" : "+00", bc ? 6 : 3);
      return out + (bc ? 6 : 3);
    }
    case ValueType::date: {
      bool bc = false;
      out = write_civil_date(v.as_date().days, bc, out);
      if (bc) {
        std::memcpy(out, " BC", 3);
        out += 3;
      }
      return out;
    }
  }
  return out;
}

}  // namespace tessera::postgresql::detail
