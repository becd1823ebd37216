// The PostgreSQL driver, for linking into a program (no plugin loading).
//
//   tessera::postgresql::register_linked();   // once, at startup
//   auto db = tessera::Db::open("postgresql://app:secret@db.internal:5432/app");
//
// URLs: postgresql://user:password@host:port/dbname?option=value&... (also
// postgres://). Every query option that libpq knows is passed to it as a
// connection keyword (sslmode, sslrootcert, application_name,
// connect_timeout, target_session_attrs, host=/path/to/socket/dir, ...);
// an unknown option is an invalid_url error. Defaults: client_encoding UTF8
// (required), application_name "tessera", connect_timeout 10 s. The session
// time zone is always UTC. Tessera's own options: statement_cache_size
// (prepared statements kept per connection; default 256) and copy_min_rows
// (inserts of at least this many rows go through COPY where the table
// allows; default 10000; 0: never).
//
// Requires PostgreSQL 10 or newer on the server, libpq 14 or newer here.
//
// Rows of a query stream from the server in single-row mode (memory does
// not grow with the result). A connection has one result stream at a time:
// running another statement on it while a cursor is open reads the rest of
// that cursor into memory first. RETURNING rows of an insert are buffered.
// Inserts of many rows go out as INSERT ... SELECT FROM unnest(arrays)
// statements, all batches in one pipeline (one round trip), or, from
// copy_min_rows rows, as one COPY ... FROM STDIN (see the driver's README).
//
// Thread safety: the Driver may be used from any thread; each Connection by
// one thread at a time.
#pragma once

#include <memory>

#include "tessera/driver/driver.hpp"

namespace tessera::postgresql {

// A new PostgreSQL driver (name "postgresql", schemes "postgresql" and
// "postgres"). Never null; the caller owns it.
std::unique_ptr<Driver> make_driver();

// Registers a PostgreSQL driver with tessera::register_driver, so
// find_driver("postgresql") returns it before any plugin. A second call
// replaces the first registration.
void register_linked();

}  // namespace tessera::postgresql
