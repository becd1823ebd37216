#include "postgresql_statement_cache.hpp"

#include <functional>

namespace tessera::postgresql::detail {

std::size_t StatementCache::KeyHash::operator()(const Key& k) const {
  return std::hash<std::uint64_t>{}(k.key) ^
         (std::hash<std::string_view>{}(k.signature) * 0x9e3779b97f4a7c15ull);
}

StatementCache::Statement* StatementCache::find(std::uint64_t key, std::string_view signature,
                                                std::string_view sql) {
  if (last_ != nullptr && last_->key.key == key && last_->key.signature == signature &&
      (sql.empty() || last_->sql == sql))
    return &last_->statement;
  // Heterogeneous lookup would avoid this copy; signatures are short on the
  // hot path (one character per parameter) and fit the small-string buffer.
  auto it = index_.find(Key{key, std::string(signature)});
  if (it == index_.end()) return nullptr;
  if (!sql.empty() && it->second->sql != sql) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  last_ = &*it->second;
  return &it->second->statement;
}

StatementCache::Statement& StatementCache::add(std::uint64_t key, std::string signature,
                                               std::string_view sql) {
  last_ = nullptr;
  Key k{key, std::move(signature)};
  if (auto it = index_.find(k); it != index_.end()) {
    // A hash collision on a text key: replace the old statement.
    evicted_.push_back(std::move(it->second->statement.name));
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (lru_.size() >= capacity_) {
    evicted_.push_back(std::move(lru_.back().statement.name));
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  Entry& entry = lru_.emplace_front();
  entry.key = k;
  entry.statement.name = "tessera_" + std::to_string(next_name_++);
  entry.sql = sql;
  index_.emplace(std::move(k), lru_.begin());
  return lru_.front().statement;
}

void StatementCache::forget(std::uint64_t key, std::string_view signature) {
  auto it = index_.find(Key{key, std::string(signature)});
  if (it == index_.end()) return;
  last_ = nullptr;
  lru_.erase(it->second);
  index_.erase(it);
}

void StatementCache::drop(std::uint64_t key, std::string_view signature) {
  auto it = index_.find(Key{key, std::string(signature)});
  if (it == index_.end()) return;
  last_ = nullptr;
  evicted_.push_back(std::move(it->second->statement.name));
  lru_.erase(it->second);
  index_.erase(it);
}

void StatementCache::clear() {
  last_ = nullptr;
  lru_.clear();
  index_.clear();
  evicted_.clear();
}

}  // namespace tessera::postgresql::detail
