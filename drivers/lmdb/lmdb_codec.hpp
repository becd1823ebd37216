// The byte formats of the LMDB driver: order-preserving keys, compact rows.
//
// Keys. LMDB orders keys by memcmp, so a key's bytes must order exactly as
// kv::compare orders its values (core/kv/evaluate.cpp). A key is the
// concatenation of self-delimiting parts, one per key column; a part is a
// marker byte, 0x01 for NULL (sorts first) or 0x02 for a value, then:
//   boolean            one byte, 0 or 1
//   int64, timestamp   8 bytes big-endian with the sign bit flipped
//   date               4 bytes big-endian with the sign bit flipped
//   float64            8 bytes: -0.0 becomes +0.0 and every NaN one quiet
//                      NaN (sorting after +inf, as compare() does); then the
//                      sign bit is flipped for positives and every bit for
//                      negatives, big-endian
//   text, bytes        each 0x00 written as 0x00 0xFF, then 0x00 0x00
// Because parts delimit themselves, the keys starting with the encoding of a
// prefix of the key columns are exactly the keys in
// [encode(prefix), prefix_successor(encode(prefix))).
//
// Rows. A row is one tagged field per column, in the table's column order:
// a tag byte (see FieldTag) then the payload (zigzag varint for integers,
// timestamps and dates; 8 little-endian bytes for a double; a varint length
// and the bytes for text and bytes). A row shorter than the schema reads the
// missing trailing columns as NULL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/value.hpp"

namespace tessera::lmdb::detail {

// ------------------------------------------------------------------ keys

// Appends one key part for `v` (NULL or of type `type`). Precondition: v is
// NULL or v.type() == type (see coerce()).
void encode_key_part(std::string& out, const Value& v, ValueType type);

// Reads one key part of type `type` from the front of `in`, advancing it.
// Returns false on malformed input.
bool decode_key_part(std::string_view& in, ValueType type, Value& out);

// The smallest byte string greater than every string starting with `key`,
// or nullopt when there is none (empty or all 0xFF).
std::optional<std::string> prefix_successor(std::string_view key);

// `v` converted to a column of type `type` without loss, or nullopt. NULL
// stays NULL; int64 <-> double only when exact; int64 0/1 <-> boolean.
std::optional<Value> coerce(const Value& v, ValueType type);

// ------------------------------------------------------------------ rows

enum class FieldTag : std::uint8_t {
  null = 0,
  false_ = 1,
  true_ = 2,
  int64 = 3,
  float64 = 4,
  text = 5,
  bytes = 6,
  timestamp = 7,
  date = 8,
};

// One decoded field; `data` points into the encoded row.
struct Field {
  FieldTag tag = FieldTag::null;
  union {
    std::int64_t i = 0;  // int64, timestamp micros, date days
    double d;            // float64
  };
  std::string_view data;  // text, bytes
};

void encode_row(std::string& out, std::span<const Value> row);

// Decodes up to `columns` fields (missing trailing ones are NULL) into
// `out`, reusing its storage; of each Field only the member its tag names
// is meaningful. Returns false on malformed input.
bool decode_row(std::string_view in, std::size_t columns, std::vector<Field>& out);
// The same into out.size() fields.
bool decode_row(std::string_view in, std::span<Field> out);
// The same, also setting raw[i] (raw.size() == out.size()) to field i's
// encoded bytes, tag included (empty for a missing trailing field): a row
// rewrite copies the fields it does not change without encoding them again.
bool decode_row(std::string_view in, std::span<Field> out, std::span<std::string_view> raw);

// A field as a Value (copies text and bytes).
Value to_value(const Field& f);

// Appends/reads one tagged value: the row format of a single field, used by
// the catalog for default values.
void encode_value(std::string& out, const Value& v);
bool decode_value(std::string_view& in, Value& out);

// Unsigned LEB128, for lengths and the catalog.
void put_varint(std::string& out, std::uint64_t v);
bool get_varint(std::string_view& in, std::uint64_t& v);

}  // namespace tessera::lmdb::detail
