// Rows over libpq results, in binary format, decoded by column type OID.
//
// Streaming: a query runs in single-row mode and each next() pulls one
// PGresult from the connection, so memory stays bounded however many rows
// the query returns (libpq 15 has no chunked mode: one small PGresult per
// row). Only one result stream can be active on a connection: when the
// connection must run another command while a stream is open (a second
// query inside the same transaction), it first reads the rest of the open
// stream into memory (buffer_rest()), and that Rows goes on from there.
//
// Buffered: RETURNING rows of a pipelined insert, one PGresult per batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tessera/driver/rows.hpp"

struct pg_result;

namespace tessera::postgresql::detail {

class PgConnection;

struct ClearResult {
  void operator()(pg_result* r) const;
};
using ResultPtr = std::unique_ptr<pg_result, ClearResult>;

class PgRows final : public Rows {
 public:
  // A stream whose first result (PGRES_SINGLE_TUPLE) is `first`; later ones
  // come from `owner`, which outlives this object and is told when the
  // stream ends.
  PgRows(PgConnection* owner, ResultPtr first);
  // Rows held in `results` (PGRES_TUPLES_OK, at least one, all with the
  // same columns).
  explicit PgRows(std::vector<ResultPtr> results);
  ~PgRows() override;

  Result<bool> next() override;
  std::size_t column_count() const override { return oids_.size(); }
  bool is_null(std::size_t col) override;
  bool get_bool(std::size_t col) override;
  std::int64_t get_int64(std::size_t col) override;
  double get_double(std::size_t col) override;
  std::string_view get_text(std::size_t col) override;
  std::span<const std::byte> get_bytes(std::size_t col) override;
  Timestamp get_timestamp(std::size_t col) override;
  Date get_date(std::size_t col) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }

  // Reads every remaining result of the stream into memory and detaches
  // from the connection. Called by the connection only.
  void buffer_rest();
  // Detaches from the connection without reading (it is broken).
  void detach() { owner_ = nullptr; }

 private:
  void read_columns(const pg_result* r);
  std::string_view cell(std::size_t col) const;
  void mismatch(std::size_t col, std::string_view wanted);
  // Pulls the next result of the stream into `queue_` (or ends the stream);
  // false once the stream has ended.
  bool pull();

  PgConnection* owner_ = nullptr;  // set while streaming
  std::vector<unsigned> oids_;
  std::deque<ResultPtr> queue_;  // results read but not yet reached
  ResultPtr current_;
  int row_ = -1;
  int rows_in_current_ = 0;
  bool done_ = false;
  std::optional<Error> failure_;  // a stream error, reported after the rows before it
  std::optional<Error> error_;    // conversion error of the current row
};

}  // namespace tessera::postgresql::detail
