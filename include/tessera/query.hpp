// The typed query DSL: columns, conditions, and the select / update /
// delete statements. Every statement lowers to an untyped ast::Statement
// plus its values (see tessera/driver/statement.hpp).
//
//   using tessera::col;
//   auto q = tessera::select<User>()
//                .where(col(&User::name).like("a%") && col(&User::bio).is_null())
//                .order_by(col(&User::created_at).desc())
//                .limit(10);
//
// Type rules, checked at compile time: col() takes a member declared in the
// model's TESSERA_MODEL; a condition on one model cannot filter another; a
// value must fit the column's type (integers for integer columns, strings
// for text, the same enum for an enum column...); like() needs a text
// column; is_null() needs a std::optional column; an update or delete needs
// where() or an explicit all().
//
// Statement objects are values: cheap to copy, safe to reuse, not tied to
// a database. Thread safety: as for any value type.
//
// A statement may hold placeholders, param<T>(), in place of values; such a
// statement runs only through Executor::prepare (tessera/db.hpp), which
// plans it once and binds the values on each execution:
//
//   auto set_qty = db.prepare<std::int32_t, std::int64_t>(
//       tessera::update<Item>()
//           .set(&Item::qty, tessera::param<std::int32_t>())
//           .where(col(&Item::id) == tessera::param<std::int64_t>()));
//   set_qty.execute(7, std::int64_t{42});
#pragma once

#include <array>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "tessera/detail/values.hpp"
#include "tessera/driver/statement.hpp"
#include "tessera/model.hpp"

namespace tessera {

// A placeholder for a value of type T, bound when a prepared statement runs
// (Executor::prepare). Made by param<T>(). T is the value's type as a column
// holds it: bool, an integer, float, double, std::string, Bytes, Timestamp,
// Date, an enum, or std::optional of one (NULL; only where a nullable column
// is set). The DSL checks T against the column at compile time exactly as it
// checks a literal value of type T.
template <class T>
struct Param {
  static_assert(std::is_same_v<T, std::remove_cvref_t<T>>,
                "tessera: param<T>() takes a value type, not a reference or const type");
  using type = T;
};

// The placeholder of a value of type T (see Param).
template <class T>
constexpr Param<T> param() {
  return {};
}

namespace detail {

template <class T>
struct is_param : std::false_type {};
template <class T>
struct is_param<Param<T>> : std::true_type {};
template <class T>
inline constexpr bool is_param_v = is_param<std::remove_cvref_t<T>>::value;

// T of a Param<T>; any other type as itself.
template <class V>
struct param_value {
  using type = V;
};
template <class T>
struct param_value<Param<T>> {
  using type = T;
};
template <class V>
using param_value_t = typename param_value<std::remove_cvref_t<V>>::type;

// True for the types a placeholder may declare (see Param).
template <class T>
constexpr bool is_param_type() {
  using U = unwrap_optional_t<T>;
  return std::is_same_v<U, bool> || std::is_integral_v<U> || std::is_floating_point_v<U> ||
         std::is_enum_v<U> || std::is_same_v<U, std::string> || std::is_same_v<U, Bytes> ||
         std::is_same_v<U, Timestamp> || std::is_same_v<U, Date>;
}

// A placeholder as the DSL recorded it where param<T>() was used: what
// prepare() checks the declared parameter list against, and what a prepared
// statement's execute() checks and converts each argument by.
struct ParamSlot {
  std::uint32_t index = 0;               // its parameter index in the lowered statement
  const std::type_info* type = nullptr;  // the T of param<T>()
  const std::string* column = nullptr;   // its column's name (static storage), for messages
  // The column's range when it holds integers; the full int64 range else.
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  bool floating = false;  // a float or double column: integer arguments bind as double
  bool float32 = false;   // a float column: a finite argument must fit a float
};

// The slot of a param<T>() used at parameter `index` with a column whose
// (non-optional) type is C.
template <class C, class T>
ParamSlot make_param_slot(std::uint32_t index, const std::string* column) {
  ParamSlot s;
  s.index = index;
  s.type = &typeid(T);
  s.column = column;
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    s.min = static_cast<std::int64_t>(std::numeric_limits<C>::min());
    s.max = static_cast<std::int64_t>(std::numeric_limits<C>::max());
  }
  s.floating = std::is_floating_point_v<C>;
  s.float32 = std::is_same_v<C, float>;
  return s;
}

// Shifts the parameter index of every slot by `by`.
inline void shift_slots(std::vector<ParamSlot>& slots, std::uint32_t by) {
  for (auto& s : slots) s.index += by;
}

// Database column names of a model, in field order.
template <class T>
const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for_each_field<T>([&](const auto& f, auto) { out.emplace_back(f.name()); });
    return out;
  }();
  return names;
}

// Shifts every parameter index in `e` by `by`.
inline void shift_params(ast::Expr& e, std::uint32_t by) {
  if (e.kind == ast::Expr::Kind::param) e.param += by;
  for (auto& c : e.children) shift_params(c, by);
}

inline ast::Expr column_expr(const std::string& name) {
  ast::Expr e;
  e.kind = ast::Expr::Kind::column;
  e.column = name;
  return e;
}

inline ast::Expr param_expr(std::uint32_t index) {
  ast::Expr e;
  e.kind = ast::Expr::Kind::param;
  e.param = index;
  return e;
}

}  // namespace detail

// A boolean condition on rows of model M, with its bound values. Parameters
// in `expr` index `values`, in order of appearance. A placeholder
// (param<T>()) has a NULL in `values` and its slot in `params`.
template <class M>
struct Condition {
  ast::Expr expr;
  std::vector<Value> values;
  std::vector<detail::ParamSlot> params;
};

template <class M>
Condition<M> combine(ast::Expr::Kind kind, Condition<M> a, Condition<M> b) {
  detail::shift_params(b.expr, static_cast<std::uint32_t>(a.values.size()));
  detail::shift_slots(b.params, static_cast<std::uint32_t>(a.values.size()));
  Condition<M> out;
  out.expr.kind = kind;
  // Flatten a && (b && c) into one group; keeps the SQL and the shape small.
  auto take = [&](Condition<M>& c) {
    if (c.expr.kind == kind) {
      for (auto& child : c.expr.children) out.expr.children.push_back(std::move(child));
    } else {
      out.expr.children.push_back(std::move(c.expr));
    }
  };
  take(a);
  take(b);
  out.values = std::move(a.values);
  for (auto& v : b.values) out.values.push_back(std::move(v));
  out.params = std::move(a.params);
  for (auto& p : b.params) out.params.push_back(p);
  return out;
}

template <class M>
Condition<M> operator&&(Condition<M> a, Condition<M> b) {
  return combine(ast::Expr::Kind::and_, std::move(a), std::move(b));
}
template <class M>
Condition<M> operator||(Condition<M> a, Condition<M> b) {
  return combine(ast::Expr::Kind::or_, std::move(a), std::move(b));
}
template <class M>
Condition<M> operator!(Condition<M> a) {
  Condition<M> out;
  out.expr.kind = ast::Expr::Kind::not_;
  out.expr.children.push_back(std::move(a.expr));
  out.values = std::move(a.values);
  out.params = std::move(a.params);
  return out;
}
template <class M, class N>
requires(!std::is_same_v<M, N>) Condition<M>
operator&&(Condition<M>, Condition<N>) {
  static_assert(std::is_same_v<M, N>, "tessera: cannot combine conditions on different models");
  return {};
}
template <class M, class N>
requires(!std::is_same_v<M, N>) Condition<M>
operator||(Condition<M>, Condition<N>) {
  static_assert(std::is_same_v<M, N>, "tessera: cannot combine conditions on different models");
  return {};
}

template <class M>
struct OrderTerm {
  ast::OrderBy order;
};

// A column of model M whose member type is T. Made by col().
template <class M, class T>
class Column {
 public:
  using model = M;
  using member_type = T;
  using value_type = detail::unwrap_optional_t<T>;

  constexpr explicit Column(int index) : index_(index) {}

  const std::string& name() const {
    return detail::column_names<M>()[static_cast<std::size_t>(index_)];
  }
  constexpr int index() const { return index_; }

  template <class V>
  Condition<M> operator==(const V& v) const {
    return compare(ast::Expr::Kind::eq, v);
  }
  template <class V>
  Condition<M> operator!=(const V& v) const {
    return compare(ast::Expr::Kind::ne, v);
  }
  template <class V>
  Condition<M> operator<(const V& v) const {
    return compare(ast::Expr::Kind::lt, v);
  }
  template <class V>
  Condition<M> operator<=(const V& v) const {
    return compare(ast::Expr::Kind::le, v);
  }
  template <class V>
  Condition<M> operator>(const V& v) const {
    return compare(ast::Expr::Kind::gt, v);
  }
  template <class V>
  Condition<M> operator>=(const V& v) const {
    return compare(ast::Expr::Kind::ge, v);
  }

  // SQL LIKE with '%' and '_' wildcards and a backslash as escape character.
  // Case-sensitive on every driver.
  template <class V>
  Condition<M> like(const V& pattern) const {
    static_assert(std::is_same_v<value_type, std::string>,
                  "tessera: like() needs a text (std::string) column");
    return compare(ast::Expr::Kind::like, pattern);
  }

  // IN / NOT IN a list of values. An empty list matches nothing (IN) or
  // everything (NOT IN).
  template <class V>
  Condition<M> in(const std::vector<V>& values) const {
    return in_list(ast::Expr::Kind::in, values);
  }
  template <class V>
  Condition<M> in(std::initializer_list<V> values) const {
    return in_list(ast::Expr::Kind::in, std::vector<V>(values));
  }
  template <class V>
  Condition<M> not_in(const std::vector<V>& values) const {
    return in_list(ast::Expr::Kind::not_in, values);
  }
  template <class V>
  Condition<M> not_in(std::initializer_list<V> values) const {
    return in_list(ast::Expr::Kind::not_in, std::vector<V>(values));
  }

  // low <= column <= high.
  template <class V, class W>
  Condition<M> between(const V& low, const W& high) const {
    check_value<V>();
    check_value<W>();
    Condition<M> c;
    c.expr.kind = ast::Expr::Kind::between;
    c.expr.children.reserve(3);  // moved in (an initializer list would copy)
    c.expr.children.push_back(detail::column_expr(name()));
    c.expr.children.push_back(detail::param_expr(0));
    c.expr.children.push_back(detail::param_expr(1));
    add_operand(c, low);
    add_operand(c, high);
    return c;
  }

  Condition<M> is_null() const {
    static_assert(detail::is_optional_v<T>,
                  "tessera: is_null() needs a nullable (std::optional) column");
    return null_check(ast::Expr::Kind::is_null);
  }
  Condition<M> is_not_null() const {
    static_assert(detail::is_optional_v<T>,
                  "tessera: is_not_null() needs a nullable (std::optional) column");
    return null_check(ast::Expr::Kind::is_not_null);
  }

  OrderTerm<M> asc() const { return OrderTerm<M>{ast::OrderBy{name(), false}}; }
  OrderTerm<M> desc() const { return OrderTerm<M>{ast::OrderBy{name(), true}}; }

 private:
  // A literal, or a placeholder's declared type, checked alike.
  template <class V>
  static constexpr void check_value() {
    using D = detail::param_value_t<V>;
    static_assert(!std::is_same_v<std::remove_cvref_t<D>, std::nullopt_t>,
                  "tessera: compare with NULL through is_null() / is_not_null()");
    static_assert(!detail::is_param_v<V> || !detail::is_optional_v<D>,
                  "tessera: a placeholder in a condition cannot be std::optional: compare with "
                  "NULL through is_null() / is_not_null()");
    static_assert(!detail::is_param_v<V> || detail::is_param_type<D>(),
                  "tessera: param<T>() takes a column value type");
    static_assert(detail::accepts<value_type, D>(),
                  "tessera: the value's type does not match the column's type");
  }

  // Appends v's parameter: its Value, or a placeholder's slot.
  template <class V>
  void add_operand(Condition<M>& c, const V& v) const {
    const auto index = static_cast<std::uint32_t>(c.values.size());
    if constexpr (detail::is_param_v<V>) {
      c.params.push_back(
          detail::make_param_slot<value_type, detail::param_value_t<V>>(index, &name()));
      c.values.emplace_back();
    } else {
      c.values.push_back(detail::dsl_value<value_type>(v));
    }
  }

  template <class V>
  Condition<M> compare(ast::Expr::Kind kind, const V& v) const {
    check_value<V>();
    Condition<M> c;
    c.expr.kind = kind;
    c.expr.children.reserve(2);  // moved in (an initializer list would copy)
    c.expr.children.push_back(detail::column_expr(name()));
    c.expr.children.push_back(detail::param_expr(0));
    add_operand(c, v);
    return c;
  }

  template <class V>
  Condition<M> in_list(ast::Expr::Kind kind, const std::vector<V>& values) const {
    static_assert(!detail::is_param_v<V>, "tessera: in() and not_in() take values, not param<T>()");
    check_value<V>();
    Condition<M> c;
    if (values.empty()) {
      c.expr.kind = kind == ast::Expr::Kind::in ? ast::Expr::Kind::false_ : ast::Expr::Kind::true_;
      return c;
    }
    c.expr.kind = kind;
    c.expr.children.reserve(values.size() + 1);
    c.expr.children.push_back(detail::column_expr(name()));
    c.values.reserve(values.size());
    for (const auto& v : values) {
      c.expr.children.push_back(detail::param_expr(static_cast<std::uint32_t>(c.values.size())));
      c.values.push_back(detail::dsl_value<value_type>(v));
    }
    return c;
  }

  Condition<M> null_check(ast::Expr::Kind kind) const {
    Condition<M> c;
    c.expr.kind = kind;
    c.expr.children.push_back(detail::column_expr(name()));
    return c;
  }

  int index_;
};

// The column of a model member. Evaluated at compile time: a member that is
// not declared in the model's TESSERA_MODEL does not compile.
template <class M, class T>
consteval Column<M, T> col(T M::*member) {
  static_assert(Model<M>, "tessera: col() needs a member of a type declared with TESSERA_MODEL");
  const int i = detail::field_index<M>(member);
  if (i < 0) throw "tessera: col() names a member that is not declared in TESSERA_MODEL";
  return Column<M, T>(i);
}

template <class M, class T>
OrderTerm<M> to_order(const Column<M, T>& c) {
  return c.asc();
}
template <class M>
OrderTerm<M> to_order(const OrderTerm<M>& t) {
  return t;
}

// ---------------------------------------------------------------- SELECT

// SELECT rows of model M, mapped into R (M itself, or a TESSERA_PARTIAL of M).
template <Model M, class R = M>
class Select {
 public:
  using model = M;
  using result = R;

  // Keeps the rows matching `c`. Calling where() again ANDs the conditions.
  // Each builder call returns a new query; on a temporary (the usual
  // chain) it moves instead of copying.
  Select where(Condition<M> c) const& { return Select(*this).where(std::move(c)); }
  Select where(Condition<M> c) && {
    if (has_where_) {
      where_ = std::move(where_) && std::move(c);
    } else {
      where_ = std::move(c);
      has_where_ = true;
    }
    return std::move(*this);
  }

  template <class N>
  Select where(Condition<N>) const {
    static_assert(std::is_same_v<N, M>,
                  "tessera: where() takes a condition on the selected model, not another");
    return *this;
  }

  // Orders by the given columns (ascending) or col(..).desc() terms, after
  // any earlier order_by().
  template <class... Terms>
  Select order_by(const Terms&... terms) const& {
    return Select(*this).order_by(terms...);
  }
  template <class... Terms>
  Select order_by(const Terms&... terms) && {
    (order_.push_back(to_order<M>(terms).order), ...);
    return std::move(*this);
  }

  // At most n rows. n must not be negative.
  Select limit(std::int64_t n) const& { return Select(*this).limit(n); }
  Select limit(std::int64_t n) && {
    limit_ = n;
    return std::move(*this);
  }
  // Skips n rows. n must not be negative.
  Select offset(std::int64_t n) const& { return Select(*this).offset(n); }
  Select offset(std::int64_t n) && {
    offset_ = n;
    return std::move(*this);
  }

  // Maps the selected rows into a smaller struct declared with
  // TESSERA_PARTIAL(P, M, ...): only P's columns are read.
  template <class P>
  Select<M, P> into() const {
    static_assert(
        requires(const P* p) {
          { tessera_partial_source(p) } -> std::same_as<M*>;
        },
        "tessera: into<P>() needs P declared with TESSERA_PARTIAL(P, Model, ...) of this model");
    Select<M, P> s;
    s.where_ = where_;
    s.has_where_ = has_where_;
    s.order_ = order_;
    s.limit_ = limit_;
    s.offset_ = offset_;
    return s;
  }

  // Whether a condition holds a placeholder (param<T>()).
  bool has_params() const { return !where_.params.empty(); }

  // Lowers to the untyped statement and its values (moved out of a
  // temporary query, copied from any other), and the placeholders' slots
  // to `params` when given.
  void lower(ast::Select& out, std::vector<Value>& values,
             ast::Select::Projection projection = ast::Select::Projection::columns,
             std::vector<detail::ParamSlot>* params = nullptr) const& {
    Select(*this).lower(out, values, projection, params);
  }
  void lower(ast::Select& out, std::vector<Value>& values,
             ast::Select::Projection projection = ast::Select::Projection::columns,
             std::vector<detail::ParamSlot>* params = nullptr) && {
    if (params) *params = std::move(where_.params);
    out.table = table_name<M>();
    out.projection = projection;
    if (projection == ast::Select::Projection::columns) out.columns = detail::column_names<R>();
    out.has_where = has_where_;
    if (has_where_) {
      out.where = std::move(where_.expr);
      values = std::move(where_.values);
    }
    out.order_by = std::move(order_);
    if (limit_) {
      out.limit_param = static_cast<std::int32_t>(values.size());
      values.emplace_back(*limit_);
    }
    if (offset_) {
      out.offset_param = static_cast<std::int32_t>(values.size());
      values.emplace_back(*offset_);
    }
  }

  // The same query without limit and offset (for a paged fetch's total).
  Select without_paging() const {
    Select s = *this;
    s.limit_.reset();
    s.offset_.reset();
    return s;
  }

  const std::optional<std::int64_t>& limit_value() const { return limit_; }
  const std::optional<std::int64_t>& offset_value() const { return offset_; }

 private:
  template <Model, class>
  friend class Select;

  Condition<M> where_;
  bool has_where_ = false;
  std::vector<ast::OrderBy> order_;
  std::optional<std::int64_t> limit_;
  std::optional<std::int64_t> offset_;
};

template <Model M>
Select<M> select() {
  return Select<M>();
}

// ---------------------------------------------------------------- UPDATE / DELETE

namespace detail {

// Checks that an integer fits the column's width, and that a finite
// number fits a float column (NaN and the infinities are the engine's to
// check); the caller reports invalid_value when it does not.
template <class C, class V>
bool fits(const V& v) {
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool> && std::is_integral_v<V> &&
                !std::is_same_v<V, bool>) {
    return std::in_range<C>(v);
  } else if constexpr (std::is_same_v<C, float> && std::is_floating_point_v<V>) {
    const double d = static_cast<double>(v);
    return !std::isfinite(d) ||
           (d >= std::numeric_limits<float>::lowest() && d <= std::numeric_limits<float>::max());
  } else {
    return true;
  }
}

template <class M, class T>
int member_index(T M::*member) {
  return field_index<M>(member);
}

}  // namespace detail

// UPDATE rows of model M. `Filtered` records whether where() or all() was
// called: execute() refuses an update that has neither, at compile time.
template <Model M, bool Filtered = false>
class Update {
 public:
  // Sets the member's column to `value`. The member must be declared in the
  // model; a value out of the column's range is refused when executed.
  template <class T, class V>
  Update set(T M::*member, const V& value) const& {
    return Update(*this).set(member, value);
  }
  // `value` may be a placeholder, param<P>(): P is checked against the
  // column as a literal of type P would be; a std::optional P (NULL) needs
  // a nullable column.
  template <class T, class V>
  Update set(T M::*member, const V& value) && {
    using C = detail::unwrap_optional_t<T>;
    const int i = detail::member_index(member);
    if (values_.empty()) values_.reserve(kInlineValues);
    if (i < 0)
      undeclared_ = true;
    else
      set_.push_back(ast::Assignment{detail::column_names<M>()[static_cast<std::size_t>(i)],
                                     static_cast<std::uint32_t>(values_.size())});
    if constexpr (detail::is_param_v<V>) {
      using P = detail::param_value_t<V>;
      static_assert(detail::is_param_type<P>(), "tessera: param<T>() takes a column value type");
      static_assert(detail::accepts<C, detail::unwrap_optional_t<P>>(),
                    "tessera: the value's type does not match the column's type");
      static_assert(!detail::is_optional_v<P> || detail::is_optional_v<T>,
                    "tessera: a std::optional placeholder (NULL) needs a nullable "
                    "(std::optional) column");
      params_.push_back(detail::make_param_slot<C, P>(
          static_cast<std::uint32_t>(values_.size()),
          i < 0 ? nullptr : &detail::column_names<M>()[static_cast<std::size_t>(i)]));
      values_.emplace_back();
    } else {
      static_assert(detail::accepts<C, V>() ||
                        (detail::is_optional_v<T> && std::is_same_v<V, std::nullopt_t>),
                    "tessera: the value's type does not match the column's type");
      if constexpr (std::is_same_v<V, std::nullopt_t>) {
        values_.emplace_back();
      } else {
        if (!detail::fits<C>(value)) out_of_range_ = i;
        values_.push_back(detail::dsl_value<C>(value));
      }
    }
    return std::move(*this);
  }

  template <class N>
  Update<M, true> where(Condition<N>) const {
    static_assert(std::is_same_v<N, M>,
                  "tessera: where() takes a condition on the updated model, not another");
    return {};
  }

  // Restricts the update to rows matching `c`.
  Update<M, true> where(Condition<M> c) const& { return Update(*this).where(std::move(c)); }
  Update<M, true> where(Condition<M> c) && {
    Update<M, true> u = std::move(*this).all();
    u.where_ = std::move(c);
    u.has_where_ = true;
    return u;
  }

  // Updates every row of the table: the explicit opt-in that where() is
  // not needed.
  Update<M, true> all() const& { return Update(*this).all(); }
  Update<M, true> all() && {
    Update<M, true> u;
    u.set_ = std::move(set_);
    u.values_ = std::move(values_);
    u.params_ = std::move(params_);
    u.undeclared_ = undeclared_;
    u.out_of_range_ = out_of_range_;
    return u;
  }

  // Whether a set() or the condition holds a placeholder (param<T>()).
  bool has_params() const { return !params_.empty() || !where_.params.empty(); }

  // Lowers to the untyped statement (moved out of a temporary update, copied
  // from any other), and the placeholders' slots to `params` when given.
  // Returns -2 when a member is not declared in the model, the index of a
  // field whose value is out of range, or -1 when all is well.
  int lower(ast::Update& out, std::vector<Value>& values,
            std::vector<detail::ParamSlot>* params = nullptr) const& {
    return Update(*this).lower(out, values, params);
  }
  int lower(ast::Update& out, std::vector<Value>& values,
            std::vector<detail::ParamSlot>* params = nullptr) && {
    out.table = table_name<M>();
    if (undeclared_) return -2;
    if (out_of_range_ >= 0) return out_of_range_;
    // The assignments and the SET values move out whole: they were built in
    // statement order (values_ first holds room for the condition's too).
    out.set = std::move(set_);
    values = std::move(values_);
    out.has_where = has_where_;
    if (params) *params = std::move(params_);
    if (has_where_) {
      const auto shift = static_cast<std::uint32_t>(values.size());
      detail::shift_params(where_.expr, shift);
      out.where = std::move(where_.expr);
      for (auto& v : where_.values) values.push_back(std::move(v));
      if (params) {
        detail::shift_slots(where_.params, shift);
        params->insert(params->end(), where_.params.begin(), where_.params.end());
      }
    }
    return -1;
  }

 private:
  template <Model, bool>
  friend class Update;

  // Room reserved in values_ at the first set(): a typical update's SET and
  // WHERE values together, so lower() appends the condition's without
  // growing it.
  static constexpr std::size_t kInlineValues = 4;

  std::vector<ast::Assignment> set_;  // in set() order; param indexes values_
  std::vector<Value> values_;
  std::vector<detail::ParamSlot> params_;  // of set() placeholders, indexing values_
  bool undeclared_ = false;                // a set() member is not declared in the model
  int out_of_range_ = -1;
  Condition<M> where_;
  bool has_where_ = false;
};

template <Model M>
Update<M> update() {
  return Update<M>();
}

// DELETE rows of model M; like Update, needs where() or all().
template <Model M, bool Filtered = false>
class Delete {
 public:
  template <class N>
  Delete<M, true> where(Condition<N>) const {
    static_assert(std::is_same_v<N, M>,
                  "tessera: where() takes a condition on the deleted model, not another");
    return {};
  }
  Delete<M, true> where(Condition<M> c) const {
    Delete<M, true> d;
    d.where_ = std::move(c);
    d.has_where_ = true;
    return d;
  }
  Delete<M, true> all() const { return Delete<M, true>(); }

  // Whether the condition holds a placeholder (param<T>()).
  bool has_params() const { return !where_.params.empty(); }

  // Lowers to the untyped statement (moved out of a temporary delete), and
  // the placeholders' slots to `params` when given.
  void lower(ast::Delete& out, std::vector<Value>& values,
             std::vector<detail::ParamSlot>* params = nullptr) const& {
    Delete(*this).lower(out, values, params);
  }
  void lower(ast::Delete& out, std::vector<Value>& values,
             std::vector<detail::ParamSlot>* params = nullptr) && {
    if (params) *params = std::move(where_.params);
    out.table = table_name<M>();
    out.has_where = has_where_;
    if (has_where_) {
      out.where = std::move(where_.expr);
      values = std::move(where_.values);
    }
  }

 private:
  template <Model, bool>
  friend class Delete;

  Condition<M> where_;
  bool has_where_ = false;
};

template <Model M>
Delete<M> delete_from() {
  return Delete<M>();
}

// ---------------------------------------------------------------- insert options

// Which fields an insert, update-by-key or upsert writes: every field
// (the default), only(...) or except(...). A value type: making one
// allocates nothing, so passing only(&T::x) on every call is free.
template <class M>
struct FieldSet {
  std::bitset<field_count<M>> listed;  // bit i: field i was named
  bool exclude = false;                // true: every field except those named
  bool unknown = false;                // a member not declared in TESSERA_MODEL was named

  // Whether field i is written. Every field when none was named.
  bool chosen(std::size_t i) const { return listed.none() || listed.test(i) != exclude; }

  // Names field i; a negative index (an undeclared member) sets `unknown`.
  FieldSet& add(int i) {
    if (i < 0)
      unknown = true;
    else
      listed.set(static_cast<std::size_t>(i));
    return *this;
  }
};

// Only these members: insert(u, only(&User::name, &User::email)).
template <class M, class... T>
FieldSet<M> only(T M::*... members) {
  FieldSet<M> f;
  (f.add(detail::member_index(members)), ...);
  return f;
}
// Every member except these (their database defaults apply on insert).
template <class M, class... T>
FieldSet<M> except(T M::*... members) {
  FieldSet<M> f;
  f.exclude = true;
  (f.add(detail::member_index(members)), ...);
  return f;
}

// The conflict target of an upsert: the primary key (default) or the
// members of one unique index.
template <class M>
struct ConflictTarget {
  std::vector<int> fields;
};
template <class M, class... T>
ConflictTarget<M> on_conflict(T M::*... members) {
  return ConflictTarget<M>{{detail::member_index(members)...}};
}

}  // namespace tessera
