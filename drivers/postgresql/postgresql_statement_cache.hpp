// A per-connection LRU of named prepared statements.
//
// A statement is keyed by the operation's cache key and by the types its
// parameters were declared with (see append_type_signature): PostgreSQL
// fixes parameter types at PREPARE, so a NULL (sent untyped) or a value of
// another type needs its own statement. Names are never reused ("tessera_1",
// "tessera_2", ...), so a name in flight can never mean two statements.
//
// Evicted statements are not dropped here: their names are queued for the
// connection to DEALLOCATE when it next can (see take_evicted()), because
// a statement evicted while a pipeline is being sent may still be executed
// by that pipeline.
//
// Thread safety: none; used by its connection's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tessera::postgresql::detail {

class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The name of the statement for (key, signature), marked most recently
  // used, or null. `sql`, when non-empty, must equal the statement's text
  // (for keys that are hashes of the text).
  const std::string* find(std::uint64_t key, std::string_view signature, std::string_view sql);

  // Records a statement about to be prepared and returns its new name.
  // Evicts the least recently used entry past capacity.
  const std::string& add(std::uint64_t key, std::string signature, std::string_view sql);

  // Forgets a statement whose PREPARE failed (it does not exist on the
  // server, so nothing is queued for DEALLOCATE).
  void forget(std::uint64_t key, std::string_view signature);

  // Names of evicted statements not yet deallocated; the caller takes them.
  std::vector<std::string> take_evicted() { return std::move(evicted_); }
  bool has_evicted() const { return !evicted_.empty(); }

  // Forgets everything (the server session is gone).
  void clear();

  std::size_t size() const { return lru_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Key {
    std::uint64_t key;
    std::string signature;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  struct Entry {
    Key key;
    std::string name;
    std::string sql;  // kept only when the key is a text hash
  };

  std::size_t capacity_;
  std::uint64_t next_name_ = 1;
  std::list<Entry> lru_;  // most recently used first
  // The entry find() returned last, while it is still the most recently
  // used one (reset by add, forget and clear): a loop running one statement
  // finds it without hashing.
  const Entry* last_ = nullptr;
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
  std::vector<std::string> evicted_;
};

}  // namespace tessera::postgresql::detail
