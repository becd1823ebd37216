// Mapping PostgreSQL errors (SQLSTATE, connection state) to portable Errors.
#pragma once

#include <string>
#include <string_view>

#include "tessera/driver/error.hpp"

struct pg_conn;
struct pg_result;

namespace tessera::postgresql::detail {

inline constexpr std::string_view kDriverName = "postgresql";

// The portable kind of a five-character SQLSTATE (internal for an unknown
// or malformed one).
ErrorKind error_kind(std::string_view sqlstate);

// True for SQLSTATEs after which the session is gone (admin shutdown, crash
// shutdown, class 08).
bool is_connection_sqlstate(std::string_view sqlstate);

// An Error raised by the driver itself (not by the server).
Error driver_error(ErrorKind kind, std::string message, std::string_view sql = {});

// The Error for a failed result (`result` may be null when libpq produced
// none). Reads SQLSTATE and constraint name from the result; a connection
// that is no longer CONNECTION_OK, or a SQLSTATE of the connection classes,
// becomes connection_lost, or transaction_outcome_unknown when
// `transaction_open` (a transaction was open when the statement was sent).
// `sql` is the statement text; values are never part of it.
Error make_error(pg_conn* conn, const pg_result* result, std::string_view sql,
                 bool transaction_open);

}  // namespace tessera::postgresql::detail
