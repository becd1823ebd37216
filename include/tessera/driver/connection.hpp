// Connection: one session with a database; the single entry point is exec().
//
// Contract for implementers:
// - No exception escapes any member: failures are returned as Error values.
// - A Connection is used by one thread at a time (the pool guarantees it),
//   but different connections of one driver may be used concurrently.
// - capability() is fixed once connect() has returned.
// - After an error of kind connection_lost the connection reports
//   is_valid() == false and the pool discards it. If a transaction was open
//   the error kind is transaction_outcome_unknown.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/driver/capability.hpp"
#include "tessera/driver/error.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/rows.hpp"
#include "tessera/driver/schema.hpp"

namespace tessera {

class Connection {
 public:
  virtual ~Connection() = default;

  // What this connection can do. Valid for the connection's lifetime.
  virtual const Capability& capability() const = 0;

  // Runs one operation. See operation.hpp for the lifetime of its inputs.
  virtual Result<ExecResponse> exec(const Operation& op) = 0;

  // Runs a query whose rows the engine consumes at once (a find by key) and
  // hands each row to `sink` while the statement is live; returns the number
  // of rows handed over. Same results and errors as exec(query) followed by
  // reading its Rows (query.reads_all is true): the default does exactly
  // that. A driver overrides it only to go faster, e.g. with its cursor on
  // the stack instead of a Rows on the heap and an ExecResponse. Not
  // overridden by ConnectionWrapper, so a wrapper's exec() sees every query.
  virtual Result<std::uint64_t> read(const op::QuerySql& query, RowSink& sink) {
    Result<ExecResponse> r = exec(query);
    if (!r.ok()) return std::move(r).error();
    return feed(r->rows.get(), sink);
  }

  // Runs a statement that returns no rows (an UPDATE or DELETE by key the
  // engine planned; query.reads_all is false) and returns the number of
  // rows it changed. Same results and errors as exec(query) and its
  // `affected`: the default does exactly that. A driver overrides it only to
  // go faster, without an ExecResponse. Not overridden by ConnectionWrapper,
  // so a wrapper's exec() sees every statement.
  virtual Result<std::uint64_t> write(const op::QuerySql& query) {
    Result<ExecResponse> r = exec(query);
    if (!r.ok()) return std::move(r).error();
    return r->affected;  // any rows are dropped here
  }

  // Cheap local check (no round trip): false once the connection is known
  // to be broken.
  virtual bool is_valid() const = 0;

  // A round trip that proves the connection works.
  virtual Status ping() = 0;

  // Creates the tables, indexes and constraints of `schema` that do not exist
  // yet. Existing tables are left as they are. Runs in a transaction where the
  // database allows DDL in one.
  virtual Status push_schema(const Schema& schema) = 0;

  // Drops the given tables (and their indexes) if they exist. For tests.
  virtual Status drop_tables(const std::vector<std::string>& tables) = 0;
};

}  // namespace tessera
