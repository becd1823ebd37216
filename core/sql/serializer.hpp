// The SQL serializer: renders untyped statements for one dialect.
//
// One renderer for every SQL driver, so drivers stay thin and the SQL can be
// tested as golden strings without a database. Contract:
// - Identifiers are always quoted ("x" for sqlite/postgresql, `x` for mysql),
//   with embedded quote characters doubled. Values are never spliced into
//   SQL; they are bound through placeholders: ?N (sqlite, N = param + 1),
//   $N (postgresql, N = param + 1), ? (mysql, in order of appearance).
// - Parameters are numbered by the lowering in the order they appear in the
//   rendered SQL (SET list, then WHERE, then LIMIT, then OFFSET; INSERT values
//   row-major), so positional `?` binds values in index order.
//   render() checks this for the mysql dialect.
// - Features a dialect lacks are errors (kind unsupported), never silent
//   rewrites.
// - DDL is the one place literal values appear (column defaults); they are
//   rendered as escaped literals.
//
// Thread safety: every function is pure and may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/capability.hpp"
#include "tessera/driver/error.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/statement.hpp"
#include "tessera/export.hpp"

namespace tessera::sql {

// "name" / `name`, escaping embedded quote characters.
TESSERA_API std::string quote_identifier(std::string_view name, SqlDialect dialect);

// The placeholder for parameter index `param` (0-based).
TESSERA_API std::string placeholder(std::uint32_t param, SqlDialect dialect);

// SELECT / INSERT / UPDATE / DELETE.
TESSERA_API Result<std::string> render(const ast::Statement& statement, SqlDialect dialect);
TESSERA_API Result<std::string> render(const ast::Select& select, SqlDialect dialect);
TESSERA_API Result<std::string> render(const ast::Insert& insert, SqlDialect dialect);
TESSERA_API Result<std::string> render(const ast::Update& update, SqlDialect dialect);
TESSERA_API Result<std::string> render(const ast::Delete& del, SqlDialect dialect);

// CREATE TABLE (with primary key, NOT NULL, defaults and foreign keys)
// followed, for sqlite and postgresql, by one CREATE [UNIQUE] INDEX per
// index; mysql declares its indexes inside CREATE TABLE instead. Each element
// is one statement, to run in order.
TESSERA_API Result<std::vector<std::string>> render_create_table(const TableSchema& table,
                                                                 SqlDialect dialect,
                                                                 bool if_not_exists = true);
TESSERA_API std::string render_drop_table(std::string_view table, SqlDialect dialect,
                                          bool if_exists = true);

// The native column type used for a column: INTEGER, BIGINT, TEXT, ...
TESSERA_API Result<std::string> column_type_sql(const ColumnDef& column, SqlDialect dialect,
                                                bool is_key_or_indexed);

// BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE / ROLLBACK TO, with
// isolation level and read-only where the dialect can express them. A start
// may render to several statements (mysql sets the level first).
TESSERA_API Result<std::vector<std::string>> render_transaction(const op::Transaction& t,
                                                                SqlDialect dialect);

// A literal for DDL defaults: 'it''s', 42, X'00ff', TRUE.
TESSERA_API Result<std::string> render_literal(const Value& value, ColumnType type,
                                               SqlDialect dialect);

}  // namespace tessera::sql
