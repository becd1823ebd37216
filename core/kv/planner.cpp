#include "core/kv/planner.hpp"

#include <optional>

namespace tessera::kv {

namespace {

using Kind = ast::Expr::Kind;

constexpr std::size_t kMaxKeys = 1000;

// What the top-level conjuncts say about each column.
struct Bounds {
  std::vector<Value> equal;  // == or IN: the column is one of these
  bool has_equal = false;
  std::optional<Value> lower;
  bool lower_inclusive = true;
  std::optional<Value> upper;
  bool upper_inclusive = true;
};

const Value* param_of(const ast::Expr& e, std::span<const Value> params) {
  if (e.kind == Kind::param && e.param < params.size()) return &params[e.param];
  return nullptr;
}

// Narrows `b` by conjunct `e` (on b's column) with `params`.
void bind(const ast::Expr& e, std::span<const Value> params, Bounds& b) {
  switch (e.kind) {
    case Kind::eq: {
      const Value* v = param_of(e.children.at(1), params);
      if (!v) return;
      // A second equality intersects; keep the first (the filter re-checks).
      if (!b.has_equal) {
        b.has_equal = true;
        if (!v->is_null()) b.equal.push_back(*v);
      }
      return;
    }
    case Kind::in: {
      if (b.has_equal) return;
      std::vector<Value> vs;
      for (std::size_t i = 1; i < e.children.size(); ++i) {
        const Value* v = param_of(e.children[i], params);
        if (!v) return;
        if (!v->is_null()) vs.push_back(*v);
      }
      b.has_equal = true;
      b.equal = std::move(vs);
      return;
    }
    case Kind::gt:
    case Kind::ge: {
      const Value* v = param_of(e.children.at(1), params);
      if (v && !v->is_null() && !b.lower) {
        b.lower = *v;
        b.lower_inclusive = e.kind == Kind::ge;
      }
      return;
    }
    case Kind::lt:
    case Kind::le: {
      const Value* v = param_of(e.children.at(1), params);
      if (v && !v->is_null() && !b.upper) {
        b.upper = *v;
        b.upper_inclusive = e.kind == Kind::le;
      }
      return;
    }
    case Kind::between: {
      const Value* lo = param_of(e.children.at(1), params);
      const Value* hi = param_of(e.children.at(2), params);
      if (lo && hi && !lo->is_null() && !hi->is_null() && !b.lower && !b.upper) {
        b.lower = *lo;
        b.upper = *hi;
      }
      return;
    }
    default: return;
  }
}

bool binds(Kind k) {
  switch (k) {
    case Kind::eq:
    case Kind::in:
    case Kind::gt:
    case Kind::ge:
    case Kind::lt:
    case Kind::le:
    case Kind::between: return true;
    default: return false;
  }
}

// Appends the top-level conjuncts of `e` that bind a column, numbering each
// distinct column by its first appearance in `names`.
void collect_terms(const ast::Expr& e, std::vector<AccessShape::Term>& terms,
                   std::vector<const std::string*>& names) {
  if (e.kind == Kind::and_) {
    for (const auto& c : e.children) collect_terms(c, terms, names);
    return;
  }
  if (e.children.empty() || e.children[0].kind != Kind::column || !binds(e.kind)) return;
  const std::string& column = e.children[0].column;
  std::size_t n = 0;
  while (n < names.size() && *names[n] != column) ++n;
  if (n == names.size()) names.push_back(&column);
  terms.push_back(AccessShape::Term{e.kind, n, &e});
}

// Every combination of the columns' equal values, or nullopt if too many.
std::optional<std::vector<std::vector<Value>>> expand(const std::vector<const Bounds*>& cols) {
  std::vector<std::vector<Value>> keys{{}};
  for (const Bounds* b : cols) {
    if (keys.size() * b->equal.size() > kMaxKeys) return std::nullopt;
    std::vector<std::vector<Value>> next;
    for (const auto& k : keys)
      for (const auto& v : b->equal) {
        next.push_back(k);
        next.back().push_back(v);
      }
    keys = std::move(next);
  }
  return keys;
}

// Full equality on `columns` (filter column numbers): keys, or nullopt.
std::optional<std::vector<std::vector<Value>>> full_keys(const std::vector<std::size_t>& columns,
                                                         const std::vector<Bounds>& bounds) {
  if (columns.empty()) return std::nullopt;
  std::vector<const Bounds*> cols;
  for (std::size_t c : columns) {
    if (c == AccessShape::kNone || !bounds[c].has_equal) return std::nullopt;
    cols.push_back(&bounds[c]);
  }
  return expand(cols);
}

// A single-valued equality prefix plus an optional range on the next column.
std::optional<Access> prefix_range(const std::vector<std::size_t>& columns,
                                   const std::vector<Bounds>& bounds) {
  Access a;
  std::size_t bound = 0;
  for (std::size_t c : columns) {
    if (c == AccessShape::kNone) break;
    const Bounds& b = bounds[c];
    if (b.has_equal && b.equal.size() == 1) {
      a.lower.push_back(b.equal[0]);
      a.upper.push_back(b.equal[0]);
      ++bound;
      continue;
    }
    if (b.lower || b.upper) {
      if (b.lower) {
        a.lower.push_back(*b.lower);
        a.lower_inclusive = b.lower_inclusive;
      }
      if (b.upper) {
        a.upper.push_back(*b.upper);
        a.upper_inclusive = b.upper_inclusive;
      }
      ++bound;
    }
    break;
  }
  if (bound == 0) return std::nullopt;
  a.cost = 1.0 / (1.0 + static_cast<double>(bound));
  return a;
}

void columns_of(const ast::Expr& e, std::string& out) {
  if (e.kind == Kind::column) {
    if (out.find("'" + e.column + "'") == std::string::npos)
      out += (out.empty() ? "'" : ", '") + e.column + "'";
  }
  for (const auto& c : e.children) columns_of(c, out);
}

}  // namespace

AccessShape shape_access(const TableSchema& table, const ast::Expr* where) {
  AccessShape s;
  s.table = table.name;
  std::vector<const std::string*> names;
  if (where) {
    collect_terms(*where, s.terms, names);
    columns_of(*where, s.filter_columns);
  }
  s.column_count = names.size();
  auto key = [&](const std::vector<std::string>& columns) {
    std::vector<std::size_t> out;
    for (const auto& c : columns) {
      std::size_t n = 0;
      while (n < names.size() && *names[n] != c) ++n;
      out.push_back(n < names.size() ? n : AccessShape::kNone);
    }
    return out;
  };
  s.primary_key.columns = key(table.primary_key);
  for (const auto& ix : table.indexes)
    s.indexes.push_back(AccessShape::Key{ix.name, ix.unique, key(ix.columns)});
  return s;
}

Result<Access> plan_access(const AccessShape& shape, std::span<const Value> params,
                           const Capability& cap) {
  std::vector<Bounds> bounds(shape.column_count);
  for (const auto& t : shape.terms) bind(*t.expr, params, bounds[t.column]);

  std::optional<Access> best;
  auto consider = [&](Access a) {
    if (!best || a.cost < best->cost) best = std::move(a);
  };

  if (auto keys = full_keys(shape.primary_key.columns, bounds)) {
    Access a;
    a.kind = Access::Kind::get_by_key;
    a.cost = static_cast<double>(keys->size());
    a.keys = std::move(*keys);
    consider(std::move(a));
  }
  if (cap.secondary_indexes) {
    for (const auto& ix : shape.indexes) {
      if (!ix.unique) continue;
      if (auto keys = full_keys(ix.columns, bounds)) {
        Access a;
        a.kind = Access::Kind::find_by_index;
        a.index = ix.index;
        a.cost = 2.0 * static_cast<double>(keys->size());
        a.keys = std::move(*keys);
        consider(std::move(a));
      }
    }
  }
  if (cap.ordered_scan) {
    if (auto a = prefix_range(shape.primary_key.columns, bounds)) {
      a->kind = Access::Kind::query_pk;
      a->cost *= 100;
      consider(std::move(*a));
    }
    if (cap.secondary_indexes) {
      for (const auto& ix : shape.indexes) {
        if (auto a = prefix_range(ix.columns, bounds)) {
          a->kind = Access::Kind::query_index;
          a->index = ix.index;
          a->cost *= 200;
          consider(std::move(*a));
        }
      }
    }
  }
  if (best) return std::move(*best);
  if (!cap.full_scan) {
    const std::string& cols = shape.filter_columns;
    Error e(ErrorKind::needs_index,
            "no key or index of table '" + shape.table + "' answers the filter" +
                (cols.empty() ? std::string(" (no filter)") : " on " + cols) +
                ", and this driver does not scan whole tables");
    return e;
  }
  Access scan;
  scan.kind = Access::Kind::scan;
  scan.cost = 1000;
  return scan;
}

Result<Access> plan_access(const TableSchema& table, const ast::Expr* where,
                           std::span<const Value> params, const Capability& cap) {
  return plan_access(shape_access(table, where), params, cap);
}

}  // namespace tessera::kv
