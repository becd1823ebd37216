// Db, Transaction and the Executor interface they share.
//
//   auto db = tessera::Db::open("sqlite::memory:");
//   db.push_schema<User>();
//   User ada = db.insert(User{.name = "ada", .email = "ada@example.com"});
//   std::optional<User> u = db.find<User>(ada.id);
//   {
//     auto tx = db.transaction({.isolation = tessera::Isolation::serializable});
//     tx.insert(...);
//     tx.commit();  // or roll back when tx leaves scope
//   }
//
// Every read and write is a member of Executor, so it works the same on a
// Db (each statement on a pooled connection, auto-commit) and inside a
// Transaction (one pinned connection).
//
// A statement with placeholders is prepared once and run many times:
//
//   auto set_qty = db.prepare<std::int32_t, std::int64_t>(
//       tessera::update<Item>()
//           .set(&Item::qty, tessera::param<std::int32_t>())
//           .where(tessera::col(&Item::id) == tessera::param<std::int64_t>()));
//   set_qty.execute(7, std::int64_t{42});  // rows changed
//
// Errors: every member throws a DbError subclass (tessera/error.hpp).
// Thread safety: a Db may be shared by any number of threads. A Transaction
// and a Cursor belong to one thread at a time. A prepared statement is
// immutable: one prepared on a Db may be run by any number of threads at
// once; one prepared on a Transaction runs on its connection and, like it,
// belongs to one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tessera/detail/engine.hpp"
#include "tessera/detail/mapping.hpp"
#include "tessera/detail/schema_of.hpp"
#include "tessera/error.hpp"
#include "tessera/export.hpp"
#include "tessera/model.hpp"
#include "tessera/query.hpp"

namespace tessera {

struct TransactionOptions {
  // Default: the database's own default level.
  Isolation isolation = Isolation::database_default;
  // Default: false. A read-only transaction refuses writes.
  bool read_only = false;
};

// One page of a paged fetch.
template <class T>
struct Page {
  std::vector<T> items;
  std::int64_t total = 0;       // rows matching the query, ignoring paging
  std::int64_t page_index = 0;  // 0-based
  std::int64_t page_size = 0;
};

// A lazy, forward-only result: rows are read from the driver as the loop
// advances, one at a time into one reused struct, so memory does not grow
// with the result (drivers stream; see each driver's notes). Holds its
// connection until destroyed or exhausted. Use it in a range-for loop; each
// row is valid until the next increment.
template <class R>
class Cursor {
 public:
  explicit Cursor(detail::Execution e) : exec_(std::move(e)) {}

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(Cursor* c) : c_(c) { advance(); }
    const R& operator*() const { return c_->current_; }
    const R* operator->() const { return &c_->current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    bool operator==(std::default_sentinel_t) const { return c_ == nullptr; }

   private:
    void advance() {
      if (!c_->exec_.next()) {
        c_->exec_.finish();
        c_ = nullptr;
        return;
      }
      detail::read_row(*c_->exec_.rows(), c_->current_);
      c_->exec_.check_row();
    }
    Cursor* c_ = nullptr;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  detail::Execution exec_;
  R current_{};
};

class Transaction;

namespace detail {
// Shared between a transaction, its nested transactions and the statements
// prepared on them.
struct TxState {
  bool finished = false;
  int open_children = 0;
  std::shared_ptr<const TxState> parent;  // a nested transaction's enclosing one

  // Whether this transaction, or one enclosing it, has ended.
  bool ended() const {
    for (const TxState* s = this; s; s = s->parent.get())
      if (s->finished) return true;
    return false;
  }
};

// The values of the rows an insert writes, made a chunk at a time as the
// engine (or the driver) asks for them, or bound a row at a time: the listed
// members of each row, in field order, texts viewed not copied. Each member
// is checked by its type, as the engine checks a statement's values: one
// the driver (of capability `cap`) cannot store is invalid_value (NaN, text
// with NUL, ...; see refused_member). So is a row whose auto-increment key
// is not 0 when `generated` (or is 0 when not): either every row leaves the
// key to the database or none does. The rows and `cap` must outlive the
// insert.
template <Model T>
class ModelRows final : public InsertRowSource {
 public:
  ModelRows(std::span<T> rows, std::bitset<field_count<T>> written, std::size_t columns,
            bool generated, const Capability& cap)
      : rows_(rows), written_(written), columns_(columns), generated_(generated), cap_(cap) {}

  Result<std::span<const Value>> rows(std::size_t first, std::size_t count) override {
    return catch_all("tessera", [&]() -> Result<std::span<const Value>> {
      values_.clear();
      values_.reserve(count * columns_);
      for (const T& r : rows_.subspan(first, count)) {
        const char* problem = check_key(r);
        for_each_field<T>([&](const auto& f, auto i) {
          using F = std::decay_t<decltype(f)>;
          if (problem || !written_.test(i)) return;
          problem = refused_member(r.*(F::member), cap_);
          append_bound(values_, r.*(F::member));
        });
        if (problem) [[unlikely]]
          return Error(ErrorKind::invalid_value, problem);
      }
      return std::span<const Value>(values_);
    });
  }

  // Nothing here allocates or throws (the values not viewed are booleans,
  // timestamps and dates), so no catch_all.
  Status bind_row(std::size_t row, RowBinder& binder) override {
    const T& r = rows_[row];
    const char* problem = check_key(r);
    std::size_t column = 0;
    for_each_field<T>([&](const auto& f, auto i) {
      using F = std::decay_t<decltype(f)>;
      if (problem || !written_.test(i)) return;
      problem = refused_member(r.*(F::member), cap_);
      if (!problem) bind_member(binder, column++, r.*(F::member), i);
    });
    if (problem) [[unlikely]]
      return Error(ErrorKind::invalid_value, problem);
    return {};
  }

  // Writes the key into the row's auto-increment member as the driver
  // learns it, so insert_many needs no second pass over the rows.
  bool generated_key(std::size_t row, std::int64_t key) noexcept override {
    if constexpr (constexpr int ai = auto_increment_index<T>(); ai >= 0) {
      using F = std::decay_t<decltype(std::get<ai>(model_fields<T>))>;
      if (!generated_) return false;
      rows_[row].*(F::member) = static_cast<typename F::member_type>(key);
      keys_stored_ = row + 1;
      return true;
    } else {
      (void)row;
      (void)key;
      return false;
    }
  }

  // After a failed insert: puts back the 0 that generated_key() overwrote.
  // The driver gives keys in row order to rows it bound, and a row that
  // bound passed check_key, so every row before the last one given a key
  // held 0.
  void undo_keys() noexcept {
    if constexpr (constexpr int ai = auto_increment_index<T>(); ai >= 0) {
      using F = std::decay_t<decltype(std::get<ai>(model_fields<T>))>;
      for (std::size_t n = 0; n < keys_stored_; ++n) rows_[n].*(F::member) = 0;
      keys_stored_ = 0;
    }
  }

 private:
  const char* check_key(const T& r) const {
    if constexpr (constexpr int ai = auto_increment_index<T>(); ai >= 0) {
      constexpr auto member = std::decay_t<decltype(std::get<ai>(model_fields<T>))>::member;
      if ((r.*member == 0) != generated_) [[unlikely]]
        return "insert: either every row leaves the auto-increment key at 0 or none does";
    }
    return nullptr;
  }

  // Binds what append_bound would append: integers, floats, std::string and
  // Bytes members as themselves (texts and bytes viewed), anything else as a
  // Value held in `held_` until the next row (RowBinder's lifetime).
  template <class M>
  void bind_member(RowBinder& binder, std::size_t column, const M& v, std::size_t field) {
    if constexpr (is_optional_v<M>) {
      if (v)
        bind_member(binder, column, *v, field);
      else
        binder.bind_null(column);
    } else if constexpr (std::is_same_v<M, std::string>) {
      binder.bind_text(column, v);
    } else if constexpr (std::is_same_v<M, Bytes>) {
      binder.bind_bytes(column, v);
    } else {
      auto arg = value_arg(v);
      using A = decltype(arg);
      if constexpr (std::is_same_v<A, std::int64_t>) {
        binder.bind_int64(column, arg);
      } else if constexpr (std::is_same_v<A, double>) {
        binder.bind_double(column, arg);
      } else {
        static_assert(std::is_trivially_destructible_v<A>, "a held value must not allocate");
        held_[field] = Value(arg);
        binder.bind_value(column, held_[field]);
      }
    }
  }

  std::span<T> rows_;
  std::bitset<field_count<T>> written_;
  std::size_t columns_;
  bool generated_;
  const Capability& cap_;
  std::vector<Value> values_;
  std::array<Value, field_count<T>> held_;  // bind_row's values that are not views
  std::size_t keys_stored_ = 0;             // rows [0, keys_stored_) were given keys
};

// True when an argument of type A may be bound to a parameter declared as
// P (see Param): as a literal of type A for a column of type P; an empty
// std::optional or std::nullopt binds NULL where P is a std::optional.
template <class P, class A>
constexpr bool param_accepts() {
  using D = std::remove_cvref_t<A>;
  if constexpr (is_optional_v<P>) {
    using U = unwrap_optional_t<P>;
    if constexpr (std::is_same_v<D, std::nullopt_t>)
      return true;
    else if constexpr (is_optional_v<D>)
      return accepts<U, unwrap_optional_t<D>>();
    else
      return accepts<U, D>();
  } else {
    return accepts<P, std::decay_t<D>>();
  }
}

// Compile-time check of a prepared statement's arguments A... against its
// declared parameter types (Params, a std::tuple of them): as many, each
// accepted (param_accepts).
template <class Params, class... A>
constexpr void check_prepared_args() {
  static_assert(sizeof...(A) == std::tuple_size_v<Params>,
                "tessera: a prepared statement takes one argument per declared parameter");
  if constexpr (sizeof...(A) == std::tuple_size_v<Params>)
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      static_assert((param_accepts<std::tuple_element_t<I, Params>, A>() && ...),
                    "tessera: an argument's type does not match its declared parameter type");
    }
  (std::index_sequence_for<A...>{});
}

// What every prepared statement holds: its plan (owned by the engine's plan
// cache, alive while the engine is), its literal values, its placeholders,
// and where it runs (a Db's pool, or a transaction's connection). Immutable
// after construction.
class TESSERA_API PreparedCore {
 public:
  // Checks the declared parameter types against the placeholders (`slots`,
  // in parameter order) and plans `statement` once. `values` are the
  // statement's values with a NULL at each placeholder. Throws
  // StatementError (invalid_statement) naming the first position whose
  // declared type differs from the placeholder's, or when the counts
  // differ; DbError when the statement cannot be planned.
  PreparedCore(std::shared_ptr<Engine> engine, Connection* pinned,
               std::shared_ptr<const TxState> tx, const ast::Statement& statement,
               std::vector<Value> values, std::vector<ParamSlot> slots, SchemaFn schema,
               std::span<const std::type_info* const> declared);

 protected:
  // The connection to run on (null: a pooled one). Throws StatementError
  // once the transaction it was prepared on has ended.
  Connection* pin() const {
    if (tx_ && tx_->ended()) [[unlikely]]
      ended();
    return pinned_;
  }

  // Calls f(std::span<const Value>) with the statement's values: literals
  // viewed (texts are not copied) and the arguments bound as Params (a
  // std::tuple of the declared types) converts them, texts viewed. The
  // values live on the stack unless the statement is wide.
  template <class Params, class F, class... A>
  decltype(auto) with_values(F&& f, const A&... args) const {
    constexpr std::size_t inline_width = sizeof...(A) + 8;
    if (values_.size() <= inline_width) [[likely]] {
      ValueBuffer<inline_width> buffer;
      bind<Params, true>(buffer, args...);
      return f(buffer.span());
    }
    std::vector<Value> wide;
    wide.reserve(values_.size());
    bind<Params, true>(wide, args...);
    return f(std::span<const Value>(wide));
  }

  // The statement's values as owned copies (for a cursor, which outlives
  // the call and may outlive this statement).
  template <class Params, class... A>
  std::vector<Value> owned_values(const A&... args) const {
    std::vector<Value> out;
    out.reserve(values_.size());
    bind<Params, false>(out, args...);
    return out;
  }

  std::shared_ptr<Engine> engine_;
  const Plan* plan_ = nullptr;
  SchemaFn schema_ = nullptr;

 private:
  // Appends every value to `out` in parameter order: the literals, and at
  // each placeholder its argument. `View`: texts refer to the caller's
  // arguments and to values_ instead of being copied.
  template <class Params, bool View, class Out, class... A>
  void bind(Out& out, const A&... args) const {
    std::size_t k = 0;
    auto literals_until = [&](std::size_t end) {
      for (; k < end; ++k) {
        const Value& v = values_[k];
        if (View && v.type() == ValueType::text)
          out.emplace_back(Value::TextView{v.as_text()});
        else
          out.emplace_back(v);
      }
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            const ParamSlot& slot = slots_[I];
            literals_until(slot.index);
            append_arg<std::tuple_element_t<I, Params>, View>(out, args, slot, I);
            ++k;
          }(),
          ...);
    }
    (std::index_sequence_for<A...>{});
    literals_until(values_.size());
  }

  // Appends the Value of argument `a` (declared type P) for `slot`; throws
  // InvalidValueError when it does not fit P or the column.
  template <class P, bool View, class Out, class A>
  static void append_arg(Out& out, const A& a, const ParamSlot& slot, std::size_t position) {
    if constexpr (is_optional_v<P>) {
      if constexpr (std::is_same_v<A, std::nullopt_t>) {
        out.emplace_back();
      } else if constexpr (is_optional_v<A>) {
        if (a)
          append_arg<unwrap_optional_t<P>, View>(out, *a, slot, position);
        else
          out.emplace_back();
      } else {
        append_arg<unwrap_optional_t<P>, View>(out, a, slot, position);
      }
    } else if constexpr (std::is_same_v<P, std::string>) {
      if constexpr (View)
        out.emplace_back(Value::TextView{std::string_view(a)});
      else
        out.emplace_back(std::string(std::string_view(a)));
    } else if constexpr (std::is_same_v<P, bool> || std::is_enum_v<P>) {
      out.emplace_back(value_arg(a));
    } else if constexpr (std::is_arithmetic_v<P>) {
      if (!fits_slot<P>(a, slot)) [[unlikely]]
        out_of_range(slot, position);
      if constexpr (std::is_floating_point_v<A>) {
        out.emplace_back(static_cast<double>(a));
      } else if (slot.floating) {
        out.emplace_back(static_cast<double>(a));
      } else {
        out.emplace_back(static_cast<std::int64_t>(a));
      }
    } else {
      out.emplace_back(a);  // Bytes (copied), Timestamp, Date
    }
  }

  // Whether arithmetic `a` fits the declared type P and the slot's column.
  template <class P, class A>
  static bool fits_slot(const A& a, const ParamSlot& slot) {
    if (!fits<P>(a)) return false;
    if constexpr (std::is_integral_v<A>) {
      return std::cmp_greater_equal(a, slot.min) && std::cmp_less_equal(a, slot.max);
    } else {
      return !slot.float32 || fits<float>(a);
    }
  }

  [[noreturn]] static void out_of_range(const ParamSlot& slot, std::size_t position);
  [[noreturn]] static void ended();

  Connection* pinned_ = nullptr;
  std::shared_ptr<const TxState> tx_;  // null on a Db
  std::vector<Value> values_;          // every parameter; NULL at a placeholder
  std::vector<ParamSlot> slots_;       // the placeholders, by parameter index
};
}  // namespace detail

// A prepared UPDATE or DELETE of model M whose placeholders have the
// declared types P...: planned once by Executor::prepare, run by execute().
// Copyable (copies share the plan); keeps its Db's engine alive. Immutable,
// so a statement prepared on a Db may be run by several threads at once;
// one prepared on a Transaction runs inside it, on its connection, and
// throws StatementError once that transaction (or one enclosing it) has
// ended.
template <Model M, class... P>
class PreparedWrite : private detail::PreparedCore {
 public:
  // Binds one argument per declared parameter, in order, and runs the
  // statement; returns the number of rows changed. An argument's type must
  // be accepted by its declared type (as a literal would be by a column of
  // that type), or the call does not compile; a std::optional parameter
  // takes an optional or std::nullopt (NULL). Text arguments are bound
  // without copying (they live for the call). Throws InvalidValueError for
  // an argument out of its declared type's or its column's range (before
  // anything reaches the driver), and as Executor::execute otherwise.
  template <class... A>
  std::uint64_t execute(const A&... args) const {
    check_args<A...>();
    return with_values<std::tuple<P...>>(
        [this](std::span<const Value> values) {
          return engine_->write(pin(), plan_, values, schema_);
        },
        args...);
  }

 private:
  friend class Executor;
  explicit PreparedWrite(detail::PreparedCore core) : PreparedCore(std::move(core)) {}

  template <class... A>
  static constexpr void check_args() {
    detail::check_prepared_args<std::tuple<P...>, A...>();
  }
};

// A prepared SELECT of model M mapped into R, whose placeholders have the
// declared types P...: planned once by Executor::prepare. Each member binds
// one argument per declared parameter, in order, with the type checks,
// conversions and range errors of PreparedWrite::execute, then reads as the
// Executor member of the same name. Copyable, immutable, and thread-safe
// as PreparedWrite.
template <Model M, class R, class... P>
class PreparedSelect : private detail::PreparedCore {
 public:
  // Every matching row.
  template <class... A>
  std::vector<R> fetch_all(const A&... args) const {
    check_args<A...>();
    std::vector<R> out;
    detail::MappingSink sink([&out](Rows& rows) {
      detail::read_row(rows, out.emplace_back());
      return true;
    });
    read(sink, args...);
    return out;
  }

  // Exactly one row. Throws NotFoundError (not_found) on none and
  // (too_many_rows) on more than one. The statement is not limited to two
  // rows: give the query a limit() if many could match.
  template <class... A>
  R fetch_one(const A&... args) const {
    auto r = fetch_optional(args...);
    if (!r) throw_error(Error(ErrorKind::not_found, "fetch_one: no row matched"));
    return std::move(*r);
  }

  // At most one row. Throws NotFoundError (too_many_rows) on more; reading
  // stops at the second row.
  template <class... A>
  std::optional<R> fetch_optional(const A&... args) const {
    check_args<A...>();
    std::optional<R> out;
    detail::MappingSink sink([&out](Rows& rows) {
      if (out) return false;  // a second row: counted, not read
      detail::read_row(rows, out.emplace());
      return true;
    });
    if (read(sink, args...) > 1)
      throw_error(Error(ErrorKind::too_many_rows, "expected at most one row, got more"));
    return out;
  }

  // A lazy cursor over the matching rows. It holds copies of the values
  // (texts included), so it may outlive the arguments and this statement;
  // as any Cursor, it holds its connection until destroyed or exhausted.
  template <class... A>
  Cursor<R> cursor(const A&... args) const {
    check_args<A...>();
    return Cursor<R>(engine_->run(pin(), plan_, owned_values<std::tuple<P...>>(args...), schema_,
                                  /*reads_all=*/false));
  }

 private:
  friend class Executor;
  explicit PreparedSelect(detail::PreparedCore core) : PreparedCore(std::move(core)) {}

  template <class... A>
  std::uint64_t read(detail::ReadSink& sink, const A&... args) const {
    return with_values<std::tuple<P...>>(
        [this, &sink](std::span<const Value> values) {
          return engine_->read(pin(), plan_, values, schema_, sink);
        },
        args...);
  }

  template <class... A>
  static constexpr void check_args() {
    detail::check_prepared_args<std::tuple<P...>, A...>();
  }
};

class TESSERA_API Executor {
 public:
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // ------------------------------------------------------------ reads

  // The row with this primary key (all key members, in declaration order).
  template <Model T, class... K>
  std::optional<T> find(const K&... key) {
    std::optional<T> out;
    read_by_key<T>([&out](Rows& rows) { detail::read_row(rows, out.emplace()); }, key...);
    return out;
  }

  // find() into an object the caller keeps (as ODB's load(id, object)): on
  // a match every member of `out` is assigned from the row and true is
  // returned; a string member keeps its capacity, so a loop of lookups into
  // one object allocates nothing once its strings are long enough. Without
  // a match `out` is untouched and false is returned. Errors as find();
  // after one (a value the member cannot hold, or an exception) `out` may
  // hold some of the row's members and its other members unchanged.
  template <Model T, class... K>
  bool find_into(T& out, const K&... key) {
    bool found = false;
    read_by_key<T>(
        [&out, &found](Rows& rows) {
          detail::read_row(rows, out);
          found = true;
        },
        key...);
    return found;
  }

  // Every matching row.
  template <Model M, class R>
  std::vector<R> fetch_all(Select<M, R> q) {
    auto e = run_select(std::move(q), ast::Select::Projection::columns);
    std::vector<R> out;
    if (const Rows* rows = e.rows()) out.reserve(rows->size_hint());
    while (e.next()) {
      detail::read_row(*e.rows(), out.emplace_back());
      e.check_row();
    }
    return out;
  }

  // Exactly one row. Throws NotFoundError (not_found) on none and
  // (too_many_rows) on more than one.
  template <Model M, class R>
  R fetch_one(Select<M, R> q) {
    auto r = fetch_optional(std::move(q));
    if (!r) throw_error(Error(ErrorKind::not_found, "fetch_one: no row matched"));
    return std::move(*r);
  }

  // At most one row. Throws NotFoundError (too_many_rows) on more.
  template <Model M, class R>
  std::optional<R> fetch_optional(Select<M, R> q) {
    if (!q.limit_value()) q = std::move(q).limit(2);
    std::vector<Value> values;
    const ast::Statement st = lower_select(std::move(q), ast::Select::Projection::columns, values);
    std::optional<R> out;
    detail::MappingSink sink([&out](Rows& rows) {
      if (out) return false;  // a second row: counted, not read
      detail::read_row(rows, out.emplace());
      return true;
    });
    if (engine_->read(pin(), st, values, &table_schema<M>, sink) > 1)
      throw_error(Error(ErrorKind::too_many_rows, "expected at most one row, got more"));
    return out;
  }

  // The number of matching rows (limit/offset respected).
  template <Model M, class R>
  std::int64_t count(Select<M, R> q) {
    auto e = run_select(std::move(q), ast::Select::Projection::count);
    if (!e.next()) throw_error(Error(ErrorKind::internal, "COUNT returned no row"));
    return e.rows()->get_int64(0);
  }

  // Whether any row matches.
  template <Model M, class R>
  bool exists(Select<M, R> q) {
    auto e = run_select(std::move(q), ast::Select::Projection::exists);
    if (!e.next()) throw_error(Error(ErrorKind::internal, "EXISTS returned no row"));
    return e.rows()->get_bool(0);
  }

  // Page `page_index` (0-based) of `page_size` rows, and the total count.
  // The query's own limit/offset are replaced. Run inside a transaction for
  // a total consistent with the items.
  template <Model M, class R>
  Page<R> fetch_page(const Select<M, R>& q, std::int64_t page_index, std::int64_t page_size) {
    if (page_index < 0 || page_size <= 0)
      throw_error(
          Error(ErrorKind::invalid_statement, "fetch_page: page_index < 0 or page_size <= 0"));
    Page<R> p;
    p.page_index = page_index;
    p.page_size = page_size;
    p.total = count(q.without_paging());
    p.items = fetch_all(q.limit(page_size).offset(page_index * page_size));
    return p;
  }

  // A lazy cursor over the matching rows.
  template <Model M, class R>
  Cursor<R> cursor(Select<M, R> q) {
    return Cursor<R>(
        run_select(std::move(q), ast::Select::Projection::columns, /*reads_all=*/false));
  }

  // ------------------------------------------------------------ writes

  // Inserts one row and returns it as stored: the auto-increment key filled
  // in (an auto-increment member left at 0 is generated), and, on drivers
  // with RETURNING, columns left out by `fields` read back with their
  // database defaults.
  template <Model T>
  T insert(const T& row, const FieldSet<T>& fields = {}) {
    std::vector<T> rows{row};
    insert_rows<T>(std::span<T>(rows), fields, nullptr);
    return std::move(rows.front());
  }

  // Inserts many rows in as few round trips as the driver allows, filling
  // each row's auto-increment key. Either every row leaves the key at 0
  // (generated) or every row sets it. The rows are read while the insert
  // runs (by a driver with Capability::insert_row_source, a chunk at a time,
  // never all copied at once): do not change them from another thread
  // meanwhile. A value the driver cannot store throws InvalidValueError and
  // writes none of the rows; other failures (a constraint) are atomic only
  // inside a transaction.
  template <Model T>
  void insert_many(std::span<T> rows, const FieldSet<T>& fields = {}) {
    if (!rows.empty()) insert_rows<T>(rows, fields, nullptr);
  }
  template <Model T>
  void insert_many(std::vector<T>& rows, const FieldSet<T>& fields = {}) {
    insert_many(std::span<T>(rows), fields);
  }

  // Inserts the row, or on a conflict with the primary key (or the unique
  // members named by `target`) updates the existing row's other columns.
  // Returns the row as stored where the driver has RETURNING.
  template <Model T>
  T upsert(const T& row, const ConflictTarget<T>& target = {}) {
    std::vector<T> rows{row};
    insert_rows(std::span<T>(rows), FieldSet<T>{}, &target);
    return std::move(rows.front());
  }
  template <Model T>
  void upsert_many(std::span<T> rows, const ConflictTarget<T>& target = {}) {
    if (!rows.empty()) insert_rows(rows, FieldSet<T>{}, &target);
  }

  // Updates the row with row's primary key: every non-key column, or those
  // chosen by `fields`. Returns false when no row has that key.
  template <Model T>
  bool update(const T& row, const FieldSet<T>& fields = {}) {
    static_assert(detail::primary_key_count<T>() > 0, "tessera: update() needs a primary key");
    check_fields(fields);
    constexpr std::size_t n = tessera::field_count<T>;
    if constexpr (n <= 64) {
      // The statement's shape depends only on which columns are set: one
      // static shape per (model, column set), values on the stack.
      std::uint64_t mask = 0;
      detail::ValueBuffer<n> values;
      detail::for_each_field<T>([&](const auto& f, auto i) {
        using F = std::decay_t<decltype(f)>;
        if (F::is_primary_key || !chosen(fields, static_cast<int>(i))) return;
        mask |= std::uint64_t{1} << i;
        detail::append_bound(values, row.*(F::member));
      });
      if (mask == 0) throw_error(Error(ErrorKind::invalid_statement, "update(): no column to set"));
      detail::for_each_field<T>([&](const auto& f, auto) {
        using F = std::decay_t<decltype(f)>;
        if constexpr (F::is_primary_key) detail::append_bound(values, row.*(F::member));
      });
      return engine_->write(pin(), update_shape<T>(mask), values.span(), &table_schema<T>) > 0;
    } else {
      ast::Statement st{ast::Update{}};
      auto& u = std::get<ast::Update>(st);
      u.table = table_name<T>();
      std::vector<Value> values;
      detail::for_each_field<T>([&](const auto& f, auto i) {
        using F = std::decay_t<decltype(f)>;
        if (F::is_primary_key || !chosen(fields, static_cast<int>(i))) return;
        u.set.push_back(ast::Assignment{f.name(), static_cast<std::uint32_t>(values.size())});
        detail::append_bound(values, row.*(F::member));
      });
      if (u.set.empty())
        throw_error(Error(ErrorKind::invalid_statement, "update(): no column to set"));
      u.has_where = true;
      u.where = key_condition<T>(static_cast<std::uint32_t>(values.size()));
      append_key_values(row, values);
      return engine_->write(pin(), st, values, &table_schema<T>) > 0;
    }
  }

  // Updates many rows by primary key, each to its own values (every non-key
  // column, or those chosen by `fields`), in as few statements as the driver
  // allows: where the driver runs op::UpdateMany (Capability::update_many;
  // PostgreSQL) one such operation per run of distinct keys, which the
  // driver sends as array-bound statements; on other SQL drivers one UPDATE
  // per batch, setting each column to a CASE over the batch's keys; one
  // update per row where the driver says that is cheaper
  // (Capability::row_at_a_time_writes) and on key-value drivers. The
  // outcome is that of update(row) for each row in order: a key given twice
  // ends with its later row's values, and the result counts the rows whose
  // key exists (a repeated key each time). Atomic only inside a transaction
  // (with Capability::update_many, a call whose keys are all distinct is one
  // operation and atomic by itself, but that is not promised in general).
  template <Model T>
  std::uint64_t update_many(std::span<const T> rows, const FieldSet<T>& fields = {}) {
    static_assert(detail::primary_key_count<T>() > 0, "tessera: update_many() needs a primary key");
    check_fields(fields);
    if (rows.empty()) return 0;
    const Capability& cap = engine_->capability();
    if (cap.sql == SqlDialect::none || cap.row_at_a_time_writes) {
      std::uint64_t n = 0;
      for (const T& r : rows) n += update(r, fields) ? 1 : 0;
      return n;
    }
    std::vector<int> cols;
    detail::for_each_field<T>([&](const auto& f, auto i) {
      if (!std::decay_t<decltype(f)>::is_primary_key && chosen(fields, static_cast<int>(i)))
        cols.push_back(static_cast<int>(i));
    });
    if (cols.empty())
      throw_error(Error(ErrorKind::invalid_statement, "update_many(): no column to set"));
    if (cap.update_many) return update_many_ops<T>(rows, cols);
    constexpr std::size_t pk = static_cast<std::size_t>(detail::primary_key_count<T>());
    const std::size_t per_row = cols.size() * (pk + 1) + pk;
    // 500 rows at most: keeps the statement (and SQLite's expression depth
    // for composite keys) moderate.
    const std::size_t batch =
        std::max<std::size_t>(1, std::min<std::size_t>(500, cap.max_bind_params / per_row));
    // A key repeated within a batch would take its first value (CASE picks
    // the first match): a repeat ends the batch instead, so the later row
    // wins, as with one update() per row in order.
    std::uint64_t total = 0;
    DistinctKeys keys;
    for (std::size_t start = 0; start < rows.size();) {
      const std::size_t end = keys.run_end(rows, start, batch);
      total += update_batch<T>(rows.subspan(start, end - start), cols);
      start = end;
    }
    return total;
  }
  template <Model T>
  std::uint64_t update_many(const std::vector<T>& rows, const FieldSet<T>& fields = {}) {
    return update_many(std::span<const T>(rows), fields);
  }

  // UPDATE ... SET ... WHERE ...; returns the number of rows changed.
  // An update without where() or all() does not compile.
  template <Model M, bool Filtered>
  std::uint64_t execute(Update<M, Filtered> q) {
    static_assert(Filtered,
                  "tessera: an update needs where(...), or all() to update every row explicitly");
    if (q.has_params()) [[unlikely]]
      unprepared();
    ast::Statement st{ast::Update{}};
    std::vector<Value> values;
    check_update<M>(std::move(q).lower(std::get<ast::Update>(st), values), st);
    return engine_->write(pin(), st, values, &table_schema<M>);
  }

  // DELETE ... WHERE ...; returns the number of rows deleted. A delete
  // without where() or all() does not compile.
  template <Model M, bool Filtered>
  std::uint64_t execute(Delete<M, Filtered> q) {
    static_assert(Filtered,
                  "tessera: a delete needs where(...), or all() to delete every row explicitly");
    if (q.has_params()) [[unlikely]]
      unprepared();
    ast::Statement st{ast::Delete{}};
    std::vector<Value> values;
    std::move(q).lower(std::get<ast::Delete>(st), values);
    return engine_->write(pin(), st, values, &table_schema<M>);
  }

  // Deletes the row with this primary key; false if there was none.
  template <Model T, class... K>
  bool erase(const K&... key) {
    static_assert(sizeof...(K) == detail::primary_key_count<T>(),
                  "tessera: erase() needs one value per primary-key member");
    const auto values = key_values<T>(key...);
    return engine_->write(pin(), erase_shape<T>(), values, &table_schema<T>) > 0;
  }

  // Deletes the row with row's primary key; false if there was none.
  template <Model T>
  bool remove(const T& row) {
    std::vector<Value> values;
    append_key_values(row, values);
    return engine_->write(pin(), erase_shape<T>(), values, &table_schema<T>) > 0;
  }

  // ------------------------------------------------------------ prepared statements

  // Plans a statement with placeholders (param<T>()) once, for running many
  // times with different values: P... are the placeholders' types in order
  // of appearance (SET before WHERE, left to right), each exactly as given
  // to param<T>(). Placeholder and literal types are checked against their
  // columns at compile time; the declared list is checked against the
  // placeholders here, and a mismatch throws StatementError
  // (invalid_statement) naming the position. Literal values are kept in the
  // prepared statement. Other errors as execute() / fetch_all(): an
  // out-of-range literal throws InvalidValueError here. The statement runs
  // where it was prepared: on this Db's pool, or inside this transaction
  // (see PreparedWrite for ownership and threads).
  template <class... P, Model M, bool Filtered>
  PreparedWrite<M, P...> prepare(Update<M, Filtered> q) {
    static_assert(Filtered,
                  "tessera: an update needs where(...), or all() to update every row explicitly");
    Connection* pinned = pin();
    ast::Statement st{ast::Update{}};
    std::vector<Value> values;
    std::vector<detail::ParamSlot> params;
    check_update<M>(std::move(q).lower(std::get<ast::Update>(st), values, &params), st);
    return PreparedWrite<M, P...>(
        prepared_core<P...>(pinned, st, std::move(values), std::move(params), &table_schema<M>));
  }
  template <class... P, Model M, bool Filtered>
  PreparedWrite<M, P...> prepare(Delete<M, Filtered> q) {
    static_assert(Filtered,
                  "tessera: a delete needs where(...), or all() to delete every row explicitly");
    Connection* pinned = pin();
    ast::Statement st{ast::Delete{}};
    std::vector<Value> values;
    std::vector<detail::ParamSlot> params;
    std::move(q).lower(std::get<ast::Delete>(st), values, &params);
    return PreparedWrite<M, P...>(
        prepared_core<P...>(pinned, st, std::move(values), std::move(params), &table_schema<M>));
  }
  template <class... P, Model M, class R>
  PreparedSelect<M, R, P...> prepare(Select<M, R> q) {
    Connection* pinned = pin();
    ast::Statement st{ast::Select{}};
    std::vector<Value> values;
    std::vector<detail::ParamSlot> params;
    std::move(q).lower(std::get<ast::Select>(st), values, ast::Select::Projection::columns,
                       &params);
    return PreparedSelect<M, R, P...>(
        prepared_core<P...>(pinned, st, std::move(values), std::move(params), &table_schema<M>));
  }

  // ------------------------------------------------------------ raw SQL

  // Runs raw SQL in the driver's dialect with bound parameters (placeholders
  // as the dialect writes them: ?1 sqlite, $1 postgresql, ? mysql) and maps
  // each row into R: a model or partial (columns in field order) or a
  // std::tuple of column types. Tables are not prefixed.
  template <class R, class... P>
  std::vector<R> query(std::string sql, const P&... params) {
    auto e = engine_->raw(pin(), std::move(sql), {detail::to_value(params)...}, /*reads_all=*/true);
    std::vector<R> out;
    if (!e.rows()) return out;
    while (e.next()) {
      R& r = out.emplace_back();
      if constexpr (Model<R>) {
        check_width(*e.rows(), field_count<R>);
        detail::read_row(*e.rows(), r);
      } else {
        check_width(*e.rows(), std::tuple_size_v<R>);
        read_tuple(*e.rows(), r);
      }
      e.check_row();
    }
    return out;
  }

  // Runs raw SQL that returns no rows; the number of rows affected.
  template <class... P>
  std::uint64_t execute_raw(std::string sql, const P&... params) {
    return engine_->raw(pin(), std::move(sql), {detail::to_value(params)...}, /*reads_all=*/true)
        .affected();
  }

  // ------------------------------------------------------------ schema

  // Creates the models' tables, keys and indexes where missing.
  template <Model... T>
  void push_schema() {
    Schema s;
    (s.tables.push_back(table_schema<T>(engine_->options().table_prefix)), ...);
    engine_->push_schema(pin(), s);
  }

  // Drops the models' tables if they exist (for tests).
  template <Model... T>
  void drop_tables() {
    engine_->drop_tables(pin(), {engine_->table(table_name<T>())...});
  }

  // ------------------------------------------------------------ misc

  // A transaction: on a Db, on a pooled connection; inside a transaction,
  // a nested transaction (a savepoint).
  Transaction transaction(const TransactionOptions& options = {});

  const Capability& capability() const { return engine_->capability(); }
  std::string_view driver_name() const { return engine_->driver_name(); }
  const DriverOrigin& driver_origin() const { return engine_->origin(); }

 protected:
  Executor(std::shared_ptr<detail::Engine> engine, Connection* pinned)
      : engine_(std::move(engine)), pinned_(pinned) {}
  Executor(Executor&&) noexcept = default;
  ~Executor() = default;

  std::shared_ptr<detail::Engine> engine_;
  Connection* pinned_ = nullptr;  // set inside a transaction
  bool finished_ = false;         // a Transaction after commit/rollback

  // The connection statements run on: the pinned one, or null for a pooled
  // one. Throws on a finished transaction, so nothing runs outside it by
  // accident.
  Connection* pin() const {
    if (finished_)
      throw_error(Error(ErrorKind::invalid_statement, "statement on a finished transaction"));
    return pinned_;
  }

 private:
  template <Model M, class R>
  detail::Execution run_select(Select<M, R> q, ast::Select::Projection projection,
                               bool reads_all = true) {
    std::vector<Value> values;
    const ast::Statement st = lower_select(std::move(q), projection, values);
    return engine_->run(pin(), st, std::move(values), &table_schema<M>, reads_all);
  }

  // The query's statement shape; its values go to `values`.
  template <Model M, class R>
  static ast::Statement lower_select(Select<M, R> q, ast::Select::Projection projection,
                                     std::vector<Value>& values) {
    if (q.has_params()) [[unlikely]]
      unprepared();
    ast::Statement st{ast::Select{}};
    std::move(q).lower(std::get<ast::Select>(st), values, projection);
    return st;
  }

  // Throws for a statement with placeholders run without prepare().
  [[noreturn]] static void unprepared() {
    throw_error(Error(ErrorKind::invalid_statement,
                      "a statement with placeholders (param<T>()) runs through prepare()"));
  }

  // Throws for what Update::lower() reported (`bad`) or an update that sets
  // nothing.
  template <Model M>
  static void check_update(int bad, const ast::Statement& st) {
    if (bad == -2)
      throw_error(Error(ErrorKind::invalid_statement,
                        "update: set() names a member not declared in TESSERA_MODEL"));
    if (bad >= 0)
      throw_error(Error(ErrorKind::invalid_value,
                        "update: value out of range for column " +
                            detail::column_names<M>()[static_cast<std::size_t>(bad)]));
    if (std::get<ast::Update>(st).set.empty())
      throw_error(Error(ErrorKind::invalid_statement, "update: no set() given"));
  }

  // The transaction state prepared statements check (null on a Db).
  std::shared_ptr<const detail::TxState> tx_state() const;

  // A prepared statement's core for declared types P... (see PreparedCore).
  template <class... P>
  detail::PreparedCore prepared_core(Connection* pinned, const ast::Statement& st,
                                     std::vector<Value> values,
                                     std::vector<detail::ParamSlot> params,
                                     detail::SchemaFn schema) {
    static_assert((detail::is_param_type<P>() && ...),
                  "tessera: prepare<P...>() takes the types given to param<T>()");
    const std::array<const std::type_info*, sizeof...(P)> declared{&typeid(P)...};
    return detail::PreparedCore(engine_, pinned, tx_state(), st, std::move(values),
                                std::move(params), schema, declared);
  }

  template <Model T>
  static ast::Expr key_condition(std::uint32_t first_param) {
    std::vector<ast::Expr> parts;
    detail::for_each_field<T>([&](const auto& f, auto) {
      if (!std::decay_t<decltype(f)>::is_primary_key) return;
      ast::Expr eq;
      eq.kind = ast::Expr::Kind::eq;
      eq.children = {detail::column_expr(f.name()),
                     detail::param_expr(first_param + static_cast<std::uint32_t>(parts.size()))};
      parts.push_back(std::move(eq));
    });
    if (parts.size() == 1) return std::move(parts.front());
    ast::Expr all;
    all.kind = ast::Expr::Kind::and_;
    all.children = std::move(parts);
    return all;
  }

  // SELECT every column WHERE key = ?, built once per model: its plan is
  // found without hashing (detail::StaticShape).
  template <Model T>
  static const detail::StaticShape& find_shape() {
    static const detail::StaticShape shape([] {
      ast::Select s;
      s.table = table_name<T>();
      s.columns = detail::column_names<T>();
      s.has_where = true;
      s.where = key_condition<T>(0);
      return ast::Statement{std::move(s)};
    }());
    return shape;
  }

  // UPDATE SET <the columns in `mask`> WHERE key = ?, built on first use per
  // (model, column set) and kept for the program's life. Thread-safe; the
  // last shape used is remembered per thread.
  template <Model T>
  static const detail::StaticShape& update_shape(std::uint64_t mask) {
    thread_local std::uint64_t last_mask = 0;
    thread_local const detail::StaticShape* last = nullptr;
    if (last != nullptr && last_mask == mask) return *last;
    static std::mutex mutex;
    static std::unordered_map<std::uint64_t, std::unique_ptr<detail::StaticShape>> shapes;
    std::lock_guard lock(mutex);
    auto& shape = shapes[mask];
    if (!shape) {
      ast::Update u;
      u.table = table_name<T>();
      detail::for_each_field<T>([&](const auto& f, auto i) {
        if (mask & (std::uint64_t{1} << i))
          u.set.push_back(ast::Assignment{f.name(), static_cast<std::uint32_t>(u.set.size())});
      });
      u.has_where = true;
      u.where = key_condition<T>(static_cast<std::uint32_t>(u.set.size()));
      shape = std::make_unique<detail::StaticShape>(ast::Statement{std::move(u)});
    }
    last_mask = mask;
    last = shape.get();
    return *shape;
  }

  // DELETE WHERE key = ?, built once per model.
  template <Model T>
  static const detail::StaticShape& erase_shape() {
    static const detail::StaticShape shape([] {
      ast::Delete d;
      d.table = table_name<T>();
      d.has_where = true;
      d.where = key_condition<T>(0);
      return ast::Statement{std::move(d)};
    }());
    return shape;
  }

  // The key's values in key-member order, on the stack.
  // Runs T's find statement for `key`, calling map(rows) on the row found.
  template <Model T, class Map, class... K>
  void read_by_key(Map map, const K&... key) {
    static_assert(sizeof...(K) == detail::primary_key_count<T>(),
                  "tessera: find() needs one value per primary-key member");
    const auto values = key_values<T>(key...);
    detail::MappingSink sink([&map](Rows& rows) {
      map(rows);
      return false;  // a key matches at most one row
    });
    engine_->read(pin(), find_shape<T>(), values, &table_schema<T>, sink);
  }

  template <Model T, class... K>
  static std::array<Value, sizeof...(K)> key_values(const K&... key) {
    // Each value built in its array slot (no temporaries to move and destroy).
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      using Fields = std::decay_t<decltype(model_fields<T>)>;
      const std::tuple<const K&...> keys(key...);
      return std::array<Value, sizeof...(K)>{key_value<
          typename std::tuple_element_t<detail::primary_key_field<T>(I), Fields>::value_type>(
          std::get<I>(keys))...};
    }
    (std::index_sequence_for<K...>{});
  }

  template <class C, class V>
  static Value key_value(const V& v) {
    if constexpr (detail::accepts<C, V>()) {
      return detail::dsl_value<C>(v);
    } else {
      throw_error(Error(ErrorKind::invalid_statement, "key value's type does not match the key"));
    }
  }

  // Finds runs of rows whose primary keys are distinct.
  class DistinctKeys {
   public:
    // The end of the run that starts at `start`: at most `max` rows, ended
    // before the first row whose key is already in the run.
    template <Model T>
    std::size_t run_end(std::span<const T> rows, std::size_t start, std::size_t max) {
      seen_.clear();
      std::size_t end = start;
      for (; end < rows.size() && end - start < max; ++end) {
        key_.clear();
        append_key_values(rows[end], key_);
        identity_.clear();
        for (const Value& v : key_) detail::append_identity(identity_, v);
        if (!seen_.insert(identity_).second) break;
      }
      return end;
    }

   private:
    std::unordered_set<std::string> seen_;
    std::vector<Value> key_;
    std::string identity_;
  };

  // update_many through op::UpdateMany: one operation per run of distinct
  // keys (the driver batches it), so a repeated key's later row wins.
  template <Model T>
  std::uint64_t update_many_ops(std::span<const T> rows, const std::vector<int>& cols) {
    std::vector<std::string> key_columns;
    std::vector<ColumnType> key_types;
    std::vector<std::string> set_columns;
    std::vector<ColumnType> set_types;
    detail::for_each_field<T>([&](const auto& f, auto i) {
      using F = std::decay_t<decltype(f)>;
      if (F::is_primary_key) {
        key_columns.emplace_back(f.name());
        key_types.push_back(F::column_type);
      } else if (std::find(cols.begin(), cols.end(), static_cast<int>(i)) != cols.end()) {
        set_columns.emplace_back(f.name());
        set_types.push_back(F::column_type);
      }
    });
    op::UpdateMany request;
    request.table = table_name<T>();
    request.key_columns = key_columns;
    request.key_types = key_types;
    request.set_columns = set_columns;
    request.set_types = set_types;
    const std::size_t width = key_columns.size() + set_columns.size();
    std::uint64_t total = 0;
    DistinctKeys keys;
    for (std::size_t start = 0; start < rows.size();) {
      const std::size_t end = keys.run_end(rows, start, rows.size());
      std::vector<Value> values;
      values.reserve((end - start) * width);
      for (const T& row : rows.subspan(start, end - start)) {
        append_key_values(row, values);
        detail::for_each_field<T>([&](const auto& f, auto i) {
          using F = std::decay_t<decltype(f)>;
          if constexpr (!F::is_primary_key) {
            for (int c : cols)
              if (c == static_cast<int>(i)) detail::append_bound(values, row.*(F::member));
          }
        });
      }
      request.row_count = end - start;
      total += engine_->update_many(pin(), request, std::move(values)).affected();
      start = end;
    }
    return total;
  }

  // One UPDATE setting each column to CASE WHEN key = ? THEN ? ... END for
  // the rows of `chunk`, restricted to their keys. Parameters in order of
  // appearance.
  template <Model T>
  std::uint64_t update_batch(std::span<const T> chunk, const std::vector<int>& cols) {
    ast::Statement st{ast::Update{}};
    auto& u = std::get<ast::Update>(st);
    u.table = table_name<T>();
    std::vector<Value> values;
    auto next = [&] { return static_cast<std::uint32_t>(values.size()); };
    for (int c : cols) {
      ast::Assignment a;
      a.column = detail::column_names<T>()[static_cast<std::size_t>(c)];
      a.has_value = true;
      a.value.kind = ast::Expr::Kind::case_;
      for (const T& row : chunk) {
        a.value.children.push_back(key_condition<T>(next()));
        append_key_values(row, values);
        a.value.children.push_back(detail::param_expr(next()));
        detail::for_each_field<T>([&](const auto& f, auto i) {
          if (static_cast<int>(i) == c)
            detail::append_bound(values, row.*(std::decay_t<decltype(f)>::member));
        });
      }
      u.set.push_back(std::move(a));
    }
    u.has_where = true;
    if constexpr (detail::primary_key_count<T>() == 1) {
      u.where.kind = ast::Expr::Kind::in;
      detail::for_each_field<T>([&](const auto& f, auto) {
        if (std::decay_t<decltype(f)>::is_primary_key)
          u.where.children.push_back(detail::column_expr(f.name()));
      });
      for (const T& row : chunk) {
        u.where.children.push_back(detail::param_expr(next()));
        append_key_values(row, values);
      }
    } else {
      u.where.kind = chunk.size() == 1 ? ast::Expr::Kind::and_ : ast::Expr::Kind::or_;
      for (const T& row : chunk) {
        u.where.children.push_back(key_condition<T>(next()));
        append_key_values(row, values);
      }
      if (chunk.size() == 1) u.where = std::move(u.where.children.front());
    }
    return engine_->write(pin(), st, values, &table_schema<T>);
  }

  template <Model T>
  static void append_key_values(const T& row, std::vector<Value>& values) {
    detail::for_each_field<T>([&](const auto& f, auto) {
      using F = std::decay_t<decltype(f)>;
      if constexpr (F::is_primary_key) detail::append_bound(values, row.*(F::member));
    });
  }

  template <class T>
  static bool chosen(const FieldSet<T>& fields, int i) {
    return fields.chosen(static_cast<std::size_t>(i));
  }

  // Throws invalid_statement if only()/except() named an undeclared member.
  template <Model T>
  static void check_fields(const FieldSet<T>& fields) {
    if (fields.unknown)
      throw_error(Error(ErrorKind::invalid_statement,
                        "only()/except() names a member not declared in TESSERA_MODEL"));
  }

  // insert, insert_many, upsert: `rows` is not empty.
  template <Model T>
  void insert_rows(std::span<T> rows, const FieldSet<T>& fields, const ConflictTarget<T>* target) {
    check_fields(fields);
    constexpr int ai = detail::auto_increment_index<T>();
    // The first row decides; ModelRows refuses a row that differs as it
    // binds it (a pass over every row here would read them all twice).
    bool generate = false;
    if constexpr (ai >= 0) {
      constexpr auto member = std::decay_t<decltype(std::get<ai>(model_fields<T>))>::member;
      generate = rows.front().*member == 0;
    }
    ast::Insert ins;
    ins.table = table_name<T>();
    std::vector<int> cols;
    bool omitted_defaults = false;
    detail::for_each_field<T>([&](const auto& f, auto i) {
      const int idx = static_cast<int>(i);
      if (idx == ai && generate) return;
      if (!chosen(fields, idx)) {
        omitted_defaults = true;
        return;
      }
      ins.columns.emplace_back(f.name());
      cols.push_back(idx);
    });
    const Capability& cap = engine_->capability();
    if (target) {
      if (!cap.upsert)
        throw_error(Error(ErrorKind::unsupported, "upsert is not supported by this driver"));
      ins.on_conflict.action = ast::OnConflict::Action::update;
      std::vector<int> tgt = target->fields;
      if (tgt.empty())
        detail::for_each_field<T>([&](const auto& f, auto i) {
          if (std::decay_t<decltype(f)>::is_primary_key) tgt.push_back(static_cast<int>(i));
        });
      for (int t : tgt) {
        if (t < 0)
          throw_error(Error(ErrorKind::invalid_statement,
                            "on_conflict() names a member not declared in TESSERA_MODEL"));
        ins.on_conflict.target.push_back(detail::column_names<T>()[static_cast<std::size_t>(t)]);
      }
      detail::for_each_field<T>([&](const auto& f, auto i) {
        using F = std::decay_t<decltype(f)>;
        const int idx = static_cast<int>(i);
        if (F::is_primary_key || (idx == ai && generate)) return;
        for (int t : tgt)
          if (t == idx) return;
        ins.on_conflict.update_columns.emplace_back(f.name());
      });
      if (ins.on_conflict.update_columns.empty())
        ins.on_conflict.action = ast::OnConflict::Action::do_nothing;
    }
    // Read back the whole row when the database may have filled more than
    // the key; the key alone otherwise.
    const bool read_back_all = cap.returning && (omitted_defaults || target);
    if (cap.returning) {
      if (read_back_all)
        ins.returning = detail::column_names<T>();
      else if (generate)
        ins.returning = {detail::column_names<T>()[static_cast<std::size_t>(ai)]};
    }
    // cols lists fields in field order, so a per-field test keeps the
    // values in column order.
    std::bitset<tessera::field_count<T>> written;
    for (int c : cols) written.set(static_cast<std::size_t>(c));
    ins.table = engine_->table(ins.table);
    ins.row_count = rows.size();
    detail::ModelRows<T> values(rows, written, cols.size(), generate, cap);
    // A failed insert wrote no row, so it leaves no generated key behind.
    auto e = [&] {
      try {
        return engine_->insert(pin(), ins, values);
      } catch (...) {
        values.undo_keys();
        throw;
      }
    }();
    if (e.rows() && cap.returning && (read_back_all || generate)) {
      std::size_t n = 0;
      while (e.next()) {
        if (n >= rows.size()) break;
        if (read_back_all) {
          detail::read_row(*e.rows(), rows[n]);
        } else if constexpr (ai >= 0) {
          using F = std::decay_t<decltype(std::get<ai>(model_fields<T>))>;
          detail::read_member(*e.rows(), 0, "id", rows[n].*(F::member));
        }
        e.check_row();
        ++n;
      }
    } else if constexpr (ai >= 0) {
      // A driver that gave the keys to the source (generated_key) reports
      // none here.
      if (generate && e.generated_ids().size() == rows.size()) {
        using F = std::decay_t<decltype(std::get<ai>(model_fields<T>))>;
        for (std::size_t n = 0; n < rows.size(); ++n)
          rows[n].*(F::member) = static_cast<typename F::member_type>(e.generated_ids()[n]);
      }
    }
  }

  static void check_width(Rows& rows, std::size_t want) {
    if (rows.column_count() != want)
      throw_error(Error(ErrorKind::invalid_statement,
                        "raw query returned " + std::to_string(rows.column_count()) +
                            " columns, the result type has " + std::to_string(want)));
  }

  template <class Tuple>
  static void read_tuple(Rows& rows, Tuple& t) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (detail::read_member(rows, I, "column", std::get<I>(t)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  }
};

// A transaction: a pinned connection with BEGIN issued. The destructor
// rolls back unless commit() succeeded, and never throws. Nested
// transactions (transaction() on a Transaction) are savepoints.
//
// commit() and rollback() end the transaction and return its connection to
// the pool at once; any later statement on it throws StatementError. A
// nested transaction must end before its parent commits; if the parent
// rolls back first, the nested one is rolled back with it.
class TESSERA_API Transaction : public Executor {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // Commits (or releases the savepoint). Throws DbError; after a failed
  // commit the transaction is finished and the destructor does nothing.
  void commit();
  // Rolls back now (or to the savepoint). Throws DbError.
  void rollback();
  bool active() const { return active_; }

 private:
  friend class Executor;
  Transaction(std::shared_ptr<detail::Engine> engine, detail::Lease lease,
              const TransactionOptions& options);
  Transaction(std::shared_ptr<detail::Engine> engine, Connection* pinned, int id,
              std::shared_ptr<detail::TxState> parent);
  void finish();

  detail::Lease lease_;    // top level only
  std::string savepoint_;  // nested only
  bool active_ = false;
  std::shared_ptr<detail::TxState> state_;
  std::shared_ptr<detail::TxState> parent_;  // nested only
};

// A database: a driver, a connection pool and a plan cache. Copies share
// them (a Db is a cheap handle).
class TESSERA_API Db : public Executor {
 public:
  // Opens `url` (see tessera/driver/url.hpp): finds the driver (linked, or a
  // plugin), opens a first connection and keeps it pooled. Throws
  // PluginError for an unknown scheme or a plugin that fails to load, and
  // ConnectionError / StorageError when the database cannot be opened.
  static Db open(std::string_view url, Options options = {});

  Db(const Db& other) : Executor(other.engine_, nullptr) {}
  Db(Db&&) noexcept = default;

 private:
  explicit Db(std::shared_ptr<detail::Engine> engine) : Executor(std::move(engine), nullptr) {}
};

}  // namespace tessera
