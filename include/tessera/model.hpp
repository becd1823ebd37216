// Models: a struct declared once, next to itself, as a table.
//
//   struct User {
//     std::int64_t id{};
//     std::string name;
//     std::optional<std::string> bio;
//   };
//   TESSERA_MODEL(User, "users",
//       (id, tessera::primary_key, tessera::auto_increment),
//       (name, tessera::index, tessera::column_name("full_name")),
//       (bio));
//
// TESSERA_MODEL must appear at namespace scope, in the struct's namespace,
// after the struct; it lists every member that is a column, each with its
// attributes. It defines two constexpr functions found by argument-dependent
// lookup; no code generator and no registration at run time.
//
// Column types: bool; std::int8_t..std::int64_t; std::uint8_t..std::uint32_t;
// float; double; std::string; tessera::Bytes; tessera::Timestamp;
// tessera::Date; any enum class (stored as its underlying integer); and
// std::optional<T> of each for a nullable column.
//
// Attributes:
//   primary_key               part of the primary key (several fields: a composite key,
//                             in declaration order)
//   auto_increment            the database generates the value (single integer key);
//                             an insert leaves it out while the member is 0
//   index / index("name")     a secondary index; fields naming the same index form one
//                             composite index, in declaration order
//   unique / unique("name")   a unique index, likewise single or composite
//   column_name("db_name")    the column's name in the database (default: the member's)
//   default_value(v)          a database default, used when an insert leaves the column out
//   references(&Other::id[, ForeignKeyAction])  a foreign key to another model's column
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tessera/driver/schema.hpp"
#include "tessera/driver/value.hpp"

namespace tessera {

// ---------------------------------------------------------------- attributes

struct PrimaryKeyAttr {};
struct AutoIncrementAttr {};
struct IndexAttr {
  const char* name = nullptr;  // null: an index of this column alone
  bool unique = false;
  constexpr IndexAttr operator()(const char* group) const { return IndexAttr{group, unique}; }
};
struct ColumnNameAttr {
  const char* name;
};
template <class V>
struct DefaultAttr {
  V value;
};
template <class M, class T>
struct ReferencesAttr {
  T M::*member;
  ForeignKeyAction on_delete;
};

inline constexpr PrimaryKeyAttr primary_key{};
inline constexpr AutoIncrementAttr auto_increment{};
inline constexpr IndexAttr index{nullptr, false};
inline constexpr IndexAttr unique{nullptr, true};
constexpr ColumnNameAttr column_name(const char* name) { return ColumnNameAttr{name}; }
template <class V>
constexpr DefaultAttr<V> default_value(V v) {
  return DefaultAttr<V>{v};
}
template <class M, class T>
constexpr ReferencesAttr<M, T> references(
    T M::*member, ForeignKeyAction on_delete = ForeignKeyAction::no_action) {
  return ReferencesAttr<M, T>{member, on_delete};
}

// ---------------------------------------------------------------- column types

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
inline constexpr bool is_optional_v = is_optional<T>::value;

template <class T>
struct unwrap_optional {
  using type = T;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
  using type = T;
};
template <class T>
using unwrap_optional_t = typename unwrap_optional<T>::type;

template <class T>
inline constexpr bool dependent_false = false;

// The ColumnType of a non-optional C++ member type.
template <class T>
constexpr ColumnType column_type_of() {
  if constexpr (std::is_same_v<T, bool>)
    return ColumnType::boolean;
  else if constexpr (std::is_enum_v<T>)
    return column_type_of<std::underlying_type_t<T>>();
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return ColumnType::int8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return ColumnType::int16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ColumnType::int32;
  else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, long long>)
    return ColumnType::int64;
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return ColumnType::uint8;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return ColumnType::uint16;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return ColumnType::uint32;
  else if constexpr (std::is_same_v<T, float>)
    return ColumnType::float32;
  else if constexpr (std::is_same_v<T, double>)
    return ColumnType::float64;
  else if constexpr (std::is_same_v<T, std::string>)
    return ColumnType::text;
  else if constexpr (std::is_same_v<T, Bytes>)
    return ColumnType::bytes;
  else if constexpr (std::is_same_v<T, Timestamp>)
    return ColumnType::timestamp;
  else if constexpr (std::is_same_v<T, Date>)
    return ColumnType::date;
  else if constexpr (std::is_unsigned_v<T> && sizeof(T) == 8)
    static_assert(dependent_false<T>,
                  "tessera: unsigned 64-bit columns are not supported (no portable SQL type); "
                  "use std::int64_t");
  else
    static_assert(dependent_false<T>,
                  "tessera: unsupported column type; use bool, an integer, float, double, "
                  "std::string, tessera::Bytes, tessera::Timestamp, tessera::Date, an enum class, "
                  "or std::optional of one of them");
  return ColumnType::int64;
}

template <class T>
inline constexpr bool is_column_type_v =
    std::is_same_v<T, bool> || std::is_enum_v<T> || std::is_same_v<T, std::int8_t> ||
    std::is_same_v<T, std::int16_t> || std::is_same_v<T, std::int32_t> ||
    std::is_same_v<T, std::int64_t> || std::is_same_v<T, long long> ||
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t> ||
    std::is_same_v<T, std::uint32_t> || std::is_same_v<T, float> || std::is_same_v<T, double> ||
    std::is_same_v<T, std::string> || std::is_same_v<T, Bytes> || std::is_same_v<T, Timestamp> ||
    std::is_same_v<T, Date>;

template <class T>
struct member_pointer_traits;
template <class M, class T>
struct member_pointer_traits<T M::*> {
  using model = M;
  using type = T;
};

// ---------------------------------------------------------------- fields

template <class A>
struct is_default_attr : std::false_type {};
template <class V>
struct is_default_attr<DefaultAttr<V>> : std::true_type {};
template <class A>
struct is_references_attr : std::false_type {};
template <class M, class T>
struct is_references_attr<ReferencesAttr<M, T>> : std::true_type {};

template <class A>
inline constexpr bool is_attribute_v =
    std::is_same_v<A, PrimaryKeyAttr> || std::is_same_v<A, AutoIncrementAttr> ||
    std::is_same_v<A, IndexAttr> || std::is_same_v<A, ColumnNameAttr> ||
    is_default_attr<A>::value || is_references_attr<A>::value;

// One column of a model: the member pointer (a template argument, so mapping
// code is resolved at compile time), its column name and its attributes.
template <auto Member, class... Attrs>
struct Field {
  using traits = member_pointer_traits<decltype(Member)>;
  using model = typename traits::model;
  using member_type = typename traits::type;
  using value_type = unwrap_optional_t<member_type>;
  static constexpr auto member = Member;
  static constexpr bool nullable = is_optional_v<member_type>;
  static constexpr ColumnType column_type = column_type_of<value_type>();

  const char* member_name;
  std::tuple<Attrs...> attrs;

  template <class A>
  static constexpr bool has = (std::is_same_v<A, Attrs> || ...);

  constexpr const char* name() const {
    const char* n = member_name;
    std::apply(
        [&](const auto&... a) {
          (
              [&] {
                if constexpr (std::is_same_v<std::decay_t<decltype(a)>, ColumnNameAttr>) n = a.name;
              }(),
              ...);
        },
        attrs);
    return n;
  }
  static constexpr bool is_primary_key = has<PrimaryKeyAttr>;
  static constexpr bool is_auto_increment = has<AutoIncrementAttr>;
};

template <auto Member, class... Attrs>
constexpr Field<Member, Attrs...> make_field(const char* member_name, Attrs... attrs) {
  static_assert((is_attribute_v<Attrs> && ...),
                "tessera: unknown attribute in TESSERA_MODEL; use primary_key, auto_increment, "
                "index, unique, column_name(...), default_value(...) or references(...)");
  using F = Field<Member, Attrs...>;
  static_assert(
      !F::is_auto_increment || (F::is_primary_key && std::is_integral_v<typename F::member_type>),
      "tessera: auto_increment needs an integer primary_key member");
  static_assert(F::column_type == F::column_type);  // instantiates the member type check
  return F{member_name, std::tuple<Attrs...>{attrs...}};
}

}  // namespace detail

// True for a type declared with TESSERA_MODEL.
template <class T>
concept Model = requires(const T* p) {
  { tessera_model_table(p) } -> std::convertible_to<const char*>;
  tessera_model_fields(p);
};

// The model's table name (without any Db table prefix).
template <Model T>
constexpr const char* table_name() {
  return tessera_model_table(static_cast<const T*>(nullptr));
}

// The model's fields: a std::tuple of detail::Field, in declaration order.
template <Model T>
inline constexpr auto model_fields = tessera_model_fields(static_cast<const T*>(nullptr));

template <Model T>
inline constexpr std::size_t field_count =
    std::tuple_size_v<std::decay_t<decltype(model_fields<T>)>>;

namespace detail {

// Calls f(field, index_constant) for each field of T.
template <class T, class F>
constexpr void for_each_field(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(std::get<I>(model_fields<T>), std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<field_count<T>>{});
}

// The index of the field whose member pointer is `member`, or -1.
template <class T, class U>
constexpr int field_index(U T::*member) {
  int found = -1;
  for_each_field<T>([&](const auto& field, auto i) {
    using F = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<std::remove_cv_t<decltype(F::member)>, U T::*>) {
      if (F::member == member) found = static_cast<int>(i);
    }
  });
  return found;
}

template <class T>
constexpr int primary_key_count() {
  int n = 0;
  for_each_field<T>([&](const auto& field, auto) {
    if (std::decay_t<decltype(field)>::is_primary_key) ++n;
  });
  return n;
}

// The index among T's fields of its k-th primary-key field (declaration
// order). Precondition: k < primary_key_count<T>().
template <class T>
constexpr std::size_t primary_key_field(std::size_t k) {
  std::size_t found = 0;
  std::size_t seen = 0;
  for_each_field<T>([&](const auto& field, auto i) {
    if (std::decay_t<decltype(field)>::is_primary_key && seen++ == k) found = i;
  });
  return found;
}

// The index of the auto-increment field, or -1.
template <class T>
constexpr int auto_increment_index() {
  int found = -1;
  for_each_field<T>([&](const auto& field, auto i) {
    if (std::decay_t<decltype(field)>::is_auto_increment) found = static_cast<int>(i);
  });
  return found;
}

}  // namespace detail

// The TableSchema of a model, with `prefix` prepended to the table, index and
// foreign-key names (see Db::Options::table_prefix).
template <Model T>
TableSchema table_schema(std::string_view prefix = {});

}  // namespace tessera

// ---------------------------------------------------------------- the macro

#define TESSERA_DETAIL_PARENS ()
#define TESSERA_DETAIL_EXPAND(...) \
  TESSERA_DETAIL_EXPAND4(          \
      TESSERA_DETAIL_EXPAND4(TESSERA_DETAIL_EXPAND4(TESSERA_DETAIL_EXPAND4(__VA_ARGS__))))
#define TESSERA_DETAIL_EXPAND4(...) \
  TESSERA_DETAIL_EXPAND3(           \
      TESSERA_DETAIL_EXPAND3(TESSERA_DETAIL_EXPAND3(TESSERA_DETAIL_EXPAND3(__VA_ARGS__))))
#define TESSERA_DETAIL_EXPAND3(...) \
  TESSERA_DETAIL_EXPAND2(           \
      TESSERA_DETAIL_EXPAND2(TESSERA_DETAIL_EXPAND2(TESSERA_DETAIL_EXPAND2(__VA_ARGS__))))
#define TESSERA_DETAIL_EXPAND2(...) \
  TESSERA_DETAIL_EXPAND1(           \
      TESSERA_DETAIL_EXPAND1(TESSERA_DETAIL_EXPAND1(TESSERA_DETAIL_EXPAND1(__VA_ARGS__))))
#define TESSERA_DETAIL_EXPAND1(...) __VA_ARGS__
// Applies macro(x) to each argument, comma-separated.
#define TESSERA_DETAIL_FOR_EACH(macro, ...) \
  __VA_OPT__(TESSERA_DETAIL_EXPAND(TESSERA_DETAIL_FOR_EACH_HELPER(macro, __VA_ARGS__)))
#define TESSERA_DETAIL_FOR_EACH_HELPER(macro, a1, ...) \
  macro(a1) __VA_OPT__(, TESSERA_DETAIL_FOR_EACH_AGAIN TESSERA_DETAIL_PARENS(macro, __VA_ARGS__))
#define TESSERA_DETAIL_FOR_EACH_AGAIN() TESSERA_DETAIL_FOR_EACH_HELPER

#define TESSERA_DETAIL_FIELD_IMPL(member, ...) \
  ::tessera::detail::make_field<&tessera_model_type::member>(#member __VA_OPT__(, ) __VA_ARGS__)
#define TESSERA_DETAIL_FIELD(spec) TESSERA_DETAIL_FIELD_IMPL spec

// Declares `Type` a model stored in table `table`. See the top of this file.
#define TESSERA_MODEL(Type, table, ...)                                                     \
  [[maybe_unused]] constexpr const char* tessera_model_table(const Type*) { return table; } \
  [[maybe_unused]] constexpr auto tessera_model_fields(const Type*) {                       \
    using tessera_model_type = Type;                                                        \
    return ::std::make_tuple(TESSERA_DETAIL_FOR_EACH(TESSERA_DETAIL_FIELD, __VA_ARGS__));   \
  }                                                                                         \
  static_assert(true, "")

// ---------------------------------------------------------------- partial models

namespace tessera::detail {

// A field of a partial model: a member of the smaller struct reading the
// column of a member of the source model.
template <auto Member, auto SourceMember>
constexpr auto make_partial_field(const char* member_name) {
  using Src = typename member_pointer_traits<decltype(SourceMember)>::model;
  static_assert(std::is_same_v<typename member_pointer_traits<decltype(Member)>::type,
                               typename member_pointer_traits<decltype(SourceMember)>::type>,
                "tessera: a TESSERA_PARTIAL member must have the same type as the model's member "
                "of the same name");
  constexpr int i = field_index(SourceMember);
  static_assert(i >= 0, "tessera: TESSERA_PARTIAL names a member the model does not declare");
  (void)member_name;
  return Field<Member, ColumnNameAttr>{
      member_name, std::tuple<ColumnNameAttr>{ColumnNameAttr{
                       std::get<static_cast<std::size_t>(i)>(model_fields<Src>).name()}}};
}

}  // namespace tessera::detail

#define TESSERA_DETAIL_PARTIAL_FIELD_IMPL(member)                    \
  ::tessera::detail::make_partial_field<&tessera_model_type::member, \
                                        &tessera_source_type::member>(#member)
#define TESSERA_DETAIL_PARTIAL_FIELD(spec) TESSERA_DETAIL_PARTIAL_FIELD_IMPL spec

// Declares `Type`, a smaller struct, as a partial view of model `Source`:
// each listed member reads the column of Source's member of the same name
// and type. Use with select<Source>().into<Type>().
//   struct UserName { std::int64_t id; std::string name; };
//   TESSERA_PARTIAL(UserName, User, (id), (name));
#define TESSERA_PARTIAL(Type, Source, ...)                                                        \
  [[maybe_unused]] constexpr const char* tessera_model_table(const Type*) {                       \
    return ::tessera::table_name<Source>();                                                       \
  }                                                                                               \
  [[maybe_unused]] constexpr Source* tessera_partial_source(const Type*) { return nullptr; }      \
  [[maybe_unused]] constexpr auto tessera_model_fields(const Type*) {                             \
    using tessera_model_type = Type;                                                              \
    using tessera_source_type = Source;                                                           \
    return ::std::make_tuple(TESSERA_DETAIL_FOR_EACH(TESSERA_DETAIL_PARTIAL_FIELD, __VA_ARGS__)); \
  }                                                                                               \
  static_assert(true, "")
