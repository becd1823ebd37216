#include "postgresql_copy.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "postgresql_values.hpp"

namespace tessera::postgresql::detail {
namespace {

template <class T>
void append_number(T v, std::string& out) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip
  out.append(buf, end);
}

template <class F>
void append_float(F v, std::string& out) {
  if (std::isnan(v))
    out += "NaN";
  else if (std::isinf(v))
    out += v > 0 ? "Infinity" : "-Infinity";
  else
    append_number(v, out);
}

// `digits` decimal digits of `v` (0 <= v), zero-padded.
void append_padded(std::uint64_t v, int digits, std::string& out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 || n < digits);
  while (n > 0) out += buf[--n];
}

// YYYY-MM-DD of days since 1970-01-01; a year before 1 is written as the
// server reads it, as its positive BC year (year 0 is 1 BC).
void append_civil_date(std::int64_t days, bool& bc, std::string& out) {
  const auto civil = tessera::detail::civil_from_days(days);
  bc = civil.year <= 0;
  const std::int64_t year = bc ? 1 - civil.year : civil.year;
  append_padded(static_cast<std::uint64_t>(year), 4, out);
  out += '-';
  append_padded(civil.month, 2, out);
  out += '-';
  append_padded(civil.day, 2, out);
}

void append_escaped(std::string_view text, std::string& out) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char escape = 0;
    switch (text[i]) {
      case '\\': escape = '\\'; break;
      case '\n': escape = 'n'; break;
      case '\r': escape = 'r'; break;
      case '\t': escape = 't'; break;
      default: continue;
    }
    out.append(text, start, i - start);
    out += '\\';
    out += escape;
    start = i + 1;
  }
  out.append(text, start, text.size() - start);
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

void append_copy_field(const Value& v, bool float4, std::string& out) {
  switch (v.type()) {
    case ValueType::null: out += "\\N"; return;
    case ValueType::boolean: out += v.as_bool() ? 't' : 'f'; return;
    case ValueType::int64: append_number(v.as_int64(), out); return;
    case ValueType::float64: {
      const double d = v.as_double();
      if (float4) {
        // What float8-to-float4 gives, unless it refuses d (overflow to
        // infinity, underflow to zero): float4 input refuses d's text too.
        const auto f = static_cast<float>(d);
        const bool refused = (std::isinf(f) && !std::isinf(d)) || (f == 0.0f && d != 0.0);
        if (!refused) return append_float(f, out);
      }
      return append_float(d, out);
    }
    case ValueType::text: append_escaped(v.as_text(), out); return;
    case ValueType::bytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\\\x";  // bytea's hex input, its backslash escaped for COPY
      for (std::byte b : v.as_bytes()) {
        const auto u = static_cast<unsigned>(b);
        out += kHex[u >> 4];
        out += kHex[u & 15];
      }
      return;
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
      append_civil_date(days, bc, out);
      const auto r = static_cast<std::uint64_t>(rest);
      out += ' ';
      append_padded(r / 3'600'000'000, 2, out);
      out += ':';
      append_padded(r / 60'000'000 % 60, 2, out);
      out += ':';
      append_padded(r / 1'000'000 % 60, 2, out);
      out += '.';
      append_padded(r % 1'000'000, 6, out);
      out += "+00";
      if (bc) out += " BC";
      return;
    }
    case ValueType::date: {
      bool bc = false;
      append_civil_date(v.as_date().days, bc, out);
      if (bc) out += " BC";
      return;
    }
  }
}

}  // namespace tessera::postgresql::detail
