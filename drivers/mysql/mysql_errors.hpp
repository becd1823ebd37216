// Mapping MySQL/MariaDB error numbers to portable Errors.
#pragma once

#include <string>
#include <string_view>

#include "tessera/driver/error.hpp"

namespace tessera::mysql::detail {

inline constexpr std::string_view kDriverName = "mysql";

// The portable kind of a server or client error number; `sqlstate` decides
// for numbers the table does not know.
ErrorKind error_kind(unsigned code, std::string_view sqlstate);

// True for client errors that mean the session is gone (server closed the
// socket, was killed, timed out the idle connection): the connection must
// not be used again.
bool is_connection_lost(unsigned code);

// The constraint, key or column a violation names, parsed from the server's
// message; empty if the message names none. Key names are returned without
// the "table." prefix that MySQL 8.0.19+ adds, so both servers agree.
std::string constraint_from_message(unsigned code, std::string_view message);

// An Error from the server or client library: kind from the number, native
// code = the number, SQLSTATE, constraint parsed from the message.
Error make_error(unsigned code, std::string_view sqlstate, std::string_view message,
                 std::string_view sql);

// An Error raised by the driver itself (not by the server).
Error driver_error(ErrorKind kind, std::string message, std::string_view sql = {});

}  // namespace tessera::mysql::detail
