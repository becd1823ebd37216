#include "core/kv/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tessera::kv {

namespace {

using Kind = ast::Expr::Kind;

int type_rank(ValueType t) {
  switch (t) {
    case ValueType::null: return 0;
    case ValueType::boolean:
    case ValueType::int64:
    case ValueType::float64: return 1;
    case ValueType::text: return 2;
    case ValueType::bytes: return 3;
    case ValueType::timestamp: return 4;
    case ValueType::date: return 5;
  }
  return 6;
}

int compare_numbers(const Value& a, const Value& b) {
  auto as_int = [](const Value& v) {
    return v.type() == ValueType::boolean ? std::int64_t{v.as_bool()} : v.as_int64();
  };
  if (a.type() != ValueType::float64 && b.type() != ValueType::float64) {
    const auto x = as_int(a), y = as_int(b);
    return x < y ? -1 : x > y;
  }
  const double x = a.type() == ValueType::float64 ? a.as_double() : static_cast<double>(as_int(a));
  const double y = b.type() == ValueType::float64 ? b.as_double() : static_cast<double>(as_int(b));
  // NaN sorts above every number, as in PostgreSQL.
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) - std::isnan(y);
  return x < y ? -1 : x > y;
}

int compare_bytes(const void* a, std::size_t an, const void* b, std::size_t bn) {
  const int c = std::memcmp(a, b, std::min(an, bn));
  if (c != 0) return c < 0 ? -1 : 1;
  return an < bn ? -1 : an > bn;
}

Truth from_bool(bool b) { return b ? Truth::true_ : Truth::false_; }

Truth negate(Truth t) {
  return t == Truth::unknown ? Truth::unknown : from_bool(t == Truth::false_);
}

const Value& operand(const ast::Expr& e, std::span<const Value> params, const ColumnReader& row) {
  static const Value null_value;
  if (e.kind == Kind::column) return row(e.column);
  if (e.kind == Kind::param && e.param < params.size()) return params[e.param];
  return null_value;
}

// UTF-8 length of the character starting with byte c.
std::size_t char_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;
}

bool like_at(std::string_view t, std::string_view p) {
  while (!p.empty()) {
    const char c = p.front();
    if (c == '%') {
      while (!p.empty() && p.front() == '%') p.remove_prefix(1);
      if (p.empty()) return true;
      for (std::size_t i = 0; i <= t.size();
           i += (i < t.size() ? char_length(static_cast<unsigned char>(t[i])) : 1))
        if (like_at(t.substr(i), p)) return true;
      return false;
    }
    if (t.empty()) return false;
    if (c == '_') {
      const std::size_t n = std::min(t.size(), char_length(static_cast<unsigned char>(t.front())));
      t.remove_prefix(n);
      p.remove_prefix(1);
      continue;
    }
    char literal = c;
    if (c == '\\' && p.size() > 1) {
      literal = p[1];
      p.remove_prefix(1);
    }
    if (t.front() != literal) return false;
    t.remove_prefix(1);
    p.remove_prefix(1);
  }
  return t.empty();
}

}  // namespace

int compare(const Value& a, const Value& b) {
  const int ra = type_rank(a.type()), rb = type_rank(b.type());
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case ValueType::null: return 0;
    case ValueType::boolean:
    case ValueType::int64:
    case ValueType::float64: return compare_numbers(a, b);
    case ValueType::text:
      return compare_bytes(a.as_text().data(), a.as_text().size(), b.as_text().data(),
                           b.as_text().size());
    case ValueType::bytes:
      return compare_bytes(a.as_bytes().data(), a.as_bytes().size(), b.as_bytes().data(),
                           b.as_bytes().size());
    case ValueType::timestamp: {
      const auto x = a.as_timestamp().micros, y = b.as_timestamp().micros;
      return x < y ? -1 : x > y;
    }
    case ValueType::date: {
      const auto x = a.as_date().days, y = b.as_date().days;
      return x < y ? -1 : x > y;
    }
  }
  return 0;
}

bool like(std::string_view text, std::string_view pattern) { return like_at(text, pattern); }

Truth evaluate(const ast::Expr& e, std::span<const Value> params, const ColumnReader& row) {
  switch (e.kind) {
    case Kind::true_: return Truth::true_;
    case Kind::false_: return Truth::false_;
    case Kind::and_: {
      Truth out = Truth::true_;
      for (const auto& c : e.children) {
        const Truth t = evaluate(c, params, row);
        if (t == Truth::false_) return Truth::false_;
        if (t == Truth::unknown) out = Truth::unknown;
      }
      return out;
    }
    case Kind::or_: {
      Truth out = Truth::false_;
      for (const auto& c : e.children) {
        const Truth t = evaluate(c, params, row);
        if (t == Truth::true_) return Truth::true_;
        if (t == Truth::unknown) out = Truth::unknown;
      }
      return out;
    }
    case Kind::not_: return negate(evaluate(e.children.at(0), params, row));
    case Kind::is_null: return from_bool(operand(e.children.at(0), params, row).is_null());
    case Kind::is_not_null: return from_bool(!operand(e.children.at(0), params, row).is_null());
    case Kind::eq:
    case Kind::ne:
    case Kind::lt:
    case Kind::le:
    case Kind::gt:
    case Kind::ge: {
      const Value& a = operand(e.children.at(0), params, row);
      const Value& b = operand(e.children.at(1), params, row);
      if (a.is_null() || b.is_null()) return Truth::unknown;
      const int c = compare(a, b);
      switch (e.kind) {
        case Kind::eq: return from_bool(c == 0);
        case Kind::ne: return from_bool(c != 0);
        case Kind::lt: return from_bool(c < 0);
        case Kind::le: return from_bool(c <= 0);
        case Kind::gt: return from_bool(c > 0);
        default: return from_bool(c >= 0);
      }
    }
    case Kind::like: {
      const Value& a = operand(e.children.at(0), params, row);
      const Value& b = operand(e.children.at(1), params, row);
      if (a.is_null() || b.is_null()) return Truth::unknown;
      if (a.type() != ValueType::text || b.type() != ValueType::text) return Truth::false_;
      return from_bool(like(a.as_text(), b.as_text()));
    }
    case Kind::in:
    case Kind::not_in: {
      const Value& a = operand(e.children.at(0), params, row);
      Truth out = Truth::false_;
      if (a.is_null()) {
        out = Truth::unknown;
      } else {
        for (std::size_t i = 1; i < e.children.size(); ++i) {
          const Value& b = operand(e.children[i], params, row);
          if (b.is_null()) {
            out = Truth::unknown;
          } else if (compare(a, b) == 0) {
            out = Truth::true_;
            break;
          }
        }
      }
      return e.kind == Kind::in ? out : negate(out);
    }
    case Kind::between: {
      const Value& a = operand(e.children.at(0), params, row);
      const Value& lo = operand(e.children.at(1), params, row);
      const Value& hi = operand(e.children.at(2), params, row);
      Truth lower = (a.is_null() || lo.is_null()) ? Truth::unknown : from_bool(compare(a, lo) >= 0);
      Truth upper = (a.is_null() || hi.is_null()) ? Truth::unknown : from_bool(compare(a, hi) <= 0);
      if (lower == Truth::false_ || upper == Truth::false_) return Truth::false_;
      if (lower == Truth::unknown || upper == Truth::unknown) return Truth::unknown;
      return Truth::true_;
    }
    case Kind::column:
    case Kind::param:
    case Kind::case_: break;  // not a condition
  }
  return Truth::unknown;
}

}  // namespace tessera::kv
