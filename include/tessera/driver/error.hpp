// Error and Result: how failures cross the driver SPI.
//
// No exception crosses the SPI. A driver returns Result<T>; the public API
// turns an Error into a tessera::DbError exception (see tessera/error.hpp).
// Error kinds are portable across drivers and documented by what the caller
// should do, after absl::Status.
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace tessera {

enum class ErrorKind : std::uint8_t {
  // The connection broke (socket closed, server restarted). Retry the
  // statement on a fresh connection; the connection is evicted from the pool.
  connection_lost,
  // The database cannot be reached or refuses connections now. Retry later.
  unavailable,
  // A transaction was in flight when the connection broke: whether it
  // committed is unknown. Check the data before retrying.
  transaction_outcome_unknown,
  // Serialization failure: retry the whole transaction.
  serialization_failure,
  // Deadlock detected: retry the whole transaction.
  deadlock,
  // A lock or statement timeout, or the database was busy past the busy
  // timeout. Retry later, possibly with a longer timeout.
  timeout,
  // Waiting for a pooled connection timed out. Retry later or raise the pool
  // size.
  pool_timeout,
  // Constraint violations: do not retry; the data is wrong. Error::constraint
  // names the constraint where the database reports it.
  unique_violation,
  foreign_key_violation,
  not_null_violation,
  check_violation,
  // A value cannot be stored as given (out of range, too long, NaN where the
  // database has none). Nothing was written. Do not retry.
  invalid_value,
  // A row that had to exist does not (fetch_one on no rows, update by key of a
  // missing key). Do not retry.
  not_found,
  // The query returned more rows than the call allows (fetch_one on two).
  too_many_rows,
  // The statement is wrong: syntax, unknown table or column, type mismatch,
  // missing where clause without an explicit opt-in. Fix the code.
  invalid_statement,
  // The driver cannot do this (its Capability says so). Fix the code or use
  // another driver.
  unsupported,
  // A key-value driver has no index to answer a filter and cannot scan.
  needs_index,
  // Loading a driver plugin failed: missing file, not a plugin, ABI mismatch,
  // missing dependency, or no driver for the URL's scheme.
  plugin_load,
  // A URL could not be parsed or names no known driver.
  invalid_url,
  // A migration failed or another process holds the migration lock.
  migration,
  // The database file or server storage is unusable: I/O error, disk full,
  // corruption, read-only. Do not retry without operator action.
  storage,
  // Anything else: a bug in Tessera or the driver, or an unmapped error.
  internal,
};

constexpr std::string_view to_string(ErrorKind k) {
  constexpr std::string_view names[] = {"connection_lost",
                                        "unavailable",
                                        "transaction_outcome_unknown",
                                        "serialization_failure",
                                        "deadlock",
                                        "timeout",
                                        "pool_timeout",
                                        "unique_violation",
                                        "foreign_key_violation",
                                        "not_null_violation",
                                        "check_violation",
                                        "invalid_value",
                                        "not_found",
                                        "too_many_rows",
                                        "invalid_statement",
                                        "unsupported",
                                        "needs_index",
                                        "plugin_load",
                                        "invalid_url",
                                        "migration",
                                        "storage",
                                        "internal"};
  return names[static_cast<int>(k)];
}

// True where running the same statement again, on a fresh connection, may
// succeed.
constexpr bool is_retryable_statement(ErrorKind k) {
  return k == ErrorKind::connection_lost || k == ErrorKind::unavailable ||
         k == ErrorKind::timeout || k == ErrorKind::pool_timeout;
}
// True where running the whole transaction again may succeed.
constexpr bool is_retryable_transaction(ErrorKind k) {
  return k == ErrorKind::serialization_failure || k == ErrorKind::deadlock ||
         is_retryable_statement(k);
}

// A failure with everything known about it. Fields other than kind and
// message are empty where the database does not provide them.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;           // human-readable, from the database or Tessera
  std::string driver;            // "sqlite", "postgresql", ...
  std::int64_t native_code = 0;  // the database's own code (extended result code, errno)
  std::string sqlstate;          // five characters where the database has them
  std::string constraint;        // constraint or index name for violations
  std::string statement;         // the failing SQL or operation, values never included

  Error() = default;
  Error(ErrorKind k, std::string msg) : kind(k), message(std::move(msg)) {}
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;
  // Moving and destroying an Error are cold calls rather than inline code:
  // an Error exists only on a failure path, and every `return error;` or
  // Result destroyed would otherwise inline five strings' moves or frees
  // next to the success path's instructions, spreading the code that does
  // run over more instruction-cache lines (the cold attribute also tells
  // the compiler that a branch leading to one is unlikely).
  [[gnu::cold, gnu::noinline]] Error(Error&& other) noexcept
      : kind(other.kind),
        message(std::move(other.message)),
        driver(std::move(other.driver)),
        native_code(other.native_code),
        sqlstate(std::move(other.sqlstate)),
        constraint(std::move(other.constraint)),
        statement(std::move(other.statement)) {}
  [[gnu::cold, gnu::noinline]] Error& operator=(Error&& other) noexcept {
    kind = other.kind;
    message = std::move(other.message);
    driver = std::move(other.driver);
    native_code = other.native_code;
    sqlstate = std::move(other.sqlstate);
    constraint = std::move(other.constraint);
    statement = std::move(other.statement);
    return *this;
  }
  [[gnu::cold, gnu::noinline]] ~Error() {}  // NOLINT(modernize-use-equals-default): see above
};

// A member added to Error must be moved above as well.
static_assert(sizeof(Error) == 2 * sizeof(std::int64_t) + 5 * sizeof(std::string),
              "Error's members changed: update Error(Error&&) and operator=(Error&&)");

// Either a T or an Error. A small std-only stand-in for std::expected, so
// the SPI needs nothing beyond C++20.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  // By value, so `for (auto& x : f().value())` does not dangle.
  T value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  Error& error() & { return std::get<1>(v_); }
  Error error() && { return std::get<1>(std::move(v_)); }
  const Error& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  // User-provided, not `= default`: `return {};` value-initializes, which
  // for a defaulted constructor first zero-fills the whole optional<Error>
  // (some 200 bytes) on every successful call.
  Result() noexcept {}  // NOLINT(modernize-use-equals-default)
  Result(Error error) : e_(std::move(error)) {}

  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  Error& error() & { return *e_; }
  Error error() && { return std::move(*e_); }
  const Error& error() const& { return *e_; }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

// Runs `body` (returning a Result) and turns any exception it throws into an
// Error of kind internal for `driver`. Drivers wrap each SPI entry point in
// it, so no exception crosses the SPI.
template <class F>
auto catch_all(std::string_view driver, F&& body) -> decltype(body()) {
  auto fail = [&](const char* what) {
    Error e(ErrorKind::internal, what);
    e.driver = std::string(driver);
    return e;
  };
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unknown exception");
  }
}

}  // namespace tessera
