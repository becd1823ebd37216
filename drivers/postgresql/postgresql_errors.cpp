#include "postgresql_errors.hpp"

#include <libpq-fe.h>

namespace tessera::postgresql::detail {
namespace {

// libpq messages end with a newline (and sometimes carry a DETAIL line);
// the first line is the message.
std::string first_line(const char* text) {
  if (text == nullptr) return {};
  std::string s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

bool is_connection_sqlstate(std::string_view s) {
  return s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "57P04";
}

ErrorKind error_kind(std::string_view s) {
  if (s.size() != 5) return ErrorKind::internal;
  if (s == "23505") return ErrorKind::unique_violation;
  // restrict_violation is a foreign key declared ON DELETE RESTRICT.
  if (s == "23503" || s == "23001") return ErrorKind::foreign_key_violation;
  if (s == "23502") return ErrorKind::not_null_violation;
  if (s == "23514" || s == "23P01") return ErrorKind::check_violation;
  if (s == "40001") return ErrorKind::serialization_failure;
  if (s == "40P01") return ErrorKind::deadlock;
  if (s == "40003") return ErrorKind::transaction_outcome_unknown;
  // lock_not_available (lock_timeout, NOWAIT) and query_canceled
  // (statement_timeout, or a cancel request).
  if (s == "55P03" || s == "57014") return ErrorKind::timeout;
  if (is_connection_sqlstate(s)) return ErrorKind::connection_lost;
  // too_many_connections: the server refuses now.
  if (s == "53300") return ErrorKind::unavailable;
  // A write in a READ ONLY transaction, or a command in a transaction that
  // already failed: mistakes in the calling code.
  if (s == "25006" || s == "25P02") return ErrorKind::invalid_statement;
  // program_limit_exceeded: a row or index entry too large for a page.
  if (s == "54000") return ErrorKind::invalid_value;
  if (s == "XX001" || s == "XX002") return ErrorKind::storage;  // data or index corrupted
  const std::string_view cls = s.substr(0, 2);
  // Data exceptions (out of range, invalid encoding, division by zero) and
  // cardinality violations (an upsert batch touching one row twice).
  if (cls == "22" || cls == "21") return ErrorKind::invalid_value;
  if (cls == "23") return ErrorKind::check_violation;
  if (cls == "42" || cls == "25" || cls == "2B" || cls == "54" || cls == "34" || cls == "26" ||
      cls == "3F" || cls == "3D")
    return ErrorKind::invalid_statement;
  if (cls == "0A") return ErrorKind::unsupported;
  if (cls == "53" || cls == "58") return ErrorKind::storage;  // insufficient resources, I/O
  if (cls == "28") return ErrorKind::unavailable;             // authentication
  return ErrorKind::internal;
}

Error driver_error(ErrorKind kind, std::string message, std::string_view sql) {
  Error e(kind, std::move(message));
  e.driver = std::string(kDriverName);
  e.statement = std::string(sql);
  return e;
}

Error make_error(pg_conn* conn, const pg_result* result, std::string_view sql,
                 bool transaction_open) {
  const char* sqlstate = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary != nullptr ? std::string(primary)
                        : result != nullptr && *PQresultErrorMessage(result) != '\0'
                            ? first_line(PQresultErrorMessage(result))
                            : first_line(PQerrorMessage(conn));
  if (message.empty()) message = "unknown PostgreSQL error";
  Error e = driver_error(ErrorKind::internal, std::move(message), sql);
  if (sqlstate != nullptr) e.sqlstate = sqlstate;
  e.kind = error_kind(e.sqlstate);
  if (result != nullptr) {
    if (const char* c = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME)) {
      e.constraint = c;
    } else if (e.kind == ErrorKind::not_null_violation) {
      // PostgreSQL names no constraint for NOT NULL; name the column the way
      // SQLite does ("table.column").
      const char* table = PQresultErrorField(result, PG_DIAG_TABLE_NAME);
      const char* column = PQresultErrorField(result, PG_DIAG_COLUMN_NAME);
      if (table != nullptr && column != nullptr) e.constraint = std::string(table) + "." + column;
    }
    // DETAIL is left out: it quotes the failing row's values ("Failing row
    // contains ..."), and values stay out of errors and logs.
  }
  const bool lost =
      conn == nullptr || PQstatus(conn) != CONNECTION_OK || e.kind == ErrorKind::connection_lost;
  if (lost) {
    e.kind = transaction_open ? ErrorKind::transaction_outcome_unknown : ErrorKind::connection_lost;
    if (e.message.find("connection") == std::string::npos)
      e.message += " (the connection to the server was lost)";
  }
  return e;
}

}  // namespace tessera::postgresql::detail
