// Schema: the tables, columns, keys and indexes a driver creates.
//
// The engine derives a TableSchema from each model (TESSERA_MODEL) and hands
// it to Connection::push_schema. Names are the database's names (the column
// name, not the C++ member name).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/driver/value.hpp"

namespace tessera {

struct ColumnDef {
  std::string name;
  ColumnType type = ColumnType::int64;
  bool nullable = false;
  bool auto_increment = false;  // only on a single-column integer primary key
  // A database default used when an insert omits the column. Rendered as a
  // literal in DDL (the only place Tessera renders a value).
  std::optional<Value> default_value;
};

struct IndexDef {
  std::string name;                  // unique within the database
  std::vector<std::string> columns;  // in key order
  bool unique = false;
};

enum class ForeignKeyAction : std::uint8_t { no_action, cascade, set_null, restrict };

struct ForeignKeyDef {
  std::string name;
  std::vector<std::string> columns;
  std::string ref_table;
  std::vector<std::string> ref_columns;
  ForeignKeyAction on_delete = ForeignKeyAction::no_action;
};

struct TableSchema {
  std::string name;
  std::vector<ColumnDef> columns;
  std::vector<std::string> primary_key;  // column names, in key order; may be composite
  std::vector<IndexDef> indexes;         // secondary and unique indexes
  std::vector<ForeignKeyDef> foreign_keys;

  // Index of a column by name, or -1.
  int column_index(const std::string& column) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i].name == column) return static_cast<int>(i);
    return -1;
  }
};

struct Schema {
  std::vector<TableSchema> tables;
};

}  // namespace tessera
