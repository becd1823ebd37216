// Plans: a statement shape rendered once per Db and reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/kv/executor.hpp"
#include "tessera/driver/statement.hpp"

namespace tessera::detail {

struct Plan {
  ast::Statement statement;  // the shape with the Db's table prefix applied
  std::string sql;           // rendered in the connection's dialect
  std::uint64_t cache_key = 0;
  // Key-value drivers: kv::execute()'s analysis of `statement`, built on the
  // first execution. Mutable: plans are shared as const, the slot fills once.
  mutable kv::PlanSlot kv;
};

// A hash of a statement's shape (not its values).
std::size_t hash_statement(const ast::Statement& s);

struct StatementHash {
  std::size_t operator()(const ast::Statement& s) const { return hash_statement(s); }
};

// Applies a table prefix to every table name in the statement.
void apply_prefix(ast::Statement& s, const std::string& prefix);

}  // namespace tessera::detail
