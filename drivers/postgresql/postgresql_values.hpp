// Values in PostgreSQL's binary wire format: encoding bound parameters and
// decoding result columns.
//
// Every parameter is sent in binary with its type OID declared (bool, int8,
// float8, text, bytea, timestamptz, date); a NULL is sent with OID 0 so the
// server infers its type. Results are read in binary and decoded by column
// OID. Timestamps on the wire are microseconds since 2000-01-01 UTC, dates
// days since 2000-01-01; Tessera counts from 1970-01-01.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/error.hpp"
#include "tessera/driver/value.hpp"

namespace tessera::postgresql::detail {

// Type OIDs (from pg_type.dat; stable across server versions).
enum Oid : unsigned {
  kOidBool = 16,
  kOidBytea = 17,
  kOidName = 19,
  kOidInt8 = 20,
  kOidInt2 = 21,
  kOidInt4 = 23,
  kOidText = 25,
  kOidOid = 26,
  kOidJson = 114,
  kOidFloat4 = 700,
  kOidFloat8 = 701,
  kOidUnknown = 705,
  kOidBpchar = 1042,
  kOidVarchar = 1043,
  kOidDate = 1082,
  kOidTimestamp = 1114,
  kOidTimestamptz = 1184,
  kOidNumeric = 1700,
  // Array types of the parameter types above.
  kOidBoolArray = 1000,
  kOidByteaArray = 1001,
  kOidTextArray = 1009,
  kOidInt8Array = 1016,
  kOidFloat8Array = 1022,
  kOidDateArray = 1182,
  kOidTimestamptzArray = 1185,
};

// Microseconds / days between 1970-01-01 and 2000-01-01.
inline constexpr std::int64_t kPgEpochMicros = 946'684'800'000'000;
inline constexpr std::int32_t kPgEpochDays = 10'957;

// The type OID a Value is bound with (0 for NULL: the server infers it).
unsigned param_oid(const Value& v);
unsigned element_oid(ValueType type);

// One character per parameter naming its bound type, so a prepared
// statement is reused only with the parameter types it was prepared for.
void append_type_signature(std::span<const Value> params, std::string& out);

// The arrays libpq takes for a statement's parameters (PQsendQueryPrepared,
// PQsendQueryParams, PQsendPrepare): value pointers, lengths, formats (all
// binary) and type OIDs, one entry per parameter.
class ParamArrays {
 public:
  int count() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }
  const unsigned* types() const { return types_.data(); }

 protected:
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::vector<unsigned> types_;
};

// Scalar parameters. Text and bytes point into the Values without a copy,
// so the Values must outlive the send (see operation.hpp); fixed-width
// values are encoded into this object's storage.
class EncodedParams : public ParamArrays {
 public:
  // Encodes `params`, replacing what was held. Errors: invalid_value for a
  // timestamp or date too far from 2000 for the wire format (text with a
  // NUL is refused by the server, as invalid_value too).
  Status encode(std::span<const Value> params);

 private:
  std::vector<char> fixed_;  // big-endian encodings of fixed-width values
};

// One binary array parameter per column of row-major values, for
// `INSERT ... SELECT * FROM unnest($1::int8[], $2::text[], ...)`: column c
// is an array of the values of column c in row order, its element type the
// one a scalar parameter of those values is bound with (param_oid). The
// layout is array_recv's: ndim (1), has-NULL flag, element OID, length,
// lower bound (1), then per element its int32 length (-1: NULL) and bytes.
class ColumnArrays : public ParamArrays {
 public:
  // The bytes value `v` takes as an array element (without its length).
  static std::size_t payload_size(const Value& v);
  // The array type OID, and its SQL name, of arrays of `type` (not null).
  static unsigned array_oid(ValueType type);
  static std::string_view element_sql_type(ValueType type);

  // Encodes the `columns`-wide rows of `params` as one array per column
  // whose `types` entry is not ValueType::null (a column of only NULLs is
  // rendered as a NULL literal instead and gets no parameter). Every
  // non-NULL value of column c must have type types[c]. Errors:
  // invalid_value for a timestamp or date out of the wire format's range, or
  // an array past 2 GiB.
  Status encode(std::span<const Value> params, std::size_t columns,
                std::span<const ValueType> types);

 private:
  std::vector<char> buffer_;  // every array, one after another
  // Scratch of encode(), kept to reuse their memory.
  std::vector<std::size_t> sizes_;
  std::vector<char> has_null_;
  std::vector<char*> cursors_;
};

// Decoded forms of binary result cells. Each returns false when `oid` is not
// a type that converts to the asked one, or the bytes are malformed.
bool decode_bool(unsigned oid, std::string_view cell, bool& out);
bool decode_int64(unsigned oid, std::string_view cell, std::int64_t& out);
bool decode_double(unsigned oid, std::string_view cell, double& out);
bool decode_timestamp(unsigned oid, std::string_view cell, Timestamp& out);
bool decode_date(unsigned oid, std::string_view cell, Date& out);
// Text-like types (text, varchar, bpchar, name, unknown, json) are their
// bytes in binary format too.
bool is_text_oid(unsigned oid);

// The name of a type OID, for messages.
std::string oid_name(unsigned oid);

}  // namespace tessera::postgresql::detail
