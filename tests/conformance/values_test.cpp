// Value round trips at the edges of every column type.
#include <cmath>
#include <limits>

#include "tests/conformance/check.hpp"

namespace conformance {
namespace {

using tessera::col;
using tessera::Date;
using tessera::select;
using tessera::Timestamp;

template <class T>
using lim = std::numeric_limits<T>;

std::string unicode_text() {
  return "héllo wörld — 日本語テキスト 🎉👩‍👩‍👧‍👦 שלום עולם "
         "مرحبا "
         "بالعالم "
         "Ωμέγα "
         "𝄞";
}

tessera::Bytes all_byte_values() {
  tessera::Bytes b;
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<std::byte>(i));
  return b;
}

// Inserts each row, reads it back by key and with fetch_all, and compares.
void round_trip(tessera::Db& db, std::vector<AllTypes> rows) {
  for (auto& r : rows) {
    const AllTypes stored = db.insert(r);
    CHECK(stored.id > 0);
    r.id = stored.id;
    check_same(stored, r);
    auto found = db.find<AllTypes>(r.id);
    REQUIRE(found.has_value());
    check_same(*found, r);
  }
  auto all = db.fetch_all(select<AllTypes>().order_by(col(&AllTypes::id)));
  REQUIRE(all.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    check_same(all[i], rows[i]);
  }
}

TEST_CASE("conformance: integer, bool and enum edges round-trip") {
  TestDb t;
  t.create<AllTypes>();
  AllTypes mins{.b = false,
                .i8 = lim<std::int8_t>::min(),
                .i16 = lim<std::int16_t>::min(),
                .i32 = lim<std::int32_t>::min(),
                .i64 = lim<std::int64_t>::min(),
                .u8 = 0,
                .u16 = 0,
                .u32 = 0,
                .color = Color::red};
  AllTypes maxs{.b = true,
                .i8 = lim<std::int8_t>::max(),
                .i16 = lim<std::int16_t>::max(),
                .i32 = lim<std::int32_t>::max(),
                .i64 = lim<std::int64_t>::max(),
                .u8 = lim<std::uint8_t>::max(),
                .u16 = lim<std::uint16_t>::max(),
                .u32 = lim<std::uint32_t>::max(),
                .color = Color::blue};
  AllTypes minus_one{.i8 = -1, .i16 = -1, .i32 = -1, .i64 = -1, .u8 = 1, .u16 = 1, .u32 = 1};
  round_trip(*t, {mins, maxs, minus_one});

  // The enum column filters by value too.
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::color) == Color::blue)) == 1);
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::i64) == lim<std::int64_t>::min())) == 1);
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::u32) == lim<std::uint32_t>::max())) == 1);
}

TEST_CASE("conformance: float and double edges round-trip exactly") {
  TestDb t;
  t.create<AllTypes>();
  std::vector<AllTypes> rows{
      {.f32 = lim<float>::denorm_min(), .f64 = lim<double>::denorm_min()},
      {.f32 = -lim<float>::denorm_min(), .f64 = -lim<double>::denorm_min()},
      {.f32 = lim<float>::min(), .f64 = lim<double>::min()},
      {.f32 = lim<float>::max(), .f64 = lim<double>::max()},
      {.f32 = lim<float>::lowest(), .f64 = lim<double>::lowest()},
      {.f32 = 0.1f, .f64 = 0.1},
      {.f32 = 16777217.0f, .f64 = 9007199254740993.0},  // not representable: rounded on both sides
      {.f32 = 1.0f / 3.0f, .f64 = 1.0 / 3.0},
      {.f32 = 1e-40f, .f64 = 2.2250738585072009e-308},  // subnormals
  };
  round_trip(*t, rows);
}

TEST_CASE("conformance: negative zero reads back as zero") {
  TestDb t;
  t.create<AllTypes, Nullables>();
  round_trip(*t, {{.f32 = -0.0f, .f64 = -0.0}, {.f32 = 0.0f, .f64 = 0.0}});
  auto all = t->fetch_all(select<AllTypes>().order_by(col(&AllTypes::id)));
  REQUIRE(all.size() == 2);
  // The sign of a zero is not portable: SQLite and MariaDB store -0.0 as 0.
  // Tessera promises the value, which compares equal either way.
  CHECK(all[0].f32 == 0.0f);
  CHECK(all[0].f64 == 0.0);
  CHECK_FALSE(std::signbit(all[1].f64));
  // -0.0 == 0.0 in comparisons.
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::f64) == 0.0)) == 2);
  t->insert(Nullables{.id = 1, .f64 = -0.0});
  auto n = t->find<Nullables>(std::int64_t{1});
  REQUIRE(n);
  REQUIRE(n->f64);
  CHECK(*n->f64 == 0.0);
}

TEST_CASE("conformance: NaN and infinities are stored or refused") {
  TestDb t;
  t.create<AllTypes>();
  const auto& cap = t.cap();
  struct Case {
    const char* name;
    double value;
    bool stored;
  };
  const Case cases[] = {
      {"NaN", lim<double>::quiet_NaN(), cap.stores_nan},
      {"+infinity", lim<double>::infinity(), cap.stores_infinity},
      {"-infinity", -lim<double>::infinity(), cap.stores_infinity},
  };
  for (const Case& c : cases) {
    for (bool as_float : {false, true}) {
      CAPTURE(c.name);
      CAPTURE(as_float);
      AllTypes row;
      if (as_float)
        row.f32 = static_cast<float>(c.value);
      else
        row.f64 = c.value;
      const auto before = t->count(select<AllTypes>());
      if (c.stored) {
        const AllTypes stored = t->insert(row);
        auto found = t->find<AllTypes>(stored.id);
        REQUIRE(found.has_value());
        const double got = as_float ? found->f32 : found->f64;
        if (std::isnan(c.value)) {
          CHECK(std::isnan(got));
        } else {
          CHECK(got == c.value);
        }
        CHECK(t->count(select<AllTypes>()) == before + 1);
      } else {
        auto err = catch_error<tessera::InvalidValueError>([&] { t->insert(row); });
        REQUIRE(err.has_value());
        CHECK(err->kind == tessera::ErrorKind::invalid_value);
        CHECK(t->count(select<AllTypes>()) == before);
        // Nor in a batch: nothing of it is written.
        std::vector<AllTypes> batch{AllTypes{}, row, AllTypes{}};
        auto err2 = catch_error<tessera::InvalidValueError>([&] { t->insert_many(batch); });
        REQUIRE(err2.has_value());
        CHECK(t->count(select<AllTypes>()) == before);
      }
    }
  }
}

TEST_CASE("conformance: text round-trips: empty, 1 MB, unicode") {
  TestDb t;
  t.create<AllTypes, Nullables>();
  round_trip(*t, {
                     {.text = ""},
                     {.text = pattern_text(1 << 20)},
                     {.text = unicode_text()},
                     {.text = std::string(1, '\x7f') + "\t\r\n \\ ' \" `"},
                 });
  // A filter on a unicode value finds it exactly.
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::text) == unicode_text())) == 1);
  // An empty string is not NULL.
  t->insert(Nullables{.id = 1, .text = ""});
  auto n = t->find<Nullables>(std::int64_t{1});
  REQUIRE(n.has_value());
  REQUIRE(n->text.has_value());
  CHECK(n->text->empty());
  CHECK(t->count(select<Nullables>().where(col(&Nullables::text).is_null())) == 0);
}

TEST_CASE("conformance: text with an embedded NUL round-trips or is refused") {
  TestDb t;
  t.create<AllTypes>();
  const std::string with_nul("a\0b\0", 4);
  if (t.cap().text_embedded_nul) {
    round_trip(*t, {{.text = with_nul}});
  } else {
    auto err =
        catch_error<tessera::InvalidValueError>([&] { t->insert(AllTypes{.text = with_nul}); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::invalid_value);
    CHECK(t->count(select<AllTypes>()) == 0);
  }
}

TEST_CASE("conformance: bytes round-trip: empty, all 256 values, 1 MB") {
  TestDb t;
  t.create<AllTypes, Nullables>();
  round_trip(*t, {
                     {.bytes = {}},
                     {.bytes = all_byte_values()},
                     {.bytes = pattern_bytes(1 << 20)},
                     {.bytes = tessera::to_bytes(std::string_view("\0\0\0", 3))},
                 });
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::bytes) == all_byte_values())) == 1);
  // Empty bytes are not NULL.
  t->insert(Nullables{.id = 1, .bytes = tessera::Bytes{}});
  auto n = t->find<Nullables>(std::int64_t{1});
  REQUIRE(n.has_value());
  REQUIRE(n->bytes.has_value());
  CHECK(n->bytes->empty());
}

TEST_CASE("conformance: timestamps and dates round-trip with microseconds") {
  TestDb t;
  t.create<AllTypes>();
  std::vector<AllTypes> rows{
      {.ts = Timestamp::from_civil(2024, 2, 29, 12, 34, 56, 789012),
       .day = Date::from_civil(2024, 2, 29)},
      {.ts = Timestamp{0}, .day = Date{0}},
      {.ts = Timestamp{-1}, .day = Date{-1}},  // 1969-12-31T23:59:59.999999
      {.ts = Timestamp::from_civil(1900, 1, 1, 0, 0, 0, 1), .day = Date::from_civil(1900, 3, 1)},
      {.ts = Timestamp::from_civil(1, 1, 1), .day = Date::from_civil(1, 1, 1)},
      {.ts = Timestamp::from_civil(9999, 12, 31, 23, 59, 59, 999999),
       .day = Date::from_civil(9999, 12, 31)},
      {.ts = Timestamp::from_civil(2000, 1, 1, 0, 0, 0, 500000),
       .day = Date::from_civil(2000, 1, 1)},
  };
  CHECK(rows[2].ts.micros == -1);
  round_trip(*t, rows);
  // Comparisons follow time order, before and after 1970.
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::ts) < Timestamp{0})) == 3);
  CHECK(t->count(select<AllTypes>().where(col(&AllTypes::day) < Date{0})) == 3);
  CHECK(t->count(select<AllTypes>().where(
            col(&AllTypes::ts) > Timestamp::from_civil(2024, 2, 29, 12, 34, 56, 789011))) == 2);
}

TEST_CASE("conformance: timestamps and dates outside years 1..9999 are refused") {
  TestDb t;
  t.create<AllTypes>();
  const Timestamp too_early{Timestamp::from_civil(1, 1, 1).micros - 1};
  const Timestamp too_late{Timestamp::from_civil(9999, 12, 31, 23, 59, 59, 999999).micros + 1};
  for (const Timestamp ts : {too_early, too_late}) {
    auto err = catch_error<tessera::InvalidValueError>([&] { t->insert(AllTypes{.ts = ts}); });
    REQUIRE(err.has_value());
    CHECK(err->kind == tessera::ErrorKind::invalid_value);
  }
  CHECK(t->count(select<AllTypes>()) == 0);
}

TEST_CASE("conformance: every nullable type round-trips as NULL and as a value") {
  TestDb t;
  t.create<Nullables>();
  const Nullables nulls{.id = 1};
  const Nullables values{.id = 2,
                         .b = false,
                         .i8 = lim<std::int8_t>::min(),
                         .i16 = lim<std::int16_t>::max(),
                         .i32 = 0,
                         .i64 = lim<std::int64_t>::min(),
                         .u8 = lim<std::uint8_t>::max(),
                         .u16 = 0,
                         .u32 = lim<std::uint32_t>::max(),
                         .f32 = 0.0f,
                         .f64 = -2.5,
                         .text = std::string("x"),
                         .bytes = all_byte_values(),
                         .ts = Timestamp{-1},
                         .day = Date{0},
                         .color = Color::red,
                         .level = Level::high};
  t->insert(nulls);
  t->insert(values);

  auto check_nulls = [](const Nullables& n) {
    CHECK(n.id == 1);
    CHECK(!n.b);
    CHECK(!n.i8);
    CHECK(!n.i16);
    CHECK(!n.i32);
    CHECK(!n.i64);
    CHECK(!n.u8);
    CHECK(!n.u16);
    CHECK(!n.u32);
    CHECK(!n.f32);
    CHECK(!n.f64);
    CHECK(!n.text);
    CHECK(!n.bytes);
    CHECK(!n.ts);
    CHECK(!n.day);
    CHECK(!n.color);
    CHECK(!n.level);
  };
  auto check_values = [&](const Nullables& n) {
    CHECK(n.id == 2);
    REQUIRE(n.b);
    CHECK(*n.b == false);
    REQUIRE(n.i8);
    CHECK(static_cast<int>(*n.i8) == -128);
    REQUIRE(n.i16);
    CHECK(*n.i16 == 32767);
    REQUIRE(n.i32);
    CHECK(*n.i32 == 0);
    REQUIRE(n.i64);
    CHECK(*n.i64 == lim<std::int64_t>::min());
    REQUIRE(n.u8);
    CHECK(static_cast<unsigned>(*n.u8) == 255u);
    REQUIRE(n.u16);
    CHECK(*n.u16 == 0);
    REQUIRE(n.u32);
    CHECK(*n.u32 == lim<std::uint32_t>::max());
    REQUIRE(n.f32);
    CHECK(bits(*n.f32) == bits(0.0f));
    REQUIRE(n.f64);
    CHECK(*n.f64 == -2.5);
    REQUIRE(n.text);
    CHECK(*n.text == "x");
    REQUIRE(n.bytes);
    CHECK((*n.bytes == all_byte_values()));
    REQUIRE(n.ts);
    CHECK(n.ts->micros == -1);
    REQUIRE(n.day);
    CHECK(n.day->days == 0);
    REQUIRE(n.color);
    CHECK(*n.color == Color::red);
    REQUIRE(n.level);
    CHECK(*n.level == Level::high);
  };

  auto a = t->find<Nullables>(std::int64_t{1});
  REQUIRE(a);
  check_nulls(*a);
  auto b = t->find<Nullables>(std::int64_t{2});
  REQUIRE(b);
  check_values(*b);
  auto all = t->fetch_all(select<Nullables>().order_by(col(&Nullables::id)));
  REQUIRE(all.size() == 2);
  check_nulls(all[0]);
  check_values(all[1]);

  // Each column is NULL in exactly one row.
  CHECK(t->count(select<Nullables>().where(col(&Nullables::b).is_null())) == 1);
  CHECK(t->count(select<Nullables>().where(col(&Nullables::bytes).is_not_null())) == 1);
  CHECK(t->count(select<Nullables>().where(col(&Nullables::ts).is_null())) == 1);
  CHECK(t->count(select<Nullables>().where(col(&Nullables::level).is_not_null())) == 1);

  // Setting a value to NULL and back through update.
  CHECK(t->execute(tessera::update<Nullables>()
                       .set(&Nullables::text, std::nullopt)
                       .set(&Nullables::i64, std::nullopt)
                       .where(col(&Nullables::id) == 2)) == 1);
  auto c = t->find<Nullables>(std::int64_t{2});
  REQUIRE(c);
  CHECK(!c->text);
  CHECK(!c->i64);
  REQUIRE(c->u32);
  CHECK(*c->u32 == lim<std::uint32_t>::max());
}

}  // namespace
}  // namespace conformance
