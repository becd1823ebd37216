// Environment: one LMDB environment per directory per process, shared by
// every connection to it.
//
// LMDB forbids opening one environment twice in a process, so a
// process-wide registry hands out the same Environment to every connection
// of a path and closes it when the last one is released.
//
// The Environment also owns what must be process-wide:
// - the writer gate: one write transaction at a time in this process (LMDB
//   allows one per environment anyway). Waiting is bounded by
//   busy_timeout_ms, so two connections of one thread cannot deadlock: the
//   second gets ErrorKind::timeout instead of blocking forever in LMDB.
// - the count of live transactions, so the map can grow (mdb_env_set_mapsize
//   needs no transaction active in the process). Read transactions are
//   counted without a lock (an atomic counter and a resizing flag, checked
//   against each other; see grow()), so a read takes no mutex;
// - the catalog cache: each table's resolved schema and database handles
//   (handles are environment-wide in LMDB), published when the transaction
//   that created them commits.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lmdb_catalog.hpp"
#include "tessera/driver/error.hpp"

namespace tessera::lmdb::detail {

// The largest max_dbs an lmdb: URL may ask for.
inline constexpr unsigned kMaxDbsLimit = 32000;

// What an lmdb: URL asks for, already validated (see lmdb_driver.cpp).
struct OpenOptions {
  std::string path;                // the environment's directory, absolute
  std::size_t map_size_mb = 1024;  // initial map size; grows on MDB_MAP_FULL
  // Named databases: one per table and per index, plus 1. Every nested
  // transaction (and every read transaction begun afresh) clears an array of
  // this many entries, so the default is small; an existing environment that
  // holds more opens with as many as it needs (see Environment::acquire).
  unsigned max_dbs = 128;
  unsigned max_readers = 512;  // reader slots: one per connection, one per extra live stream
  int busy_timeout_ms = 5000;  // longest wait for the writer gate
  bool sync = true;            // false: MDB_NOSYNC (a crash may lose recent commits)
};

class Environment {
 public:
  // The shared environment of options.path, opened (and the directory
  // created) on first use. Errors: storage when it cannot be opened.
  static Result<Environment*> acquire(const OpenOptions& options);
  // Gives back a reference from acquire(); the last one closes the environment.
  static void release(Environment* env);

  MDB_env* env() const { return env_; }
  MDB_dbi meta() const { return meta_; }
  const OpenOptions& options() const { return options_; }

  // Begins a top-level transaction and counts it. A write transaction first
  // takes the writer gate (timeout after busy_timeout_ms). end() must follow
  // the transaction's commit or abort.
  Result<MDB_txn*> begin(bool write);
  // Renews a read transaction left by mdb_txn_reset and counts it as
  // begin(false) does; end(false) must follow its next reset. Errors as
  // begin's (the transaction stays reset).
  Status renew(MDB_txn* txn);
  void end(bool write);

  // Called after a transaction failed with MDB_MAP_FULL and was aborted:
  // doubles the map if no transaction is live in this process. False when it
  // could not (the caller then reports the error; a read beginning at that
  // very moment may also make it fail).
  bool grow();

  // The catalog entry of `table`: from the cache, else read from the
  // metadata database (and its handles opened). Null when the table does
  // not exist.
  Result<std::shared_ptr<const TableInfo>> table(const std::string& name);
  // Every table in the cache (all of them: the catalog is loaded at open and
  // kept current by publish()).
  std::vector<std::shared_ptr<const TableInfo>> tables();
  // Makes a committed change visible: `info` null forgets the table.
  void publish(const std::string& name, std::shared_ptr<const TableInfo> info);
  // Changes with every publish(): an entry table() returned stays current
  // while the generation read before that call is unchanged, so a
  // connection may keep it without asking again (and taking the lock).
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Whether a table in the cache declares a foreign key (else no write
  // needs to look for child rows).
  bool has_foreign_keys() const { return foreign_keys_.load(std::memory_order_acquire); }

  // Serialises mdb_dbi_open and mdb_drop, which LMDB requires.
  std::mutex& dbi_mutex() { return dbi_mutex_; }

  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  explicit Environment(OpenOptions options) : options_(std::move(options)) {}
  ~Environment();
  Status open();
  // Reads one table's schema and opens its handles inside `txn`.
  Result<std::shared_ptr<const TableInfo>> load(MDB_txn* txn, const std::string& name);
  // Counts a read transaction about to begin; waits while the map is being
  // resized.
  void enter_read();
  // Sets the map size (0: adopt the size another process set) if no
  // transaction of this process is live. Caller holds mutex_.
  bool resize_if_idle(std::size_t size);

  OpenOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0;
  int refs_ = 0;  // guarded by the registry's mutex

  std::mutex mutex_;  // guards the gate and resizing
  std::condition_variable gate_cv_;
  bool writer_ = false;  // a write transaction is live
  // Live read transactions, counted without the mutex. A reader increments
  // it and then checks resizing_; a resize sets resizing_ and then checks it
  // (both sequentially consistent), so one of the two always sees the other.
  std::atomic<int> readers_{0};
  std::atomic<bool> resizing_{false};

  std::mutex dbi_mutex_;
  std::mutex catalog_mutex_;
  std::map<std::string, std::shared_ptr<const TableInfo>> catalog_;
  std::atomic<bool> foreign_keys_{false};     // see has_foreign_keys; set under catalog_mutex_
  std::atomic<std::uint64_t> generation_{0};  // see generation(); bumped under catalog_mutex_
  void count_foreign_keys();                  // caller holds catalog_mutex_
};

}  // namespace tessera::lmdb::detail
