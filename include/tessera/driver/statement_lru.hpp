// StatementLru: the bookkeeping of a driver's per-connection cache of
// prepared statements, written once for every driver that keeps one.
//
// Entries are kept by a 64-bit key in least-recently-used order, and each is
// leased to one user at a time (a running statement, or Rows reading its
// result). The driver keeps what differs between client libraries: how a
// statement is prepared, reset when given back, and closed when evicted.
//
// Entry: any type with members `std::uint64_t key` and `bool leased`.
// Entries do not move while cached, so a driver may hold pointers to them.
//
// Thread safety: none; used by its connection's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

namespace tessera {

template <class Entry>
class StatementLru {
 public:
  explicit StatementLru(std::size_t capacity) : capacity_(capacity) {}
  StatementLru(const StatementLru&) = delete;
  StatementLru& operator=(const StatementLru&) = delete;

  // The entry cached under `key`, if it is not leased and `usable(entry)`
  // holds (e.g. its SQL text is the one asked for): marked leased and made
  // the most recent. Null otherwise.
  template <class Usable>
  Entry* lease(std::uint64_t key, Usable&& usable) {
    // The statement run last is already the most recent: a program running
    // one statement in a loop skips the hash lookup and the splice.
    if (Entry* e = lease_front(key, usable)) return e;
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    Entry& e = *it->second;
    if (e.leased || !usable(e)) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    e.leased = true;
    front_ = &e;
    return &e;
  }

  // lease() for the entry used last only: the entry under `key` if it is
  // the most recent, not leased and `usable(entry)` holds, marked leased;
  // else null (the caller then asks lease()). Small enough to inline where a
  // statement runs in a loop.
  template <class Usable>
  Entry* lease_front(std::uint64_t key, Usable&& usable) {
    Entry* e = front_;
    if (e == nullptr || e->key != key || e->leased || !usable(*e)) return nullptr;
    e->leased = true;
    return e;
  }

  // Whether an entry (leased or not) is cached under `key`.
  bool contains(std::uint64_t key) const { return index_.find(key) != index_.end(); }

  // Makes room for one more entry: when full, closes the least recently
  // used entry that is not leased with `close(entry)` and drops it. False
  // if every entry is leased.
  template <class Close>
  bool make_room(Close&& close) {
    if (lru_.size() < capacity_) return true;
    for (auto it = lru_.end(); it != lru_.begin();) {
      --it;
      if (it->leased) continue;
      close(*it);
      if (&*it == front_) front_ = nullptr;
      index_.erase(it->key);
      lru_.erase(it);
      return true;
    }
    return false;
  }

  // Adds an entry built from `args` as the most recent and returns it.
  // Preconditions: make_room() returned true; its key is not cached.
  template <class... A>
  Entry& add(A&&... args) {
    lru_.emplace_front(std::forward<A>(args)...);
    Entry& e = lru_.front();
    index_[e.key] = lru_.begin();
    front_ = &e;
    return e;
  }

  // Calls f(entry) for every entry (to close them all, say).
  template <class F>
  void for_each(F&& f) {
    for (Entry& e : lru_) f(e);
  }

  std::size_t size() const { return lru_.size(); }

 private:
  std::size_t capacity_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::uint64_t, typename std::list<Entry>::iterator> index_;
  Entry* front_ = nullptr;  // the most recent entry, or null after its eviction
};

}  // namespace tessera
