// The SQLite driver, for linking into a program (no plugin loading).
//
//   tessera::sqlite::register_linked();   // once, at startup
//   auto db = tessera::Db::open("sqlite:///var/lib/app/app.db");
//
// URLs: sqlite::memory: (a private in-memory database; max_connections is 1
// so every pooled use shares it), sqlite:///abs/path.db, sqlite://rel/path.db.
// Query options: busy_timeout_ms (default 5000), synchronous (OFF, NORMAL,
// FULL, EXTRA; default NORMAL), mode=ro (open read-only). File databases use
// WAL journaling. Every connection enforces foreign keys and makes LIKE
// case-sensitive.
//
// Rows returned by a query stream from SQLite (memory does not grow with the
// result); RETURNING rows of an insert are buffered.
//
// Thread safety: the Driver may be used from any thread; each Connection by
// one thread at a time.
#pragma once

#include <memory>

#include "tessera/driver/driver.hpp"

namespace tessera::sqlite {

// A new SQLite driver (name "sqlite", scheme "sqlite"). Never null; the
// caller owns it.
std::unique_ptr<Driver> make_driver();

// Registers a SQLite driver with tessera::register_driver, so find_driver
// ("sqlite") returns it before any plugin. Idempotent in effect: a second
// call replaces the first registration.
void register_linked();

}  // namespace tessera::sqlite
