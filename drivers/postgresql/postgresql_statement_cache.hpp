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
  // A prepared statement as the cache knows it.
  struct Statement {
    std::string name;
    // The type OIDs of its result columns, recorded from its first result
    // (see PgConnection::read). A prepared statement's result columns
    // cannot change: once a table it reads is altered or dropped and
    // created again with other column types, the server refuses to run it
    // (SQLSTATE 0A000, "cached plan must not change result type") rather
    // than return other types, and the connection drops it (drop()).
    std::vector<unsigned> result_types;
    bool result_known = false;
  };

  explicit StatementCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The statement for (key, signature), marked most recently used, or
  // null; valid until the next add(), drop(), forget() or clear(). `sql`, when non-empty, must
  // equal the statement's text (for keys that are hashes of the text).
  Statement* find(std::uint64_t key, std::string_view signature, std::string_view sql);

  // Records a statement about to be prepared and returns it, with its new
  // name and its result types unknown.
  // Evicts the least recently used entry past capacity.
  Statement& add(std::uint64_t key, std::string signature, std::string_view sql);

  // Forgets a statement whose PREPARE failed (it does not exist on the
  // server, so nothing is queued for DEALLOCATE).
  void forget(std::uint64_t key, std::string_view signature);

  // Forgets a prepared statement the server may still hold and queues its
  // name for DEALLOCATE: the next use prepares it again.
  void drop(std::uint64_t key, std::string_view signature);

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
    Statement statement;
    std::string sql;  // kept only when the key is a text hash
  };

  std::size_t capacity_;
  std::uint64_t next_name_ = 1;
  std::list<Entry> lru_;  // most recently used first
  // The entry find() returned last, while it is still the most recently
  // used one (reset by add, forget and clear): a loop running one statement
  // finds it without hashing.
  Entry* last_ = nullptr;
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
  std::vector<std::string> evicted_;
};

}  // namespace tessera::postgresql::detail
