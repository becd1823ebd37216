// The LMDB key codec, fuzzed: random values round-trip, and the byte order
// of encoded keys (memcmp, as LMDB compares) equals kv::compare's order, for
// single values and composite keys.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/kv/evaluate.hpp"
#include "lmdb_codec.hpp"

namespace {

using tessera::Bytes;
using tessera::Date;
using tessera::Timestamp;
using tessera::Value;
using tessera::ValueType;
using namespace tessera::lmdb::detail;

int sign(int v) { return (v > 0) - (v < 0); }

int memcmp_order(const std::string& a, const std::string& b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return sign(c);
  return a.size() < b.size() ? -1 : a.size() > b.size();
}

// Random values biased towards edges: small sets collide often, so equal
// values are exercised as well as the extremes.
class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}

  Value make(ValueType t) {
    if (pick(10) == 0) return Value();  // NULL
    switch (t) {
      case ValueType::boolean: return Value(pick(2) == 1);
      case ValueType::int64: return Value(int64());
      case ValueType::float64: return Value(float64());
      case ValueType::text: return Value(text());
      case ValueType::bytes: return Value(tessera::to_bytes(text()));
      case ValueType::timestamp: return Value(Timestamp{int64()});
      case ValueType::date: return Value(Date{static_cast<std::int32_t>(int64())});
      case ValueType::null: break;
    }
    return Value();
  }

  ValueType type() {
    constexpr ValueType types[] = {ValueType::boolean, ValueType::int64, ValueType::float64,
                                   ValueType::text,    ValueType::bytes, ValueType::timestamp,
                                   ValueType::date};
    return types[pick(7)];
  }

 private:
  std::uint64_t pick(std::uint64_t n) { return rng_() % n; }

  std::int64_t int64() {
    constexpr std::int64_t edges[] = {0,
                                      1,
                                      -1,
                                      2,
                                      -2,
                                      255,
                                      256,
                                      -256,
                                      std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max(),
                                      std::numeric_limits<std::int32_t>::min(),
                                      std::numeric_limits<std::int32_t>::max()};
    switch (pick(3)) {
      case 0: return edges[pick(std::size(edges))];
      case 1: return static_cast<std::int64_t>(pick(21)) - 10;
      default: return static_cast<std::int64_t>(rng_());
    }
  }

  double float64() {
    constexpr double inf = std::numeric_limits<double>::infinity();
    const double edges[] = {0.0,
                            -0.0,
                            1.0,
                            -1.0,
                            inf,
                            -inf,
                            std::numeric_limits<double>::quiet_NaN(),
                            -std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::denorm_min(),
                            -std::numeric_limits<double>::denorm_min(),
                            std::numeric_limits<double>::max(),
                            std::numeric_limits<double>::lowest(),
                            std::numeric_limits<double>::min()};
    switch (pick(3)) {
      case 0: return edges[pick(std::size(edges))];
      case 1: return (static_cast<double>(pick(41)) - 20) / 4;
      default: {
        double d = 0;
        const std::uint64_t bits = rng_();
        std::memcpy(&d, &bits, sizeof d);
        return d;
      }
    }
  }

  std::string text() {
    // Bytes from a small alphabet with NUL and 0xFF, so escapes, prefixes
    // and equal strings are common.
    static constexpr char alphabet[] = {'\0', '\x01', 'a', 'b', '\x7f', '\x80', '\xfe', '\xff'};
    std::string s(pick(6), ' ');
    for (char& c : s) c = alphabet[pick(sizeof alphabet)];
    return s;
  }

  std::mt19937_64 rng_;
};

bool same_value(const Value& got, const Value& want) {
  if (want.type() == ValueType::float64 && got.type() == ValueType::float64) {
    const double w = want.as_double(), g = got.as_double();
    if (std::isnan(w)) return std::isnan(g);
    return g == w && !std::signbit(g) == !(std::signbit(w) && w != 0);  // -0.0 reads as +0.0
  }
  return got == want;
}

std::string key(const std::vector<Value>& parts, const std::vector<ValueType>& types) {
  std::string k;
  for (std::size_t i = 0; i < parts.size(); ++i) encode_key_part(k, parts[i], types[i]);
  return k;
}

int compare_tuple(const std::vector<Value>& a, const std::vector<Value>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (int c = tessera::kv::compare(a[i], b[i]); c != 0) return sign(c);
  return 0;
}

}  // namespace

TEST_CASE("lmdb codec: single values round-trip and order like kv::compare") {
  Gen gen(20240601);
  constexpr int kIterations = 200000;
  int checked = 0;
  for (int i = 0; i < kIterations; ++i) {
    const ValueType t = gen.type();
    const Value a = gen.make(t), b = gen.make(t);
    const std::string ka = key({a}, {t}), kb = key({b}, {t});
    std::string_view in(ka);
    Value back;
    REQUIRE(decode_key_part(in, t, back));
    CHECK(in.empty());
    if (!same_value(back, a)) FAIL_CHECK("round trip of a " << to_string(t).data() << " failed");
    const int want = sign(tessera::kv::compare(a, b));
    const int got = memcmp_order(ka, kb);
    if (want != got) {
      FAIL_CHECK("order mismatch for " << to_string(t).data() << ": compare " << want << ", bytes "
                                       << got);
    }
    ++checked;
  }
  CHECK(checked == kIterations);
}

TEST_CASE("lmdb codec: composite keys order lexicographically and prefixes bound ranges") {
  Gen gen(7);
  constexpr int kIterations = 100000;
  for (int i = 0; i < kIterations; ++i) {
    const std::size_t n = 1 + static_cast<std::size_t>(i % 3);
    std::vector<ValueType> types;
    for (std::size_t c = 0; c < n; ++c) types.push_back(gen.type());
    std::vector<Value> a, b;
    for (auto t : types) {
      a.push_back(gen.make(t));
      b.push_back(gen.make(t));
    }
    const std::string ka = key(a, types), kb = key(b, types);
    REQUIRE(memcmp_order(ka, kb) == compare_tuple(a, b));
    // Prefix semantics: b starts with a's first column iff its key lies in
    // [encode(prefix), successor(encode(prefix))).
    const std::string p = key({a[0]}, {types[0]});
    const auto succ = prefix_successor(p);
    REQUIRE(succ.has_value());
    const bool in_range = kb >= p && kb < *succ;
    REQUIRE(in_range == (tessera::kv::compare(a[0], b[0]) == 0));
    // Decoding consumes exactly the parts.
    std::string_view in(ka);
    for (std::size_t c = 0; c < n; ++c) {
      Value v;
      REQUIRE(decode_key_part(in, types[c], v));
      REQUIRE(same_value(v, a[c]));
    }
    REQUIRE(in.empty());
  }
}

TEST_CASE("lmdb codec: rows round-trip every type, NULLs and short rows") {
  Gen gen(99);
  for (int i = 0; i < 20000; ++i) {
    std::vector<Value> row;
    const int n = i % 9;
    for (int c = 0; c < n; ++c) row.push_back(gen.make(gen.type()));
    std::string bytes;
    encode_row(bytes, row);
    std::vector<Field> fields;
    REQUIRE(decode_row(bytes, row.size() + 2, fields));  // two missing trailing columns
    REQUIRE(fields.size() == row.size() + 2);
    for (std::size_t c = 0; c < row.size(); ++c) {
      const Value got = to_value(fields[c]);
      if (row[c].type() == ValueType::float64) {
        // Rows keep doubles bit for bit (NaN payloads and -0.0 included).
        std::uint64_t x = 0, y = 0;
        const double g = got.as_double(), w = row[c].as_double();
        std::memcpy(&x, &g, 8);
        std::memcpy(&y, &w, 8);
        REQUIRE(x == y);
      } else {
        REQUIRE(got == row[c]);
      }
    }
    CHECK(fields[row.size()].tag == FieldTag::null);
    // Truncated input is refused, never read past its end.
    if (!bytes.empty()) {
      std::vector<Field> partial;
      (void)decode_row(std::string_view(bytes).substr(0, bytes.size() - 1), row.size(), partial);
    }
  }
}

// Varints of every length, decoded with 8 or more bytes left to read (one
// 64-bit load) and at the row's end (byte by byte).
TEST_CASE("lmdb codec: integers of every varint length round-trip anywhere in a row") {
  std::vector<std::int64_t> values;
  for (int shift = 0; shift < 63; ++shift) {
    const std::int64_t v = std::int64_t{1} << shift;
    for (std::int64_t x : {v - 1, v, v + 1, -v, -v - 1}) values.push_back(x);
  }
  values.push_back(std::numeric_limits<std::int64_t>::min());
  values.push_back(std::numeric_limits<std::int64_t>::max());
  for (std::int64_t x : values) {
    for (const std::vector<Value>& row :
         {std::vector<Value>{Value(x)}, std::vector<Value>{Value(x), Value(std::string(9, 'a'))},
          std::vector<Value>{Value(Timestamp{x}), Value(x), Value(Date{static_cast<int>(x)})}}) {
      std::string bytes;
      encode_row(bytes, row);
      std::vector<Field> fields;
      REQUIRE(decode_row(bytes, row.size(), fields));
      for (std::size_t c = 0; c < row.size(); ++c) REQUIRE(to_value(fields[c]) == row[c]);
      for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        std::vector<Field> partial;  // refused or read short, never past the end
        if (decode_row(std::string_view(bytes).substr(0, cut), row.size(), partial))
          CHECK(partial.size() == row.size());
      }
    }
  }
}

TEST_CASE("lmdb codec: coercion converts only exactly") {
  CHECK(coerce(Value(std::int64_t{3}), ValueType::float64) == std::optional(Value(3.0)));
  CHECK(coerce(Value(3.0), ValueType::int64) == std::optional(Value(std::int64_t{3})));
  CHECK_FALSE(coerce(Value(2.5), ValueType::int64).has_value());
  CHECK_FALSE(coerce(Value(9.3e18), ValueType::int64).has_value());
  CHECK_FALSE(coerce(Value(std::int64_t{(1LL << 53) + 1}), ValueType::float64).has_value());
  CHECK_FALSE(coerce(Value("x"), ValueType::int64).has_value());
  CHECK(coerce(Value(), ValueType::text) == std::optional(Value()));
}
