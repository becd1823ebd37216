#include "core/kv/planner.hpp"

#include <map>
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

void collect(const ast::Expr& e, std::span<const Value> params,
             std::map<std::string, Bounds>& out) {
  if (e.kind == Kind::and_) {
    for (const auto& c : e.children) collect(c, params, out);
    return;
  }
  if (e.children.empty() || e.children[0].kind != Kind::column) return;
  Bounds& b = out[e.children[0].column];
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

// Full equality on `columns`: keys, or nullopt.
std::optional<std::vector<std::vector<Value>>> full_keys(
    const std::vector<std::string>& columns, const std::map<std::string, Bounds>& bounds) {
  if (columns.empty()) return std::nullopt;
  std::vector<const Bounds*> cols;
  for (const auto& c : columns) {
    auto it = bounds.find(c);
    if (it == bounds.end() || !it->second.has_equal) return std::nullopt;
    cols.push_back(&it->second);
  }
  return expand(cols);
}

// A single-valued equality prefix plus an optional range on the next column.
std::optional<Access> prefix_range(const std::vector<std::string>& columns,
                                   const std::map<std::string, Bounds>& bounds) {
  Access a;
  std::size_t bound = 0;
  for (const auto& c : columns) {
    auto it = bounds.find(c);
    if (it == bounds.end()) break;
    const Bounds& b = it->second;
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

Result<Access> plan_access(const TableSchema& table, const ast::Expr* where,
                           std::span<const Value> params, const Capability& cap) {
  std::map<std::string, Bounds> bounds;
  if (where) collect(*where, params, bounds);

  std::optional<Access> best;
  auto consider = [&](Access a) {
    if (!best || a.cost < best->cost) best = std::move(a);
  };

  if (auto keys = full_keys(table.primary_key, bounds)) {
    Access a;
    a.kind = Access::Kind::get_by_key;
    a.cost = static_cast<double>(keys->size());
    a.keys = std::move(*keys);
    consider(std::move(a));
  }
  if (cap.secondary_indexes) {
    for (const auto& ix : table.indexes) {
      if (!ix.unique) continue;
      if (auto keys = full_keys(ix.columns, bounds)) {
        Access a;
        a.kind = Access::Kind::find_by_index;
        a.index = ix.name;
        a.cost = 2.0 * static_cast<double>(keys->size());
        a.keys = std::move(*keys);
        consider(std::move(a));
      }
    }
  }
  if (cap.ordered_scan) {
    if (auto a = prefix_range(table.primary_key, bounds)) {
      a->kind = Access::Kind::query_pk;
      a->cost *= 100;
      consider(std::move(*a));
    }
    if (cap.secondary_indexes) {
      for (const auto& ix : table.indexes) {
        if (auto a = prefix_range(ix.columns, bounds)) {
          a->kind = Access::Kind::query_index;
          a->index = ix.name;
          a->cost *= 200;
          consider(std::move(*a));
        }
      }
    }
  }
  if (best) return std::move(*best);
  if (!cap.full_scan) {
    std::string cols;
    if (where) columns_of(*where, cols);
    Error e(ErrorKind::needs_index,
            "no key or index of table '" + table.name + "' answers the filter" +
                (cols.empty() ? std::string(" (no filter)") : " on " + cols) +
                ", and this driver does not scan whole tables");
    return e;
  }
  Access scan;
  scan.kind = Access::Kind::scan;
  scan.cost = 1000;
  return scan;
}

}  // namespace tessera::kv
