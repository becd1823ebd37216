// COPY ... FROM STDIN in text format: which column types a Value may be
// written to, and the text of each value.
//
// The text format lets the server parse and range-check every value with
// the column type's own input function, as INSERT's assignment casts do
// (an integer too large for INTEGER is 22003, a too-long VARCHAR 22001).
// Only the pairs below are written through COPY, so that the stored values
// are exactly those a binary-bound INSERT stores; any other column type
// (a domain, numeric, json...) keeps the INSERT path.
#pragma once

#include <cstddef>

#include "tessera/driver/value.hpp"

namespace tessera::postgresql::detail {

// Whether a value of `type` (not null) may be copied into a column of type
// OID `column_oid` with the result an INSERT of the bound value gives:
// boolean into bool; int64 into int2, int4, int8, float4, float8; float64
// into float4, float8; text into text, varchar; bytes into bytea;
// timestamp into timestamptz; date into date.
bool copy_accepts(unsigned column_oid, ValueType type);

// The most bytes write_copy_field() writes for `v`.
std::size_t copy_field_bound(const Value& v);

// Writes `v` as one field of a text-format COPY row (no delimiter) at
// `out`, which has room for copy_field_bound(v) bytes, and returns the end:
// NULL as \N; booleans t/f; integers in decimal; doubles in the shortest
// form that reads back to the same double (NaN, Infinity, -Infinity), or,
// for a float4 column (`float4`), the shortest form of the float the
// server's float8-to-float4 cast gives (values that cast would refuse are
// written as doubles, so that float4's input refuses them with the same
// SQLSTATE); text with backslash, newline, carriage return and tab
// escaped; bytes as \\x and hex; timestamps as
// `YYYY-MM-DD HH:MM:SS.ffffff+00` (`BC` for years before 1); dates as
// `YYYY-MM-DD`. Precondition: copy_accepts().
char* write_copy_field(const Value& v, bool float4, char* out);

}  // namespace tessera::postgresql::detail
