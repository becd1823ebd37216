#include "postgresql_values.hpp"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "postgresql_errors.hpp"

namespace tessera::postgresql::detail {
namespace {

// An empty text or bytea parameter still needs a non-null pointer (null
// means SQL NULL).
constexpr char kEmpty[1] = {0};

template <class T>
T read_be(std::string_view cell) {
  std::make_unsigned_t<T> v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v = static_cast<std::make_unsigned_t<T>>((v << 8) | static_cast<unsigned char>(cell[i]));
  return static_cast<T>(v);
}

template <class T>
void write_be(char* out, T value) {
  auto v = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = sizeof(T); i-- > 0;) {
    out[i] = static_cast<char>(v & 0xff);
    v = static_cast<std::make_unsigned_t<T>>(v >> 8);
  }
}

// NUMERIC in binary: ndigits, weight, sign, dscale (int16 each), then
// ndigits base-10000 digits, most significant first; the value is
// sum(digit[i] * 10000^(weight - i)).
struct Numeric {
  std::int16_t ndigits = 0;
  std::int16_t weight = 0;
  std::uint16_t sign = 0;
  std::int16_t dscale = 0;
  std::string_view digits;
};

constexpr std::uint16_t kNumericNeg = 0x4000;
constexpr std::uint16_t kNumericNan = 0xC000;
constexpr std::uint16_t kNumericPinf = 0xD000;
constexpr std::uint16_t kNumericNinf = 0xF000;

bool read_numeric(std::string_view cell, Numeric& n) {
  if (cell.size() < 8) return false;
  n.ndigits = read_be<std::int16_t>(cell.substr(0));
  n.weight = read_be<std::int16_t>(cell.substr(2));
  n.sign = read_be<std::uint16_t>(cell.substr(4));
  n.dscale = read_be<std::int16_t>(cell.substr(6));
  if (n.ndigits < 0 || cell.size() != 8 + 2 * static_cast<std::size_t>(n.ndigits)) return false;
  n.digits = cell.substr(8);
  return true;
}

std::int16_t numeric_digit(const Numeric& n, int i) {
  return read_be<std::int16_t>(n.digits.substr(2 * static_cast<std::size_t>(i)));
}

// acc * 10000 + digit, false on overflow past 2^63 (the magnitude of the
// most negative int64).
bool scale_up(std::uint64_t& acc, std::uint64_t digit) {
  constexpr std::uint64_t limit = std::uint64_t{1} << 63;
  if (acc > (limit - digit) / 10000) return false;
  acc = acc * 10000 + digit;
  return true;
}

bool numeric_to_int64(std::string_view cell, std::int64_t& out) {
  Numeric n;
  if (!read_numeric(cell, n) || (n.sign != 0 && n.sign != kNumericNeg)) return false;
  std::uint64_t acc = 0;
  for (int i = 0; i < n.ndigits; ++i) {
    const std::int16_t d = numeric_digit(n, i);
    if (d < 0 || d > 9999) return false;
    if (n.weight - i < 0) {
      if (d != 0) return false;  // a fraction
      continue;
    }
    if (!scale_up(acc, static_cast<std::uint64_t>(d))) return false;
  }
  // Trailing zero groups are not stored: scale up to the weight.
  for (int p = n.weight - n.ndigits + 1; p > 0; --p)
    if (!scale_up(acc, 0)) return false;
  constexpr std::uint64_t int64_max =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (n.sign == kNumericNeg) {
    out = acc == int64_max + 1 ? std::numeric_limits<std::int64_t>::min()
                               : -static_cast<std::int64_t>(acc);
    return true;
  }
  if (acc > int64_max) return false;
  out = static_cast<std::int64_t>(acc);
  return true;
}

bool numeric_to_double(std::string_view cell, double& out) {
  Numeric n;
  if (!read_numeric(cell, n)) return false;
  if (n.sign == kNumericNan) return out = std::numeric_limits<double>::quiet_NaN(), true;
  if (n.sign == kNumericPinf) return out = std::numeric_limits<double>::infinity(), true;
  if (n.sign == kNumericNinf) return out = -std::numeric_limits<double>::infinity(), true;
  if (n.sign != 0 && n.sign != kNumericNeg) return false;
  // Through decimal text, so strtod rounds correctly: "-d.dddde+N".
  std::string text = n.sign == kNumericNeg ? "-0." : "0.";
  for (int i = 0; i < n.ndigits; ++i) {
    const int d = numeric_digit(n, i);
    if (d < 0 || d > 9999) return false;
    const char group[4] = {static_cast<char>('0' + d / 1000), static_cast<char>('0' + d / 100 % 10),
                           static_cast<char>('0' + d / 10 % 10), static_cast<char>('0' + d % 10)};
    text.append(group, 4);
  }
  if (n.ndigits == 0) text += '0';
  text += 'e';
  text += std::to_string(4 * (static_cast<int>(n.weight) + 1));
  out = std::strtod(text.c_str(), nullptr);
  return true;
}

}  // namespace

unsigned element_oid(ValueType type) {
  switch (type) {
    case ValueType::null: return 0;
    case ValueType::boolean: return kOidBool;
    case ValueType::int64: return kOidInt8;
    case ValueType::float64: return kOidFloat8;
    case ValueType::text: return kOidText;
    case ValueType::bytes: return kOidBytea;
    case ValueType::timestamp: return kOidTimestamptz;
    case ValueType::date: return kOidDate;
  }
  return 0;
}

unsigned param_oid(const Value& v) { return element_oid(v.type()); }

void append_type_signature(std::span<const Value> params, std::string& out) {
  out.reserve(out.size() + params.size());
  for (const Value& v : params) out += static_cast<char>('a' + static_cast<int>(v.type()));
}

Status EncodedParams::encode(std::span<const Value> params) {
  const std::size_t n = params.size();
  values_.assign(n, nullptr);
  lengths_.assign(n, 0);
  formats_.assign(n, 1);
  types_.resize(n);
  // Sized up front: pointers into fixed_ must not move while encoding.
  std::size_t fixed = 0;
  for (const Value& v : params) {
    switch (v.type()) {
      case ValueType::boolean: fixed += 1; break;
      case ValueType::int64:
      case ValueType::float64:
      case ValueType::timestamp: fixed += 8; break;
      case ValueType::date: fixed += 4; break;
      default: break;
    }
  }
  fixed_.resize(fixed);
  char* out = fixed_.data();
  for (std::size_t i = 0; i < n; ++i) {
    const Value& v = params[i];
    types_[i] = param_oid(v);
    switch (v.type()) {
      case ValueType::null: break;
      case ValueType::boolean:
        *out = v.as_bool() ? 1 : 0;
        values_[i] = out;
        lengths_[i] = 1;
        out += 1;
        break;
      case ValueType::int64:
        write_be<std::int64_t>(out, v.as_int64());
        values_[i] = out;
        lengths_[i] = 8;
        out += 8;
        break;
      case ValueType::float64:
        write_be<std::uint64_t>(out, std::bit_cast<std::uint64_t>(v.as_double()));
        values_[i] = out;
        lengths_[i] = 8;
        out += 8;
        break;
      case ValueType::text: {
        const std::string_view s = v.as_text();
        if (s.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
          return driver_error(ErrorKind::invalid_value,
                              "text parameter " + std::to_string(i) + " is larger than 2 GiB");
        values_[i] = s.empty() ? kEmpty : s.data();
        lengths_[i] = static_cast<int>(s.size());
        break;
      }
      case ValueType::bytes: {
        const Bytes& b = v.as_bytes();
        if (b.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
          return driver_error(ErrorKind::invalid_value,
                              "bytes parameter " + std::to_string(i) + " is larger than 2 GiB");
        values_[i] = b.empty() ? kEmpty : reinterpret_cast<const char*>(b.data());
        lengths_[i] = static_cast<int>(b.size());
        break;
      }
      case ValueType::timestamp: {
        const std::int64_t micros = v.as_timestamp().micros;
        if (micros < std::numeric_limits<std::int64_t>::min() + kPgEpochMicros)
          return driver_error(ErrorKind::invalid_value,
                              "timestamp parameter " + std::to_string(i) + " is out of range");
        write_be<std::int64_t>(out, micros - kPgEpochMicros);
        values_[i] = out;
        lengths_[i] = 8;
        out += 8;
        break;
      }
      case ValueType::date: {
        const std::int32_t days = v.as_date().days;
        if (days < std::numeric_limits<std::int32_t>::min() + kPgEpochDays)
          return driver_error(ErrorKind::invalid_value,
                              "date parameter " + std::to_string(i) + " is out of range");
        write_be<std::int32_t>(out, days - kPgEpochDays);
        values_[i] = out;
        lengths_[i] = 4;
        out += 4;
        break;
      }
    }
  }
  return {};
}

std::size_t ColumnArrays::payload_size(const Value& v) {
  switch (v.type()) {
    case ValueType::null: return 0;
    case ValueType::boolean: return 1;
    case ValueType::int64:
    case ValueType::float64:
    case ValueType::timestamp: return 8;
    case ValueType::date: return 4;
    case ValueType::text: return v.as_text().size();
    case ValueType::bytes: return v.as_bytes().size();
  }
  return 0;
}

unsigned ColumnArrays::array_oid(ValueType type) {
  switch (type) {
    case ValueType::boolean: return kOidBoolArray;
    case ValueType::int64: return kOidInt8Array;
    case ValueType::float64: return kOidFloat8Array;
    case ValueType::text: return kOidTextArray;
    case ValueType::bytes: return kOidByteaArray;
    case ValueType::timestamp: return kOidTimestamptzArray;
    case ValueType::date: return kOidDateArray;
    case ValueType::null: break;
  }
  return 0;
}

std::string_view ColumnArrays::element_sql_type(ValueType type) {
  switch (type) {
    case ValueType::boolean: return "bool";
    case ValueType::int64: return "int8";
    case ValueType::float64: return "float8";
    case ValueType::text: return "text";
    case ValueType::bytes: return "bytea";
    case ValueType::timestamp: return "timestamptz";
    case ValueType::date: return "date";
    case ValueType::null: break;
  }
  return "unknown";
}

Status ColumnArrays::encode(std::span<const Value> params, std::size_t columns,
                            std::span<const ValueType> types) {
  constexpr std::size_t kHeader = 20;  // ndim, flags, element OID, length, lower bound
  const std::size_t rows = columns == 0 ? 0 : params.size() / columns;
  if (rows > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    return driver_error(ErrorKind::invalid_value, "too many rows for one array parameter");
  // Pass 1, row by row like the values lie: each array's size and NULLs.
  std::vector<std::size_t>& size = sizes_;
  std::vector<char>& has_null = has_null_;
  size.assign(columns, kHeader);
  has_null.assign(columns, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    const Value* row = &params[r * columns];
    for (std::size_t c = 0; c < columns; ++c) {
      size[c] += 4 + payload_size(row[c]);
      if (row[c].is_null()) has_null[c] = 1;
    }
  }
  values_.clear();
  lengths_.clear();
  types_.clear();
  std::size_t total = 0;
  for (std::size_t c = 0; c < columns; ++c) {
    if (types[c] == ValueType::null) continue;
    if (size[c] > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      return driver_error(ErrorKind::invalid_value,
                          "column " + std::to_string(c) + " of the batch is larger than 2 GiB");
    total += size[c];
  }
  buffer_.resize(total);
  // Pass 2: headers, then the elements row by row, each column through its
  // own write position.
  std::vector<char*>& out = cursors_;
  out.assign(columns, nullptr);
  char* next = buffer_.data();
  for (std::size_t c = 0; c < columns; ++c) {
    if (types[c] == ValueType::null) continue;
    values_.push_back(next);
    lengths_.push_back(static_cast<int>(size[c]));
    types_.push_back(array_oid(types[c]));
    write_be<std::int32_t>(next, 1);
    write_be<std::int32_t>(next + 4, has_null[c]);
    write_be<std::uint32_t>(next + 8, element_oid(types[c]));
    write_be<std::int32_t>(next + 12, static_cast<std::int32_t>(rows));
    write_be<std::int32_t>(next + 16, 1);
    out[c] = next + kHeader;
    next += size[c];
  }
  formats_.assign(values_.size(), 1);
  for (std::size_t r = 0; r < rows; ++r) {
    const Value* row = &params[r * columns];
    for (std::size_t c = 0; c < columns; ++c) {
      char*& o = out[c];
      if (o == nullptr) continue;
      const Value& v = row[c];
      switch (v.type()) {
        case ValueType::null:
          write_be<std::int32_t>(o, -1);
          o += 4;
          break;
        case ValueType::boolean:
          write_be<std::int32_t>(o, 1);
          o[4] = v.as_bool() ? 1 : 0;
          o += 5;
          break;
        case ValueType::int64:
          write_be<std::int32_t>(o, 8);
          write_be<std::int64_t>(o + 4, v.as_int64());
          o += 12;
          break;
        case ValueType::float64:
          write_be<std::int32_t>(o, 8);
          write_be<std::uint64_t>(o + 4, std::bit_cast<std::uint64_t>(v.as_double()));
          o += 12;
          break;
        case ValueType::text: {
          const std::string_view t = v.as_text();
          write_be<std::int32_t>(o, static_cast<std::int32_t>(t.size()));
          if (!t.empty()) std::memcpy(o + 4, t.data(), t.size());
          o += 4 + t.size();
          break;
        }
        case ValueType::bytes: {
          const Bytes& b = v.as_bytes();
          write_be<std::int32_t>(o, static_cast<std::int32_t>(b.size()));
          if (!b.empty()) std::memcpy(o + 4, b.data(), b.size());
          o += 4 + b.size();
          break;
        }
        case ValueType::timestamp: {
          const std::int64_t micros = v.as_timestamp().micros;
          if (micros < std::numeric_limits<std::int64_t>::min() + kPgEpochMicros)
            return driver_error(ErrorKind::invalid_value,
                                "timestamp in row " + std::to_string(r) + " is out of range");
          write_be<std::int32_t>(o, 8);
          write_be<std::int64_t>(o + 4, micros - kPgEpochMicros);
          o += 12;
          break;
        }
        case ValueType::date: {
          const std::int32_t days = v.as_date().days;
          if (days < std::numeric_limits<std::int32_t>::min() + kPgEpochDays)
            return driver_error(ErrorKind::invalid_value,
                                "date in row " + std::to_string(r) + " is out of range");
          write_be<std::int32_t>(o, 4);
          write_be<std::int32_t>(o + 4, days - kPgEpochDays);
          o += 8;
          break;
        }
      }
    }
  }
  return {};
}

bool is_text_oid(unsigned oid) {
  switch (oid) {
    case kOidText:
    case kOidVarchar:
    case kOidBpchar:
    case kOidName:
    case kOidUnknown:
    case kOidJson: return true;
    default: return false;
  }
}

bool decode_bool(unsigned oid, std::string_view cell, bool& out) {
  if (oid == kOidBool && cell.size() == 1) return out = cell[0] != 0, true;
  std::int64_t i = 0;
  if (oid != kOidNumeric && decode_int64(oid, cell, i)) return out = i != 0, true;
  return false;
}

bool decode_int64(unsigned oid, std::string_view cell, std::int64_t& out) {
  switch (oid) {
    case kOidInt2:
      if (cell.size() != 2) return false;
      return out = read_be<std::int16_t>(cell), true;
    case kOidInt4:
      if (cell.size() != 4) return false;
      return out = read_be<std::int32_t>(cell), true;
    case kOidOid:
      if (cell.size() != 4) return false;
      return out = read_be<std::uint32_t>(cell), true;
    case kOidInt8:
      if (cell.size() != 8) return false;
      return out = read_be<std::int64_t>(cell), true;
    case kOidBool:
      if (cell.size() != 1) return false;
      return out = cell[0] != 0 ? 1 : 0, true;
    case kOidNumeric: return numeric_to_int64(cell, out);
    default: return false;
  }
}

bool decode_double(unsigned oid, std::string_view cell, double& out) {
  switch (oid) {
    case kOidFloat8:
      if (cell.size() != 8) return false;
      return out = std::bit_cast<double>(read_be<std::uint64_t>(cell)), true;
    case kOidFloat4:
      if (cell.size() != 4) return false;
      return out = std::bit_cast<float>(read_be<std::uint32_t>(cell)), true;
    case kOidNumeric: return numeric_to_double(cell, out);
    default: {
      std::int64_t i = 0;
      if (oid == kOidBool || !decode_int64(oid, cell, i)) return false;
      return out = static_cast<double>(i), true;
    }
  }
}

bool decode_timestamp(unsigned oid, std::string_view cell, Timestamp& out) {
  // timestamp without time zone is read as UTC, like the session's zone.
  if ((oid != kOidTimestamptz && oid != kOidTimestamp) || cell.size() != 8) return false;
  const std::int64_t pg = read_be<std::int64_t>(cell);
  // +-infinity are the int64 extremes; they and anything that would
  // overflow have no Tessera Timestamp.
  if (pg > std::numeric_limits<std::int64_t>::max() - kPgEpochMicros ||
      pg == std::numeric_limits<std::int64_t>::min())
    return false;
  out.micros = pg + kPgEpochMicros;
  return true;
}

bool decode_date(unsigned oid, std::string_view cell, Date& out) {
  if (oid != kOidDate || cell.size() != 4) return false;
  const std::int32_t pg = read_be<std::int32_t>(cell);
  if (pg > std::numeric_limits<std::int32_t>::max() - kPgEpochDays ||
      pg == std::numeric_limits<std::int32_t>::min())
    return false;
  out.days = pg + kPgEpochDays;
  return true;
}

std::string oid_name(unsigned oid) {
  switch (oid) {
    case kOidBool: return "boolean";
    case kOidBytea: return "bytea";
    case kOidName: return "name";
    case kOidInt8: return "bigint";
    case kOidInt2: return "smallint";
    case kOidInt4: return "integer";
    case kOidText: return "text";
    case kOidOid: return "oid";
    case kOidJson: return "json";
    case kOidFloat4: return "real";
    case kOidFloat8: return "double precision";
    case kOidUnknown: return "unknown";
    case kOidBpchar: return "character";
    case kOidVarchar: return "character varying";
    case kOidDate: return "date";
    case kOidTimestamp: return "timestamp";
    case kOidTimestamptz: return "timestamptz";
    case kOidNumeric: return "numeric";
    default: return "type oid " + std::to_string(oid);
  }
}

}  // namespace tessera::postgresql::detail
