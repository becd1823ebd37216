// The exceptions the public API throws. Each carries the portable Error
// (kind, driver, native code, SQLSTATE, constraint, statement without
// values). Catch DbError for all, or a subclass by what you will do:
//
//   ConnectionError   the connection broke or the database is unreachable;
//                     retry the statement (transaction_outcome_unknown: check first)
//   ConflictError     serialization failure or deadlock: retry the transaction
//   TimeoutError      lock, statement, busy or pool timeout: retry later
//   ConstraintError   unique / foreign key / not null / check: fix the data
//   InvalidValueError a value cannot be stored as given: fix the data
//   NotFoundError     no row where one was required, or more than one
//   StatementError    invalid statement, unsupported by the driver, needs an index
//   PluginError       a driver could not be found or loaded, or a bad URL
//   StorageError      I/O, disk full, corruption
//   MigrationError, InternalError
#pragma once

#include <stdexcept>
#include <string>

#include "tessera/driver/error.hpp"
#include "tessera/export.hpp"

namespace tessera {

class TESSERA_API DbError : public std::runtime_error {
 public:
  explicit DbError(Error error);

  const Error& error() const noexcept { return error_; }
  ErrorKind kind() const noexcept { return error_.kind; }
  const std::string& driver() const noexcept { return error_.driver; }
  std::int64_t native_code() const noexcept { return error_.native_code; }
  const std::string& sqlstate() const noexcept { return error_.sqlstate; }
  const std::string& constraint() const noexcept { return error_.constraint; }
  const std::string& statement() const noexcept { return error_.statement; }
  bool retry_statement() const noexcept { return is_retryable_statement(error_.kind); }
  bool retry_transaction() const noexcept { return is_retryable_transaction(error_.kind); }

 private:
  Error error_;
};

#define TESSERA_DETAIL_ERROR_CLASS(Name)    \
  class TESSERA_API Name : public DbError { \
   public:                                  \
    using DbError::DbError;                 \
  }
TESSERA_DETAIL_ERROR_CLASS(ConnectionError);
TESSERA_DETAIL_ERROR_CLASS(ConflictError);
TESSERA_DETAIL_ERROR_CLASS(TimeoutError);
TESSERA_DETAIL_ERROR_CLASS(ConstraintError);
TESSERA_DETAIL_ERROR_CLASS(InvalidValueError);
TESSERA_DETAIL_ERROR_CLASS(NotFoundError);
TESSERA_DETAIL_ERROR_CLASS(StatementError);
TESSERA_DETAIL_ERROR_CLASS(PluginError);
TESSERA_DETAIL_ERROR_CLASS(StorageError);
TESSERA_DETAIL_ERROR_CLASS(MigrationError);
TESSERA_DETAIL_ERROR_CLASS(InternalError);
#undef TESSERA_DETAIL_ERROR_CLASS

// Throws the DbError subclass that matches error.kind.
[[noreturn]] TESSERA_API void throw_error(Error error);

// Returns the value or throws its error.
template <class T>
T value_or_throw(Result<T>&& r) {
  if (!r.ok()) throw_error(std::move(r).error());
  return std::move(r).value();
}
inline void value_or_throw(Status&& s) {
  if (!s.ok()) throw_error(std::move(s).error());
}

}  // namespace tessera
