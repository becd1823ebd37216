// Mapping LMDB return codes to portable Errors.
#pragma once

#include <string>
#include <string_view>

#include "tessera/driver/error.hpp"

namespace tessera::lmdb::detail {

inline constexpr std::string_view kDriverName = "lmdb";

// The portable kind of an LMDB return code (MDB_* or an errno value).
ErrorKind error_kind(int rc);

// An Error for return code `rc` of the call described by `what` (message
// "what: mdb_strerror(rc)", native_code = rc, driver = "lmdb").
Error make_error(int rc, std::string_view what);

// An Error raised by the driver itself (not by LMDB).
Error driver_error(ErrorKind kind, std::string message);

// True for failures after which the environment must not be used again.
bool is_fatal(int rc);

}  // namespace tessera::lmdb::detail
