// LmdbRows: rows streamed from an LMDB transaction, and the transaction
// handle they share with their connection.
#pragma once

#include <lmdb.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "lmdb_catalog.hpp"
#include "lmdb_codec.hpp"
#include "lmdb_env.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera::lmdb::detail {

struct ReaderSlot;

// One live MDB_txn. A top-level transaction is counted by its Environment
// (and holds the writer gate when it writes) until it ends; a child
// transaction (savepoint) is ended by its connection before its parent.
// Rows keep the box alive and check `done` before touching the
// transaction: a read transaction outlives its connection's use of it when
// rows still stream from it. A box on a ReaderSlot resets the transaction
// when it ends (commit or abort alike) and gives the slot back.
class TxnBox {
 public:
  TxnBox(Environment& env, MDB_txn* txn, bool write, bool top)
      : env_(env), txn_(txn), write_(write), top_(top) {}
  // A read transaction on `slot`, already renewed (and counted) by the
  // caller; the box keeps the slot alive.
  TxnBox(Environment& env, std::shared_ptr<ReaderSlot> slot);
  // The box embedded in `slot` (ReaderSlot::box): done until renew_on().
  TxnBox(Environment& env, ReaderSlot& slot)
      : env_(env), txn_(nullptr), write_(false), top_(true), done_(true), slot_(&slot) {}
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
  // The embedded box of a slot: `txn` was renewed (and counted) for a read.
  void renew_on(MDB_txn* txn) {
    txn_ = txn;
    done_ = false;
  }

 private:
  void finish();
  Environment& env_;
  MDB_txn* txn_;
  bool write_;
  bool top_;
  bool done_ = false;
  ReaderSlot* slot_ = nullptr;
  std::shared_ptr<ReaderSlot> keep_;  // the slot, for a box that owns a share of it
};

// A connection's read transaction kept between reads: reset while idle
// (it then holds only its reader-table slot, no snapshot), renewed for the
// next read, so a read pays mdb_txn_renew instead of mdb_txn_begin's
// allocation. Shared by the connection and the box renewed from it;
// whichever lets go last aborts it.
//
// A read outside an explicit transaction, whose rows are the box's only
// holder, uses the embedded `box`, handed out as a shared_ptr aliasing the
// slot (no allocation); the rows end it (LmdbRows::ends_read). A
// transaction's read snapshot, which the connection and any number of rows
// share until the last lets go, gets a box of its own.
struct ReaderSlot {
  explicit ReaderSlot(Environment& env) : box(env, *this) {}
  ReaderSlot(const ReaderSlot&) = delete;
  ReaderSlot& operator=(const ReaderSlot&) = delete;
  ~ReaderSlot() {
    box.abort();
    if (txn) mdb_txn_abort(txn);
  }
  MDB_txn* txn = nullptr;  // null until the first read
  // A box holds it renewed. Atomic: rows may be released on another
  // thread than the connection's next read runs on.
  std::atomic<bool> busy{false};
  TxnBox box;
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

// The table positions of the columns a read returns. Usually every column
// in table order (what core/kv asks for): then the table's own list serves,
// and nothing is built per read.
struct ColumnMap {
  bool all = false;                    // TableInfo::all_columns
  std::vector<std::size_t> positions;  // otherwise
};

class LmdbRows final : public Rows {
 public:
  // Rows of `columns` (positions in t) read from the row database.
  // Range mode: keys of `range` in `dbi` (the rows, or an index whose values
  // are primary keys when via_index), ascending or reversed, at most `limit`
  // (-1: all). Key mode: the rows of the encoded primary keys in `keys`.
  static std::unique_ptr<LmdbRows> range(std::shared_ptr<TxnBox> box,
                                         std::shared_ptr<const TableInfo> t, ColumnMap columns,
                                         MDB_dbi dbi, bool via_index, KeyRange range, bool reverse,
                                         std::int64_t limit);
  static std::unique_ptr<LmdbRows> keys(std::shared_ptr<TxnBox> box,
                                        std::shared_ptr<const TableInfo> t, ColumnMap columns,
                                        std::vector<std::string> keys);
  // Key mode with one key (a find by key): no key list is allocated.
  static std::unique_ptr<LmdbRows> key(std::shared_ptr<TxnBox> box,
                                       std::shared_ptr<const TableInfo> t, ColumnMap columns,
                                       std::string key);
  ~LmdbRows() override;
  // One freed block per thread is kept for the thread's next rows (see
  // lmdb_rows.cpp): a statement's rows are usually destroyed before the
  // next statement's are made, so a find allocates none.
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;
  // The rows end their read transaction when destroyed (a read outside an
  // explicit transaction, whose box nobody else holds).
  void ends_read() { ends_read_ = true; }

  Result<bool> next() override;
  std::size_t column_count() const override { return columns_->size(); }
  bool is_null(std::size_t c) override { return field(c).tag == FieldTag::null; }
  bool get_bool(std::size_t c) override;
  std::int64_t get_int64(std::size_t c) override;
  double get_double(std::size_t c) override;
  std::string_view get_text(std::size_t c) override;
  std::span<const std::byte> get_bytes(std::size_t c) override;
  Timestamp get_timestamp(std::size_t c) override;
  Date get_date(std::size_t c) override;
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }
  // Known for a scan of a whole table before its first row (its entry
  // count, from mdb_stat, within the limit); 0 otherwise. Asked for once,
  // by fetch_all: nothing is counted per row.
  std::size_t size_hint() const override;

 private:
  LmdbRows(std::shared_ptr<TxnBox> box, std::shared_ptr<const TableInfo> t, ColumnMap columns);
  // Every column in table order (the usual case) reads fields_ directly.
  const Field& field(std::size_t c) const { return fields_[all_ ? c : (*columns_)[c]]; }
  void mismatch(std::size_t c, const char* want);
  // next() once the rows failed, finished, or their transaction ended.
  Result<bool> stopped();
  // What a step found; on `failed`, failed_ holds the error.
  enum class Step : std::uint8_t { row, end, failed };
  Step fail(Error e);
  // The failures of a step, out of line: a step builds no message text
  // unless it fails.
  [[gnu::cold, gnu::noinline]] Step corrupt();
  [[gnu::cold, gnu::noinline]] Step read_failed(int rc, const char* what);
  // Positions the cursor on the next key of the range and decodes its row.
  Step step();
  // The first positioning of the cursor (an MDB_* code), out of step()'s
  // per-row path.
  [[gnu::noinline]] int position(MDB_val& k, MDB_val& v);
  // Decodes the row of `pk` (a key mode key, or an index entry's value);
  // `end` when there is none.
  Step load_row(std::string_view pk);
  Step decode(std::string_view bytes) { return decode_row(bytes, fields_) ? Step::row : corrupt(); }

  std::shared_ptr<TxnBox> box_;
  bool ends_read_ = false;
  bool all_;  // columns_ is the table's all_columns
  std::shared_ptr<const TableInfo> table_;
  std::vector<std::size_t> own_columns_;
  const std::vector<std::size_t>* columns_;  // own_columns_ or the table's all_columns
  // The current row, every column of the table: in place for tables of up
  // to kInlineFields columns, so a lookup allocates no field array. Left
  // uninitialised (Field is trivially destructible): decode_row writes every
  // field of fields_ before a getter can read one, and zeroing 12 fields
  // cost ~40 instructions of each find.
  static constexpr std::size_t kInlineFields = 12;
  static_assert(std::is_trivially_destructible_v<Field>);
  union {
    std::array<Field, kInlineFields> inline_fields_;
  };
  std::vector<Field> more_fields_;
  std::span<Field> fields_;
  // Held out of line: rarely set, and inline they would double the object's
  // size (one allocation per read, which should stay in malloc's fast path).
  std::unique_ptr<Error> error_;
  std::unique_ptr<Error> failed_;
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
  std::string one_key_;  // key(): the only key, keys_ empty
  std::size_t key_count_ = 0;
  std::size_t key_pos_ = 0;
};

}  // namespace tessera::lmdb::detail
