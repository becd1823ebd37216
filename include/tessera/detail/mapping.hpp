// Reading a row into a struct: typed column access straight into members,
// resolved at compile time per model. No Value is built on this path.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "tessera/driver/rows.hpp"
#include "tessera/error.hpp"
#include "tessera/model.hpp"

namespace tessera::detail {

[[noreturn]] TESSERA_API void throw_mapping_error(const char* column, const char* problem);

// Inlined into read_row (always_inline): it runs per column of every row,
// and GCC otherwise keeps a call per member type.
template <class T>
[[gnu::always_inline]] inline void read_value(Rows& rows, std::size_t col, const char* name,
                                              T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    out = rows.get_bool(col);
  } else if constexpr (std::is_enum_v<T>) {
    using U = std::underlying_type_t<T>;
    const std::int64_t v = rows.get_int64(col);
    if (!std::in_range<U>(v)) throw_mapping_error(name, "value out of range of the enum's type");
    out = static_cast<T>(static_cast<U>(v));
  } else if constexpr (std::is_integral_v<T>) {
    const std::int64_t v = rows.get_int64(col);
    if constexpr (!std::is_same_v<T, std::int64_t> && !std::is_same_v<T, long long>) {
      if (!std::in_range<T>(v))
        throw_mapping_error(name, "value out of range of the member's type");
    }
    out = static_cast<T>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(rows.get_double(col));
  } else if constexpr (std::is_same_v<T, std::string>) {
    out.assign(rows.get_text(col));
  } else if constexpr (std::is_same_v<T, Bytes>) {
    auto b = rows.get_bytes(col);
    out.assign(b.begin(), b.end());
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    out = rows.get_timestamp(col);
  } else if constexpr (std::is_same_v<T, Date>) {
    out = rows.get_date(col);
  } else {
    static_assert(dependent_false<T>, "tessera: unsupported member type");
  }
}

// Whether `v` is the zero value a getter returns for a NULL column.
template <class T>
bool is_zero_value(const T& v) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Bytes>)
    return v.empty();
  else if constexpr (std::is_same_v<T, Timestamp>)
    return v.micros == 0;
  else if constexpr (std::is_same_v<T, Date>)
    return v.days == 0;
  else
    return v == T{};
}

// Reads one column into a member. The getter runs first and is_null() is
// asked only when it returned the zero value (Rows' contract for NULL), so a
// non-NULL column costs one driver call.
template <class T>
[[gnu::always_inline]] inline void read_member(Rows& rows, std::size_t col, const char* name,
                                               T& out) {
  if constexpr (is_optional_v<T>) {
    if (!out) out.emplace();
    read_value(rows, col, name, *out);
    if (is_zero_value(*out) && rows.is_null(col)) out.reset();
  } else {
    read_value(rows, col, name, out);
    if (is_zero_value(out) && rows.is_null(col))
      throw_mapping_error(name, "NULL read into a member that is not std::optional");
  }
}

// Reads the current row, whose columns are R's fields in order, into `out`.
template <class R>
void read_row(Rows& rows, R& out, std::size_t first_column = 0) {
  for_each_field<R>([&](const auto& field, auto i) {
    using F = std::decay_t<decltype(field)>;
    read_member(rows, first_column + i, field.name(), out.*(F::member));
  });
}

}  // namespace tessera::detail
