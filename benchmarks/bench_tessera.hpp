// Tessera's side of every benchmark: the model of bench::Item and the
// workloads W1-W5 through the public API, written once for all backends
// (each <backend>_bench.cpp wraps them in its Library class). Each returns
// the workload's checksum (bench::row_sum over what it read or wrote) or
// its count of rows changed.
#pragma once

#include <tessera/tessera.hpp>
#include <unordered_map>
#include <vector>

#include "bench_common.hpp"

namespace bench {

TESSERA_MODEL(Item, "items", (id, tessera::primary_key, tessera::auto_increment), (name),
              (qty, tessera::index), (price), (created_at));

namespace tessera_run {

// W1: insert_many in one transaction; the generated ids are written back.
template <class Db>
std::uint64_t insert_many(Db& db, std::vector<Item>& rows) {
  auto tx = db.transaction();
  tx.insert_many(rows);
  tx.commit();
  std::uint64_t sum = 0;
  for (const auto& r : rows) sum += row_sum(r);
  return sum;
}

// W2: find by key, one statement each (autocommit, or inside `db` if it is
// a transaction), into one reused struct (find_into), as the raw C API loops
// read into one reused struct; find() would also build a fresh
// std::optional<Item> and its string per lookup (tessera_bench_point's
// "find" workload counts that variant).
template <class Db>
std::uint64_t find_each(Db& db, const std::vector<std::int64_t>& keys) {
  std::uint64_t sum = 0;
  Item r;
  for (auto k : keys)
    if (db.find_into(r, k)) sum += row_sum(r);
  return sum;
}

// W2b: fetch_all(id IN chunk) per `chunk` keys; every lookup (a repeated
// key too) counts the row it maps to, as in W2.
template <class Db>
std::uint64_t find_batched(Db& db, const std::vector<std::int64_t>& keys, std::size_t chunk) {
  using tessera::col;
  std::uint64_t sum = 0;
  std::vector<std::int64_t> part;
  std::unordered_map<std::int64_t, std::uint64_t> found;
  for (std::size_t start = 0; start < keys.size(); start += chunk) {
    const std::size_t end = std::min(keys.size(), start + chunk);
    part.assign(keys.begin() + static_cast<std::ptrdiff_t>(start),
                keys.begin() + static_cast<std::ptrdiff_t>(end));
    found.clear();
    for (const auto& r : db.fetch_all(tessera::select<Item>().where(col(&Item::id).in(part))))
      found[r.id] = row_sum(r);
    for (auto k : part)
      if (auto it = found.find(k); it != found.end()) sum += it->second;
  }
  return sum;
}

// W3a: every row into a vector.
template <class Db>
std::uint64_t scan_vector(Db& db) {
  const auto out = db.fetch_all(tessera::select<Item>());
  std::uint64_t sum = 0;
  for (const auto& r : out) sum += row_sum(r);
  return sum;
}

// W3b: every row through the lazy cursor.
template <class Db>
std::uint64_t scan_cursor(Db& db) {
  std::uint64_t sum = 0;
  for (const Item& r : db.cursor(tessera::select<Item>())) sum += row_sum(r);
  return sum;
}

// W4: update(row, only(qty)) by key, one statement each, in one
// transaction (the model's update by key: one cached shape per column set;
// execute(update<Item>().set(..).where(..)) costs more per statement, see
// tessera_bench_point --workload update_dsl). Returns the rows changed.
template <class Db>
std::uint64_t update_each(Db& db, const Inputs& in) {
  std::uint64_t changed = 0;
  auto tx = db.transaction();
  for (auto [id, qty] : in.updates)
    changed += tx.update(Item{.id = id, .qty = qty}, tessera::only(&Item::qty)) ? 1 : 0;
  tx.commit();
  return changed;
}

// W4b: update_many(rows, only(qty)) in one transaction; the rows found.
template <class Db>
std::uint64_t update_many(Db& db, const std::vector<Item>& rows) {
  auto tx = db.transaction();
  const std::uint64_t found = tx.update_many(rows, tessera::only(&Item::qty));
  tx.commit();
  return found;
}

// W5: qty BETWEEN lo AND hi ORDER BY price DESC LIMIT 20, per range.
template <class Db>
std::uint64_t range(Db& db, const Inputs& in) {
  using tessera::col;
  std::uint64_t sum = 0;
  for (auto [lo, hi] : in.ranges) {
    const auto page = db.fetch_all(tessera::select<Item>()
                                       .where(col(&Item::qty).between(lo, hi))
                                       .order_by(col(&Item::price).desc())
                                       .limit(kRangeLimit));
    for (const auto& r : page) sum += row_sum(r);
  }
  return sum;
}

}  // namespace tessera_run
}  // namespace bench
