#include "sqlite_errors.hpp"

#include <sqlite3.h>

namespace tessera::sqlite::detail {

ErrorKind error_kind(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID: return ErrorKind::unique_violation;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return ErrorKind::foreign_key_violation;
    case SQLITE_CONSTRAINT_NOTNULL: return ErrorKind::not_null_violation;
    case SQLITE_CONSTRAINT_CHECK: return ErrorKind::check_violation;
    // A WAL read snapshot that cannot be upgraded to a write: the busy
    // handler is not called and waiting cannot help; the transaction must be
    // retried from its start.
    case SQLITE_BUSY_SNAPSHOT: return ErrorKind::serialization_failure;
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::timeout;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: return ErrorKind::storage;
    // SQL errors: syntax, unknown table or column, and run-time errors of the
    // statement itself (integer overflow in sum()).
    case SQLITE_ERROR: return ErrorKind::invalid_statement;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH: return ErrorKind::invalid_value;
    default: return ErrorKind::internal;
  }
}

bool is_fatal(int rc) {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN: return true;
    default: return false;
  }
}

Error driver_error(ErrorKind kind, std::string message, std::string_view sql) {
  Error e(kind, std::move(message));
  e.driver = std::string(kDriverName);
  e.statement = std::string(sql);
  return e;
}

Error make_error(sqlite3* db, int rc, std::string_view sql) {
  if (db != nullptr) {
    // The connection's code is the extended form even where an API returned
    // the primary one.
    const int extended = sqlite3_extended_errcode(db);
    if ((extended & 0xff) == (rc & 0xff)) rc = extended;
  }
  Error e =
      driver_error(error_kind(rc), db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), sql);
  e.native_code = rc;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // "UNIQUE constraint failed: users.email", "CHECK constraint failed: name".
    constexpr std::string_view marker = "failed: ";
    if (const auto pos = e.message.find(marker); pos != std::string::npos)
      e.constraint = e.message.substr(pos + marker.size());
  }
  return e;
}

}  // namespace tessera::sqlite::detail
