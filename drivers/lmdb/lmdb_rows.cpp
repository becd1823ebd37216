#include "lmdb_rows.hpp"

#include <algorithm>
#include <utility>

#include "lmdb_errors.hpp"
#include "tessera/driver/spare_block.hpp"

namespace tessera::lmdb::detail {

namespace {
MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// Encodes the longest convertible prefix of `bound`; `exact` tells whether
// every value converted.
std::string encode_prefix(const TableInfo& t, const std::vector<std::size_t>& positions,
                          const std::vector<Value>& bound, bool& exact) {
  std::string k;
  exact = true;
  for (std::size_t i = 0; i < bound.size() && i < positions.size(); ++i) {
    auto v = coerce(bound[i], t.types[positions[i]]);
    if (!v) {
      exact = false;
      break;
    }
    encode_key_part(k, *v, t.types[positions[i]]);
  }
  return k;
}
}  // namespace

// ------------------------------------------------------------------ TxnBox

TxnBox::TxnBox(Environment& env, std::shared_ptr<ReaderSlot> slot)
    : env_(env),
      txn_(slot->txn),
      write_(false),
      top_(true),
      slot_(slot.get()),
      keep_(std::move(slot)) {}

void TxnBox::finish() {
  done_ = true;
  if (top_) env_.end(write_);
  if (slot_) slot_->busy.store(false, std::memory_order_release);
}

int TxnBox::commit() {
  if (done_) return EINVAL;
  if (slot_) {  // a read transaction commits nothing: reset it for the next read
    abort();
    return 0;
  }
  const int rc = mdb_txn_commit(txn_);
  finish();
  return rc;
}

void TxnBox::abort() {
  if (done_) return;
  if (slot_)
    mdb_txn_reset(txn_);
  else
    mdb_txn_abort(txn_);
  finish();
}

// ------------------------------------------------------------------ ranges

KeyRange key_range(const TableInfo& t, const std::vector<std::size_t>& positions,
                   const std::vector<Value>& lower, bool lower_inclusive,
                   const std::vector<Value>& upper, bool upper_inclusive) {
  KeyRange r;
  // Keys starting with encode(prefix) are exactly [encode(prefix),
  // successor(encode(prefix))), so an inclusive lower bound starts at the
  // prefix, an exclusive one after every key starting with it; an inclusive
  // upper bound ends after every key starting with it, an exclusive one
  // before the first. A truncated (inexact) bound is taken inclusively.
  if (!lower.empty()) {
    bool exact = true;
    std::string k = encode_prefix(t, positions, lower, exact);
    if (!k.empty()) r.lo = (exact && !lower_inclusive) ? prefix_successor(k) : std::optional(k);
    if (exact && !lower_inclusive && !r.lo) r.lo = std::string(1, '\xff');  // nothing follows
  }
  if (!upper.empty()) {
    bool exact = true;
    std::string k = encode_prefix(t, positions, upper, exact);
    if (!k.empty()) r.hi = (exact && !upper_inclusive) ? std::optional(k) : prefix_successor(k);
  }
  return r;
}

// ------------------------------------------------------------------ LmdbRows

namespace {
// The block of the thread's last destroyed LmdbRows (malloc and free of it
// cost ~160 instructions of a find).
thread_local SpareBlock spare_rows;
}  // namespace

void* LmdbRows::operator new(std::size_t size) { return spare_rows.take(size, sizeof(LmdbRows)); }

void LmdbRows::operator delete(void* p, std::size_t size) noexcept {
  spare_rows.keep(p, size, sizeof(LmdbRows));
}

LmdbRows::LmdbRows(std::shared_ptr<TxnBox> box, std::shared_ptr<const TableInfo> t,
                   ColumnMap columns)
    : box_(std::move(box)),
      all_(columns.all),
      table_(std::move(t)),
      own_columns_(std::move(columns.positions)),
      columns_(columns.all ? &table_->all_columns : &own_columns_) {
  const std::size_t n = table_->schema.columns.size();
  if (n <= kInlineFields) {
    fields_ = std::span<Field>(inline_fields_.data(), n);
  } else {
    more_fields_.resize(n);
    fields_ = more_fields_;
  }
}

std::unique_ptr<LmdbRows> LmdbRows::range(std::shared_ptr<TxnBox> box,
                                          std::shared_ptr<const TableInfo> t, ColumnMap columns,
                                          MDB_dbi dbi, bool via_index, KeyRange range, bool reverse,
                                          std::int64_t limit) {
  std::unique_ptr<LmdbRows> r(new LmdbRows(std::move(box), std::move(t), std::move(columns)));
  r->via_index_ = via_index;
  r->range_ = std::move(range);
  r->reverse_ = reverse;
  r->left_ = limit;
  if (int rc = mdb_cursor_open(r->box_->txn(), dbi, &r->cursor_); rc != 0) {
    r->cursor_ = nullptr;
    r->failed_ = std::make_unique<Error>(make_error(rc, "opening a cursor"));
  }
  return r;
}

std::unique_ptr<LmdbRows> LmdbRows::keys(std::shared_ptr<TxnBox> box,
                                         std::shared_ptr<const TableInfo> t, ColumnMap columns,
                                         std::vector<std::string> keys) {
  std::unique_ptr<LmdbRows> r(new LmdbRows(std::move(box), std::move(t), std::move(columns)));
  r->key_mode_ = true;
  r->keys_ = std::move(keys);
  r->key_count_ = r->keys_.size();
  return r;
}

std::unique_ptr<LmdbRows> LmdbRows::key(std::shared_ptr<TxnBox> box,
                                        std::shared_ptr<const TableInfo> t, ColumnMap columns,
                                        std::string key) {
  std::unique_ptr<LmdbRows> r(new LmdbRows(std::move(box), std::move(t), std::move(columns)));
  r->key_mode_ = true;
  r->one_key_ = std::move(key);
  r->key_count_ = 1;
  return r;
}

LmdbRows::~LmdbRows() {
  // A write transaction frees its cursors when it ends; a read
  // transaction's cursors must be closed by hand, before or after.
  if (cursor_ && (!box_->write() || !box_->done())) mdb_cursor_close(cursor_);
  if (ends_read_) box_->abort();
}

LmdbRows::Step LmdbRows::fail(Error e) {
  failed_ = std::make_unique<Error>(std::move(e));
  return Step::failed;
}

LmdbRows::Step LmdbRows::corrupt() {
  return fail(driver_error(ErrorKind::storage, "a row of " + table_->schema.name + " is corrupt"));
}

LmdbRows::Step LmdbRows::read_failed(int rc, const char* what) {
  return fail(make_error(rc, what + table_->schema.name));
}

LmdbRows::Step LmdbRows::load_row(std::string_view pk) {
  MDB_val k = val(pk), v{};
  const int rc = mdb_get(box_->txn(), table_->rows, &k, &v);
  if (rc == MDB_NOTFOUND) return Step::end;
  if (rc != 0) [[unlikely]]
    return read_failed(rc, "reading a row of ");
  return decode(view(v));
}

int LmdbRows::position(MDB_val& k, MDB_val& v) {
  started_ = true;
  if (!reverse_) {
    if (!range_.lo) return mdb_cursor_get(cursor_, &k, &v, MDB_FIRST);
    k = val(*range_.lo);
    return mdb_cursor_get(cursor_, &k, &v, MDB_SET_RANGE);
  }
  if (!range_.hi) return mdb_cursor_get(cursor_, &k, &v, MDB_LAST);
  // The last key below hi.
  k = val(*range_.hi);
  const int rc = mdb_cursor_get(cursor_, &k, &v, MDB_SET_RANGE);
  if (rc == 0) return mdb_cursor_get(cursor_, &k, &v, MDB_PREV);
  return rc == MDB_NOTFOUND ? mdb_cursor_get(cursor_, &k, &v, MDB_LAST) : rc;
}

LmdbRows::Step LmdbRows::step() {
  MDB_val k{}, v{};
  const int rc =
      started_ ? mdb_cursor_get(cursor_, &k, &v, reverse_ ? MDB_PREV : MDB_NEXT) : position(k, v);
  if (rc == MDB_NOTFOUND) return Step::end;
  if (rc != 0) [[unlikely]]
    return read_failed(rc, "reading ");
  const std::string_view key = view(k);
  if (!reverse_ && range_.hi && key >= std::string_view(*range_.hi)) return Step::end;
  if (reverse_ && range_.lo && key < std::string_view(*range_.lo)) return Step::end;
  if (!via_index_) return decode(view(v));
  const Step found = load_row(view(v));
  if (found == Step::end)
    return fail(driver_error(ErrorKind::storage, "an index entry has no row"));
  return found;
}

Result<bool> LmdbRows::stopped() {
  if (failed_) return *failed_;
  if (finished_) return false;
  finished_ = true;  // the transaction ended under the rows
  failed_ = std::make_unique<Error>(
      driver_error(ErrorKind::invalid_statement, "rows read after their transaction ended"));
  return *failed_;
}

Result<bool> LmdbRows::next() {
  if (error_) [[unlikely]]
    error_.reset();
  if (failed_ || finished_ || box_->done()) [[unlikely]]
    return stopped();
  Step s = Step::end;
  if (key_mode_) {
    while (key_pos_ < key_count_) {
      const std::string& k = keys_.empty() ? one_key_ : keys_[key_pos_];
      ++key_pos_;
      s = load_row(k);
      if (s != Step::end) break;
    }
  } else if (left_ != 0) {
    s = step();
    if (s == Step::row && left_ > 0) --left_;
  }
  if (s == Step::row) return true;
  finished_ = true;
  if (s == Step::end) return false;
  return *failed_;
}

std::size_t LmdbRows::size_hint() const {
  if (key_mode_ || !cursor_ || via_index_ || range_.lo || range_.hi || started_ || failed_ ||
      box_->done())
    return 0;
  MDB_stat stat{};
  if (mdb_stat(box_->txn(), mdb_cursor_dbi(cursor_), &stat) != 0) return 0;
  const std::size_t n = stat.ms_entries;
  return left_ >= 0 ? std::min(n, static_cast<std::size_t>(left_)) : n;
}

void LmdbRows::mismatch(std::size_t c, const char* want) {
  // A getter on a NULL returns the zero value without an error (Rows' contract).
  if (!error_ && field(c).tag != FieldTag::null)
    error_ = std::make_unique<Error>(driver_error(
        ErrorKind::invalid_value, "column '" + table_->schema.columns[(*columns_)[c]].name +
                                      "' read as " + want + " but holds another type"));
}

bool LmdbRows::get_bool(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::true_ || f.tag == FieldTag::false_) return f.tag == FieldTag::true_;
  if (f.tag == FieldTag::int64) return f.i != 0;
  return mismatch(c, "boolean"), false;
}

std::int64_t LmdbRows::get_int64(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::int64) return f.i;
  if (f.tag == FieldTag::true_ || f.tag == FieldTag::false_) return f.tag == FieldTag::true_;
  return mismatch(c, "int64"), 0;
}

double LmdbRows::get_double(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::float64) return f.d;
  if (f.tag == FieldTag::int64) return static_cast<double>(f.i);
  return mismatch(c, "float64"), 0.0;
}

std::string_view LmdbRows::get_text(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::text) return f.data;
  return mismatch(c, "text"), std::string_view();
}

std::span<const std::byte> LmdbRows::get_bytes(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::bytes)
    return {reinterpret_cast<const std::byte*>(f.data.data()), f.data.size()};
  return mismatch(c, "bytes"), std::span<const std::byte>();
}

Timestamp LmdbRows::get_timestamp(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::timestamp) return Timestamp{f.i};
  return mismatch(c, "timestamp"), Timestamp{};
}

Date LmdbRows::get_date(std::size_t c) {
  const Field& f = field(c);
  if (f.tag == FieldTag::date) return Date{static_cast<std::int32_t>(f.i)};
  return mismatch(c, "date"), Date{};
}

}  // namespace tessera::lmdb::detail
