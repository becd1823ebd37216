// table_schema<T>(): the TableSchema derived from a model's declaration.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "tessera/detail/values.hpp"
#include "tessera/model.hpp"
#include "tessera/query.hpp"

namespace tessera {

namespace detail {

inline void add_to_index(TableSchema& t, std::string name, const std::string& column, bool unique) {
  for (auto& ix : t.indexes) {
    if (ix.name == name) {
      ix.columns.push_back(column);
      return;
    }
  }
  t.indexes.push_back(IndexDef{std::move(name), {column}, unique});
}

template <class V>
Value default_to_value(const V& v) {
  if constexpr (std::is_convertible_v<const V&, std::string_view>)
    return Value(std::string(std::string_view(v)));
  else
    return to_value(v);
}

}  // namespace detail

template <Model T>
TableSchema table_schema(std::string_view prefix) {
  TableSchema t;
  const std::string p(prefix);
  t.name = p + table_name<T>();
  detail::for_each_field<T>([&](const auto& field, auto) {
    using F = std::decay_t<decltype(field)>;
    ColumnDef c;
    c.name = field.name();
    c.type = F::column_type;
    c.nullable = F::nullable;
    c.auto_increment = F::is_auto_increment;
    if (F::is_primary_key) t.primary_key.push_back(c.name);
    std::apply(
        [&](const auto&... attr) {
          (
              [&] {
                using A = std::decay_t<decltype(attr)>;
                if constexpr (std::is_same_v<A, IndexAttr>) {
                  std::string name = attr.name ? p + attr.name
                                               : p + (attr.unique ? "ux_" : "ix_") +
                                                     table_name<T>() + "_" + c.name;
                  detail::add_to_index(t, std::move(name), c.name, attr.unique);
                } else if constexpr (detail::is_default_attr<A>::value) {
                  c.default_value = detail::default_to_value(attr.value);
                } else if constexpr (detail::is_references_attr<A>::value) {
                  using Ref = typename detail::member_pointer_traits<decltype(attr.member)>::model;
                  const int ri = detail::field_index<Ref>(attr.member);
                  ForeignKeyDef fk;
                  fk.name = p + "fk_" + table_name<T>() + "_" + c.name;
                  fk.columns = {c.name};
                  fk.ref_table = p + table_name<Ref>();
                  fk.ref_columns = {detail::column_names<Ref>()[static_cast<std::size_t>(ri)]};
                  fk.on_delete = attr.on_delete;
                  t.foreign_keys.push_back(std::move(fk));
                }
              }(),
              ...);
        },
        field.attrs);
    t.columns.push_back(std::move(c));
  });
  return t;
}

}  // namespace tessera
