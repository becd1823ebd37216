// LmdbRows: rows streamed from an LMDB transaction, and the transaction
// handle they share with their connection.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lmdb_catalog.hpp"
#include "lmdb_codec.hpp"
#include "lmdb_env.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera::lmdb::detail {

// One live MDB_txn. A top-level transaction is counted by its Environment
// (and holds the writer gate when it writes) until it ends; a child
// transaction (savepoint or statement) is ended by its connection before its
// parent. Rows keep the box alive and check `done` before touching the
// transaction: a read transaction outlives its connection's use of it when
// rows still stream from it.
class TxnBox {
 public:
  TxnBox(Environment& env, MDB_txn* txn, bool write, bool top)
      : env_(env), txn_(txn), write_(write), top_(top) {}
  ~TxnBox() { abort(); }
  TxnBox(const TxnBox&) = delete;
  TxnBox& operator=(const TxnBox&) = delete;

  MDB_txn* txn() const { return txn_; }
  bool write() const { return write_; }
  bool done() const { return done_; }
  // Commits; the box is done whatever the outcome (LMDB frees the
  // transaction even when its commit fails).
  int commit();
  void abort();
  // Marks a child done that LMDB ended with its parent.
  void ended_with_parent() { done_ = true; }

 private:
  void finish();
  Environment& env_;
  MDB_txn* txn_;
  bool write_;
  bool top_;
  bool done_ = false;
};

// A byte range [lo, hi) of keys; an absent end is open.
struct KeyRange {
  std::optional<std::string> lo;
  std::optional<std::string> hi;
};

// The byte range of keys (of the columns at `positions`) between `lower`
// and `upper`, each a value prefix of the key, inclusive or not. A bound
// value that cannot be converted to its column's type widens the range
// (the engine re-checks every row).
KeyRange key_range(const TableInfo& t, const std::vector<std::size_t>& positions,
                   const std::vector<Value>& lower, bool lower_inclusive,
                   const std::vector<Value>& upper, bool upper_inclusive);

class LmdbRows final : public Rows {
 public:
  // Rows of `columns` (positions in t) read from the row database.
  // Range mode: keys of `range` in `dbi` (the rows, or an index whose values
  // are primary keys when via_index), ascending or reversed, at most `limit`
  // (-1: all). Key mode: the rows of the encoded primary keys in `keys`.
  static std::unique_ptr<LmdbRows> range(std::shared_ptr<TxnBox> box,
                                         std::shared_ptr<const TableInfo> t,
                                         std::vector<std::size_t> columns, MDB_dbi dbi,
                                         bool via_index, KeyRange range, bool reverse,
                                         std::int64_t limit);
  static std::unique_ptr<LmdbRows> keys(std::shared_ptr<TxnBox> box,
                                        std::shared_ptr<const TableInfo> t,
                                        std::vector<std::size_t> columns,
                                        std::vector<std::string> keys);
  ~LmdbRows() override;

  Result<bool> next() override;
  std::size_t column_count() const override { return columns_.size(); }
  bool is_null(std::size_t c) override { return field(c).tag == FieldTag::null; }
  bool get_bool(std::size_t c) override;
  std::int64_t get_int64(std::size_t c) override;
  double get_double(std::size_t c) override;
  std::string_view get_text(std::size_t c) override;
  std::span<const std::byte> get_bytes(std::size_t c) override;
  Timestamp get_timestamp(std::size_t c) override;
  Date get_date(std::size_t c) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }

 private:
  LmdbRows(std::shared_ptr<TxnBox> box, std::shared_ptr<const TableInfo> t,
           std::vector<std::size_t> columns)
      : box_(std::move(box)), table_(std::move(t)), columns_(std::move(columns)) {}
  const Field& field(std::size_t c) const { return fields_[columns_[c]]; }
  void mismatch(std::size_t c, const char* want);
  Result<bool> finish(Result<bool> r);
  // Positions the cursor on the next key of the range; false at its end.
  Result<bool> step();
  Result<bool> load_row(std::string_view pk);

  std::shared_ptr<TxnBox> box_;
  std::shared_ptr<const TableInfo> table_;
  std::vector<std::size_t> columns_;
  std::vector<Field> fields_;
  std::optional<Error> error_;
  std::optional<Error> failed_;
  bool finished_ = false;

  // Range mode.
  MDB_cursor* cursor_ = nullptr;
  bool via_index_ = false;
  KeyRange range_;
  bool reverse_ = false;
  std::int64_t left_ = -1;
  bool started_ = false;
  // Key mode.
  bool key_mode_ = false;
  std::vector<std::string> keys_;
  std::size_t key_pos_ = 0;
};

}  // namespace tessera::lmdb::detail
