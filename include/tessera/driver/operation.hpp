// Operation: the one thing the engine asks a connection to do.
//
// The planner compiles every user statement into Operations. A SQL driver
// receives QuerySql, Insert, RawSql and Transaction, and UpdateMany when its
// capability says it runs it (Capability::update_many); a key-value driver
// receives the key-value forms, Insert and Transaction. An upsert is an
// Insert whose statement has an OnConflict action, on every driver.
//
// Lifetime: an Operation does not own what it refers to. Everything it points
// at (statement, sql text, parameter values) stays valid until the
// ExecResponse returned for it, and any Rows inside it, is destroyed. A driver
// may therefore bind parameters without copying them. One exception:
// GetByKey's keys live only until exec() returns (see GetByKey).
//
// Columns of the key-value reads (GetByKey, QueryPk, Scan): an empty list
// means every column of the table, in the table's column order (its
// TableSchema::columns as the driver stores it); the Rows then have one
// column per table column. A non-empty list names the columns to return, in
// that order; a name the table lacks is invalid_statement. A driver honours
// both. (The engine's key-value half sends the empty list, so a driver does
// not compare the names of every column per statement; it falls back to the
// names when the Rows' column_count() differs from its own schema's.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tessera/driver/capability.hpp"
#include "tessera/driver/error.hpp"
#include "tessera/driver/statement.hpp"
#include "tessera/driver/value.hpp"

namespace tessera {

// Takes one row's values from InsertRowSource::bind_row, column by column in
// the Insert's column order (`column` is 0-based), each call binding one
// column. Implemented by a driver that binds an insert's rows one at a time
// (SQLite); it keeps the first failure of its own (a bind its database
// refuses) and reports it after bind_row returns.
// Lifetime: texts, bytes and Values passed stay valid until the next
// bind_row call or until exec() returns, whichever comes first (the text of
// a caller's std::string member is the member itself). The calls do not
// throw; a failure is kept, not raised.
class RowBinder {
 public:
  virtual void bind_null(std::size_t column) = 0;
  virtual void bind_int64(std::size_t column, std::int64_t v) = 0;
  virtual void bind_double(std::size_t column, double v) = 0;
  virtual void bind_text(std::size_t column, std::string_view v) = 0;
  virtual void bind_bytes(std::size_t column, std::span<const std::byte> v) = 0;
  // Any other value (boolean, timestamp, date), or any of the above as a Value.
  virtual void bind_value(std::size_t column, const Value& v) = 0;

 protected:
  ~RowBinder() = default;
};

// The rows of an Insert, produced on demand (Capability::insert_row_source).
// Implemented by the engine; a driver only calls it, from exec() of the
// Insert it came with, on that thread.
class InsertRowSource {
 public:
  // The values of rows [first, first + count), row-major in the statement's
  // column order: count * columns values. They stay valid until the next
  // call or until exec() returns, whichever comes first; a driver that keeps
  // values longer (RETURNING rows, a buffered batch) copies them. Rows may be
  // asked for in any order and more than once; first + count must not pass
  // row_count. An error (a value the database cannot store, such as NaN or
  // text with a NUL; a member that does not convert) ends the insert: the
  // driver undoes the rows it wrote, as for a failed statement, and returns
  // the error as it came. Does not throw.
  virtual Result<std::span<const Value>> rows(std::size_t first, std::size_t count) = 0;

  // The values of row `row` (< row_count), handed to `binder` one column at
  // a time, every column once and in order: the same values rows() gives,
  // checked the same way, with no Value made for most of them (a driver that
  // binds row by row saves building, reading and destroying a chunk of
  // Values). Errors are rows()'s, with the same contract; on an error the
  // binder may have been given some of the row's columns. This default
  // binds rows(row, 1)'s values through bind_value. Does not throw.
  virtual Status bind_row(std::size_t row, RowBinder& binder) {
    auto values = rows(row, 1);
    if (!values) return std::move(values).error();
    for (std::size_t c = 0; c < values->size(); ++c) binder.bind_value(c, (*values)[c]);
    return {};
  }

  // Offers the key the database generated for row `row` (an auto-increment
  // key, when the statement returns only that key: see op::Insert), as soon
  // as the driver knows it. True means the source stored the key where the
  // caller reads it, and the driver leaves it out of
  // ExecResponse::generated_ids; false (this default) means the driver
  // reports it there. A source answers the same for every row of one
  // insert. Call it only for a row that was inserted, at most once per row,
  // in increasing row order. If the insert then fails, the source's owner
  // undoes what the source stored. Does not throw.
  virtual bool generated_key(std::size_t row, std::int64_t key) noexcept {
    (void)row;
    (void)key;
    return false;
  }

 protected:
  ~InsertRowSource() = default;
};

}  // namespace tessera

namespace tessera::op {

// A SELECT, UPDATE or DELETE, already rendered in the connection's dialect.
struct QuerySql {
  const ast::Statement* statement = nullptr;  // the shape, never null
  std::string_view sql;                       // rendered once per shape and cached
  std::span<const Value> params;
  // A stable key for the driver's prepared-statement cache: equal keys mean
  // equal SQL. 0 means do not cache.
  std::uint64_t cache_key = 0;
  // True when the engine reads every row before its next operation on this
  // connection (fetch_all, find, count): the driver may fetch the whole
  // result in one go instead of streaming it (a lazy cursor passes false,
  // and then memory must stay bounded by the driver's fetch chunk).
  bool reads_all = false;
};

// An INSERT of one or many rows (row-major values, see ast::Insert). The
// driver chooses how: one multi-row statement per batch, a pipeline, COPY,
// array binding. `statement->returning` lists columns to return per inserted
// row, in row order; a driver without RETURNING instead fills
// ExecResponse::generated_ids for an auto-increment key, or hands each key
// to `source` as it learns it (InsertRowSource::generated_key).
// The driver splits the rows into batches that fit Capability::max_bind_params
// (and max_insert_rows), rendering each batch shape with the core serializer.
//
// Where the values come from: `params` holds every row's values, unless the
// connection's capability has insert_row_source; then `params` is empty and
// the driver pulls the rows from `source` a chunk at a time (rows()), or
// binds them one row at a time (bind_row()), so an insert of a million rows
// never holds a million rows' Values (nor writes them all out to memory and
// reads them back).
struct Insert {
  const ast::Insert* statement = nullptr;  // row_count is the total number of rows
  std::span<const Value> params;
  InsertRowSource* source = nullptr;  // set instead of params; see InsertRowSource
};

// Sets columns of many rows, each row to its own values, by full primary key
// (Executor::update_many). Sent only to a connection whose capability has
// update_many; the driver chooses how (PostgreSQL: UPDATE ... FROM unnest of
// one array per column, in batches).
// Contract:
// - Each row updates the row of the table whose primary key equals the
//   row's key values, setting each of `set_columns` to the row's value.
//   A key no row has is skipped, not an error.
// - The keys of one operation are distinct (the engine ends an operation at
//   a repeated key, so that the later row wins as with one update per row).
// - ExecResponse::affected is the number of rows whose key exists.
// - Atomic: all rows are updated or none is (as one statement; outside a
//   transaction the driver makes it one implicit transaction). Constraint
//   and value errors are those an UPDATE of the same values would give:
//   an integer out of its column type's range is invalid_value, as is a
//   Value whose type does not fit its column's ColumnType (the typed API
//   never sends one).
// - `key_types` / `set_types` are the declared types of the columns, so a
//   driver knows each column's type even when its values are all NULL.
struct UpdateMany {
  std::string_view table;
  std::span<const std::string> key_columns;  // the full primary key, at least one
  std::span<const ColumnType> key_types;     // one per key column
  std::span<const std::string> set_columns;  // at least one, none of them a key column
  std::span<const ColumnType> set_types;     // one per set column
  std::size_t row_count = 0;
  // Row-major: each row's key values (in key_columns order), then its set
  // values (in set_columns order); row_count * (keys + sets) values.
  std::span<const Value> values;
};

// Raw SQL from the user, with positional parameters in the dialect's
// placeholder syntax.
struct RawSql {
  std::string_view sql;
  std::span<const Value> params;
  // As op::QuerySql::reads_all: the engine reads every row before its next
  // operation on this connection (query<R>(), execute_raw), so the driver
  // may fetch the whole result at once.
  bool reads_all = false;
};

// Key-value: rows by full primary key. Missing keys produce no row, and a
// key given more than once yields its row once; rows come back in key order
// of `keys`. (The engine relies on both: it answers `key IN (...)` with one
// GetByKey and no further filtering.)
// Lifetime: `keys` (the span and the values in it) are valid only until
// exec() returns: a driver copies or encodes what its Rows still need before
// it returns (the engine builds a find's key on its stack and returns the
// driver's Rows as they are). `table` and `columns` follow the general rule.
struct GetByKey {
  std::string_view table;
  std::span<const std::vector<Value>> keys;
  std::span<const std::string> columns;  // empty: every column (see above)
};

// Key-value: rows whose key (primary key, or the named index's key) lies in a
// range. An empty bound is open. A bound may be a prefix of a composite key.
struct QueryPk {
  std::string_view table;
  std::string_view index;  // empty: the primary key
  std::vector<Value> lower;
  bool lower_inclusive = true;
  std::vector<Value> upper;
  bool upper_inclusive = true;
  bool reverse = false;
  std::int64_t limit = -1;
  std::span<const std::string> columns;  // empty: every column (see above)
};

// Key-value: primary keys of rows whose index key equals one of `keys`.
struct FindPkByIndex {
  std::string_view table;
  std::string_view index;
  std::span<const std::vector<Value>> keys;
};

// Key-value: set columns of rows by primary key. Missing keys are skipped
// (not an error); ExecResponse::affected counts only the rows changed. The
// driver keeps enforcing constraints (unique, not-null, foreign keys). The
// engine sends it directly for `WHERE key = ?`, without reading the row.
struct UpdateByKey {
  std::string_view table;
  std::span<const std::vector<Value>> keys;
  std::span<const std::string> columns;
  std::span<const Value> values;  // one per column
};

// Key-value: delete rows by primary key. Missing keys are skipped;
// ExecResponse::affected counts only the rows deleted; foreign-key actions
// stay the driver's.
struct DeleteByKey {
  std::string_view table;
  std::span<const std::vector<Value>> keys;
};

// Key-value: every row of a table, in primary-key order.
struct Scan {
  std::string_view table;
  std::span<const std::string> columns;  // empty: every column (see above)
};

struct Transaction {
  enum class Kind : std::uint8_t { start, commit, rollback, savepoint, release, rollback_to };
  Kind kind = Kind::start;
  Isolation isolation = Isolation::database_default;  // for start
  bool read_only = false;                             // for start
  std::string_view savepoint;                         // for savepoint, release, rollback_to
};

}  // namespace tessera::op

namespace tessera {

// The values of rows [first, first + count) of `ins`, row-major: a part of
// its params, or pulled from its row source (Capability::
// insert_row_source), then valid until the next pull or until exec()
// returns. A source's error is returned as it came; a source that gives
// another number of values than `count` rows' is internal.
inline Result<std::span<const Value>> insert_values(const op::Insert& ins, std::size_t first,
                                                    std::size_t count, std::string_view driver) {
  const std::size_t columns = ins.statement->columns.size();
  if (ins.source == nullptr) return ins.params.subspan(first * columns, count * columns);
  auto pulled = ins.source->rows(first, count);
  if (pulled && pulled->size() != count * columns) {
    Error e(ErrorKind::internal, "an insert row source gave " + std::to_string(pulled->size()) +
                                     " values for " + std::to_string(count) + " rows of " +
                                     std::to_string(columns) + " columns");
    e.driver = std::string(driver);
    return e;
  }
  return pulled;
}

using Operation =
    std::variant<op::QuerySql, op::Insert, op::RawSql, op::GetByKey, op::QueryPk, op::FindPkByIndex,
                 op::UpdateByKey, op::DeleteByKey, op::Scan, op::Transaction, op::UpdateMany>;

// A short name of the operation's kind, for logs and recorded traces.
inline std::string_view operation_name(const Operation& op) {
  constexpr std::string_view names[] = {"QuerySql", "Insert",        "RawSql",      "GetByKey",
                                        "QueryPk",  "FindPkByIndex", "UpdateByKey", "DeleteByKey",
                                        "Scan",     "Transaction",   "UpdateMany"};
  return names[op.index()];
}

}  // namespace tessera
