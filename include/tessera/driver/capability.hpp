// Capability: what a connection can do. The planner reads it; nothing in
// core asks which driver it talks to.
//
// A connection reports its capability after connecting, so it may depend on
// the server version. It must be true: the conformance suite checks each
// declared capability against the database.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

enum class SqlDialect : std::uint8_t { none, sqlite, postgresql, mysql };

enum class Isolation : std::uint8_t {
  database_default,  // whatever the database uses when not told
  read_uncommitted,
  read_committed,
  repeatable_read,
  serializable,
};

struct Capability {
  // The SQL dialect the connection speaks, or none for a key-value store.
  // Default: none.
  SqlDialect sql = SqlDialect::none;

  // INSERT/UPDATE/DELETE ... RETURNING. Without it, generated keys come back
  // in ExecResponse::generated_ids.
  bool returning = false;
  // Insert with an OnConflict action (ON CONFLICT / ON DUPLICATE KEY / a
  // key-value insert-or-update).
  bool upsert = false;
  // The database can name the conflict target of an upsert (ON CONFLICT (cols)).
  bool upsert_target = false;
  // Nested transactions through savepoints.
  bool savepoints = false;
  // A bitmask of supported Isolation levels: bit (1 << level).
  std::uint32_t isolation_levels = 1u << static_cast<int>(Isolation::database_default);
  // START TRANSACTION READ ONLY is honoured (writes fail).
  bool read_only_transactions = false;
  // The most bound parameters in one statement; insert-many batches by it.
  std::uint32_t max_bind_params = 999;
  // The most rows in one multi-row INSERT (0: no limit beyond max_bind_params).
  std::uint32_t max_insert_rows = 0;
  // Float columns keep NaN / the infinities. Without it the engine refuses
  // such values with invalid_value before they reach the database.
  bool stores_nan = false;
  bool stores_infinity = false;
  // Text columns keep an embedded NUL character.
  bool text_embedded_nul = false;
  // The engine may send RawSql.
  bool raw_sql = false;
  // DDL runs inside a transaction and rolls back with it.
  bool transactional_ddl = false;
  // SELECT ... FOR UPDATE.
  bool for_update = false;
  // Key-value: ordered range scans over the primary key (QueryPk).
  bool ordered_scan = false;
  // Key-value: secondary indexes (FindPkByIndex).
  bool secondary_indexes = false;
  // Key-value: full table scans (Scan) are allowed.
  bool full_scan = false;
  // Several connections may be open to the same database at once.
  bool concurrent_connections = true;
  // One prepared statement per row is the cheapest way to write many rows
  // (an embedded database: no round trips to save, while a statement over
  // many rows costs more to compile and run). The engine's update_many then
  // runs one update per row instead of a CASE over a batch.
  bool row_at_a_time_writes = false;
  // The connection runs op::UpdateMany: the engine's update_many sends its
  // rows as UpdateMany operations (one per run of distinct keys) instead of
  // UPDATE ... SET col = CASE key WHEN ... statements. Default: false.
  bool update_many = false;
  // The connection pulls an Insert's rows from op::Insert::source a chunk at
  // a time instead of receiving them all in op::Insert::params (see
  // InsertRowSource). Default: false (params holds every row).
  bool insert_row_source = false;

  bool supports(Isolation level) const {
    return (isolation_levels >> static_cast<int>(level)) & 1u;
  }
};

constexpr const char* to_string(Isolation i) {
  constexpr const char* names[] = {"database_default", "read_uncommitted", "read_committed",
                                   "repeatable_read", "serializable"};
  return names[static_cast<int>(i)];
}

}  // namespace tessera
