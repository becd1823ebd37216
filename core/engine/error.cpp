#include "tessera/error.hpp"

#include <utility>

namespace tessera {

namespace {
std::string describe(const Error& e) {
  std::string out;
  if (!e.driver.empty()) out += e.driver + ": ";
  out += std::string(to_string(e.kind)) + ": " + e.message;
  if (!e.constraint.empty()) out += " [constraint " + e.constraint + "]";
  if (!e.sqlstate.empty()) out += " [SQLSTATE " + e.sqlstate + "]";
  if (!e.statement.empty()) out += " in: " + e.statement;
  return out;
}
}  // namespace

DbError::DbError(Error error) : std::runtime_error(describe(error)), error_(std::move(error)) {}

void throw_error(Error e) {
  switch (e.kind) {
    case ErrorKind::connection_lost:
    case ErrorKind::unavailable:
    case ErrorKind::transaction_outcome_unknown: throw ConnectionError(std::move(e));
    case ErrorKind::serialization_failure:
    case ErrorKind::deadlock: throw ConflictError(std::move(e));
    case ErrorKind::timeout:
    case ErrorKind::pool_timeout: throw TimeoutError(std::move(e));
    case ErrorKind::unique_violation:
    case ErrorKind::foreign_key_violation:
    case ErrorKind::not_null_violation:
    case ErrorKind::check_violation: throw ConstraintError(std::move(e));
    case ErrorKind::invalid_value: throw InvalidValueError(std::move(e));
    case ErrorKind::not_found:
    case ErrorKind::too_many_rows: throw NotFoundError(std::move(e));
    case ErrorKind::invalid_statement:
    case ErrorKind::unsupported:
    case ErrorKind::needs_index: throw StatementError(std::move(e));
    case ErrorKind::plugin_load:
    case ErrorKind::invalid_url: throw PluginError(std::move(e));
    case ErrorKind::migration: throw MigrationError(std::move(e));
    case ErrorKind::storage: throw StorageError(std::move(e));
    case ErrorKind::internal: break;
  }
  throw InternalError(std::move(e));
}

}  // namespace tessera
