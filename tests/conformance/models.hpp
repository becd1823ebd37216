// The models of the conformance suite: every column type and every
// attribute (composite primary key, composite unique, index, column_name,
// default_value, references).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <tessera/tessera.hpp>

namespace conformance {

using tessera::auto_increment;
using tessera::column_name;
using tessera::default_value;
using tessera::index;
using tessera::primary_key;
using tessera::references;
using tessera::unique;

enum class Color : std::int16_t { red = -3, green = 0, blue = 32000 };
enum class Level : std::uint8_t { low = 0, high = 255 };

// One non-null column of each type (16 columns).
struct AllTypes {
  std::int64_t id{};
  bool b{};
  std::int8_t i8{};
  std::int16_t i16{};
  std::int32_t i32{};
  std::int64_t i64{};
  std::uint8_t u8{};
  std::uint16_t u16{};
  std::uint32_t u32{};
  float f32{};
  double f64{};
  std::string text;
  tessera::Bytes bytes;
  tessera::Timestamp ts;
  tessera::Date day;
  Color color{Color::green};
};
TESSERA_MODEL(AllTypes, "all_types", (id, primary_key, auto_increment), (b), (i8), (i16), (i32),
              (i64), (u8), (u16), (u32), (f32), (f64), (text), (bytes), (ts), (day), (color));

// One nullable column of each type.
struct Nullables {
  std::int64_t id{};
  std::optional<bool> b;
  std::optional<std::int8_t> i8;
  std::optional<std::int16_t> i16;
  std::optional<std::int32_t> i32;
  std::optional<std::int64_t> i64;
  std::optional<std::uint8_t> u8;
  std::optional<std::uint16_t> u16;
  std::optional<std::uint32_t> u32;
  std::optional<float> f32;
  std::optional<double> f64;
  std::optional<std::string> text;
  std::optional<tessera::Bytes> bytes;
  std::optional<tessera::Timestamp> ts;
  std::optional<tessera::Date> day;
  std::optional<Color> color;
  std::optional<Level> level;
};
TESSERA_MODEL(Nullables, "nullables", (id, primary_key), (b), (i8), (i16), (i32), (i64), (u8),
              (u16), (u32), (f32), (f64), (text), (bytes), (ts), (day), (color), (level));

// Rows with explicit ids, for exact id sets in filters and ordering.
struct Item {
  std::int64_t id{};
  std::string name;
  std::int32_t qty{};
  double price{};
  std::optional<std::int32_t> tier;
  std::optional<std::string> note;
  Color color{Color::green};
  tessera::Timestamp made;
};
TESSERA_MODEL(Item, "items", (id, primary_key), (name, index), (qty), (price), (tier), (note),
              (color), (made, column_name("made_at")));

// A partial view of Item.
struct ItemName {
  std::int64_t id{};
  std::string name;
};
TESSERA_PARTIAL(ItemName, Item, (id), (name));

// Generated keys, unique and composite unique columns, database defaults.
struct Account {
  std::int64_t id{};
  std::string email;
  std::string tenant;
  std::string handle;
  std::int32_t score{};
  std::string status;
  std::optional<std::string> nickname;
};
TESSERA_MODEL(Account, "accounts", (id, primary_key, auto_increment), (email, unique),
              (tenant, unique("ux_tenant_handle")),
              (handle, unique("ux_tenant_handle"), column_name("handle_name")),
              (score, index, default_value(42)), (status, default_value("active")), (nickname));

// A foreign key to Account.
struct Post {
  std::int64_t id{};
  std::int64_t account_id{};
  std::string title;
};
TESSERA_MODEL(Post, "posts", (id, primary_key, auto_increment),
              (account_id, index, references(&Account::id)), (title));

// A composite primary key.
struct Membership {
  std::int32_t org_id{};
  std::int32_t user_id{};
  std::string role;
};
TESSERA_MODEL(Membership, "memberships", (org_id, primary_key), (user_id, primary_key), (role));

// A table whose note is NOT NULL, and a model of the same table that
// believes it nullable: inserting NULL through it is a not-null violation.
struct StrictNote {
  std::int64_t id{};
  std::string note;
};
TESSERA_MODEL(StrictNote, "strict_notes", (id, primary_key), (note));
struct LooseNote {
  std::int64_t id{};
  std::optional<std::string> note;
};
TESSERA_MODEL(LooseNote, "strict_notes", (id, primary_key), (note));

// Counters written by many threads.
struct Tally {
  std::int64_t id{};
  std::int32_t worker{};
  std::int32_t seq{};
  std::int64_t value{};
};
TESSERA_MODEL(Tally, "tallies", (id, primary_key, auto_increment), (worker, index), (seq), (value));

}  // namespace conformance
