#include "mysql_statement_cache.hpp"

#include "mysql_errors.hpp"
#include "mysql_rows.hpp"

namespace tessera::mysql::detail {

StatementLease::StatementLease(StatementLease&& other) noexcept
    : cache_(other.cache_),
      entry_(other.entry_),
      stmt_(other.stmt_),
      own_binding_(std::move(other.own_binding_)),
      own_params_(std::move(other.own_params_)) {
  other.stmt_ = nullptr;
}

StatementLease::~StatementLease() { release(); }

ResultBinding& StatementLease::binding() {
  std::unique_ptr<ResultBinding>& b =
      entry_ != nullptr ? static_cast<StatementCache::Entry*>(entry_)->binding : own_binding_;
  if (!b) b = std::make_unique<ResultBinding>();
  return *b;
}

ParamBinder& StatementLease::params() {
  if (entry_ != nullptr) return static_cast<StatementCache::Entry*>(entry_)->params;
  if (!own_params_) own_params_ = std::make_unique<ParamBinder>();
  return *own_params_;
}

StatementLease& StatementLease::operator=(StatementLease&& other) noexcept {
  if (this != &other) {
    release();
    cache_ = other.cache_;
    entry_ = other.entry_;
    stmt_ = other.stmt_;
    own_binding_ = std::move(other.own_binding_);
    own_params_ = std::move(other.own_params_);
    other.stmt_ = nullptr;
  }
  return *this;
}

const std::string& StatementLease::sql() const {
  if (entry_ != nullptr) return static_cast<StatementCache::Entry*>(entry_)->sql;
  return cache_->uncached_sql_;
}

void StatementLease::release() noexcept {
  if (stmt_ == nullptr) return;
  if (entry_ == nullptr || cache_ == nullptr) {
    finish_result(stmt_);
    mysql_stmt_close(stmt_);
  } else {
    cache_->give_back(entry_, stmt_);
  }
  stmt_ = nullptr;
  own_binding_.reset();
  own_params_.reset();
}

void finish_result(MYSQL_STMT* stmt) noexcept {
  // A statement without a result (an UPDATE) left nothing to read or free;
  // its next execution starts afresh.
  if (mysql_stmt_field_count(stmt) == 0) return;
  // An unbuffered result must be read to its end before the connection can
  // send another command; rows are fetched into the bound buffers (or none,
  // if nothing was bound) and dropped.
  int rc = 0;
  while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
  }
  // A result read to its end holds nothing more (results are never stored
  // here) and its connection is ready: mysql_stmt_free_result would only
  // clear the statement's error, which its next execution does. After an
  // error it runs, to leave the connection as the library wants it.
  if (rc != MYSQL_NO_DATA) mysql_stmt_free_result(stmt);
}

Result<MYSQL_STMT*> prepare_statement(MYSQL* db, std::string_view sql) {
  MYSQL_STMT* stmt = mysql_stmt_init(db);
  if (stmt == nullptr) return driver_error(ErrorKind::internal, "out of memory", sql);
  if (mysql_stmt_prepare(stmt, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    Error e =
        make_error(mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt), mysql_stmt_error(stmt), sql);
    mysql_stmt_close(stmt);
    return e;
  }
  return stmt;
}

StatementCache::Entry::Entry(std::uint64_t k, MYSQL_STMT* s, std::string text)
    : key(k), stmt(s), sql(std::move(text)) {}

StatementCache::Entry::~Entry() = default;

StatementCache::StatementCache(MYSQL* db, std::size_t capacity, bool verify_text)
    : db_(db), verify_text_(verify_text), lru_(capacity) {}

StatementCache::~StatementCache() {
  lru_.for_each([](Entry& e) { mysql_stmt_close(e.stmt); });
}

Result<StatementLease> StatementCache::acquire(std::uint64_t key, std::string_view sql) {
  if (key != 0) {
    Entry* e =
        lru_.lease(key, [&](const Entry& entry) { return !verify_text_ || entry.sql == sql; });
    if (e != nullptr) return StatementLease(this, e, e->stmt);
    // Leased to live Rows, or a hash collision: use a private one.
    if (lru_.contains(key)) key = 0;
  }
  auto prepared = prepare_statement(db_, sql);
  if (!prepared) return std::move(prepared).error();
  if (key == 0 || !lru_.make_room([](Entry& e) { mysql_stmt_close(e.stmt); })) {
    uncached_sql_ = std::string(sql);
    return StatementLease(this, nullptr, *prepared);
  }
  Entry& e = lru_.add(key, *prepared, std::string(sql));
  return StatementLease(this, &e, e.stmt);
}

void StatementCache::give_back(void* entry, MYSQL_STMT* stmt) noexcept {
  finish_result(stmt);
  static_cast<Entry*>(entry)->leased = false;
}

}  // namespace tessera::mysql::detail
