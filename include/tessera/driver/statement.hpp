// The untyped statement: what a typed user statement lowers to.
//
// A statement names tables and columns by their database names and refers to
// values only through parameter indexes; the values travel separately (see
// Operation). A statement therefore is a *shape*: two executions that differ
// only in values share one statement, one plan and one prepared statement.
//
// The core SQL serializer renders a statement for a dialect; a key-value
// planner reads it to choose key lookups. Drivers may read it too (a driver
// with its own dialect can render it itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tessera/driver/schema.hpp"

namespace tessera::ast {

// An expression node. A tree of nodes, each owning its children.
struct Expr {
  enum class Kind : std::uint8_t {
    column,  // `column`
    param,   // parameter number `param` (0-based into the values)
    eq,
    ne,
    lt,
    le,
    gt,
    ge,       // children[0] op children[1]
    like,     // children[0] LIKE children[1]; '%' and '_' wildcards, a backslash escapes
    and_,     // all children (>= 2)
    or_,      // any child (>= 2)
    not_,     // NOT children[0]
    is_null,  // children[0] IS NULL
    is_not_null,
    in,       // children[0] IN (children[1..]); at least one element
    not_in,   // children[0] NOT IN (children[1..])
    between,  // children[0] BETWEEN children[1] AND children[2] (inclusive)
    true_,    // constant TRUE (an empty `in` list lowers to false_, and so on)
    false_,
    case_,  // CASE WHEN children[0] THEN children[1] WHEN children[2] THEN ... END
            // (an even number of children, at least two)
  };
  Kind kind = Kind::true_;
  std::string column;       // for Kind::column
  std::uint32_t param = 0;  // for Kind::param
  std::vector<Expr> children;

  friend bool operator==(const Expr&, const Expr&) = default;
};

struct OrderBy {
  std::string column;
  bool descending = false;
  friend bool operator==(const OrderBy&, const OrderBy&) = default;
};

// SELECT. `limit_param`/`offset_param` are parameter indexes (or -1 for none).
struct Select {
  enum class Projection : std::uint8_t { columns, count, exists };
  std::string table;
  Projection projection = Projection::columns;
  std::vector<std::string> columns;  // for Projection::columns
  bool has_where = false;
  Expr where;
  std::vector<OrderBy> order_by;
  std::int32_t limit_param = -1;
  std::int32_t offset_param = -1;
  friend bool operator==(const Select&, const Select&) = default;
};

// What an INSERT does when it meets a key or unique conflict.
struct OnConflict {
  enum class Action : std::uint8_t { error, do_nothing, update };
  Action action = Action::error;
  // The conflict target: the columns of the primary key or of one unique
  // index. Dialects that cannot name a target (mysql) ignore it.
  std::vector<std::string> target;
  // Columns set from the proposed row on conflict (Action::update).
  std::vector<std::string> update_columns;
  friend bool operator==(const OnConflict&, const OnConflict&) = default;
};

// INSERT of `row_count` rows; the values are row-major: row r, column c is
// parameter r * columns.size() + c.
struct Insert {
  std::string table;
  std::vector<std::string> columns;
  std::size_t row_count = 1;
  OnConflict on_conflict;
  std::vector<std::string> returning;  // empty: return nothing
  friend bool operator==(const Insert&, const Insert&) = default;
};

// SET column = parameter, or = an expression (a CASE, for a batched update
// of many rows by key) when has_value is set.
struct Assignment {
  std::string column;
  std::uint32_t param = 0;
  bool has_value = false;
  Expr value;
  friend bool operator==(const Assignment&, const Assignment&) = default;
};

// UPDATE. A statement without a where clause updates every row; the public
// API refuses to build one unless asked explicitly.
struct Update {
  std::string table;
  std::vector<Assignment> set;
  bool has_where = false;
  Expr where;
  friend bool operator==(const Update&, const Update&) = default;
};

struct Delete {
  std::string table;
  bool has_where = false;
  Expr where;
  friend bool operator==(const Delete&, const Delete&) = default;
};

using Statement = std::variant<Select, Insert, Update, Delete>;

}  // namespace tessera::ast
