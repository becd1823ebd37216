// Running untyped statements on a key-value connection: plan the access
// (planner.hpp), read through GetByKey / FindPkByIndex / QueryPk / Scan,
// evaluate the whole filter in memory (evaluate.hpp), then order, offset,
// limit and project; updates and deletes become UpdateByKey / DeleteByKey
// of the matching keys.
//
// Without ORDER BY the result streams: rows are filtered as the engine pulls
// them, so a cursor's memory stays bounded. With ORDER BY the matching rows
// are held and sorted in memory (the store orders only by key).
#pragma once

#include <atomic>
#include <span>

#include "tessera/driver/connection.hpp"
#include "tessera/driver/schema.hpp"
#include "tessera/driver/statement.hpp"
#include "tessera/export.hpp"

namespace tessera::kv {

// The analysis of one statement on one table that does not depend on
// parameter values (the table's row layout, the projection, the ordering,
// the filter's columns and the shapes of its key and range conditions).
class Prepared;

// Where execute() keeps a statement's Prepared: built on the statement's
// first execution, then reused by every execution with the same slot, from
// any thread. Owns it; a slot is neither copied nor moved.
class TESSERA_API PlanSlot {
 public:
  PlanSlot() = default;
  PlanSlot(const PlanSlot&) = delete;
  PlanSlot& operator=(const PlanSlot&) = delete;
  ~PlanSlot();

 private:
  friend struct SlotAccess;  // executor.cpp
  std::atomic<const Prepared*> prepared_{nullptr};
};

// `statement` is a Select, Update or Delete whose table is `table`. The
// response's rows (if any) stay valid while `statement`, `params` and `slot`
// do. Every execution through one slot must pass the same `statement` (the
// same object) and a `table` that describes the same table as the first did
// (a different TableSchema object is analysed afresh, uncached); the
// engine's plan owns the slot and its statement, and its table schema lives
// as long as the engine.
TESSERA_API Result<ExecResponse> execute(Connection& connection, const ast::Statement& statement,
                                         std::span<const Value> params, const TableSchema& table,
                                         PlanSlot& slot);

}  // namespace tessera::kv
