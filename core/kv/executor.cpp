#include "core/kv/executor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/kv/evaluate.hpp"
#include "core/kv/planner.hpp"

namespace tessera::kv {

namespace {

using Row = std::vector<Value>;

// Column positions and types of a table, for evaluating expressions on full
// rows. Immutable once built; layout_for() shares one per schema.
class RowLayout {
 public:
  explicit RowLayout(const TableSchema& t) : table_(t.name), primary_key_(t.primary_key) {
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
  // True when `t` has this layout's table name, column names and types,
  // and primary key.
  bool describes(const TableSchema& t) const {
    if (t.name != table_ || t.columns.size() != names_.size() || t.primary_key != primary_key_)
      return false;
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (t.columns[i].name != names_[i] || value_type_of(t.columns[i].type) != types_[i])
        return false;
    return true;
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
  std::vector<std::string> primary_key_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::string> names_;
  std::vector<ValueType> types_;
  std::vector<std::size_t> key_positions_;
};

// The layout of `t`, built on first use and then shared: the engine keeps
// each TableSchema for its own lifetime and passes the same object for every
// statement on the table, so the cache is keyed by address. An address can
// be reused by another schema after an engine is destroyed, hence the
// describes() check on every hit (a few string compares, no allocation).
// The returned layout stays valid for as long as the caller holds it, even if
// the cache replaces or drops its entry. Thread-safe.
std::shared_ptr<const RowLayout> layout_for(const TableSchema& t) {
  // The thread's last answer first: statements in a row mostly name one
  // table, and this skips the lock and the hash.
  thread_local const TableSchema* last_schema = nullptr;
  thread_local std::shared_ptr<const RowLayout> last;
  if (last_schema == &t && last->describes(t)) return last;
  // Bounds the memory held for schemas that no longer exist.
  constexpr std::size_t kMaxCached = 256;
  static std::mutex mutex;
  static std::unordered_map<const TableSchema*, std::shared_ptr<const RowLayout>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(&t); it != cache.end() && it->second->describes(t)) {
    last_schema = &t;
    last = it->second;
    return it->second;
  }
  auto layout = std::make_shared<const RowLayout>(t);
  if (cache.size() >= kMaxCached) cache.clear();
  cache.insert_or_assign(&t, layout);
  last_schema = &t;
  last = layout;
  return layout;
}

// A statement's filter, its column references resolved to row positions
// once (by the address of each column node's name, which evaluate() passes
// back to the reader), so testing a row does no name lookup. A column the
// table lacks reads as NULL. Holds `where`, `params` and `layout` by
// reference: they must outlive it.
class Filter {
 public:
  Filter(const ast::Expr* where, std::span<const Value> params, const RowLayout& layout)
      : where_(where), params_(params), layout_(&layout) {
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
  // only the positions mark_columns() names are read).
  bool matches(const Row& row) const {
    if (!where_) return true;
    static const Value null_value;
    auto reader = [&](const std::string& c) -> const Value& {
      for (std::size_t i = 0; i < count_; ++i)
        if (columns_[i].first == &c) return row[columns_[i].second];
      auto p = layout_->position(c);  // beyond kMaxColumns
      return p.ok() ? row[*p] : null_value;
    };
    return evaluate(*where_, params_, reader) == Truth::true_;
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
  std::span<const Value> params_;
  const RowLayout* layout_;
  // Inline, as most filters name few columns: no allocation per statement.
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
  const std::span<const std::string> cols(layout.names());
  // Every case sets it (an empty response until then: no Error is built).
  Result<ExecResponse> r = ExecResponse{};
  switch (a.kind) {
    case Access::Kind::get_by_key: {
      const std::span<const Row> keys =
          src->single_key ? std::span<const Row>(&src->key, 1) : std::span<const Row>(a.keys);
      r = c.exec(op::GetByKey{t.name, keys, cols});
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
      // Read the rows now: `keys` dies with this frame.
      auto rows = c.exec(op::GetByKey{t.name, keys, cols});
      if (!rows.ok()) return std::move(rows).error();
      std::vector<Row> all;
      if (rows->rows)
        if (auto st = read_all(*rows->rows, layout, all); !st.ok()) return std::move(st).error();
      src->rows = std::make_unique<ValueRows>(layout.size(), std::move(all));
      return {};
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
      q.columns = cols;
      r = c.exec(q);
      break;
    }
    case Access::Kind::scan: r = c.exec(op::Scan{t.name, cols}); break;
  }
  if (!r.ok()) return std::move(r).error();
  src->rows =
      r->rows ? std::move(r->rows) : std::make_unique<ValueRows>(layout.size(), std::vector<Row>{});
  return {};
}

// Streams matching rows from the store, projecting `columns`. Only the
// columns the filter reads are copied out of the store's rows; the getters
// read the store's current row directly, through the projection. Without a
// filter nothing is copied, and a whole-row select (projection null) maps no
// column.
class FilterRows final : public Rows {
 public:
  FilterRows(std::shared_ptr<const RowLayout> layout, const ast::Expr* where,
             std::span<const Value> params, std::vector<std::size_t> projection, bool all,
             std::int64_t offset, std::int64_t limit)
      : layout_(std::move(layout)),
        filter_(where, params, *layout_),
        has_filter_(where != nullptr),
        projection_(std::move(projection)),
        all_(all),
        skip_(offset),
        left_(limit) {
    if (has_filter_) {
      filtered_ = filter_.positions();
      row_.resize(layout_->size());
    }
  }

  // Where the access path's rows go (see read_access).
  Source& source() { return source_; }

  Result<bool> next() override {
    if (left_ == 0) return false;
    Rows& in = *source_.rows;
    for (;;) {
      auto n = in.next();
      if (!n.ok() || !*n) return n;
      if (has_filter_) {
        for (std::size_t i : filtered_) row_[i] = read_value(in, i, layout_->type(i));
        if (const Error* e = in.conversion_error()) return *e;
        if (!filter_.matches(row_)) continue;
      }
      if (skip_ > 0) {
        --skip_;
        continue;
      }
      if (left_ > 0) --left_;
      return true;
    }
  }
  std::size_t column_count() const override { return all_ ? layout_->size() : projection_.size(); }
  bool is_null(std::size_t c) override { return in().is_null(at(c)); }
  bool get_bool(std::size_t c) override { return in().get_bool(at(c)); }
  std::int64_t get_int64(std::size_t c) override { return in().get_int64(at(c)); }
  double get_double(std::size_t c) override { return in().get_double(at(c)); }
  std::string_view get_text(std::size_t c) override { return in().get_text(at(c)); }
  std::span<const std::byte> get_bytes(std::size_t c) override { return in().get_bytes(at(c)); }
  Timestamp get_timestamp(std::size_t c) override { return in().get_timestamp(at(c)); }
  Date get_date(std::size_t c) override { return in().get_date(at(c)); }
  const Error* conversion_error() const override { return source_.rows->conversion_error(); }

 private:
  Rows& in() { return *source_.rows; }
  std::size_t at(std::size_t c) const { return all_ ? c : projection_[c]; }

  // Declared first, destroyed last: the source's operation names its columns
  // through spans into the layout.
  std::shared_ptr<const RowLayout> layout_;
  Source source_;
  Filter filter_;
  bool has_filter_;
  std::vector<std::size_t> projection_;  // unless all_
  bool all_;                             // every column, in table order
  std::int64_t skip_;
  std::int64_t left_;                  // -1: unlimited
  std::vector<std::size_t> filtered_;  // the positions the filter reads
  Row row_;                            // the current row at `filtered_`; other slots NULL
};

// The primary key `where` names when it is exactly one equality per
// primary-key column (`column = parameter`, joined by AND, nothing else) and
// every such parameter is non-NULL and already of its column's type;
// otherwise nullopt. Such a filter matches the row with that key and no
// other, so a select reads it with one GetByKey and no planning or
// evaluation, and an update or delete goes straight to UpdateByKey /
// DeleteByKey: the driver skips a missing key, counts the rows it changed,
// and checks the constraints, as it does for the keys matching_keys()
// finds. The type test
// keeps the driver's key coercion an identity, so key equality and the
// filter's equality agree; float64 keys are left to the general path, since
// evaluation and key encoding may disagree on NaN and -0.0.
std::optional<Row> exact_key(const TableSchema& t, const RowLayout& layout, const ast::Expr* where,
                             std::span<const Value> params) {
  using Kind = ast::Expr::Kind;
  if (!where || t.primary_key.empty()) return std::nullopt;
  std::span<const ast::Expr> terms(where, 1);
  if (where->kind == Kind::and_) terms = where->children;
  if (terms.size() != t.primary_key.size()) return std::nullopt;
  Row key(t.primary_key.size());  // NULL until bound; bound values are never NULL
  for (const ast::Expr& e : terms) {
    if (e.kind != Kind::eq || e.children.size() != 2 || e.children[0].kind != Kind::column ||
        e.children[1].kind != Kind::param || e.children[1].param >= params.size())
      return std::nullopt;
    const auto k = std::find(t.primary_key.begin(), t.primary_key.end(), e.children[0].column);
    if (k == t.primary_key.end()) return std::nullopt;
    const auto i = static_cast<std::size_t>(k - t.primary_key.begin());
    Value& slot = key[i];
    if (!slot.is_null()) return std::nullopt;  // the same key column twice
    const std::size_t p = layout.key_position(i);
    if (p == RowLayout::kNoColumn) return std::nullopt;
    const Value& v = params[e.children[1].param];
    const ValueType type = layout.type(p);
    if (v.is_null() || v.type() != type || type == ValueType::float64) return std::nullopt;
    slot = v;
  }
  return key;
}

// True when `where` only binds primary-key columns to keys: one conjunct
// per key column (`column = parameter` or `column IN (parameters)`, joined by
// AND, nothing else), every parameter non-NULL and already of its column's
// type (not float64). A GetByKey planned from it returns exactly the rows the
// filter selects, so they need no evaluation (for an IN list of n keys that
// was n comparisons per row). The type test keeps the driver's key coercion
// an identity, so key equality and the filter's equality agree; float64 is
// left out as evaluation and key encoding may disagree on NaN and -0.0.
bool key_lookup_only(const TableSchema& t, const RowLayout& layout, const ast::Expr* where,
                     std::span<const Value> params) {
  using Kind = ast::Expr::Kind;
  if (!where || t.primary_key.empty()) return false;
  std::span<const ast::Expr> terms(where, 1);
  if (where->kind == Kind::and_) terms = where->children;
  if (terms.size() != t.primary_key.size()) return false;
  std::uint64_t bound = 0;  // bit i: key column i has its conjunct
  if (t.primary_key.size() > 64) return false;
  for (const ast::Expr& e : terms) {
    if ((e.kind != Kind::eq && e.kind != Kind::in) || e.children.size() < 2 ||
        (e.kind == Kind::eq && e.children.size() != 2) || e.children[0].kind != Kind::column)
      return false;
    const auto k = std::find(t.primary_key.begin(), t.primary_key.end(), e.children[0].column);
    if (k == t.primary_key.end()) return false;
    const auto bit = std::uint64_t{1} << static_cast<std::size_t>(k - t.primary_key.begin());
    if (bound & bit) return false;
    bound |= bit;
    auto p = layout.position(*k);
    if (!p.ok()) return false;
    const ValueType type = layout.type(*p);
    if (type == ValueType::float64) return false;
    for (std::size_t i = 1; i < e.children.size(); ++i) {
      const ast::Expr& v = e.children[i];
      if (v.kind != Kind::param || v.param >= params.size()) return false;
      if (params[v.param].is_null() || params[v.param].type() != type) return false;
    }
  }
  return true;
}

// True when the key range `a` reads exactly the rows `where` selects:
// `where` is one comparison (BETWEEN, >=, >, <=, <, =) of the column that
// leads the range's key with parameters, every parameter non-NULL and
// already of the column's type (not float64), and the range's bounds are
// those parameters. Its rows then need no evaluation (for W5's BETWEEN on an
// index, that was the evaluation of every candidate). As for
// key_lookup_only, the type test keeps the driver's key coercion an
// identity, so the key order and compare() agree on the bounds; NULLs sort
// below every value in a key, and a comparison with NULL is never true.
bool range_only(const TableSchema& t, const RowLayout& layout, const ast::Expr* where,
                std::span<const Value> params, const Access& a) {
  using Kind = ast::Expr::Kind;
  if (!where || (a.kind != Access::Kind::query_pk && a.kind != Access::Kind::query_index))
    return false;
  const std::vector<std::string>* key = &t.primary_key;
  if (a.kind == Access::Kind::query_index) {
    const auto ix = std::find_if(t.indexes.begin(), t.indexes.end(),
                                 [&](const IndexDef& i) { return i.name == a.index; });
    if (ix == t.indexes.end()) return false;
    key = &ix->columns;
  }
  const ast::Expr& e = *where;
  if (key->empty() || e.children.empty() || e.children[0].kind != Kind::column ||
      e.children[0].column != key->front())
    return false;
  auto p = layout.position(key->front());
  if (!p.ok()) return false;
  const ValueType type = layout.type(*p);
  if (type == ValueType::float64) return false;
  auto param = [&](std::size_t i) -> const Value* {
    if (i >= e.children.size() || e.children[i].kind != Kind::param ||
        e.children[i].param >= params.size())
      return nullptr;
    const Value& v = params[e.children[i].param];
    return v.is_null() || v.type() != type ? nullptr : &v;
  };
  const Value *lo = nullptr, *hi = nullptr;
  bool lo_inclusive = true, hi_inclusive = true;
  switch (e.kind) {
    case Kind::between:
      if (e.children.size() != 3) return false;
      lo = param(1);
      hi = param(2);
      if (!lo || !hi) return false;
      break;
    case Kind::eq: lo = hi = param(1); break;
    case Kind::ge:
    case Kind::gt:
      lo = param(1);
      lo_inclusive = e.kind == Kind::ge;
      break;
    case Kind::le:
    case Kind::lt:
      hi = param(1);
      hi_inclusive = e.kind == Kind::le;
      break;
    default: return false;
  }
  if (e.children.size() != (e.kind == Kind::between ? 3u : 2u) || (!lo && !hi)) return false;
  if (a.lower.size() != (lo ? 1u : 0u) || a.upper.size() != (hi ? 1u : 0u)) return false;
  if (lo && (!(a.lower[0] == *lo) || a.lower_inclusive != lo_inclusive)) return false;
  if (hi && (!(a.upper[0] == *hi) || a.upper_inclusive != hi_inclusive)) return false;
  return true;
}

Result<ExecResponse> execute_select(Connection& c, const ast::Select& s,
                                    std::span<const Value> params, const TableSchema& t) {
  const std::shared_ptr<const RowLayout> shared_layout = layout_for(t);
  const RowLayout& layout = *shared_layout;
  const ast::Expr* where = s.has_where ? &s.where : nullptr;
  Source src;
  if (auto key = exact_key(t, layout, where, params)) {
    // What plan_access() would choose (cost 1), without its general analysis.
    src.access.kind = Access::Kind::get_by_key;
    src.access.cost = 1;
    src.key = std::move(*key);
    src.single_key = true;
    where = nullptr;  // the store returns exactly the matching row
  } else {
    auto planned = plan_access(t, where, params, c.capability());
    if (!planned.ok()) return std::move(planned).error();
    src.access = std::move(*planned);
    if ((src.access.kind == Access::Kind::get_by_key &&
         key_lookup_only(t, layout, where, params)) ||
        range_only(t, layout, where, params, src.access))
      where = nullptr;  // the store returns exactly the matching rows
  }
  auto limit = param_int(s.limit_param, params);
  if (!limit.ok()) return std::move(limit).error();
  auto offset = param_int(s.offset_param, params);
  if (!offset.ok()) return std::move(offset).error();

  // A whole-row select maps no column; others resolve each once.
  const bool all = layout.is_all(s.columns);
  std::vector<std::size_t> projection;
  if (!all)
    for (const auto& col : s.columns) {
      auto p = layout.position(col);
      if (!p.ok()) return std::move(p).error();
      projection.push_back(*p);
    }
  for (const auto& o : s.order_by)
    if (auto p = layout.position(o.column); !p.ok()) return std::move(p).error();

  ExecResponse resp;
  const std::int64_t off = std::max<std::int64_t>(*offset, 0);
  if (s.projection == ast::Select::Projection::columns && s.order_by.empty()) {
    auto rows = std::make_unique<FilterRows>(shared_layout, where, params, std::move(projection),
                                             all, off, *limit);
    rows->source() = std::move(src);
    if (auto st = read_access(c, t, layout, rows->source()); !st.ok()) return std::move(st).error();
    resp.rows = std::move(rows);
    return resp;
  }
  if (all)
    for (std::size_t i = 0; i < layout.size(); ++i) projection.push_back(i);
  if (auto st = read_access(c, t, layout, src); !st.ok()) return std::move(st).error();
  Source* const source = &src;

  // Count, exists, or ordered: hold the matches. Ordered with a LIMIT, only
  // the first offset + limit of them in that order: a bounded heap ranked by
  // (sort key, arrival), which keeps what std::stable_sort of every match
  // would, equal keys in the order the store returned them.
  struct OrderKey {
    std::size_t column;
    bool descending;
    ValueType type;  // the column's: every value held is NULL or of it
  };
  std::vector<OrderKey> keys;
  for (const auto& o : s.order_by) {
    const std::size_t i = *layout.position(o.column);
    keys.push_back(OrderKey{i, o.descending, layout.type(i)});
  }
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
  const bool bounded =
      !keys.empty() && *limit >= 0 && s.projection == ast::Select::Projection::columns;
  const std::size_t keep = static_cast<std::size_t>(off) + static_cast<std::size_t>(*limit);
  std::vector<Ranked> top;  // bounded: a max-heap under `before`, its front ranked last
  std::vector<Row> hits;
  const Filter filter(where, params, layout);
  // The columns the filter and the ordering read come first; the rest of a
  // row is read only once it is kept (count and exists never need them).
  std::vector<std::size_t> first, rest;
  {
    std::vector<bool> needed(layout.size());
    filter.mark_columns(needed);
    for (const OrderKey& k : keys) needed[k.column] = true;
    for (std::size_t i = 0; i < layout.size(); ++i) (needed[i] ? first : rest).push_back(i);
  }
  const bool whole = s.projection == ast::Select::Projection::columns;
  Rows& in = *source->rows;
  Row row;
  for (std::size_t arrival = 0;; ++arrival) {
    auto n = in.next();
    if (!n.ok()) return std::move(n).error();
    if (!*n) break;
    // Slots of `rest` may hold a rejected row's values until read below.
    row.resize(layout.size());
    for (std::size_t i : first) row[i] = read_value(in, i, layout.type(i));
    if (const Error* e = in.conversion_error()) return *e;
    if (!filter.matches(row)) continue;
    // Bounded and full: the row arrived after every kept one, so it displaces
    // the last only if its key ranks strictly before.
    const bool displaces = bounded && top.size() >= keep;
    if (displaces && (keep == 0 || order(row, top.front().row) >= 0)) continue;
    if (whole) {
      for (std::size_t i : rest) row[i] = read_value(in, i, layout.type(i));
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
  std::vector<Row> out;
  out.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    if (all) {  // the row as held: every column in table order
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

// The primary keys of the rows matching `where`.
Result<std::vector<Row>> matching_keys(Connection& c, const TableSchema& t, const ast::Expr* where,
                                       std::span<const Value> params) {
  const std::shared_ptr<const RowLayout> shared_layout = layout_for(t);
  const RowLayout& layout = *shared_layout;
  auto access = plan_access(t, where, params, c.capability());
  if (!access.ok()) return std::move(access).error();
  Source source;
  source.access = std::move(*access);
  if (auto st = read_access(c, t, layout, source); !st.ok()) return std::move(st).error();
  std::vector<Row> all;
  if (auto st = read_all(*source.rows, layout, all); !st.ok()) return std::move(st).error();
  const Filter filter(where, params, layout);
  std::vector<std::size_t> pk;
  for (const auto& k : t.primary_key) pk.push_back(*layout.position(k));
  std::vector<Row> keys;
  for (const auto& r : all) {
    if (!filter.matches(r)) continue;
    Row k;
    for (std::size_t p : pk) k.push_back(r[p]);
    keys.push_back(std::move(k));
  }
  return keys;
}

// The keys an update or delete applies to: the exact key of `where` when it
// has one (see exact_key; held in `one`, with no key list), else the keys of
// the rows read and matched (held in `found`).
Result<std::span<const Row>> target_keys(Connection& c, const TableSchema& t,
                                         const ast::Expr* where, std::span<const Value> params,
                                         std::optional<Row>& one, std::vector<Row>& found) {
  one = exact_key(t, *layout_for(t), where, params);
  if (one) return std::span<const Row>(&*one, 1);
  auto keys = matching_keys(c, t, where, params);
  if (!keys.ok()) return std::move(keys).error();
  found = std::move(*keys);
  return std::span<const Row>(found);
}

}  // namespace

Result<ExecResponse> execute(Connection& c, const ast::Statement& statement,
                             std::span<const Value> params, const TableSchema& table) {
  if (const auto* s = std::get_if<ast::Select>(&statement))
    return execute_select(c, *s, params, table);
  std::optional<Row> one;
  std::vector<Row> found;
  if (const auto* u = std::get_if<ast::Update>(&statement)) {
    auto keys = target_keys(c, table, u->has_where ? &u->where : nullptr, params, one, found);
    if (!keys.ok()) return std::move(keys).error();
    if (keys->empty()) return ExecResponse{};
    std::vector<std::string> columns;
    std::vector<Value> values;
    for (const auto& a : u->set) {
      if (a.has_value)
        return Error(ErrorKind::unsupported,
                     "key-value drivers set columns to values, not expressions");
      columns.push_back(a.column);
      values.push_back(a.param < params.size() ? params[a.param] : Value());
    }
    return c.exec(op::UpdateByKey{table.name, *keys, columns, values});
  }
  if (const auto* d = std::get_if<ast::Delete>(&statement)) {
    auto keys = target_keys(c, table, d->has_where ? &d->where : nullptr, params, one, found);
    if (!keys.ok()) return std::move(keys).error();
    if (keys->empty()) return ExecResponse{};
    return c.exec(op::DeleteByKey{table.name, *keys});
  }
  return Error(ErrorKind::unsupported, "key-value drivers take inserts through op::Insert");
}

}  // namespace tessera::kv
