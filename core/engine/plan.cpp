#include "core/engine/plan.hpp"

#include <functional>
#include <string_view>
#include <type_traits>

namespace tessera::detail {

namespace {

void mix(std::size_t& h, std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }
void mix(std::size_t& h, std::string_view s) { mix(h, std::hash<std::string_view>{}(s)); }

void hash_expr(std::size_t& h, const ast::Expr& e) {
  mix(h, static_cast<std::size_t>(e.kind));
  if (e.kind == ast::Expr::Kind::column) mix(h, e.column);
  if (e.kind == ast::Expr::Kind::param) mix(h, e.param);
  mix(h, e.children.size());
  for (const auto& c : e.children) hash_expr(h, c);
}

}  // namespace

std::size_t hash_statement(const ast::Statement& statement) {
  std::size_t h = statement.index();
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        mix(h, s.table);
        if constexpr (std::is_same_v<S, ast::Select>) {
          mix(h, static_cast<std::size_t>(s.projection));
          for (const auto& c : s.columns) mix(h, c);
          if (s.has_where) hash_expr(h, s.where);
          for (const auto& o : s.order_by) {
            mix(h, o.column);
            mix(h, o.descending ? 1 : 2);
          }
          mix(h, static_cast<std::size_t>(s.limit_param + 1));
          mix(h, static_cast<std::size_t>(s.offset_param + 1));
        } else if constexpr (std::is_same_v<S, ast::Insert>) {
          for (const auto& c : s.columns) mix(h, c);
          mix(h, s.row_count);
        } else if constexpr (std::is_same_v<S, ast::Update>) {
          for (const auto& a : s.set) {
            mix(h, a.column);
            if (a.has_value) hash_expr(h, a.value);
          }
          if (s.has_where) hash_expr(h, s.where);
        } else {
          if (s.has_where) hash_expr(h, s.where);
        }
      },
      statement);
  return h;
}

void apply_prefix(ast::Statement& statement, const std::string& prefix) {
  if (prefix.empty()) return;
  std::visit([&](auto& s) { s.table = prefix + s.table; }, statement);
}

}  // namespace tessera::detail
