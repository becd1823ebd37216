// Rows over libpq results, in binary format, decoded by column type OID.
//
// Buffered: a query the engine reads to its end (op::QuerySql::reads_all:
// fetch_all, find, count) is fetched as one PGresult holding every row, and
// the RETURNING rows of a pipelined insert as one PGresult per batch.
//
// Streaming: each next() past the rows in hand pulls the next PGresult from
// the connection, so memory stays bounded however many rows the query
// returns: a lazy cursor over a SELECT pulls batches of a server-side
// cursor (FETCH), raw SQL without reads_all one result per row (single-row
// mode). Only one result stream can be active on a connection: when the
// connection must run another command while a stream is open (a second
// query inside the same transaction), it first reads the rest of the open
// stream into memory (buffer_rest()), and that Rows goes on from there.
//
// The getters read a cell with PQgetvalue/PQgetlength and decode the common
// column types inline; they allocate nothing (a conversion error allocates
// its message).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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
  // A stream whose first result (one row in single-row mode, or a
  // cursor's first batch) is `first`; later ones come from `owner`, which
  // outlives this object and is told when the stream ends.
  PgRows(PgConnection* owner, ResultPtr first);
  // Rows held in `results` (PGRES_TUPLES_OK, at least one, all with the
  // same columns).
  explicit PgRows(std::vector<ResultPtr> results);
  // Rows held in one PGRES_TUPLES_OK result.
  explicit PgRows(ResultPtr result);
  // Rows held in one PGRES_TUPLES_OK result whose column type OIDs are
  // `types` (known from its prepared statement; copied).
  PgRows(ResultPtr result, std::span<const unsigned> types);
  ~PgRows() override;
  PgRows(const PgRows&) = delete;  // oids_ may point into this object
  PgRows& operator=(const PgRows&) = delete;

  Result<bool> next() override;
  std::size_t column_count() const override { return columns_; }
  bool is_null(std::size_t col) override;
  bool get_bool(std::size_t col) override;
  std::int64_t get_int64(std::size_t col) override;
  double get_double(std::size_t col) override;
  std::string_view get_text(std::size_t col) override;
  std::span<const std::byte> get_bytes(std::size_t col) override;
  Timestamp get_timestamp(std::size_t col) override;
  Date get_date(std::size_t col) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }
  // The rows held in memory after the current one; 0 while streaming.
  std::size_t size_hint() const override;

  // Reads every remaining result of the stream into memory and detaches
  // from the connection. Called by the connection only.
  void buffer_rest();
  // Detaches from the connection without reading (it is broken).
  void detach() { owner_ = nullptr; }

 private:
  void read_columns(const pg_result* r);
  // Room for `count` column type OIDs (oids_ points to it).
  unsigned* column_storage(std::size_t count);
  std::string_view cell(std::size_t col) const;
  // Records a conversion error unless the cell is NULL (a getter on NULL
  // returns the zero value without one).
  void mismatch(std::size_t col, std::string_view wanted);
  // The next result of the stream, or null once it has ended; with `rest`,
  // a cursor's remaining rows as one result.
  ResultPtr pull(bool rest = false);
  // Makes `r` the current result, positioned on its first row.
  void make_current(ResultPtr r);
  // Makes `r` the current result, positioned before its first row.
  void start_at(ResultPtr r);

  // Column type OIDs, held inline for up to kInlineColumns columns so that
  // a query allocates nothing for them.
  static constexpr std::size_t kInlineColumns = 16;

  PgConnection* owner_ = nullptr;   // set while streaming
  const unsigned* oids_ = nullptr;  // inline_oids_ or more_oids_
  std::size_t columns_ = 0;
  std::array<unsigned, kInlineColumns> inline_oids_;
  std::vector<unsigned> more_oids_;
  std::vector<ResultPtr> queue_;  // results read but not yet reached, from queue_pos_
  std::size_t queue_pos_ = 0;
  ResultPtr current_;
  int row_ = -1;
  int rows_in_current_ = 0;
  bool done_ = false;
  std::optional<Error> failure_;  // a stream error, reported after the rows before it
  std::optional<Error> error_;    // conversion error of the current row
};

}  // namespace tessera::postgresql::detail
