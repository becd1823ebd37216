// The LMDB driver, for linking into a program (no plugin loading).
//
//   tessera::lmdb::register_linked();   // once, at startup
//   auto db = tessera::Db::open("lmdb:///var/lib/app/data");
//
// URL: lmdb:///absolute/dir (the directory is created if missing; it holds
// data.mdb and lock.mdb). Query options:
//   map_size_mb      initial map size in MiB (default 1024); the map doubles
//                    when full, if no other transaction of the process is live
//   max_dbs          named databases: one per table and one per index, plus
//                    1 (default 128; an environment holding more opens with
//                    as many as it needs)
//   max_readers      reader slots (default 512): each connection keeps one
//                    for its read transaction, plus one per stream still
//                    open when the connection reads again
//   busy_timeout_ms  longest wait for the process's write transaction
//                    (default 5000), then ErrorKind::timeout
//   sync             "off" for MDB_NOSYNC: faster commits, a system crash may
//                    lose the latest ones (default on)
//
// A key-value driver: the engine plans key lookups, index ranges and scans,
// and filters and orders in memory. Every connection of a process to one
// directory shares one LMDB environment. Reads stream from a cursor (memory
// stays bounded); RETURNING rows of an insert are buffered. Transactions are
// serializable; see drivers/lmdb/README.md for constraints, foreign keys and
// the storage format.
//
// Thread safety: the Driver may be used from any thread; each Connection by
// one thread at a time, and a transaction ends on the thread that began it.
#pragma once

#include <memory>

#include "tessera/driver/driver.hpp"

namespace tessera::lmdb {

// A new LMDB driver (name "lmdb", scheme "lmdb"). Never null; the caller
// owns it.
std::unique_ptr<Driver> make_driver();

// Registers an LMDB driver with tessera::register_driver, so find_driver
// ("lmdb") returns it before any plugin.
void register_linked();

}  // namespace tessera::lmdb
