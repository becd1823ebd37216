// Plans: a statement shape rendered once per Db and reused.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/kv/executor.hpp"
#include "tessera/detail/engine.hpp"
#include "tessera/driver/statement.hpp"

namespace tessera::detail {

// A model's table schema as the engine keeps it for key-value planning: built
// once per (table, model) and kept, unchanged, for the engine's life.
struct CachedSchema {
  SchemaFn fn;  // the model's schema function
  TableSchema schema;
};

struct Plan {
  ast::Statement statement;  // the shape with the Db's table prefix applied
  std::string sql;           // rendered in the connection's dialect
  std::uint64_t cache_key = 0;
  // Key-value drivers: kv::execute()'s analysis of `statement`, built on the
  // first execution. Mutable: plans are shared as const, the slot fills once.
  mutable kv::PlanSlot kv;
  // Key-value drivers: the table schema this plan last ran with (see
  // Engine::schema_for), so a repeated statement of one model finds it with
  // one load instead of the engine's lock and hash lookup. Points into the
  // engine's schemas, which live as long as the plans.
  mutable std::atomic<const CachedSchema*> schema{nullptr};
};

// A hash of a statement's shape (not its values).
std::size_t hash_statement(const ast::Statement& s);

struct StatementHash {
  std::size_t operator()(const ast::Statement& s) const { return hash_statement(s); }
};

// Applies a table prefix to every table name in the statement.
void apply_prefix(ast::Statement& s, const std::string& prefix);

}  // namespace tessera::detail
