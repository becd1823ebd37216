// A per-connection LRU cache of prepared statements.
//
// A statement is leased to one user at a time (a running exec, or a Rows
// streaming its result). Asking for a key whose statement is leased prepares
// a fresh, uncached statement instead, so two live cursors never share one
// sqlite3_stmt. Returning a lease resets the statement and clears its
// bindings, so no pointer into the caller's values survives.
//
// Thread safety: none; used by its connection's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tessera/driver/error.hpp"
#include "tessera/driver/statement_lru.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tessera::sqlite::detail {

class StatementCache;

// Exclusive use of one prepared statement until destroyed or released.
class StatementLease {
 public:
  StatementLease() = default;
  StatementLease(StatementLease&& other) noexcept;
  StatementLease& operator=(StatementLease&& other) noexcept;
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;
  ~StatementLease() { release(); }

  sqlite3_stmt* get() const { return stmt_; }
  // Resets the statement and gives it back (or finalizes an uncached one).
  void release() noexcept;

 private:
  friend class StatementCache;
  StatementLease(StatementCache* cache, void* entry, sqlite3_stmt* stmt)
      : cache_(cache), entry_(entry), stmt_(stmt) {}

  StatementCache* cache_ = nullptr;
  void* entry_ = nullptr;  // the cache entry, or null for an uncached statement
  sqlite3_stmt* stmt_ = nullptr;
};

// Prepares one statement. Errors: invalid_statement for empty SQL or more
// than one statement; SQLite's error otherwise.
Result<sqlite3_stmt*> prepare_statement(sqlite3* db, std::string_view sql, bool persistent);

class StatementCache {
 public:
  // `verify_text`: keys are hashes of the SQL text, so a hit is checked
  // against the statement's text before use.
  StatementCache(sqlite3* db, std::size_t capacity, bool verify_text);
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  // Finalizes every statement. Precondition: no lease is outstanding.
  ~StatementCache();

  // The statement for `sql`, cached under `key` (0: never cached).
  Result<StatementLease> acquire(std::uint64_t key, std::string_view sql);
  // The statement cached under `key` when it is the one used last and free
  // (a statement run in a loop), with no lookup and no Result to build;
  // else an empty lease (get() == nullptr), and the caller asks acquire().
  // For a cache whose keys are not hashes of the text (verify_text false).
  StatementLease acquire_front(std::uint64_t key) {
    if (key == 0 || verify_text_) return StatementLease();
    Entry* e = lru_.lease_front(key, [](const Entry&) { return true; });
    return e ? StatementLease(this, e, e->stmt) : StatementLease();
  }

  std::size_t size() const { return lru_.size(); }

 private:
  friend class StatementLease;
  struct Entry {
    std::uint64_t key;
    sqlite3_stmt* stmt;
    bool leased;
  };
  void give_back(void* entry, sqlite3_stmt* stmt) noexcept;

  sqlite3* db_;
  bool verify_text_;
  StatementLru<Entry> lru_;
};

}  // namespace tessera::sqlite::detail
