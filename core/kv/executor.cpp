#include "core/kv/executor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/kv/evaluate.hpp"
#include "core/kv/planner.hpp"
#include "tessera/driver/spare_block.hpp"
#include "tessera/driver/value_rows.hpp"

namespace tessera::kv {

namespace {

using Row = std::vector<Value>;

// Column positions and types of a table, for evaluating expressions on full
// rows. Immutable once built; each statement's Prepared holds one.
class RowLayout {
 public:
  explicit RowLayout(const TableSchema& t) : table_(t.name) {
    names_.reserve(t.columns.size());
    types_.reserve(t.columns.size());
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      index_.emplace(t.columns[i].name, i);
      names_.push_back(t.columns[i].name);
      types_.push_back(value_type_of(t.columns[i].type));
    }
    for (const auto& k : t.primary_key) {
      auto it = index_.find(k);
      key_positions_.push_back(it == index_.end() ? kNoColumn : it->second);
    }
  }
  // True when `columns` are every column in table order (a whole-row select).
  bool is_all(std::span<const std::string> columns) const {
    return std::equal(columns.begin(), columns.end(), names_.begin(), names_.end());
  }
  static constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);
  // The position of primary-key column i (kNoColumn if the table lacks it).
  std::size_t key_position(std::size_t i) const { return key_positions_[i]; }
  const std::vector<std::string>& names() const { return names_; }
  Result<std::size_t> position(const std::string& column) const {
    auto it = index_.find(column);
    if (it == index_.end())
      return Error(ErrorKind::invalid_statement,
                   "table '" + table_ + "' has no column '" + column + "'");
    return it->second;
  }
  ValueType type(std::size_t i) const { return types_[i]; }
  std::size_t size() const { return names_.size(); }

 private:
  std::string table_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::string> names_;
  std::vector<ValueType> types_;
  std::vector<std::size_t> key_positions_;
};

// A statement's filter, its column references resolved to row positions
// once (by the address of each column node's name, which evaluate() passes
// back to the reader), so testing a row does no name lookup. A column the
// table lacks reads as NULL. Holds `where` and `layout` by reference: they
// must outlive it.
class Filter {
 public:
  Filter(const ast::Expr* where, const RowLayout& layout) : where_(where), layout_(&layout) {
    if (where) resolve(*where);
  }

  // Sets needed[i] for every row position the filter reads.
  void mark_columns(std::vector<bool>& needed) const {
    if (overflow_) std::fill(needed.begin(), needed.end(), true);
    for (std::size_t i = 0; i < count_; ++i) needed[columns_[i].second] = true;
  }
  // The row positions the filter reads, ascending, each once.
  std::vector<std::size_t> positions() const {
    std::vector<std::size_t> out;
    if (overflow_) {
      for (std::size_t i = 0; i < layout_->size(); ++i) out.push_back(i);
      return out;
    }
    for (std::size_t i = 0; i < count_; ++i) out.push_back(columns_[i].second);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // True when the filter is absent or evaluates to true on `row` (of which
  // only the positions mark_columns() names are read) with `params`.
  bool matches(const Row& row, std::span<const Value> params) const {
    if (!where_) return true;
    static const Value null_value;
    auto reader = [&](const std::string& c) -> const Value& {
      for (std::size_t i = 0; i < count_; ++i)
        if (columns_[i].first == &c) return row[columns_[i].second];
      auto p = layout_->position(c);  // beyond kMaxColumns
      return p.ok() ? row[*p] : null_value;
    };
    return evaluate(*where_, params, reader) == Truth::true_;
  }

 private:
  void resolve(const ast::Expr& e) {
    if (e.kind == ast::Expr::Kind::column) {
      if (count_ == columns_.size()) {
        overflow_ = true;
      } else if (auto p = layout_->position(e.column); p.ok()) {
        columns_[count_++] = {&e.column, *p};
      }
      return;
    }
    for (const auto& c : e.children) resolve(c);
  }

  const ast::Expr* where_;
  const RowLayout* layout_;
  static constexpr std::size_t kMaxColumns = 8;
  std::array<std::pair<const std::string*, std::size_t>, kMaxColumns> columns_{};
  std::size_t count_ = 0;
  bool overflow_ = false;  // column nodes beyond kMaxColumns: looked up per read
};

Result<std::int64_t> param_int(std::int32_t index, std::span<const Value> params) {
  if (index < 0) return std::int64_t{-1};
  if (static_cast<std::size_t>(index) >= params.size() ||
      params[static_cast<std::size_t>(index)].type() != ValueType::int64)
    return Error(ErrorKind::invalid_statement, "LIMIT/OFFSET parameter is not an integer");
  const std::int64_t v = params[static_cast<std::size_t>(index)].as_int64();
  if (v < 0) return Error(ErrorKind::invalid_statement, "negative LIMIT or OFFSET");
  return v;
}

// Column `col` of the current row as a Value of `type` (NULL when it is
// NULL), as Rows::get_value, but with the getter first and is_null() only
// for a zero value (the Rows contract): one virtual call per non-zero value
// instead of two.
Value read_value(Rows& rows, std::size_t col, ValueType type) {
  switch (type) {
    case ValueType::boolean: {
      const bool b = rows.get_bool(col);
      return b || !rows.is_null(col) ? Value(b) : Value();
    }
    case ValueType::int64: {
      const std::int64_t i = rows.get_int64(col);
      return i != 0 || !rows.is_null(col) ? Value(i) : Value();
    }
    case ValueType::float64: {
      const double d = rows.get_double(col);
      return d != 0 || !rows.is_null(col) ? Value(d) : Value();
    }
    case ValueType::text: {
      const std::string_view t = rows.get_text(col);
      return !t.empty() || !rows.is_null(col) ? Value(std::string(t)) : Value();
    }
    case ValueType::timestamp: {
      const Timestamp t = rows.get_timestamp(col);
      return t.micros != 0 || !rows.is_null(col) ? Value(t) : Value();
    }
    case ValueType::date: {
      const Date d = rows.get_date(col);
      return d.days != 0 || !rows.is_null(col) ? Value(d) : Value();
    }
    default: return rows.get_value(col, type);
  }
}

// compare() for two values that are each NULL or of `type` (as every value
// read_value() returns for a column of that type): the same order, without
// dispatching on each value's type.
int compare_same_type(const Value& a, const Value& b, ValueType type) {
  const bool an = a.is_null(), bn = b.is_null();
  if (an || bn) return static_cast<int>(bn) - static_cast<int>(an);  // NULL first
  auto three_way = [](auto x, auto y) { return x < y ? -1 : x > y; };
  switch (type) {
    case ValueType::int64: return three_way(a.as_int64(), b.as_int64());
    case ValueType::float64: {
      const double x = a.as_double(), y = b.as_double();
      // NaN sorts above every number, as compare() does.
      if (std::isnan(x) || std::isnan(y)) return std::isnan(x) - std::isnan(y);
      return three_way(x, y);
    }
    case ValueType::timestamp: return three_way(a.as_timestamp().micros, b.as_timestamp().micros);
    case ValueType::date: return three_way(a.as_date().days, b.as_date().days);
    default: return compare(a, b);
  }
}

// An ORDER BY key of scalar columns (boolean, int64, float64, timestamp,
// date), read straight from the getters: a bounded heap ranks candidates by
// it without building or comparing Values. Orders exactly as
// compare_same_type() orders the Values read_value() would read.
constexpr std::size_t kMaxScalarKeys = 4;
struct Scalar {
  bool null = true;
  union {
    std::int64_t i = 0;  // boolean (0/1), int64, timestamp micros, date days
    double d;            // float64
  };
};

bool is_scalar(ValueType t) {
  return t == ValueType::boolean || t == ValueType::int64 || t == ValueType::float64 ||
         t == ValueType::timestamp || t == ValueType::date;
}

// Column `col` of the current row as a Scalar of `type` (is_scalar(type)):
// the getter first, is_null() only for a zero value (the Rows contract).
Scalar read_scalar(Rows& rows, std::size_t col, ValueType type) {
  Scalar s;
  switch (type) {
    case ValueType::boolean: s.i = rows.get_bool(col) ? 1 : 0; break;
    case ValueType::int64: s.i = rows.get_int64(col); break;
    case ValueType::timestamp: s.i = rows.get_timestamp(col).micros; break;
    case ValueType::date: s.i = rows.get_date(col).days; break;
    default:  // float64
      s.d = rows.get_double(col);
      s.null = s.d == 0 && rows.is_null(col);
      return s;
  }
  s.null = s.i == 0 && rows.is_null(col);
  return s;
}

int compare_scalar(const Scalar& a, const Scalar& b, ValueType type) {
  if (a.null || b.null) return static_cast<int>(b.null) - static_cast<int>(a.null);  // NULL first
  auto three_way = [](auto x, auto y) { return x < y ? -1 : x > y; };
  if (type != ValueType::float64) return three_way(a.i, b.i);
  // NaN sorts above every number, as compare() does.
  if (std::isnan(a.d) || std::isnan(b.d)) return std::isnan(a.d) - std::isnan(b.d);
  return three_way(a.d, b.d);
}

Status read_all(Rows& rows, const RowLayout& layout, std::vector<Row>& out) {
  for (;;) {
    auto n = rows.next();
    if (!n.ok()) return std::move(n).error();
    if (!*n) return {};
    Row r;
    r.reserve(layout.size());
    for (std::size_t i = 0; i < layout.size(); ++i)
      r.push_back(read_value(rows, i, layout.type(i)));
    if (const Error* e = rows.conversion_error()) return *e;
    out.push_back(std::move(r));
  }
}

// The rows an access path yields (a superset of the matches), together with
// everything the driver's streaming rows may still point into.
struct Source {
  Access access;
  op::QueryPk range;
  // get_by_key with one key (a find by key): the key, without a key list.
  Row key;
  bool single_key = false;
  std::unique_ptr<Rows> rows;
};

// Runs `read(columns)` naming every column of the layout, which the driver
// maps by name (or refuses: invalid_statement). The SPI also allows an
// empty list, every column in the driver's table order, which spares the
// driver its name comparisons (about 190 instructions a find on LMDB); it is
// not used because a model whose columns were reordered or renamed against
// the stored table (LMDB's push_schema keeps an existing table) would then
// read the wrong columns silently instead of failing.
template <class Read>
Result<ExecResponse> read_columns(const RowLayout& layout, Read&& read) {
  return read(std::span<const std::string>(layout.names()));
}

Status read_keys(Rows& rows, const TableSchema& t, const RowLayout& layout, std::vector<Row>& out) {
  for (;;) {
    auto n = rows.next();
    if (!n.ok()) return std::move(n).error();
    if (!*n) return {};
    Row k;
    for (std::size_t i = 0; i < t.primary_key.size(); ++i) {
      auto p = layout.position(t.primary_key[i]);
      if (!p.ok()) return std::move(p).error();
      k.push_back(read_value(rows, i, layout.type(*p)));
    }
    out.push_back(std::move(k));
  }
}

// Runs src.access (or src.key, when single_key) and sets src.rows.
Status read_access(Connection& c, const TableSchema& t, const RowLayout& layout, Source& source) {
  Source* src = &source;
  const Access& a = src->access;
  // Every case sets it (an empty response until then: no Error is built).
  Result<ExecResponse> r = ExecResponse{};
  switch (a.kind) {
    case Access::Kind::get_by_key: {
      const std::span<const Row> keys =
          src->single_key ? std::span<const Row>(&src->key, 1) : std::span<const Row>(a.keys);
      r = read_columns(layout, [&](std::span<const std::string> cols) {
        return c.exec(op::GetByKey{t.name, keys, cols});
      });
      break;
    }
    case Access::Kind::find_by_index: {
      std::vector<Row> keys;
      {
        auto pks = c.exec(op::FindPkByIndex{t.name, a.index, a.keys});
        if (!pks.ok()) return std::move(pks).error();
        if (pks->rows)
          if (auto st = read_keys(*pks->rows, t, layout, keys); !st.ok())
            return std::move(st).error();
      }
      // `keys` dies with this frame, which a GetByKey allows: its keys need
      // only live during exec(), so its rows stream as they are.
      r = read_columns(layout, [&](std::span<const std::string> cols) {
        return c.exec(op::GetByKey{t.name, keys, cols});
      });
      break;
    }
    case Access::Kind::query_pk:
    case Access::Kind::query_index: {
      op::QueryPk& q = src->range;
      q.table = t.name;
      if (a.kind == Access::Kind::query_index) q.index = a.index;
      q.lower = a.lower;
      q.lower_inclusive = a.lower_inclusive;
      q.upper = a.upper;
      q.upper_inclusive = a.upper_inclusive;
      r = read_columns(layout, [&](std::span<const std::string> cols) {
        q.columns = cols;
        return c.exec(q);
      });
      break;
    }
    case Access::Kind::scan:
      r = read_columns(layout, [&](std::span<const std::string> cols) {
        return c.exec(op::Scan{t.name, cols});
      });
      break;
  }
  if (!r.ok()) return std::move(r).error();
  src->rows =
      r->rows ? std::move(r->rows) : std::make_unique<ValueRows>(layout.size(), std::vector<Row>{});
  return {};
}

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// The primary key `where` names when it is exactly one equality per
// primary-key column (`column = parameter`, joined by AND, nothing else),
// each key column of a type other than float64: for key column i, the
// parameter that binds it and the column's type. Empty otherwise.
//
// When every such parameter is also non-NULL and of its column's type (see
// exact_key()), the filter matches the row with that key and no other, so a
// select reads it with one GetByKey and no planning or evaluation, and an
// update or delete goes straight to UpdateByKey / DeleteByKey: the driver
// skips a missing key, counts the rows it changed, and checks the
// constraints, as it does for the keys matching_keys() finds. The type test
// keeps the driver's key coercion an identity, so key equality and the
// filter's equality agree; float64 keys are left to the general path, since
// evaluation and key encoding may disagree on NaN and -0.0.
struct KeyParam {
  std::size_t param;
  ValueType type;
};
std::vector<KeyParam> exact_key_shape(const TableSchema& t, const RowLayout& layout,
                                      const ast::Expr* where) {
  using Kind = ast::Expr::Kind;
  if (!where || t.primary_key.empty()) return {};
  std::span<const ast::Expr> terms(where, 1);
  if (where->kind == Kind::and_) terms = where->children;
  if (terms.size() != t.primary_key.size()) return {};
  std::vector<KeyParam> key(t.primary_key.size(), KeyParam{kNone, ValueType::null});
  for (const ast::Expr& e : terms) {
    if (e.kind != Kind::eq || e.children.size() != 2 || e.children[0].kind != Kind::column ||
        e.children[1].kind != Kind::param)
      return {};
    const auto k = std::find(t.primary_key.begin(), t.primary_key.end(), e.children[0].column);
    if (k == t.primary_key.end()) return {};
    const auto i = static_cast<std::size_t>(k - t.primary_key.begin());
    if (key[i].param != kNone) return {};  // the same key column twice
    const std::size_t p = layout.key_position(i);
    if (p == RowLayout::kNoColumn || layout.type(p) == ValueType::float64) return {};
    key[i] = KeyParam{e.children[1].param, layout.type(p)};
  }
  return key;
}

// The parameters of a filter that only binds primary-key columns to keys:
// one conjunct per key column (`column = parameter` or `column IN
// (parameters)`, joined by AND, nothing else), no key column of type
// float64; each parameter with its column's type. Empty otherwise.
//
// When every such parameter is also non-NULL and of its column's type, a
// GetByKey planned from the filter returns exactly the rows it selects, so
// they need no evaluation (for an IN list of n keys that was n comparisons
// per row); the type test as for exact_key_shape().
std::vector<KeyParam> key_list_shape(const TableSchema& t, const RowLayout& layout,
                                     const ast::Expr* where) {
  using Kind = ast::Expr::Kind;
  if (!where || t.primary_key.empty() || t.primary_key.size() > 64) return {};
  std::span<const ast::Expr> terms(where, 1);
  if (where->kind == Kind::and_) terms = where->children;
  if (terms.size() != t.primary_key.size()) return {};
  std::uint64_t bound = 0;  // bit i: key column i has its conjunct
  std::vector<KeyParam> out;
  for (const ast::Expr& e : terms) {
    if ((e.kind != Kind::eq && e.kind != Kind::in) || e.children.size() < 2 ||
        (e.kind == Kind::eq && e.children.size() != 2) || e.children[0].kind != Kind::column)
      return {};
    const auto k = std::find(t.primary_key.begin(), t.primary_key.end(), e.children[0].column);
    if (k == t.primary_key.end()) return {};
    const auto bit = std::uint64_t{1} << static_cast<std::size_t>(k - t.primary_key.begin());
    if (bound & bit) return {};
    bound |= bit;
    auto p = layout.position(*k);
    if (!p.ok()) return {};
    const ValueType type = layout.type(*p);
    if (type == ValueType::float64) return {};
    for (std::size_t i = 1; i < e.children.size(); ++i) {
      const ast::Expr& v = e.children[i];
      if (v.kind != Kind::param) return {};
      out.push_back(KeyParam{v.param, type});
    }
  }
  return out;
}

// A filter that is one comparison (BETWEEN, >=, >, <=, <, =) of a column of
// a type other than float64 with parameters. When a planned key range is led
// by that column and its bounds are those parameters, each non-NULL and of
// the column's type, the range reads exactly the rows the filter selects:
// they need no evaluation (for W5's BETWEEN on an index, that was the
// evaluation of every candidate). As for exact_key_shape(), the type test
// keeps the driver's key coercion an identity, so the key order and
// compare() agree on the bounds; NULLs sort below every value in a key, and
// a comparison with NULL is never true.
struct RangeShape {
  bool comparison = false;  // false: the filter is not such a comparison
  ast::Expr::Kind kind{};
  std::size_t first = kNone;   // the parameter compared (BETWEEN's lower bound)
  std::size_t second = kNone;  // BETWEEN's upper bound
  ValueType type{};
  bool leads_primary_key = false;
  std::vector<std::string> leading_indexes;  // the indexes the column leads
};
RangeShape range_shape(const TableSchema& t, const RowLayout& layout, const ast::Expr* where) {
  using Kind = ast::Expr::Kind;
  RangeShape r;
  if (!where) return r;
  const ast::Expr& e = *where;
  switch (e.kind) {
    case Kind::between:
    case Kind::eq:
    case Kind::ge:
    case Kind::gt:
    case Kind::le:
    case Kind::lt: break;
    default: return r;
  }
  if (e.children.size() != (e.kind == Kind::between ? 3u : 2u) ||
      e.children[0].kind != Kind::column)
    return r;
  const std::string& column = e.children[0].column;
  auto p = layout.position(column);
  if (!p.ok() || layout.type(*p) == ValueType::float64) return r;
  auto param = [&](std::size_t i) {
    return e.children[i].kind == Kind::param ? e.children[i].param : kNone;
  };
  r.comparison = true;
  r.kind = e.kind;
  r.type = layout.type(*p);
  r.first = param(1);
  if (e.kind == Kind::between) r.second = param(2);
  r.leads_primary_key = !t.primary_key.empty() && t.primary_key.front() == column;
  for (auto ix = t.indexes.begin(); ix != t.indexes.end(); ++ix) {
    // A planned range names its index; the first index of that name is it.
    const bool first_of_name = std::find_if(t.indexes.begin(), ix, [&](const IndexDef& i) {
                                 return i.name == ix->name;
                               }) == ix;
    if (first_of_name && !ix->columns.empty() && ix->columns.front() == column)
      r.leading_indexes.push_back(ix->name);
  }
  return r;
}

struct OrderKey {
  std::size_t column;
  bool descending;
  ValueType type;  // the column's: every value held is NULL or of it
};

// The row positions a held select reads before the filter and the ordering
// have decided on a row (`first`), and the rest, read only once it is kept.
struct ColumnSplit {
  std::vector<std::size_t> first, rest;
};

}  // namespace

// Everything execute() derives from a statement and its table without
// looking at parameter values. Immutable once built; holds the statement's
// parts by address, so the statement must outlive it.
class Prepared {
 public:
  Prepared(const ast::Statement& statement, const TableSchema& table)
      : statement_(&statement),
        table_(&table),
        layout(table),
        where(where_of(statement)),
        filter(where, layout),
        filter_positions(filter.positions()),
        exact_key(exact_key_shape(table, layout, where)),
        key_list(key_list_shape(table, layout, where)),
        range(range_shape(table, layout, where)),
        access(shape_access(table, where)) {
    for (std::size_t i = 0; i < table.primary_key.size(); ++i)
      key_positions.push_back(layout.key_position(i));
    if (const auto* s = std::get_if<ast::Select>(&statement)) prepare_select(*s);
    if (const auto* u = std::get_if<ast::Update>(&statement)) {
      for (const auto& a : u->set) {
        set_expression = set_expression || a.has_value;
        set_columns.push_back(a.column);
        set_params.push_back(a.param);
      }
    }
  }

  // True when built for exactly these objects.
  bool built_for(const ast::Statement& statement, const TableSchema& table) const {
    return statement_ == &statement && table_ == &table;
  }

 private:
  const ast::Statement* statement_;
  const TableSchema* table_;

 public:
  const RowLayout layout;
  const ast::Expr* const where;  // null: no filter
  const Filter filter;
  const std::vector<std::size_t> filter_positions;  // filter.positions()
  const std::vector<KeyParam> exact_key;            // see exact_key_shape()
  const std::vector<KeyParam> key_list;             // see key_list_shape()
  const RangeShape range;
  const AccessShape access;
  std::vector<std::size_t> key_positions;  // of each primary-key column (kNoColumn: none)

  // Selects: the projection (positions, unless `all`: every column in table
  // order), the ordering, and the first error naming a column the table
  // lacks (projection first, then ordering).
  bool all = false;
  std::vector<std::size_t> projection;
  std::vector<std::size_t> held_projection;  // projection, or every position if `all`
  std::vector<OrderKey> order;
  // Every ordering column is scalar (is_scalar()), and there are at most
  // kMaxScalarKeys of them: a bounded select ranks by ScalarKey.
  bool scalar_order = false;
  std::optional<Error> column_error;
  // For held selects: with the filter evaluated ([1]) or not ([0]).
  std::array<ColumnSplit, 2> split;

  // Updates: the columns set and the parameter of each; set_expression: some
  // column is set to an expression, which key-value drivers refuse.
  std::vector<std::string> set_columns;
  std::vector<std::size_t> set_params;
  bool set_expression = false;

 private:
  static const ast::Expr* where_of(const ast::Statement& statement) {
    return std::visit(
        [](const auto& s) -> const ast::Expr* {
          if constexpr (requires { s.has_where; })
            return s.has_where ? &s.where : nullptr;
          else
            return nullptr;
        },
        statement);
  }

  void prepare_select(const ast::Select& s) {
    all = layout.is_all(s.columns);
    if (!all)
      for (const auto& col : s.columns) {
        auto p = layout.position(col);
        if (!p.ok()) {
          column_error = std::move(p).error();
          return;
        }
        projection.push_back(*p);
      }
    for (const auto& o : s.order_by) {
      auto p = layout.position(o.column);
      if (!p.ok()) {
        column_error = std::move(p).error();
        return;
      }
      order.push_back(OrderKey{*p, o.descending, layout.type(*p)});
    }
    scalar_order = !order.empty() && order.size() <= kMaxScalarKeys &&
                   std::all_of(order.begin(), order.end(),
                               [](const OrderKey& k) { return is_scalar(k.type); });
    held_projection = projection;
    if (all)
      for (std::size_t i = 0; i < layout.size(); ++i) held_projection.push_back(i);
    for (int filtered = 0; filtered < 2; ++filtered) {
      std::vector<bool> needed(layout.size());
      if (filtered) filter.mark_columns(needed);
      for (const OrderKey& k : order) needed[k.column] = true;
      ColumnSplit& c = split[static_cast<std::size_t>(filtered)];
      for (std::size_t i = 0; i < layout.size(); ++i) (needed[i] ? c.first : c.rest).push_back(i);
    }
  }
};

// Reaches PlanSlot's pointer for execute().
struct SlotAccess {
  // The slot's Prepared, built now if it has none. Two threads may both
  // build one; the first to publish it wins and the other's is freed.
  static const Prepared& get(PlanSlot& slot, const ast::Statement& statement,
                             const TableSchema& table) {
    if (const Prepared* p = slot.prepared_.load(std::memory_order_acquire)) return *p;
    auto fresh = std::make_unique<const Prepared>(statement, table);
    const Prepared* expected = nullptr;
    if (slot.prepared_.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel,
                                               std::memory_order_acquire))
      return *fresh.release();
    return *expected;
  }
};

PlanSlot::~PlanSlot() { delete prepared_.load(std::memory_order_acquire); }

namespace {

// Streams matching rows from the store, projecting `columns`. Only the
// columns the filter reads are copied out of the store's rows; the getters
// read the store's current row directly, through the projection. Without a
// filter nothing is copied, and a whole-row select (projection null) maps no
// column.
class FilterRows final : public Rows {
 public:
  // `filtered`: whether the statement's filter is evaluated on each row.
  // `owned`: `prepared` itself when it belongs to no slot, else null.
  FilterRows(const Prepared& prepared, std::unique_ptr<const Prepared> owned, bool filtered,
             std::span<const Value> params, std::int64_t offset, std::int64_t limit)
      : owned_(std::move(owned)),
        prepared_(&prepared),
        filter_(filtered ? &prepared.filter : nullptr),
        params_(params),
        all_(prepared.all),
        skip_(offset),
        left_(limit) {
    if (filter_) row_.resize(prepared.layout.size());
  }

  // Where the access path's rows go (see read_access).
  Source& source() { return source_; }

  Result<bool> next() override {
    if (left_ == 0) return false;
    Rows& in = *source_.rows;
    const RowLayout& layout = prepared_->layout;
    for (;;) {
      auto n = in.next();
      if (!n.ok() || !*n) return n;
      if (filter_) {
        for (std::size_t i : prepared_->filter_positions)
          row_[i] = read_value(in, i, layout.type(i));
        if (const Error* e = in.conversion_error()) return *e;
        if (!filter_->matches(row_, params_)) continue;
      }
      if (skip_ > 0) {
        --skip_;
        continue;
      }
      if (left_ > 0) --left_;
      return true;
    }
  }
  std::size_t column_count() const override {
    return all_ ? prepared_->layout.size() : prepared_->projection.size();
  }
  bool is_null(std::size_t c) override { return in().is_null(at(c)); }
  bool get_bool(std::size_t c) override { return in().get_bool(at(c)); }
  std::int64_t get_int64(std::size_t c) override { return in().get_int64(at(c)); }
  double get_double(std::size_t c) override { return in().get_double(at(c)); }
  std::string_view get_text(std::size_t c) override { return in().get_text(at(c)); }
  std::span<const std::byte> get_bytes(std::size_t c) override { return in().get_bytes(at(c)); }
  Timestamp get_timestamp(std::size_t c) override { return in().get_timestamp(at(c)); }
  Date get_date(std::size_t c) override { return in().get_date(at(c)); }
  const Error* conversion_error() const override { return source_.rows->conversion_error(); }
  // Unfiltered: the store's count less the offset still to skip, within
  // the limit.
  std::size_t size_hint() const override {
    if (filter_ || left_ == 0) return 0;
    std::size_t n = source_.rows->size_hint();
    const auto skip = static_cast<std::size_t>(skip_);
    n = n > skip ? n - skip : 0;
    return left_ > 0 ? std::min(n, static_cast<std::size_t>(left_)) : n;
  }

 private:
  Rows& in() { return *source_.rows; }
  std::size_t at(std::size_t c) const { return all_ ? c : prepared_->projection[c]; }

  // Declared first, destroyed last: the source's operation names its columns
  // through spans into the layout.
  std::unique_ptr<const Prepared> owned_;
  const Prepared* prepared_;
  Source source_;
  const Filter* filter_;  // null: every row read matches
  std::span<const Value> params_;
  bool all_;  // every column, in table order
  std::int64_t skip_;
  std::int64_t left_;  // -1: unlimited
  Row row_;            // the current row at the filter's positions; other slots NULL
};

// What the thread's last find by key left for its next one: the KeyRows'
// block and the key's storage (a malloc and free of each cost ~160
// instructions). Freed with the thread; `alive` keeps a key released after
// that (in a static destructor) off it, as SpareBlock does its block.
struct Spare {
  SpareBlock block;
  Row key;  // empty, with capacity
  bool alive = true;
  Spare() = default;
  Spare(const Spare&) = delete;
  Spare& operator=(const Spare&) = delete;
  ~Spare() { alive = false; }
};
thread_local Spare spare;

Row spare_key_row() { return std::move(spare.key); }
void recycle_key_row(Row key) {
  Spare& s = spare;
  if (!s.alive || s.key.capacity() >= key.capacity()) return;
  key.clear();
  s.key = std::move(key);
}

// The GetByKey of a select of the row with the key the filter names (see
// exact_key_shape()) with no ordering, offset or limit: its rows, every
// column in table order, are the answer (before projection), so nothing is
// planned, filtered or counted. The key is that of has_exact_key(prep,
// params), built in the thread's spare storage: a GetByKey's keys need only
// live during exec().
Result<ExecResponse> get_by_exact_key(Connection& c, const TableSchema& t, const Prepared& prep,
                                      std::span<const Value> params) {
  Row key = spare_key_row();
  for (const KeyParam& k : prep.exact_key) key.push_back(params[k.param]);
  Result<ExecResponse> r = read_columns(prep.layout, [&](std::span<const std::string> cols) {
    return c.exec(op::GetByKey{t.name, std::span<const Row>(&key, 1), cols});
  });
  recycle_key_row(std::move(key));
  if (r.ok() && !r->rows)
    r->rows = std::make_unique<ValueRows>(prep.layout.size(), std::vector<Row>{});
  return r;
}

// The rows of get_by_exact_key() projected to a select's columns (a select of
// every column in table order needs no projection and reads the driver's
// rows themselves).
class KeyRows final : public Rows {
 public:
  KeyRows(const Prepared& prepared, std::unique_ptr<const Prepared> owned, std::unique_ptr<Rows> in)
      : owned_(std::move(owned)), prepared_(&prepared), in_(std::move(in)) {}
  KeyRows(const KeyRows&) = delete;
  KeyRows& operator=(const KeyRows&) = delete;

  // A projected find by key allocates no KeyRows: one is kept per thread
  // for its next find (see Spare).
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;

  Result<bool> next() override { return in_->next(); }
  std::size_t column_count() const override {
    return prepared_->all ? prepared_->layout.size() : prepared_->projection.size();
  }
  bool is_null(std::size_t c) override { return in_->is_null(at(c)); }
  bool get_bool(std::size_t c) override { return in_->get_bool(at(c)); }
  std::int64_t get_int64(std::size_t c) override { return in_->get_int64(at(c)); }
  double get_double(std::size_t c) override { return in_->get_double(at(c)); }
  std::string_view get_text(std::size_t c) override { return in_->get_text(at(c)); }
  std::span<const std::byte> get_bytes(std::size_t c) override { return in_->get_bytes(at(c)); }
  Timestamp get_timestamp(std::size_t c) override { return in_->get_timestamp(at(c)); }
  Date get_date(std::size_t c) override { return in_->get_date(at(c)); }
  const Error* conversion_error() const override { return in_->conversion_error(); }

 private:
  std::size_t at(std::size_t c) const { return prepared_->all ? c : prepared_->projection[c]; }

  // Destroyed in reverse: the rows first, then the analysis whose column
  // names the operation may have named (see read_columns()).
  std::unique_ptr<const Prepared> owned_;
  const Prepared* prepared_;
  std::unique_ptr<Rows> in_;
};

void* KeyRows::operator new(std::size_t size) { return spare.block.take(size, sizeof(KeyRows)); }

void KeyRows::operator delete(void* p, std::size_t size) noexcept {
  spare.block.keep(p, size, sizeof(KeyRows));
}

// True when every parameter binding the primary key the filter names (see
// exact_key_shape()) is non-NULL and of its column's type.
bool has_exact_key(const Prepared& p, std::span<const Value> params) {
  if (p.exact_key.empty()) return false;
  for (const KeyParam& k : p.exact_key)
    if (k.param >= params.size() || params[k.param].is_null() || params[k.param].type() != k.type)
      return false;
  return true;
}
// That key when has_exact_key(); else nullopt.
std::optional<Row> exact_key(const Prepared& p, std::span<const Value> params) {
  if (!has_exact_key(p, params)) return std::nullopt;
  Row key;
  key.reserve(p.exact_key.size());
  for (const KeyParam& k : p.exact_key) key.push_back(params[k.param]);
  return key;
}

// True when the filter only binds primary-key columns to keys (see
// key_list_shape()) and every parameter is non-NULL and of its column's type.
bool key_lookup_only(const Prepared& p, std::span<const Value> params) {
  if (p.key_list.empty()) return false;
  for (const KeyParam& k : p.key_list)
    if (k.param >= params.size() || params[k.param].is_null() || params[k.param].type() != k.type)
      return false;
  return true;
}

// True when the key range `a` reads exactly the rows the filter selects
// (see RangeShape).
bool range_only(const Prepared& p, std::span<const Value> params, const Access& a) {
  using Kind = ast::Expr::Kind;
  const RangeShape& r = p.range;
  if (!r.comparison) return false;
  if (a.kind == Access::Kind::query_pk) {
    if (!r.leads_primary_key) return false;
  } else if (a.kind == Access::Kind::query_index) {
    if (std::find(r.leading_indexes.begin(), r.leading_indexes.end(), a.index) ==
        r.leading_indexes.end())
      return false;
  } else {
    return false;
  }
  auto param = [&](std::size_t i) -> const Value* {
    if (i >= params.size()) return nullptr;  // also kNone: not a parameter
    const Value& v = params[i];
    return v.is_null() || v.type() != r.type ? nullptr : &v;
  };
  const Value *lo = nullptr, *hi = nullptr;
  bool lo_inclusive = true, hi_inclusive = true;
  switch (r.kind) {
    case Kind::between:
      lo = param(r.first);
      hi = param(r.second);
      if (!lo || !hi) return false;
      break;
    case Kind::eq: lo = hi = param(r.first); break;
    case Kind::ge:
    case Kind::gt:
      lo = param(r.first);
      lo_inclusive = r.kind == Kind::ge;
      break;
    default:  // le, lt
      hi = param(r.first);
      hi_inclusive = r.kind == Kind::le;
      break;
  }
  if (!lo && !hi) return false;
  if (a.lower.size() != (lo ? 1u : 0u) || a.upper.size() != (hi ? 1u : 0u)) return false;
  if (lo && (!(a.lower[0] == *lo) || a.lower_inclusive != lo_inclusive)) return false;
  if (hi && (!(a.upper[0] == *hi) || a.upper_inclusive != hi_inclusive)) return false;
  return true;
}

// The first `keep` rows of `in` that pass `filter` (null: every row), in
// the order of prep.order (prep.scalar_order), equal keys in arrival order:
// what std::stable_sort of every match would put first. A bounded max-heap
// of (ScalarKey, arrival, slot) ranked last at its front; the rows live in
// `held` by slot, and a displaced row's slot (and its Values' storage) takes
// the row that displaced it. A candidate is read as its key's scalars
// alone (with the filter's columns when filtered) until it ranks among the
// first `keep`. N: the number of ordering columns, or kMaxScalarKeys for
// any number up to it (one column, the usual case, compares and moves less).
template <std::size_t N>
Status top_rows(Rows& in, const Prepared& prep, const Filter* filter, std::span<const Value> params,
                std::size_t keep, std::vector<Row>& hits) {
  const RowLayout& layout = prep.layout;
  const std::vector<OrderKey>& keys = prep.order;
  using ScalarKey = std::array<Scalar, N>;
  struct Entry {
    ScalarKey key;
    std::size_t arrival;
    std::size_t slot;
  };
  const std::size_t count = std::min(N, keys.size());
  auto order = [&](const ScalarKey& a, const ScalarKey& b) {
    for (std::size_t i = 0; i < count; ++i) {
      const int cmp = compare_scalar(a[i], b[i], keys[i].type);
      if (cmp != 0) return keys[i].descending ? -cmp : cmp;
    }
    return 0;
  };
  auto before = [&](const Entry& a, const Entry& b) {
    const int cmp = order(a.key, b.key);
    return cmp != 0 ? cmp < 0 : a.arrival < b.arrival;
  };
  std::vector<Entry> heap;
  std::vector<Row> held;
  heap.reserve(std::min<std::size_t>(keep, 1024));
  held.reserve(heap.capacity());
  const ColumnSplit& split = prep.split[1];  // the filter's columns first
  Row row;                                   // filtered: the filter's columns
  if (filter) row.resize(layout.size());
  for (std::size_t arrival = 0;; ++arrival) {
    auto n = in.next();
    if (!n.ok()) return std::move(n).error();
    if (!*n) break;
    if (filter) {
      for (std::size_t i : split.first) row[i] = read_value(in, i, layout.type(i));
      if (const Error* e = in.conversion_error()) return *e;
      if (!filter->matches(row, params)) continue;
    }
    Entry entry{{}, arrival, 0};
    for (std::size_t i = 0; i < count; ++i)
      entry.key[i] = read_scalar(in, keys[i].column, keys[i].type);
    if (const Error* e = in.conversion_error()) return *e;
    // Full: the row arrived after every kept one, so it displaces the last
    // only if its key ranks strictly before.
    const bool full = heap.size() >= keep;
    if (full && (keep == 0 || order(entry.key, heap.front().key) >= 0)) continue;
    if (full) {
      std::pop_heap(heap.begin(), heap.end(), before);
      entry.slot = heap.back().slot;
      heap.pop_back();
    } else {
      entry.slot = held.size();
      held.emplace_back();
    }
    Row& r = held[entry.slot];
    r.resize(layout.size());
    if (filter) {
      for (std::size_t i : split.first) r[i] = std::move(row[i]);
      for (std::size_t i : split.rest) r[i] = read_value(in, i, layout.type(i));
    } else {
      for (std::size_t i = 0; i < layout.size(); ++i) r[i] = read_value(in, i, layout.type(i));
    }
    if (const Error* e = in.conversion_error()) return *e;
    heap.push_back(entry);
    std::push_heap(heap.begin(), heap.end(), before);
  }
  std::sort_heap(heap.begin(), heap.end(), before);
  hits.reserve(heap.size());
  for (const Entry& e : heap) hits.push_back(std::move(held[e.slot]));
  return {};
}

// The rows of `in` that pass `filter` (null: every row), in the order of
// prep.order (none: as read), equal keys in the order the store returned
// them; with `keep`, only the first `keep` of them: a bounded heap ranked by
// (sort key, arrival), which keeps what std::stable_sort of every match
// would. The columns the filter and the ordering read come first; the rest
// of a row is read only once it is kept, and only for a `whole` row (count
// and exists never need them).
Status hold_rows(Rows& in, const Prepared& prep, const Filter* filter,
                 std::span<const Value> params, std::optional<std::size_t> keep, bool whole,
                 std::vector<Row>& hits) {
  const RowLayout& layout = prep.layout;
  const std::vector<OrderKey>& keys = prep.order;
  auto order = [&](const Row& a, const Row& b) {
    for (const OrderKey& k : keys) {
      const int cmp = compare_same_type(a[k.column], b[k.column], k.type);
      if (cmp != 0) return k.descending ? -cmp : cmp;
    }
    return 0;
  };
  struct Ranked {
    Row row;
    std::size_t arrival;
  };
  auto before = [&](const Ranked& a, const Ranked& b) {
    const int cmp = order(a.row, b.row);
    return cmp != 0 ? cmp < 0 : a.arrival < b.arrival;
  };
  const bool bounded = keep.has_value();
  std::vector<Ranked> top;  // bounded: a max-heap under `before`, its front ranked last
  const ColumnSplit& split = prep.split[filter ? 1 : 0];
  Row row;
  for (std::size_t arrival = 0;; ++arrival) {
    auto n = in.next();
    if (!n.ok()) return std::move(n).error();
    if (!*n) break;
    // Slots of `rest` may hold a rejected row's values until read below.
    row.resize(layout.size());
    for (std::size_t i : split.first) row[i] = read_value(in, i, layout.type(i));
    if (const Error* e = in.conversion_error()) return *e;
    if (filter && !filter->matches(row, params)) continue;
    // Bounded and full: the row arrived after every kept one, so it displaces
    // the last only if its key ranks strictly before.
    const bool displaces = bounded && top.size() >= *keep;
    if (displaces && (*keep == 0 || order(row, top.front().row) >= 0)) continue;
    if (whole) {
      for (std::size_t i : split.rest) row[i] = read_value(in, i, layout.type(i));
      if (const Error* e = in.conversion_error()) return *e;
    }
    if (!bounded) {
      hits.push_back(std::move(row));
      row = Row();
    } else if (!displaces) {
      top.push_back(Ranked{std::move(row), arrival});
      std::push_heap(top.begin(), top.end(), before);
      row = Row();
    } else {
      std::pop_heap(top.begin(), top.end(), before);
      std::swap(top.back().row, row);  // the displaced row's storage is reused
      top.back().arrival = arrival;
      std::push_heap(top.begin(), top.end(), before);
    }
  }
  if (bounded) {
    std::sort_heap(top.begin(), top.end(), before);
    hits.reserve(top.size());
    for (auto& r : top) hits.push_back(std::move(r.row));
  } else if (!keys.empty()) {
    std::stable_sort(hits.begin(), hits.end(),
                     [&](const Row& a, const Row& b) { return order(a, b) < 0; });
  }
  return {};
}

// True when `s` selects the row of the key its filter names (see KeyRows):
// no ordering, no offset or limit, and parameters that form the key.
bool selects_by_key(const ast::Select& s, const Prepared& prep, std::span<const Value> params) {
  return s.projection == ast::Select::Projection::columns && s.order_by.empty() &&
         s.limit_param < 0 && s.offset_param < 0 && !prep.column_error &&
         has_exact_key(prep, params);
}

// The select selects_by_key() accepts: one GetByKey, whose rows are the
// answer for every column in table order (-210 instructions a find against
// a KeyRows around them), else projected through KeyRows. A Prepared owned
// here (outside the plan contract) stays with the rows: the operation may
// have named its layout's columns.
Result<ExecResponse> select_by_key(Connection& c, const TableSchema& t, const Prepared& prep,
                                   std::unique_ptr<const Prepared> owned,
                                   std::span<const Value> params) {
  Result<ExecResponse> r = get_by_exact_key(c, t, prep, params);
  if (!r.ok() || (prep.all && !owned)) return r;
  r->rows = std::unique_ptr<Rows>(new KeyRows(prep, std::move(owned), std::move(r->rows)));
  return r;
}

Result<ExecResponse> execute_select(Connection& c, const ast::Select& s,
                                    std::span<const Value> params, const TableSchema& t,
                                    const Prepared& prep, std::unique_ptr<const Prepared> owned) {
  const RowLayout& layout = prep.layout;
  bool filtered = prep.where != nullptr;
  const bool streams = s.projection == ast::Select::Projection::columns && s.order_by.empty();
  Source src;
  if (auto key = exact_key(prep, params)) {
    // What plan_access() would choose (cost 1), without its general analysis.
    src.access.kind = Access::Kind::get_by_key;
    src.access.cost = 1;
    src.key = std::move(*key);
    src.single_key = true;
    filtered = false;  // the store returns exactly the matching row
  } else {
    auto planned = plan_access(prep.access, params, c.capability());
    if (!planned.ok()) return std::move(planned).error();
    src.access = std::move(*planned);
    if ((src.access.kind == Access::Kind::get_by_key && key_lookup_only(prep, params)) ||
        range_only(prep, params, src.access))
      filtered = false;  // the store returns exactly the matching rows
  }
  auto limit = param_int(s.limit_param, params);
  if (!limit.ok()) return std::move(limit).error();
  auto offset = param_int(s.offset_param, params);
  if (!offset.ok()) return std::move(offset).error();
  if (prep.column_error) return *prep.column_error;

  ExecResponse resp;
  const std::int64_t off = std::max<std::int64_t>(*offset, 0);
  if (streams && !filtered && prep.all && off == 0 && *limit < 0 && !owned &&
      src.access.kind == Access::Kind::scan) {
    // Every row, every column, as the store returns them: its rows are the
    // answer, with no wrapper to hop through per row and cell. op::Scan names
    // only the table's name and, if any, the layout's column names, which
    // outlive the rows (the engine's table schema and the slot's analysis).
    if (auto st = read_access(c, t, layout, src); !st.ok()) return std::move(st).error();
    resp.rows = std::move(src.rows);
    return resp;
  }
  if (streams) {
    auto rows = std::make_unique<FilterRows>(prep, std::move(owned), filtered, params, off, *limit);
    rows->source() = std::move(src);
    if (auto st = read_access(c, t, layout, rows->source()); !st.ok()) return std::move(st).error();
    resp.rows = std::move(rows);
    return resp;
  }
  if (auto st = read_access(c, t, layout, src); !st.ok()) return std::move(st).error();
  Source* const source = &src;

  // Count, exists, or ordered: hold the matches (ordered with a LIMIT, only
  // the first offset + limit of them).
  const bool bounded =
      !prep.order.empty() && *limit >= 0 && s.projection == ast::Select::Projection::columns;
  const std::size_t keep = static_cast<std::size_t>(off) + static_cast<std::size_t>(*limit);
  const Filter* const filter = filtered ? &prep.filter : nullptr;
  std::vector<Row> hits;
  const Status held =
      bounded && prep.scalar_order
          ? (prep.order.size() == 1
                 ? top_rows<1>(*source->rows, prep, filter, params, keep, hits)
                 : top_rows<kMaxScalarKeys>(*source->rows, prep, filter, params, keep, hits))
          : hold_rows(*source->rows, prep, filter, params,
                      bounded ? std::optional(keep) : std::nullopt,
                      s.projection == ast::Select::Projection::columns, hits);
  if (!held.ok()) return held.error();
  const std::size_t begin = std::min(hits.size(), static_cast<std::size_t>(off));
  std::size_t end = hits.size();
  if (*limit >= 0) end = std::min(end, begin + static_cast<std::size_t>(*limit));
  if (s.projection == ast::Select::Projection::count) {
    resp.rows = std::make_unique<ValueRows>(
        1, std::vector<Row>{{Value(static_cast<std::int64_t>(end - begin))}});
    return resp;
  }
  if (s.projection == ast::Select::Projection::exists) {
    resp.rows = std::make_unique<ValueRows>(1, std::vector<Row>{{Value(!hits.empty())}});
    return resp;
  }
  const std::vector<std::size_t>& projection = prep.held_projection;
  std::vector<Row> out;
  out.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    if (prep.all) {  // the row as held: every column in table order
      out.push_back(std::move(hits[i]));
      continue;
    }
    Row r;
    for (std::size_t p : projection) r.push_back(std::move(hits[i][p]));
    out.push_back(std::move(r));
  }
  resp.rows = std::make_unique<ValueRows>(projection.size(), std::move(out));
  return resp;
}

// The primary keys of the rows matching the statement's filter.
Result<std::vector<Row>> matching_keys(Connection& c, const TableSchema& t, const Prepared& prep,
                                       std::span<const Value> params) {
  const RowLayout& layout = prep.layout;
  auto access = plan_access(prep.access, params, c.capability());
  if (!access.ok()) return std::move(access).error();
  Source source;
  source.access = std::move(*access);
  if (auto st = read_access(c, t, layout, source); !st.ok()) return std::move(st).error();
  std::vector<Row> all;
  if (auto st = read_all(*source.rows, layout, all); !st.ok()) return std::move(st).error();
  std::vector<Row> keys;
  for (const auto& r : all) {
    if (!prep.filter.matches(r, params)) continue;
    Row k;
    for (std::size_t p : prep.key_positions) k.push_back(r[p]);
    keys.push_back(std::move(k));
  }
  return keys;
}

// The keys an update or delete applies to: the exact key of the filter when
// it has one (see exact_key; held in `one`, with no key list), else the keys
// of the rows read and matched (held in `found`).
Result<std::span<const Row>> target_keys(Connection& c, const TableSchema& t, const Prepared& prep,
                                         std::span<const Value> params, std::optional<Row>& one,
                                         std::vector<Row>& found) {
  one = exact_key(prep, params);
  if (one) return std::span<const Row>(&*one, 1);
  auto keys = matching_keys(c, t, prep, params);
  if (!keys.ok()) return std::move(keys).error();
  found = std::move(*keys);
  return std::span<const Row>(found);
}

}  // namespace

Result<ExecResponse> execute(Connection& c, const ast::Statement& statement,
                             std::span<const Value> params, const TableSchema& table,
                             PlanSlot& slot) {
  const Prepared* prep = &SlotAccess::get(slot, statement, table);
  std::unique_ptr<const Prepared> owned;  // outside the contract: analysed afresh
  if (!prep->built_for(statement, table)) [[unlikely]] {
    owned = std::make_unique<const Prepared>(statement, table);
    prep = owned.get();
  }
  if (const auto* s = std::get_if<ast::Select>(&statement)) {
    if (selects_by_key(*s, *prep, params))
      return select_by_key(c, table, *prep, std::move(owned), params);
    return execute_select(c, *s, params, table, *prep, std::move(owned));
  }
  std::optional<Row> one;
  std::vector<Row> found;
  if (std::holds_alternative<ast::Update>(statement)) {
    auto keys = target_keys(c, table, *prep, params, one, found);
    if (!keys.ok()) return std::move(keys).error();
    if (keys->empty()) return ExecResponse{};
    if (prep->set_expression)
      return Error(ErrorKind::unsupported,
                   "key-value drivers set columns to values, not expressions");
    std::vector<Value> values;
    values.reserve(prep->set_params.size());
    for (std::size_t p : prep->set_params)
      values.push_back(p < params.size() ? params[p] : Value());
    return c.exec(op::UpdateByKey{table.name, *keys, prep->set_columns, values});
  }
  if (std::holds_alternative<ast::Delete>(statement)) {
    auto keys = target_keys(c, table, *prep, params, one, found);
    if (!keys.ok()) return std::move(keys).error();
    if (keys->empty()) return ExecResponse{};
    return c.exec(op::DeleteByKey{table.name, *keys});
  }
  return Error(ErrorKind::unsupported, "key-value drivers take inserts through op::Insert");
}

}  // namespace tessera::kv
