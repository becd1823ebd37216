// Mapping SQLite result codes to portable Errors.
#pragma once

#include <string>
#include <string_view>

#include "tessera/driver/error.hpp"

struct sqlite3;

namespace tessera::sqlite::detail {

inline constexpr std::string_view kDriverName = "sqlite";

// The portable kind of an extended result code.
ErrorKind error_kind(int extended_code);

// An Error for the last failure on `db` (message from sqlite3_errmsg, native
// code = the extended result code `rc`, constraint name for violations).
// `sql` is the statement text; values are never part of it.
[[gnu::cold]] Error make_error(sqlite3* db, int rc, std::string_view sql);

// An Error raised by the driver itself (not by SQLite).
[[gnu::cold]] Error driver_error(ErrorKind kind, std::string message, std::string_view sql = {});

// True for failures after which the connection should not be used again
// (corruption, I/O error, out of memory).
bool is_fatal(int extended_code);

}  // namespace tessera::sqlite::detail
