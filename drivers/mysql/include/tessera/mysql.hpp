// The MySQL/MariaDB driver (MariaDB Connector/C), for linking into a program
// (no plugin loading).
//
//   tessera::mysql::register_linked();   // once, at startup
//   auto db = tessera::Db::open("mysql://app:secret@db.internal:3306/app");
//
// URLs: mysql://user:password@host:port/database?options (also mariadb://).
// Options: socket=/path (a unix socket instead of TCP), ssl-mode (disabled,
// required, verify_ca, verify_identity; default disabled), ssl-ca,
// ssl-capath, ssl-cert, ssl-key, ssl-cipher, connect_timeout (seconds,
// default 10), read_timeout, write_timeout (seconds, default none),
// returning=off (use mysql_stmt_insert_id() for generated keys even where
// the server has INSERT ... RETURNING). '_' and '-' are interchangeable in
// option names.
//
// Every session uses utf8mb4, time_zone '+00:00' and a strict sql_mode, so
// a value a column cannot hold is an error (invalid_value), never a silent
// truncation.
//
// Rows of a query stream from the server (unbuffered); see
// drivers/mysql/README.md for what that means for a connection.
//
// Thread safety: the Driver may be used from any thread; each Connection by
// one thread at a time.
#pragma once

#include <memory>

#include "tessera/driver/driver.hpp"

namespace tessera::mysql {

// A new MySQL/MariaDB driver (name "mysql", schemes "mysql" and
// "mariadb"). Never null; the caller owns it.
std::unique_ptr<Driver> make_driver();

// Registers a MySQL driver with tessera::register_driver, so find_driver
// ("mysql") and ("mariadb") return it before any plugin.
void register_linked();

}  // namespace tessera::mysql
