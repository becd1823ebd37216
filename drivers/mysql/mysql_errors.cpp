#include "mysql_errors.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

namespace tessera::mysql::detail {
namespace {

// Numbers not in every server's headers (MySQL-only or newer MariaDB).
constexpr unsigned kMysqlCheckViolated = 3819;       // MySQL 8.0.16+: check constraint violated
constexpr unsigned kMariadbCheckFailed = 4025;       // MariaDB 10.2+: CONSTRAINT `x` failed
constexpr unsigned kMariadbIdleDisconnect = 4031;    // MariaDB 10.8+: idle session closed
constexpr unsigned kMysqlIdleDisconnect = 4031;      // MySQL 8.0.24+: same number
constexpr unsigned kMysqlStatementTimeout = 3024;    // max_execution_time exceeded
constexpr unsigned kMariadbStatementTimeout = 1969;  // max_statement_time exceeded
constexpr unsigned kMariadbConnectionKilled = 1927;  // connection was killed
constexpr unsigned kReadOnlyTransaction = 1792;      // write in a READ ONLY transaction
constexpr unsigned kRecordChanged = 1020;            // snapshot isolation conflict (MariaDB 11.6+)
constexpr unsigned kClientLostConnection = 2013;
constexpr unsigned kClientServerGone = 2006;
constexpr unsigned kClientServerLost = 2055;  // lost connection at '%s', system error
static_assert(kMariadbIdleDisconnect == kMysqlIdleDisconnect);

// The text between the first `open` after `marker` and the next `close`.
std::string between(std::string_view message, std::string_view marker, char open, char close) {
  auto pos = message.find(marker);
  if (pos == std::string_view::npos) return {};
  pos = message.find(open, pos + marker.size());
  if (pos == std::string_view::npos) return {};
  const auto end = message.find(close, pos + 1);
  if (end == std::string_view::npos) return {};
  return std::string(message.substr(pos + 1, end - pos - 1));
}

}  // namespace

bool is_connection_lost(unsigned code) {
  switch (code) {
    case kClientServerGone:
    case kClientLostConnection:
    case kClientServerLost:
    case kMariadbConnectionKilled:
    case kMariadbIdleDisconnect:
    case ER_SERVER_SHUTDOWN:
    case ER_NEW_ABORTING_CONNECTION:
    case ER_ABORTING_CONNECTION: return true;
    default: return false;
  }
}

ErrorKind error_kind(unsigned code, std::string_view sqlstate) {
  if (is_connection_lost(code)) return ErrorKind::connection_lost;
  switch (code) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_DUP_UNIQUE: return ErrorKind::unique_violation;
    case ER_ROW_IS_REFERENCED:
    case ER_ROW_IS_REFERENCED_2:
    case ER_NO_REFERENCED_ROW:
    case ER_NO_REFERENCED_ROW_2: return ErrorKind::foreign_key_violation;
    case ER_BAD_NULL_ERROR:
    case ER_NO_DEFAULT_FOR_FIELD: return ErrorKind::not_null_violation;
    case kMysqlCheckViolated:
    case kMariadbCheckFailed: return ErrorKind::check_violation;
    // Strict mode turns what would be a silent truncation into these.
    case ER_DATA_TOO_LONG:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_TRUNCATED_WRONG_VALUE:
    case WARN_DATA_TRUNCATED:
    case ER_ILLEGAL_VALUE_FOR_TYPE:
    case ER_DATA_OUT_OF_RANGE:
    case ER_DIVISION_BY_ZERO:
    case ER_INVALID_CHARACTER_STRING: return ErrorKind::invalid_value;
    case ER_LOCK_DEADLOCK: return ErrorKind::deadlock;
    case kRecordChanged: return ErrorKind::serialization_failure;
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_QUERY_INTERRUPTED:
    case kMysqlStatementTimeout:
    case kMariadbStatementTimeout: return ErrorKind::timeout;
    case kReadOnlyTransaction:
    case ER_PARSE_ERROR:
    case ER_NO_SUCH_TABLE:
    case ER_BAD_FIELD_ERROR:
    case ER_BAD_TABLE_ERROR:
    case ER_TABLE_EXISTS_ERROR:
    case ER_DUP_FIELDNAME:
    case ER_DUP_KEYNAME:
    case ER_WRONG_VALUE_COUNT_ON_ROW:
    case ER_SP_DOES_NOT_EXIST:
    case ER_UNKNOWN_SYSTEM_VARIABLE:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
    case ER_UNSUPPORTED_PS:
    case ER_WRONG_ARGUMENTS: return ErrorKind::invalid_statement;
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_HANDSHAKE_ERR: return ErrorKind::unavailable;
    case ER_RECORD_FILE_FULL:
    case ER_DISK_FULL:
    case ER_OPEN_AS_READONLY:
    case ER_CRASHED_ON_USAGE:
    case ER_NOT_KEYFILE: return ErrorKind::storage;
    default: break;
  }
  if (sqlstate.size() == 5) {
    if (sqlstate == "40001") return ErrorKind::serialization_failure;
    if (sqlstate.starts_with("08")) return ErrorKind::connection_lost;
    if (sqlstate.starts_with("22")) return ErrorKind::invalid_value;
    if (sqlstate.starts_with("42")) return ErrorKind::invalid_statement;
  }
  return ErrorKind::internal;
}

std::string constraint_from_message(unsigned code, std::string_view message) {
  switch (code) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME: {
      // "Duplicate entry 'x' for key 'ux'"; MySQL 8.0.19+: 'table.ux'. The
      // entry may itself contain quotes, so the key is the last quoted part.
      constexpr std::string_view marker = "for key '";
      const auto pos = message.rfind(marker);
      if (pos == std::string_view::npos) return {};
      std::string_view key = message.substr(pos + marker.size());
      if (const auto end = key.rfind('\''); end != std::string_view::npos) key = key.substr(0, end);
      if (const auto dot = key.rfind('.'); dot != std::string_view::npos) key = key.substr(dot + 1);
      return std::string(key);
    }
    case ER_ROW_IS_REFERENCED_2:
    case ER_NO_REFERENCED_ROW_2:
      // "... a foreign key constraint fails (`db`.`t`, CONSTRAINT `fk` FOREIGN KEY ...)"
      return between(message, "CONSTRAINT ", '`', '`');
    case ER_BAD_NULL_ERROR:
      // "Column 'note' cannot be null"
      return between(message, "Column ", '\'', '\'');
    case ER_NO_DEFAULT_FOR_FIELD:
      // "Field 'note' doesn't have a default value"
      return between(message, "Field ", '\'', '\'');
    case kMysqlCheckViolated:
      // "Check constraint 'c' is violated."
      return between(message, "constraint ", '\'', '\'');
    case kMariadbCheckFailed:
      // "CONSTRAINT `c` failed for `db`.`t`"
      return between(message, "CONSTRAINT ", '`', '`');
    default: return {};
  }
}

Error driver_error(ErrorKind kind, std::string message, std::string_view sql) {
  Error e(kind, std::move(message));
  e.driver = std::string(kDriverName);
  e.statement = std::string(sql);
  return e;
}

Error make_error(unsigned code, std::string_view sqlstate, std::string_view message,
                 std::string_view sql) {
  Error e = driver_error(error_kind(code, sqlstate), std::string(message), sql);
  e.native_code = code;
  // "HY000" is the client library's "no SQLSTATE".
  if (sqlstate.size() == 5 && sqlstate != "00000") e.sqlstate = std::string(sqlstate);
  e.constraint = constraint_from_message(code, message);
  return e;
}

}  // namespace tessera::mysql::detail
