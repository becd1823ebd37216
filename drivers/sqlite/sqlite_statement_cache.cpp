#include "sqlite_statement_cache.hpp"

#include <sqlite3.h>

#include <string>

#include "sqlite_errors.hpp"

namespace tessera::sqlite::detail {

StatementLease::StatementLease(StatementLease&& other) noexcept
    : cache_(other.cache_), entry_(other.entry_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

StatementLease& StatementLease::operator=(StatementLease&& other) noexcept {
  if (this != &other) {
    release();
    cache_ = other.cache_;
    entry_ = other.entry_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

void StatementLease::release() noexcept {
  if (stmt_ == nullptr) return;
  if (entry_ == nullptr || cache_ == nullptr) {
    sqlite3_finalize(stmt_);
  } else {
    cache_->give_back(entry_, stmt_);
  }
  stmt_ = nullptr;
}

Result<sqlite3_stmt*> prepare_statement(sqlite3* db, std::string_view sql, bool persistent) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &stmt, &tail);
  if (rc != SQLITE_OK) return make_error(db, rc, sql);
  if (stmt == nullptr)
    return driver_error(ErrorKind::invalid_statement, "the SQL text holds no statement", sql);
  // Only the first statement would run: refuse the text rather than ignore
  // the rest. What follows may be whitespace or comments (no statement).
  const std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    sqlite3_stmt* next = nullptr;
    rc = sqlite3_prepare_v3(db, rest.data(), static_cast<int>(rest.size()), 0, &next, nullptr);
    sqlite3_finalize(next);
    if (rc != SQLITE_OK || next != nullptr) {
      sqlite3_finalize(stmt);
      return driver_error(ErrorKind::invalid_statement,
                          "the SQL text holds more than one statement", sql);
    }
  }
  return stmt;
}

StatementCache::StatementCache(sqlite3* db, std::size_t capacity, bool verify_text)
    : db_(db), verify_text_(verify_text), lru_(capacity) {}

StatementCache::~StatementCache() {
  lru_.for_each([](Entry& e) { sqlite3_finalize(e.stmt); });
}

Result<StatementLease> StatementCache::acquire(std::uint64_t key, std::string_view sql) {
  if (key != 0) {
    Entry* e = lru_.lease(key, [&](const Entry& entry) {
      return !verify_text_ || std::string_view(sqlite3_sql(entry.stmt)) == sql;
    });
    if (e != nullptr) return StatementLease(this, e, e->stmt);
    // Leased to a live cursor, or a hash collision: use a private one.
    if (lru_.contains(key)) key = 0;
  }
  auto prepared = prepare_statement(db_, sql, key != 0);
  if (!prepared) return std::move(prepared).error();
  if (key == 0 || !lru_.make_room([](Entry& e) { sqlite3_finalize(e.stmt); }))
    return StatementLease(this, nullptr, *prepared);
  Entry& e = lru_.add(Entry{key, *prepared, true});
  return StatementLease(this, &e, e.stmt);
}

void StatementCache::give_back(void* entry, sqlite3_stmt* stmt) noexcept {
  // The return code repeats the statement's last error, already reported.
  sqlite3_reset(stmt);
  // No sqlite3_clear_bindings: bind_params binds every parameter before each
  // step (it checks the count), so a stale binding is never read.
  static_cast<Entry*>(entry)->leased = false;
}

}  // namespace tessera::sqlite::detail
