// A per-connection LRU cache of prepared statements (MYSQL_STMT).
//
// A statement is prepared once per connection and key and reused. It is
// leased to one user at a time (a running exec, or Rows reading its
// result); asking for a key whose statement is leased prepares a private,
// uncached statement instead. Returning a lease frees the statement's
// result (reading any unread rows of an unbuffered result, which the
// protocol requires before the next command). Eviction closes the least
// recently used statement that is not leased (mysql_stmt_close). Each
// statement keeps its parameter binding (ParamBinder, mysql_values.hpp) and
// its result binding (ResultBinding, mysql_rows.hpp) for its later
// executions.
//
// Thread safety: none; used by its connection's thread.
#pragma once

#include <mysql.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mysql_values.hpp"
#include "tessera/driver/error.hpp"
#include "tessera/driver/statement_lru.hpp"

namespace tessera::mysql::detail {

class StatementCache;
struct ResultBinding;

// Exclusive use of one prepared statement until destroyed or released.
class StatementLease {
 public:
  StatementLease() = default;
  StatementLease(StatementLease&& other) noexcept;
  StatementLease& operator=(StatementLease&& other) noexcept;
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;
  ~StatementLease();

  MYSQL_STMT* get() const { return stmt_; }
  const std::string& sql() const;
  // The statement's result binding, made empty at first; it lives as long
  // as the statement. Precondition: get() != nullptr.
  ResultBinding& binding();
  // The statement's parameter binding; it lives as long as the statement.
  // Precondition: get() != nullptr.
  ParamBinder& params();
  // Frees the result and gives the statement back (or closes an uncached
  // one).
  void release() noexcept;

 private:
  friend class StatementCache;
  StatementLease(StatementCache* cache, void* entry, MYSQL_STMT* stmt)
      : cache_(cache), entry_(entry), stmt_(stmt) {}

  StatementCache* cache_ = nullptr;
  void* entry_ = nullptr;  // the cache entry, or null for an uncached statement
  MYSQL_STMT* stmt_ = nullptr;
  std::unique_ptr<ResultBinding> own_binding_;  // an uncached statement's
  std::unique_ptr<ParamBinder> own_params_;     // an uncached statement's
};

class StatementCache {
 public:
  // `verify_text`: keys are hashes of the SQL text, so a hit is checked
  // against the statement's text before use.
  StatementCache(MYSQL* db, std::size_t capacity, bool verify_text);
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  // Closes every statement. Precondition: no lease is outstanding.
  ~StatementCache();

  // The statement for `sql`, cached under `key` (0: never cached). Errors:
  // the server's, from mysql_stmt_prepare.
  Result<StatementLease> acquire(std::uint64_t key, std::string_view sql);

  std::size_t size() const { return lru_.size(); }

 private:
  friend class StatementLease;
  struct Entry {
    Entry(std::uint64_t k, MYSQL_STMT* s, std::string text);
    ~Entry();
    std::uint64_t key;
    MYSQL_STMT* stmt;
    std::string sql;
    bool leased = true;
    std::unique_ptr<ResultBinding> binding;
    ParamBinder params;
  };
  void give_back(void* entry, MYSQL_STMT* stmt) noexcept;

  MYSQL* db_;
  bool verify_text_;
  StatementLru<Entry> lru_;
  std::string uncached_sql_;  // sql() of an uncached lease (the last one made)
};

// Prepares one statement. Errors: the server's.
Result<MYSQL_STMT*> prepare_statement(MYSQL* db, std::string_view sql);

// Reads and discards any unread rows of the statement's result and frees it.
void finish_result(MYSQL_STMT* stmt) noexcept;

}  // namespace tessera::mysql::detail
