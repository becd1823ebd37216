#include "lmdb_errors.hpp"

#include <lmdb.h>

#include <cerrno>

namespace tessera::lmdb::detail {

ErrorKind error_kind(int rc) {
  switch (rc) {
    case MDB_MAP_FULL:  // the map is full: grown and retried once, else this
    case MDB_TXN_FULL:  // a transaction touched too many pages
    case MDB_DBS_FULL:  // more named databases than max_dbs
    case MDB_CORRUPTED:
    case MDB_PANIC:
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
    case MDB_PAGE_NOTFOUND:
    case EACCES:
    case EROFS:
    case ENOENT:
    case ENOSPC:
    case EIO: return ErrorKind::storage;
    case MDB_READERS_FULL:  // every reader slot is taken: retry later
    case EAGAIN:
    case EBUSY: return ErrorKind::unavailable;
    case MDB_BAD_DBI:  // a table dropped or created after this transaction began
    case MDB_BAD_TXN:
    case EINVAL: return ErrorKind::invalid_statement;
    default: return ErrorKind::internal;
  }
}

Error make_error(int rc, std::string_view what) {
  Error e(error_kind(rc), std::string(what) + ": " + mdb_strerror(rc));
  e.driver = std::string(kDriverName);
  e.native_code = rc;
  if (rc == MDB_MAP_FULL) e.message += " (raise map_size_mb in the lmdb: URL)";
  if (rc == MDB_DBS_FULL) e.message += " (raise max_dbs in the lmdb: URL)";
  return e;
}

Error driver_error(ErrorKind kind, std::string message) {
  Error e(kind, std::move(message));
  e.driver = std::string(kDriverName);
  return e;
}

bool is_fatal(int rc) {
  return rc == MDB_PANIC || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH;
}

}  // namespace tessera::lmdb::detail
