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

#include <span>

#include "tessera/driver/connection.hpp"
#include "tessera/driver/schema.hpp"
#include "tessera/driver/statement.hpp"
#include "tessera/export.hpp"

namespace tessera::kv {

// `statement` is a Select, Update or Delete whose table is `table`. The
// response's rows (if any) stay valid while `statement` and `params` do.
TESSERA_API Result<ExecResponse> execute(Connection& connection, const ast::Statement& statement,
                                         std::span<const Value> params, const TableSchema& table);

}  // namespace tessera::kv
