// Assertion helpers shared by the conformance tests.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/conformance/fixture.hpp"
#include "tests/conformance/models.hpp"

namespace doctest {
template <>
struct StringMaker<tessera::ErrorKind> {
  static String convert(tessera::ErrorKind k) {
    return String(std::string(tessera::to_string(k)).c_str());
  }
};
template <>
struct StringMaker<std::vector<std::int64_t>> {
  static String convert(const std::vector<std::int64_t>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return String((out + "}").c_str());
  }
};
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
    return String((out + "}").c_str());
  }
};
}  // namespace doctest

namespace conformance {

// Runs f; returns the Error of an exception of type E, or nothing if f did
// not throw. Any other exception propagates (and fails the test).
template <class E, class F>
std::optional<tessera::Error> catch_error(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.error();
  }
  return std::nullopt;
}

// The ids of rows, sorted.
template <class T>
std::vector<std::int64_t> ids_of(const std::vector<T>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) ids.push_back(static_cast<std::int64_t>(r.id));
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The ids of rows, in result order.
template <class T>
std::vector<std::int64_t> ordered_ids(const std::vector<T>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) ids.push_back(static_cast<std::int64_t>(r.id));
  return ids;
}

inline std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }
inline std::uint64_t bits(double d) { return std::bit_cast<std::uint64_t>(d); }

inline tessera::Bytes pattern_bytes(std::size_t n) {
  tessera::Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 7 + i / 251) & 0xff);
  return b;
}

inline std::string pattern_text(std::size_t n) {
  std::string s(n, 'a');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 13 + i / 26) % 26);
  return s;
}

// Compares every column of two AllTypes rows exactly (floats bit for bit,
// except that the sign of a zero is not portable: see values_test.cpp).
inline std::uint64_t float_bits(double v) { return v == 0.0 ? 0 : bits(v); }
inline std::uint32_t float_bits(float v) { return v == 0.0f ? 0 : bits(v); }
inline void check_same(const AllTypes& got, const AllTypes& want) {
  CHECK(got.id == want.id);
  CHECK(got.b == want.b);
  CHECK(static_cast<int>(got.i8) == static_cast<int>(want.i8));
  CHECK(got.i16 == want.i16);
  CHECK(got.i32 == want.i32);
  CHECK(got.i64 == want.i64);
  CHECK(static_cast<unsigned>(got.u8) == static_cast<unsigned>(want.u8));
  CHECK(got.u16 == want.u16);
  CHECK(got.u32 == want.u32);
  CHECK(float_bits(got.f32) == float_bits(want.f32));
  CHECK(float_bits(got.f64) == float_bits(want.f64));
  CHECK(got.text.size() == want.text.size());
  CHECK((got.text == want.text));
  CHECK(got.bytes.size() == want.bytes.size());
  CHECK((got.bytes == want.bytes));
  CHECK(got.ts.micros == want.ts.micros);
  CHECK(got.day.days == want.day.days);
  CHECK(static_cast<int>(got.color) == static_cast<int>(want.color));
}

// Eight items with known values; the filter and ordering tests assert exact
// id sets against them.
//
//  id name     qty price tier note    color made
//  1  apple     10  1.5   1   red     red   1962
//  2  Apple     20  2.5   -   green   green 1964
//  3  banana    30  0.25  3   -       blue  1966
//  4  100%      40  10    -   -       red   1968
//  5  100x      50  -1    5   x       green 1970
//  6  a_b        0  0     6   under   blue  1972
//  7  axb       -5  100   -   plain   red   1974
//  8  B          7  3     8   B       green 1976
inline std::vector<Item> sample_items() {
  using tessera::Timestamp;
  auto made = [](int id) { return Timestamp::from_civil(1960 + 2 * id, 1, 1, 0, 0, 0, 7); };
  return {
      {1, "apple", 10, 1.5, 1, "red", Color::red, made(1)},
      {2, "Apple", 20, 2.5, std::nullopt, "green", Color::green, made(2)},
      {3, "banana", 30, 0.25, 3, std::nullopt, Color::blue, made(3)},
      {4, "100%", 40, 10.0, std::nullopt, std::nullopt, Color::red, made(4)},
      {5, "100x", 50, -1.0, 5, "x", Color::green, made(5)},
      {6, "a_b", 0, 0.0, 6, "under", Color::blue, made(6)},
      {7, "axb", -5, 100.0, std::nullopt, "plain", Color::red, made(7)},
      {8, "B", 7, 3.0, 8, "B", Color::green, made(8)},
  };
}

inline void insert_sample_items(tessera::Db& db) {
  auto items = sample_items();
  db.insert_many(items);
}

using Ids = std::vector<std::int64_t>;

}  // namespace conformance
