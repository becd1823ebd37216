#include "lmdb_codec.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace tessera::lmdb::detail {

namespace {

constexpr char kNullMarker = 0x01;
constexpr char kValueMarker = 0x02;
constexpr std::uint64_t kSign64 = std::uint64_t{1} << 63;
constexpr std::uint32_t kSign32 = std::uint32_t{1} << 31;

// One append per number: a byte-wise push_back checks the capacity each time.
void put_be64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xff);
  out.append(b, 8);
}
void put_be32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xff);
  out.append(b, 4);
}
bool get_be(std::string_view& in, int bytes, std::uint64_t& v) {
  if (in.size() < static_cast<std::size_t>(bytes)) return false;
  v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  in.remove_prefix(static_cast<std::size_t>(bytes));
  return true;
}

std::uint64_t double_key(double d) {
  if (d == 0) d = 0.0;  // -0.0 == 0.0
  if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t b = std::bit_cast<std::uint64_t>(d);
  if (std::isnan(d)) b &= ~kSign64;  // one positive NaN, above +inf
  return (b & kSign64) ? ~b : (b | kSign64);
}
double double_from_key(std::uint64_t k) {
  const std::uint64_t b = (k & kSign64) ? (k & ~kSign64) : ~k;
  return std::bit_cast<double>(b);
}

void put_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    out.push_back(c);
    if (c == '\0') out.push_back(static_cast<char>(0xff));
  }
  out.push_back('\0');
  out.push_back('\0');
}
bool get_escaped(std::string_view& in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i + 1 < in.size(); ++i) {
    if (in[i] != '\0') {
      out.push_back(in[i]);
      continue;
    }
    const auto next = static_cast<unsigned char>(in[i + 1]);
    if (next == 0x00) {
      in.remove_prefix(i + 2);
      return true;
    }
    if (next != 0xff) return false;
    out.push_back('\0');
    ++i;
  }
  return false;
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

}  // namespace

namespace {
// Writes the varint of v at p (at most 10 bytes); returns the end.
char* write_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
}  // namespace

void put_varint(std::string& out, std::uint64_t v) {
  char b[10];
  out.append(b, static_cast<std::size_t>(write_varint(b, v) - b));
}

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void encode_key_part(std::string& out, const Value& v, ValueType type) {
  if (v.is_null()) {
    out.push_back(kNullMarker);
    return;
  }
  out.push_back(kValueMarker);
  switch (type) {
    case ValueType::boolean: out.push_back(v.as_bool() ? 1 : 0); break;
    case ValueType::int64: put_be64(out, static_cast<std::uint64_t>(v.as_int64()) ^ kSign64); break;
    case ValueType::timestamp:
      put_be64(out, static_cast<std::uint64_t>(v.as_timestamp().micros) ^ kSign64);
      break;
    case ValueType::date:
      put_be32(out, static_cast<std::uint32_t>(v.as_date().days) ^ kSign32);
      break;
    case ValueType::float64: put_be64(out, double_key(v.as_double())); break;
    case ValueType::text: put_escaped(out, v.as_text()); break;
    case ValueType::bytes: {
      const Bytes& b = v.as_bytes();
      put_escaped(out, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      break;
    }
    case ValueType::null: break;
  }
}

bool decode_key_part(std::string_view& in, ValueType type, Value& out) {
  if (in.empty()) return false;
  const char marker = in.front();
  in.remove_prefix(1);
  if (marker == kNullMarker) {
    out = Value();
    return true;
  }
  if (marker != kValueMarker) return false;
  std::uint64_t u = 0;
  switch (type) {
    case ValueType::boolean:
      if (in.empty()) return false;
      out = Value(in.front() != 0);
      in.remove_prefix(1);
      return true;
    case ValueType::int64:
      if (!get_be(in, 8, u)) return false;
      out = Value(static_cast<std::int64_t>(u ^ kSign64));
      return true;
    case ValueType::timestamp:
      if (!get_be(in, 8, u)) return false;
      out = Value(Timestamp{static_cast<std::int64_t>(u ^ kSign64)});
      return true;
    case ValueType::date:
      if (!get_be(in, 4, u)) return false;
      out = Value(Date{static_cast<std::int32_t>(static_cast<std::uint32_t>(u) ^ kSign32)});
      return true;
    case ValueType::float64:
      if (!get_be(in, 8, u)) return false;
      out = Value(double_from_key(u));
      return true;
    case ValueType::text: {
      std::string s;
      if (!get_escaped(in, s)) return false;
      out = Value(std::move(s));
      return true;
    }
    case ValueType::bytes: {
      std::string s;
      if (!get_escaped(in, s)) return false;
      out = Value(to_bytes(s));
      return true;
    }
    case ValueType::null: return false;
  }
  return false;
}

std::optional<std::string> prefix_successor(std::string_view key) {
  std::string s(key);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

std::optional<Value> coerce(const Value& v, ValueType type) {
  if (v.is_null() || v.type() == type) return v;
  switch (type) {
    case ValueType::int64:
      if (v.type() == ValueType::boolean) return Value(std::int64_t{v.as_bool()});
      if (v.type() == ValueType::float64) {
        const double d = v.as_double();
        // 2^63 is exactly representable; anything at or above it is not an int64.
        if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
            d < 9223372036854775808.0)
          return Value(static_cast<std::int64_t>(d));
      }
      return std::nullopt;
    case ValueType::float64:
      if (v.type() == ValueType::int64) {
        const auto i = v.as_int64();
        const auto d = static_cast<double>(i);
        // Exact only if it converts back (|i| <= 2^53 or a representable value).
        if (d < 9223372036854775808.0 && static_cast<std::int64_t>(d) == i) return Value(d);
      }
      if (v.type() == ValueType::boolean) return Value(v.as_bool() ? 1.0 : 0.0);
      return std::nullopt;
    case ValueType::boolean:
      if (v.type() == ValueType::int64 && (v.as_int64() == 0 || v.as_int64() == 1))
        return Value(v.as_int64() == 1);
      return std::nullopt;
    default: return std::nullopt;
  }
}

void encode_value(std::string& out, const Value& v) {
  // The tag and a number (at most 10 varint bytes) in one append.
  char b[11];
  char* p = b + 1;
  auto tagged = [&](FieldTag tag) {
    b[0] = static_cast<char>(tag);
    out.append(b, static_cast<std::size_t>(p - b));
  };
  switch (v.type()) {
    case ValueType::null: tagged(FieldTag::null); break;
    case ValueType::boolean: tagged(v.as_bool() ? FieldTag::true_ : FieldTag::false_); break;
    case ValueType::int64:
      p = write_varint(p, zigzag(v.as_int64()));
      tagged(FieldTag::int64);
      break;
    case ValueType::float64: {
      auto u = std::bit_cast<std::uint64_t>(v.as_double());
      if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap64(u);
      std::memcpy(p, &u, 8);  // little-endian
      p += 8;
      tagged(FieldTag::float64);
      break;
    }
    case ValueType::text:
      p = write_varint(p, v.as_text().size());
      tagged(FieldTag::text);
      out.append(v.as_text());
      break;
    case ValueType::bytes:
      p = write_varint(p, v.as_bytes().size());
      tagged(FieldTag::bytes);
      out.append(reinterpret_cast<const char*>(v.as_bytes().data()), v.as_bytes().size());
      break;
    case ValueType::timestamp:
      p = write_varint(p, zigzag(v.as_timestamp().micros));
      tagged(FieldTag::timestamp);
      break;
    case ValueType::date:
      p = write_varint(p, zigzag(v.as_date().days));
      tagged(FieldTag::date);
      break;
  }
}

namespace {

// get_varint on a byte range, advancing p.
inline bool read_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p != end; shift += 7) {
    const unsigned b = *p++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// One field from [p, end), advancing p; `raw`, when not null, receives the
// field's encoded bytes (tag included). False on malformed input.
inline bool decode_field(const unsigned char*& p, const unsigned char* end, Field& f,
                         std::string_view* raw) {
  const unsigned char* const start = p;
  const auto tag = static_cast<FieldTag>(*p++);
  // Only the member the tag names is set: readers look at the tag first.
  f.tag = tag;
  std::uint64_t u = 0;
  switch (tag) {
    case FieldTag::null:
    case FieldTag::false_:
    case FieldTag::true_: break;
    case FieldTag::int64:
    case FieldTag::timestamp:
    case FieldTag::date:
      if (!read_varint(p, end, u)) return false;
      f.i = unzigzag(u);
      break;
    case FieldTag::float64:
      if (end - p < 8) return false;
      std::memcpy(&u, p, 8);
      if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap64(u);
      p += 8;
      f.d = std::bit_cast<double>(u);
      break;
    case FieldTag::text:
    case FieldTag::bytes:
      if (!read_varint(p, end, u) || u > static_cast<std::uint64_t>(end - p)) return false;
      f.data = std::string_view(reinterpret_cast<const char*>(p), u);
      p += u;
      break;
    default: return false;
  }
  if (raw)
    *raw =
        std::string_view(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
  return true;
}

bool decode_fields(std::string_view in, std::span<Field> out, std::span<std::string_view> raw) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const end = p + in.size();
  std::size_t c = 0;
  for (; c < out.size() && p != end; ++c)
    if (!decode_field(p, end, out[c], raw.empty() ? nullptr : &raw[c])) return false;
  for (; c < out.size(); ++c) {
    out[c].tag = FieldTag::null;
    if (!raw.empty()) raw[c] = {};
  }
  return true;
}

}  // namespace

void encode_row(std::string& out, std::span<const Value> row) {
  // An upper bound (a tag, a varint or 8 bytes; text and bytes add their
  // size): one allocation for the row.
  std::size_t size = out.size();
  for (const Value& v : row) {
    size += 10;
    if (v.type() == ValueType::text) size += v.as_text().size();
    if (v.type() == ValueType::bytes) size += v.as_bytes().size();
  }
  out.reserve(size);
  for (const Value& v : row) encode_value(out, v);
}

bool decode_row(std::string_view in, std::span<Field> out) { return decode_fields(in, out, {}); }

bool decode_row(std::string_view in, std::size_t columns, std::vector<Field>& out) {
  if (out.size() != columns) out.resize(columns);  // a reused vector: no allocation per row
  return decode_fields(in, out, {});
}

bool decode_row(std::string_view in, std::span<Field> out, std::span<std::string_view> raw) {
  return decode_fields(in, out, raw);
}

Value to_value(const Field& f) {
  switch (f.tag) {
    case FieldTag::null: return Value();
    case FieldTag::false_: return Value(false);
    case FieldTag::true_: return Value(true);
    case FieldTag::int64: return Value(f.i);
    case FieldTag::float64: return Value(f.d);
    case FieldTag::text: return Value(std::string(f.data));
    case FieldTag::bytes: return Value(to_bytes(f.data));
    case FieldTag::timestamp: return Value(Timestamp{f.i});
    case FieldTag::date: return Value(Date{static_cast<std::int32_t>(f.i)});
  }
  return Value();
}

bool decode_value(std::string_view& in, Value& out) {
  if (in.empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  Field f;
  if (!decode_field(p, p + in.size(), f, nullptr)) return false;
  in.remove_prefix(static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(in.data())));
  out = to_value(f);
  return true;
}

}  // namespace tessera::lmdb::detail
