// The catalog: each table's schema as stored in the environment's metadata
// database, and the resolved form the connection works with.
//
// Metadata database "__tessera", keys:
//   "schema:<table>"  the serialized TableSchema (format version byte first)
//   "seq:<table>"     the last auto-increment value handed out (8 bytes, BE)
// Named databases: "t:<table>" holds the rows (encoded primary key -> row),
// "i:<table>:<index>" one index (encoded index key [+ encoded primary key
// where duplicates are allowed] -> encoded primary key).
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/schema.hpp"

namespace tessera::lmdb::detail {

inline constexpr const char* kMetaDb = "__tessera";

std::string schema_key(std::string_view table);
std::string sequence_key(std::string_view table);
std::string rows_db_name(std::string_view table);
std::string index_db_name(std::string_view table, std::string_view index);

std::string serialize_schema(const TableSchema& t);
std::optional<TableSchema> parse_schema(std::string_view bytes);

// A table resolved for execution: its schema, column types and positions,
// and the database handles of its rows and indexes. Immutable once built.
struct TableInfo {
  TableSchema schema;
  MDB_dbi rows = 0;
  std::vector<MDB_dbi> indexes;                         // parallel to schema.indexes
  std::vector<ValueType> types;                         // per column
  std::vector<std::size_t> all_columns;                 // 0..n-1: every column, in order
  std::vector<std::size_t> pk;                          // column positions of the primary key
  std::vector<std::vector<std::size_t>> index_columns;  // per index, column positions
  int auto_increment = -1;                              // column position, or -1

  // Builds the derived fields from `schema`; false (with `why`) when the
  // schema names a column it does not have.
  bool resolve(std::string& why);
  int column(std::string_view name) const;
  // The index whose columns are exactly `columns` (in any order), or -1.
  int index_on(const std::vector<std::string>& columns) const;
};

}  // namespace tessera::lmdb::detail
