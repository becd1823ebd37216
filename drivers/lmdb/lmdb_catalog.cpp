#include "lmdb_catalog.hpp"

#include <algorithm>

#include "lmdb_codec.hpp"

namespace tessera::lmdb::detail {

namespace {

constexpr char kFormatVersion = 1;

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
bool get_string(std::string_view& in, std::string& s) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}
void put_strings(std::string& out, const std::vector<std::string>& v) {
  put_varint(out, v.size());
  for (const auto& s : v) put_string(out, s);
}
bool get_strings(std::string_view& in, std::vector<std::string>& v) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  v.resize(n);
  for (auto& s : v)
    if (!get_string(in, s)) return false;
  return true;
}
bool get_byte(std::string_view& in, std::uint8_t& b) {
  if (in.empty()) return false;
  b = static_cast<std::uint8_t>(in.front());
  in.remove_prefix(1);
  return true;
}

}  // namespace

std::string schema_key(std::string_view table) { return "schema:" + std::string(table); }
std::string sequence_key(std::string_view table) { return "seq:" + std::string(table); }
std::string rows_db_name(std::string_view table) { return "t:" + std::string(table); }
std::string index_db_name(std::string_view table, std::string_view index) {
  return "i:" + std::string(table) + ":" + std::string(index);
}

std::string serialize_schema(const TableSchema& t) {
  std::string out;
  out.push_back(kFormatVersion);
  put_string(out, t.name);
  put_varint(out, t.columns.size());
  for (const auto& c : t.columns) {
    put_string(out, c.name);
    out.push_back(static_cast<char>(c.type));
    out.push_back(static_cast<char>((c.nullable ? 1 : 0) | (c.auto_increment ? 2 : 0) |
                                    (c.default_value ? 4 : 0)));
    if (c.default_value) encode_value(out, *c.default_value);
  }
  put_strings(out, t.primary_key);
  put_varint(out, t.indexes.size());
  for (const auto& ix : t.indexes) {
    put_string(out, ix.name);
    put_strings(out, ix.columns);
    out.push_back(ix.unique ? 1 : 0);
  }
  put_varint(out, t.foreign_keys.size());
  for (const auto& fk : t.foreign_keys) {
    put_string(out, fk.name);
    put_strings(out, fk.columns);
    put_string(out, fk.ref_table);
    put_strings(out, fk.ref_columns);
    out.push_back(static_cast<char>(fk.on_delete));
  }
  return out;
}

std::optional<TableSchema> parse_schema(std::string_view in) {
  TableSchema t;
  std::uint8_t b = 0;
  std::uint64_t n = 0;
  if (!get_byte(in, b) || b != kFormatVersion) return std::nullopt;
  if (!get_string(in, t.name) || !get_varint(in, n) || n > in.size()) return std::nullopt;
  t.columns.resize(n);
  for (auto& c : t.columns) {
    std::uint8_t type = 0, flags = 0;
    if (!get_string(in, c.name) || !get_byte(in, type) || !get_byte(in, flags)) return std::nullopt;
    if (type > static_cast<std::uint8_t>(ColumnType::date)) return std::nullopt;
    c.type = static_cast<ColumnType>(type);
    c.nullable = flags & 1;
    c.auto_increment = flags & 2;
    if (flags & 4) {
      Value v;
      if (!decode_value(in, v)) return std::nullopt;
      c.default_value = std::move(v);
    }
  }
  if (!get_strings(in, t.primary_key) || !get_varint(in, n) || n > in.size()) return std::nullopt;
  t.indexes.resize(n);
  for (auto& ix : t.indexes) {
    if (!get_string(in, ix.name) || !get_strings(in, ix.columns) || !get_byte(in, b))
      return std::nullopt;
    ix.unique = b != 0;
  }
  if (!get_varint(in, n) || n > in.size()) return std::nullopt;
  t.foreign_keys.resize(n);
  for (auto& fk : t.foreign_keys) {
    if (!get_string(in, fk.name) || !get_strings(in, fk.columns) || !get_string(in, fk.ref_table) ||
        !get_strings(in, fk.ref_columns) || !get_byte(in, b))
      return std::nullopt;
    fk.on_delete = static_cast<ForeignKeyAction>(b);
  }
  return t;
}

int TableInfo::column(std::string_view name) const {
  for (std::size_t i = 0; i < schema.columns.size(); ++i)
    if (schema.columns[i].name == name) return static_cast<int>(i);
  return -1;
}

bool TableInfo::resolve(std::string& why) {
  types.clear();
  all_columns.clear();
  pk.clear();
  index_columns.clear();
  auto_increment = -1;
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    types.push_back(value_type_of(schema.columns[i].type));
    all_columns.push_back(i);
    if (schema.columns[i].auto_increment) auto_increment = static_cast<int>(i);
  }
  auto positions = [&](const std::vector<std::string>& names, std::vector<std::size_t>& out) {
    for (const auto& n : names) {
      const int p = column(n);
      if (p < 0) {
        why = "table '" + schema.name + "' has no column '" + n + "'";
        return false;
      }
      out.push_back(static_cast<std::size_t>(p));
    }
    return true;
  };
  if (!positions(schema.primary_key, pk)) return false;
  for (const auto& ix : schema.indexes) {
    index_columns.emplace_back();
    if (!positions(ix.columns, index_columns.back())) return false;
  }
  for (const auto& fk : schema.foreign_keys) {
    std::vector<std::size_t> unused;
    if (!positions(fk.columns, unused)) return false;
  }
  return true;
}

int TableInfo::index_on(const std::vector<std::string>& columns) const {
  auto same = [&](const std::vector<std::string>& a) {
    if (a.size() != columns.size()) return false;
    return std::all_of(columns.begin(), columns.end(), [&](const std::string& c) {
      return std::find(a.begin(), a.end(), c) != a.end();
    });
  };
  for (std::size_t i = 0; i < schema.indexes.size(); ++i)
    if (same(schema.indexes[i].columns)) return static_cast<int>(i);
  return -1;
}

}  // namespace tessera::lmdb::detail
