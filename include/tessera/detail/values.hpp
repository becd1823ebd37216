// Conversions between C++ member types and Values, and the type rules of the
// DSL (which value types a column accepts).
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tessera/driver/capability.hpp"
#include "tessera/driver/value.hpp"
#include "tessera/model.hpp"

namespace tessera::detail {

// Why a driver of capability `cap` cannot store a value, or nullptr. The
// engine refuses such values before a driver binds them (check_values, an
// insert's rows) with these messages as invalid_value.
inline const char* refused_double(double v, const Capability& cap) {
  if (std::isnan(v) && !cap.stores_nan) [[unlikely]]
    return "NaN cannot be stored by this driver";
  if (std::isinf(v) && !cap.stores_infinity) [[unlikely]]
    return "an infinite float cannot be stored by this driver";
  return nullptr;
}
inline const char* refused_text(std::string_view v, const Capability& cap) {
  if (!cap.text_embedded_nul && v.find('\0') != std::string_view::npos) [[unlikely]]
    return "text with an embedded NUL character cannot be stored by this driver";
  return nullptr;
}
inline const char* refused_timestamp(Timestamp t) {
  constexpr std::int64_t min_micros = -62135596800LL * 1'000'000;      // 0001-01-01
  constexpr std::int64_t max_micros = 253402300800LL * 1'000'000 - 1;  // 9999-12-31T23:59:59.999999
  if (t.micros < min_micros || t.micros > max_micros) [[unlikely]]
    return "timestamp outside years 0001..9999";
  return nullptr;
}
inline const char* refused_date(Date d) {
  if (d.days < -719162 || d.days > 2932896) [[unlikely]]
    return "date outside years 0001..9999";
  return nullptr;
}
inline const char* refused(const Value& v, const Capability& cap) {
  switch (v.type()) {
    case ValueType::float64: return refused_double(v.as_double(), cap);
    case ValueType::text: return refused_text(v.as_text(), cap);
    case ValueType::timestamp: return refused_timestamp(v.as_timestamp());
    case ValueType::date: return refused_date(v.as_date());
    default: return nullptr;
  }
}
// The same for a member of a model's row, by its type (no Value made).
template <class M>
const char* refused_member(const M& v, const Capability& cap) {
  if constexpr (is_optional_v<M>)
    return v ? refused_member(*v, cap) : nullptr;
  else if constexpr (std::is_floating_point_v<M>)
    return refused_double(static_cast<double>(v), cap);
  else if constexpr (std::is_same_v<M, std::string>)
    return refused_text(v, cap);
  else if constexpr (std::is_same_v<M, Timestamp>)
    return refused_timestamp(v);
  else if constexpr (std::is_same_v<M, Date>)
    return refused_date(v);
  else
    return nullptr;
}

// What a Value is constructed from for a (non-optional) member: integers of
// every width and enums as int64, floats as double, string-like types as an
// owned string; Bytes, Timestamp and Date as themselves.
template <class T>
auto value_arg(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_enum_v<T>) {
    return static_cast<std::int64_t>(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<std::int64_t>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(v));
  } else {
    return v;  // Bytes, Timestamp, Date
  }
}

// As value_arg, for a statement that runs while the member lives (insert,
// update or find of the caller's rows and keys): a std::string member's text
// is viewed, not copied (Value::text_view).
template <class T>
auto bound_arg(const T& v) {
  if constexpr (std::is_same_v<T, std::string>)
    return Value::TextView{v};
  else
    return value_arg(v);
}

// The Value of a member, as bound. Optional members bind NULL when empty.
template <class T>
Value to_value(const T& v) {
  if constexpr (is_optional_v<T>)
    return v ? to_value(*v) : Value();
  else
    return Value(value_arg(v));
}

// The Value of a member as bound_arg binds it; NULL for an empty optional.
template <class T>
Value bound_value(const T& v) {
  if constexpr (is_optional_v<T>)
    return v ? bound_value(*v) : Value();
  else
    return Value(bound_arg(v));
}

// Appends bound_value(v) to `out`, constructed in place: no temporary Value
// to move from and destroy (insert_many and update_many bind every listed
// member of every row).
template <class Out, class T>
void append_bound(Out& out, const T& v) {
  if constexpr (is_optional_v<T>) {
    if (v)
      append_bound(out, *v);
    else
      out.emplace_back();
  } else {
    out.emplace_back(bound_arg(v));
  }
}

// At most N Values on the stack, constructed in place as they are appended
// and destroyed with the buffer: a statement of known maximum width binds
// without a heap vector, and without constructing and destroying the slots
// it does not use (as a std::array<Value, N> would).
template <std::size_t N>
class ValueBuffer {
 public:
  ValueBuffer() = default;
  ValueBuffer(const ValueBuffer&) = delete;
  ValueBuffer& operator=(const ValueBuffer&) = delete;
  ~ValueBuffer() { std::destroy_n(data(), size_); }

  // Precondition: size() < N.
  template <class... A>
  void emplace_back(A&&... args) {
    std::construct_at(data() + size_, std::forward<A>(args)...);
    ++size_;
  }
  std::size_t size() const { return size_; }
  std::span<const Value> span() const { return {data(), size_}; }

 private:
  Value* data() { return std::launder(reinterpret_cast<Value*>(storage_)); }
  const Value* data() const { return std::launder(reinterpret_cast<const Value*>(storage_)); }

  alignas(Value) std::byte storage_[N * sizeof(Value)];
  std::size_t size_ = 0;
};

// True when a value of type V may be compared with, or assigned to, a column
// whose (non-optional) type is C. Integers accept any integer (range is
// checked when bound), floats accept any arithmetic value, text accepts
// anything string-like, and every other type only itself.
template <class C, class V>
constexpr bool accepts() {
  using D = std::remove_cvref_t<V>;
  if constexpr (std::is_same_v<C, bool>)
    return std::is_same_v<D, bool>;
  else if constexpr (std::is_enum_v<C>)
    return std::is_same_v<D, C>;
  else if constexpr (std::is_integral_v<C>)
    return std::is_integral_v<D> && !std::is_same_v<D, bool>;
  else if constexpr (std::is_floating_point_v<C>)
    return std::is_arithmetic_v<D> && !std::is_same_v<D, bool>;
  else if constexpr (std::is_same_v<C, std::string>)
    return std::is_convertible_v<const D&, std::string_view>;
  else
    return std::is_same_v<D, C>;
}

// Value for a DSL argument V compared with column type C (non-optional).
template <class C, class V>
Value dsl_value(const V& v) {
  if constexpr (std::is_same_v<C, std::string>) {
    return Value(std::string(std::string_view(v)));
  } else if constexpr (std::is_floating_point_v<C>) {
    return Value(static_cast<double>(v));
  } else {
    return to_value(v);
  }
}

// Appends an unambiguous encoding of `v` to `out` (a type tag, then the
// value; texts and bytes length-prefixed): equal encodings mean equal
// values. Used to find a repeated key.
inline void append_identity(std::string& out, const Value& v) {
  out.push_back(static_cast<char>(v.type()));
  auto raw = [&](const auto& x) { out.append(reinterpret_cast<const char*>(&x), sizeof x); };
  switch (v.type()) {
    case ValueType::null: break;
    case ValueType::boolean: out.push_back(v.as_bool() ? 1 : 0); break;
    case ValueType::int64: raw(v.as_int64()); break;
    case ValueType::float64: raw(v.as_double()); break;
    case ValueType::text:
      raw(v.as_text().size());
      out.append(v.as_text());
      break;
    case ValueType::bytes:
      raw(v.as_bytes().size());
      out.append(reinterpret_cast<const char*>(v.as_bytes().data()), v.as_bytes().size());
      break;
    case ValueType::timestamp: raw(v.as_timestamp().micros); break;
    case ValueType::date: raw(v.as_date().days); break;
  }
}

}  // namespace tessera::detail
