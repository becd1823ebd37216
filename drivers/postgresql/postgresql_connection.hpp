// PgConnection: one libpq session behind the Connection SPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "postgresql_errors.hpp"
#include "postgresql_rows.hpp"
#include "postgresql_statement_cache.hpp"
#include "postgresql_values.hpp"
#include "tessera/driver/connection.hpp"
#include "tessera/driver/sql_dispatch.hpp"

struct pg_conn;

namespace tessera::postgresql::detail {

// What a URL asks for, already validated (see postgresql_driver.cpp):
// libpq connection keywords and values, in order, and Tessera's own options.
struct ConnectOptions {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  std::size_t statement_cache_size = 256;
  // Inserts of at least this many rows go through COPY when they can
  // (exec_copy); 0: never. The default is where COPY stopped costing more
  // than the array form on W1's fresh connection per repetition, whose
  // catalog check costs about 5 ms of server CPU the first times (rows/s,
  // COPY against arrays: 1000 rows 53 k against 87 k, 3000 rows 92 k
  // against 117 k, 10,000 rows 123 k against 118 k, 100,000 rows 120-190 k
  // against 104-114 k; server CPU per 100,000 rows about 10% less, client
  // CPU 20 ms more). See the README, "COPY".
  std::size_t copy_min_rows = 10'000;
  std::string redacted_url;  // for messages
};

struct PipelineState;
struct InsertBatch;

// Where an Insert's rows come from: its params, or its row source
// (Capability::insert_row_source), pulled a chunk at a time.
class RowFeed {
 public:
  explicit RowFeed(const op::Insert& ins) : ins_(ins) {}

  // The values of rows [first, first + count), row-major; from a source
  // they stay valid until the next call. Errors: the source's, as it gave
  // them; internal when it gives another number of values (insert_values).
  Result<std::span<const Value>> rows(std::size_t first, std::size_t count) {
    return insert_values(ins_, first, count, kDriverName);
  }
  // Whether rows come from a source: an error may then come from any chunk,
  // and a chunk's values are seen only when it is pulled.
  bool streamed() const { return ins_.source != nullptr; }

 private:
  const op::Insert& ins_;
};

class PgConnection final : public Connection {
 public:
  // Connects and checks the server. Errors: unavailable when the server
  // cannot be reached or refuses the login; unsupported for a server older
  // than PostgreSQL 10.
  static Result<std::unique_ptr<Connection>> open(const ConnectOptions& options);

  ~PgConnection() override;

  const Capability& capability() const override { return capability_; }
  Result<ExecResponse> exec(const Operation& op) override;
  // A query read to its end through a cached prepared statement (reads_all
  // and a cache key; anything else goes through exec()): its one result is
  // mapped from a PgRows on the stack, decoded with the result types the
  // statement cache recorded from the statement's first result instead of
  // asking libpq for each column's type per result.
  Result<std::uint64_t> read(const op::QuerySql& query, RowSink& sink) override;
  bool is_valid() const override;
  Status ping() override;
  Status push_schema(const Schema& schema) override;
  Status drop_tables(const std::vector<std::string>& tables) override;

  // For PgRows: the next result of the open stream holding rows, or null
  // at its end (then `failure` holds the stream's error, if any, and the
  // stream is closed). With `rest`, a cursor fetches all its remaining rows
  // as one result.
  ResultPtr stream_next(PgRows* rows, std::optional<Error>& failure, bool rest = false);
  // For PgRows destroyed before its end: discards the rest of the stream
  // (asking the server to cancel a long one).
  void abandon_stream(PgRows* rows) noexcept;

 private:
  struct FinishConn {
    void operator()(pg_conn* c) const;
  };
  // A rendered insert statement for one (shape, batch size).
  struct InsertKey {
    const ast::Insert* shape;
    std::size_t rows;
    bool operator==(const InsertKey&) const = default;
  };
  struct InsertKeyHash {
    std::size_t operator()(const InsertKey& k) const;
  };
  struct InsertShape {
    ast::Insert shape;  // a copy, to detect a reused address
    // Shared with the pipeline that sends it, which names it in errors even
    // if this entry is dropped meanwhile.
    std::shared_ptr<const std::string> sql;
    std::uint64_t id;
  };
  // The array form of one shape, `<head> SELECT ... FROM unnest(...)<tail>`:
  // head and tail are the serializer's rendering of the shape around its
  // VALUES list; one statement per column element-type signature.
  struct ArrayShape {
    ast::Insert shape;    // a copy, to detect a reused address
    bool usable = false;  // false: the rendering was not as expected; use VALUES
    std::string head;     // INSERT INTO "t" ("a", "b")
    std::string tail;     // [ ON CONFLICT ...][ RETURNING ...]
    std::uint64_t id = 0;
    std::unordered_map<std::string, std::shared_ptr<const std::string>> sql;  // by signature
  };

  PgConnection(pg_conn* conn, const ConnectOptions& options);

  template <class Impl>
  friend Result<ExecResponse> tessera::dispatch_sql(Impl&, const Operation&, std::string_view);
  Result<ExecResponse> exec_query(const op::QuerySql& q);
  Result<ExecResponse> exec_insert(const op::Insert& ins);
  Result<ExecResponse> exec_raw(const op::RawSql& raw);
  Result<ExecResponse> exec_transaction(const op::Transaction& t);
  // UPDATE ... FROM unnest(one array per column) per batch of rows, all
  // batches in one pipeline with one sync (see exec_update_many's notes in
  // the README).
  Result<ExecResponse> exec_update_many(const op::UpdateMany& u);

  // Makes the connection ready for a new command: reads the rest of an open
  // stream into its Rows, and deallocates evicted statements when no
  // transaction is open. Records whether a transaction is open.
  Status begin_command();
  // Reads the first result of a just-sent command: a stream of rows (in
  // single-row mode), the whole result (otherwise), the affected count of a
  // write, or the error.
  Result<ExecResponse> finish_streaming_command(std::string_view sql);
  // Reads and discards every result up to the end of the current command.
  void drain() noexcept;
  // A lazy cursor over a SELECT: DECLAREs a server-side cursor (in a
  // transaction of the driver's own outside the caller's) and fetches its
  // first batch, all in one round trip; PgRows fetches the rest in batches
  // (stream_next). encoded_ holds the parameters.
  Result<ExecResponse> open_cursor(const op::QuerySql& q);
  // Ends the open cursor: CLOSE inside the caller's transaction, the COMMIT
  // of the driver's own (nothing after a failure in the caller's, ROLLBACK
  // in its own). Sent without waiting; begin_command() reads its result.
  void end_cursor(bool failed) noexcept;
  // Sends the cursor's next FETCH (fetch_rows_ rows) without waiting for
  // it, so that the server computes a batch while the caller maps the one
  // before; stream_next() reads it. At most one is in flight. Only in the
  // cursor's own transaction: in the caller's, an error in a batch the
  // caller never asks for (a cursor dropped early) would abort the
  // caller's transaction behind its back.
  void send_fetch();
  // Runs SQL without parameters (simple protocol, several statements
  // allowed) to completion, ignoring rows.
  Status run(const std::string& sql);
  // The name of a prepared statement for (key, params), preparing it
  // (one round trip) if it is not cached.
  Result<StatementCache::Statement*> prepared(std::uint64_t key, std::string_view sql,
                                              std::span<const Value> params);
  // After `e` from running the cached statement (key, signature_): whether
  // the statement was stale, i.e. the server refused it because a table it
  // reads changed its columns' types (SQLSTATE 0A000, "cached plan must
  // not change result type"). A stale statement is dropped so that the
  // next run prepares it afresh; returns true when the caller should run
  // it again now: once (not `retried`), and only outside a transaction,
  // where the refused statement changed nothing (inside one it has aborted
  // the caller's transaction).
  bool stale_statement(const Error& e, std::uint64_t key, bool retried);
  Result<const InsertShape*> insert_shape(const ast::Insert& shape, std::size_t rows);
  Result<ArrayShape*> array_shape(const ast::Insert& shape);
  // A plain insert as one COPY ... FROM STDIN (text format), with the
  // generated keys it returns taken from their sequence first; see the
  // README ("COPY"). Returns nullopt, having changed nothing but perhaps
  // taken sequence values, when the table or the values do not allow it
  // (a streamed chunk that does not fit ends the COPY and undoes it): the
  // caller then inserts as usual.
  Result<std::optional<ExecResponse>> exec_copy(const ast::Insert& shape, RowFeed& feed);
  // One round trip: the table's COPY check and column types (kCopyCheckSql)
  // and, with `key`, `rows` values of its sequence (kCopyIdsSql).
  Status copy_check(const ast::Insert& shape, const std::string& key, std::size_t rows,
                    ResultPtr& check, ResultPtr& ids);
  // Why send_copy_data() stopped before the last row.
  enum class CopyStop { none, send_failed, source_failed, unfit };
  // Writes the rows (each prefixed by its id from `ids`, if any) through
  // COPY and reads its result; `first` holds the rows of the feed's first
  // chunk (kCopyChunkRows), already pulled and checked. Returns nullopt,
  // having undone the COPY, when a later chunk does not fit `types`.
  Result<std::optional<ExecResponse>> copy_rows(const ast::Insert& shape, RowFeed& feed,
                                                std::span<const Value> first,
                                                std::span<const unsigned> types,
                                                const pg_result* ids);
  // The COPY data of every row, pulling the chunks after `first` (on
  // source_failed, `source_error` holds the source's error).
  CopyStop send_copy_data(const ast::Insert& shape, RowFeed& feed, std::span<const Value> first,
                          std::span<const unsigned> types, const pg_result* ids,
                          std::optional<Error>& source_error);
  // Sends every batch in one pipeline with one sync (one implicit
  // transaction outside a transaction block) and gathers the results,
  // pulling the rows a chunk at a time: a chunk is planned as batches
  // (plan_arrays with `arrays`, `fixed` and `per_batch` as exec_insert
  // chose them; else VALUES batches of `per_batch` rows) and sent before
  // the next is pulled.
  Result<ExecResponse> run_pipeline(const ast::Insert& shape, RowFeed& feed, bool arrays,
                                    bool fixed, std::size_t per_batch);
  // Queues a statement without parameters (unnamed, not cached) in the
  // open pipeline (false: the send failed).
  bool queue_plain(PipelineState& state, const char* sql);
  // The pieces of a pipeline: open_pipeline enters pipeline mode;
  // queue_prepared queues one statement, preparing it first if the cache
  // has no statement for (key, signature_) (with `text_key`, key is a hash
  // of the text and the text is compared too) (false: the send failed, the
  // connection is broken); close_pipeline sends the sync, gathers every
  // result and leaves pipeline mode. `what` names the work in errors.
  struct ParamView {
    int count;
    const char* const* values;
    const int* lengths;
    const int* formats;
    const unsigned* types;
  };
  Status open_pipeline(std::string_view what);
  bool queue_prepared(PipelineState& state, std::uint64_t key,
                      const std::shared_ptr<const std::string>& sql, const ParamView& params,
                      bool text_key = false);
  Result<ExecResponse> close_pipeline(PipelineState& state, std::string_view what);
  // The error for a send that failed mid-pipeline; marks the connection broken.
  Error pipeline_broken(std::string_view what);
  // Flushes output and reads the results that have arrived; returns once
  // everything is sent, or with `until_sync` once the sync result came.
  Status pump(bool until_sync, PipelineState& state);
  Status wait_socket(bool for_write);

  // An Error for a failed result (null: from the connection), marking the
  // connection broken when the session is gone.
  Error fail(const pg_result* result, std::string_view sql);
  bool transaction_open() const;

  std::unique_ptr<pg_conn, FinishConn> conn_;
  Capability capability_;
  bool broken_ = false;
  bool tx_before_ = false;  // a transaction was open when the current command was sent
  PgRows* stream_ = nullptr;
  bool cursor_ = false;         // stream_ reads the server-side cursor, in batches
  bool cursor_own_tx_ = false;  // the cursor's transaction is the driver's own
  int fetch_rows_ = 0;          // the rows the cursor's next FETCH asks for
  int fetch_sent_ = 0;          // > 0: a FETCH of this many rows is in flight (send_fetch)
  // A command whose answer nobody waits for is in flight (end_cursor()'s,
  // or the RELEASE after a COPY); begin_command() reads it.
  bool ending_ = false;
  StatementCache statements_;
  std::size_t copy_min_rows_;
  EncodedParams encoded_;
  ColumnArrays arrays_;
  std::string signature_;                                            // scratch
  std::string copy_buffer_;                                          // scratch of send_copy_data
  std::vector<ValueType> update_types_;                              // scratch of exec_update_many
  std::vector<std::pair<std::size_t, std::size_t>> update_batches_;  // scratch of exec_update_many
  std::vector<InsertBatch> insert_batches_;                          // scratch of run_pipeline
  std::uint64_t next_insert_id_ = 1;
  std::unordered_map<InsertKey, InsertShape, InsertKeyHash> insert_shapes_;
  std::unordered_map<const ast::Insert*, ArrayShape> array_shapes_;
};

}  // namespace tessera::postgresql::detail
