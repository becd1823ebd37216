// Key-value access planning: which key or index answers a filter.
//
// Given a table's schema and a filter, choose the cheapest access path:
//   1. get_by_key     every primary-key column bound by == or IN
//                     cost: number of keys
//   2. find_by_index  every column of a unique index bound by == or IN
//                     cost: 2 x number of keys (index lookup, then row)
//   3. query_pk       a prefix of the primary key bound by ==, optionally a
//                     range (<, <=, >, >=, BETWEEN) on the next key column
//                     cost: 100 / (1 + bound columns)
//   4. query_index    the same on a non-unique index; cost: 200 / (1 + bound columns)
//   5. scan           no usable key; cost: 1000, and only where the
//                     capability allows full scans (else needs_index)
// Only conjuncts at the top level of the filter (a AND b AND ...) are used;
// the whole filter is still evaluated in memory on every row read, so the
// access path only needs to return a superset of the matching rows.
// Products of IN lists larger than 1,000 keys are not expanded.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tessera/driver/capability.hpp"
#include "tessera/driver/error.hpp"
#include "tessera/driver/schema.hpp"
#include "tessera/driver/statement.hpp"
#include "tessera/export.hpp"

namespace tessera::kv {

struct Access {
  enum class Kind : std::uint8_t { get_by_key, find_by_index, query_pk, query_index, scan };
  Kind kind = Kind::scan;
  std::string index;                     // for find_by_index / query_index
  std::vector<std::vector<Value>> keys;  // get_by_key / find_by_index: full keys
  std::vector<Value> lower;              // query_*: prefix and range bounds
  bool lower_inclusive = true;
  std::vector<Value> upper;
  bool upper_inclusive = true;
  double cost = 0;
};

// What plan_access() learns from a table and a filter's shape alone, before
// any parameter value: the top-level conjuncts on columns, and which of them
// each key and index could use. Built once per statement (see
// kv::PlanSlot) and then read by any number of threads. Holds `where` by
// address: the filter must outlive it.
struct AccessShape {
  // A top-level conjunct `column <op> parameters` (op: ==, IN, <, <=, >, >=,
  // BETWEEN), its column numbered among the filter's distinct columns.
  struct Term {
    ast::Expr::Kind kind;
    std::size_t column;
    const ast::Expr* expr;  // the conjunct; its operands are read per execution
  };
  // A key or index: the filter column of each of its columns, in key order
  // (kNone for a column the filter does not constrain).
  struct Key {
    std::string index;  // empty for the primary key
    bool unique = false;
    std::vector<std::size_t> columns;
  };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  std::string table;
  std::vector<Term> terms;
  std::size_t column_count = 0;
  Key primary_key;
  std::vector<Key> indexes;
  std::string filter_columns;  // quoted, for the needs_index message
};

// The shape of `where` (null: no filter) on `table`.
TESSERA_API AccessShape shape_access(const TableSchema& table, const ast::Expr* where);

// Plans the access for a filter of that shape with `params`. Errors:
// needs_index (naming the filter's columns) when only a scan would do and the
// capability forbids scans.
TESSERA_API Result<Access> plan_access(const AccessShape& shape, std::span<const Value> params,
                                       const Capability& cap);

// shape_access() then plan_access(), for a filter planned once.
TESSERA_API Result<Access> plan_access(const TableSchema& table, const ast::Expr* where,
                                       std::span<const Value> params, const Capability& cap);

}  // namespace tessera::kv
