// In-memory evaluation of untyped filters and orderings, for drivers that
// speak no SQL. Semantics match SQL exactly: three-valued logic (a
// comparison with NULL is unknown; NOT unknown is unknown; WHERE keeps only
// true), LIKE case-sensitive with '%', '_' (one UTF-8 character) and '\'
// escapes, text compared by bytes, NULL ordered as the smallest value.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tessera/driver/statement.hpp"
#include "tessera/driver/value.hpp"
#include "tessera/export.hpp"

namespace tessera::kv {

enum class Truth : std::uint8_t { false_, true_, unknown };

// Reads column `name` of the row being evaluated.
using ColumnReader = std::function<const Value&(const std::string& name)>;

// Evaluates `e` with parameters from `params`.
TESSERA_API Truth evaluate(const ast::Expr& e, std::span<const Value> params,
                           const ColumnReader& row);

// Three-way comparison for ordering: NULL first; numbers numerically across
// int64/double/bool; text and bytes by bytes; timestamps and dates by time.
// Values of unrelated types order by type.
TESSERA_API int compare(const Value& a, const Value& b);

// SQL LIKE with a backslash escape, case-sensitive, '_' one UTF-8 character.
TESSERA_API bool like(std::string_view text, std::string_view pattern);

}  // namespace tessera::kv
