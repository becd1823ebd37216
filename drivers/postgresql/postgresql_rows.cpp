#include "postgresql_rows.hpp"

#include <libpq-fe.h>

#include <endian.h>
#include <algorithm>
#include <bit>
#include <cstring>

#include "postgresql_connection.hpp"
#include "postgresql_errors.hpp"
#include "postgresql_values.hpp"

namespace tessera::postgresql::detail {
namespace {

// Big-endian fixed-width cells; the caller has checked the length.
std::uint64_t load_be64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return be64toh(v);
}
std::uint32_t load_be32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return be32toh(v);
}

}  // namespace

void ClearResult::operator()(pg_result* r) const { PQclear(r); }

PgRows::PgRows(PgConnection* owner, ResultPtr first) : owner_(owner) {
  read_columns(first.get());
  start_at(std::move(first));
}

PgRows::PgRows(std::vector<ResultPtr> results) : queue_(std::move(results)) {
  if (!queue_.empty()) read_columns(queue_.front().get());
}

PgRows::PgRows(ResultPtr result) {
  read_columns(result.get());
  start_at(std::move(result));
}

PgRows::PgRows(ResultPtr result, std::span<const unsigned> types) {
  std::copy(types.begin(), types.end(), column_storage(types.size()));
  start_at(std::move(result));
}

PgRows::~PgRows() {
  if (owner_ != nullptr) owner_->abandon_stream(this);
}

unsigned* PgRows::column_storage(std::size_t count) {
  columns_ = count;
  unsigned* oids = inline_oids_.data();
  if (columns_ > kInlineColumns) {
    more_oids_.resize(columns_);
    oids = more_oids_.data();
  }
  oids_ = oids;
  return oids;
}

void PgRows::read_columns(const pg_result* r) {
  unsigned* oids = column_storage(static_cast<std::size_t>(PQnfields(r)));
  for (std::size_t i = 0; i < columns_; ++i) oids[i] = PQftype(r, static_cast<int>(i));
}

ResultPtr PgRows::pull(bool rest) {
  if (owner_ == nullptr) return nullptr;
  std::optional<Error> failure;
  ResultPtr r = owner_->stream_next(this, failure, rest);
  if (!r) {
    // The stream ended; the connection has forgotten it.
    owner_ = nullptr;
    if (failure) failure_ = std::move(failure);
  }
  return r;
}

void PgRows::buffer_rest() {
  while (ResultPtr r = pull(true)) queue_.push_back(std::move(r));
}

void PgRows::start_at(ResultPtr r) {
  make_current(std::move(r));
  row_ = -1;  // next() moves to row 0
}

void PgRows::make_current(ResultPtr r) {
  current_ = std::move(r);
  rows_in_current_ = PQntuples(current_.get());
  row_ = 0;
}

Result<bool> PgRows::next() {
  if (error_) error_.reset();
  if (current_ && ++row_ < rows_in_current_) return true;
  if (done_) {
    if (failure_) return *failure_;
    return false;
  }
  for (;;) {
    if (queue_pos_ < queue_.size()) {
      make_current(std::move(queue_[queue_pos_++]));
      if (queue_pos_ == queue_.size()) {
        queue_.clear();
        queue_pos_ = 0;
      }
    } else {
      // Streaming: straight to current, no queueing per row. The batch read
      // is freed first: with a cursor's next batch already in flight, at
      // most two batches are held.
      current_.reset();
      ResultPtr r = pull();
      if (!r) break;
      make_current(std::move(r));
    }
    if (rows_in_current_ > 0) return true;
  }
  done_ = true;
  current_.reset();
  if (failure_) return *failure_;
  return false;
}

std::size_t PgRows::size_hint() const {
  if (owner_ != nullptr) return 0;  // streaming: the rest is unknown
  std::size_t n = 0;
  if (current_ && row_ + 1 < rows_in_current_)
    n = static_cast<std::size_t>(rows_in_current_ - row_ - 1);
  for (std::size_t i = queue_pos_; i < queue_.size(); ++i)
    n += static_cast<std::size_t>(PQntuples(queue_[i].get()));
  return n;
}

std::string_view PgRows::cell(std::size_t col) const {
  const int c = static_cast<int>(col);
  return {PQgetvalue(current_.get(), row_, c),
          static_cast<std::size_t>(PQgetlength(current_.get(), row_, c))};
}

void PgRows::mismatch(std::size_t col, std::string_view wanted) {
  if (error_ || is_null(col)) return;
  error_ = driver_error(ErrorKind::invalid_value, "column " + std::to_string(col) + " of type " +
                                                      oid_name(oids_[col]) + " cannot be read as " +
                                                      std::string(wanted));
}

bool PgRows::is_null(std::size_t col) {
  return PQgetisnull(current_.get(), row_, static_cast<int>(col)) != 0;
}

// Each getter decodes the cell first: a NULL cell reads as empty (libpq
// gives "" and length 0), which no fixed-width decoder accepts, so NULL is
// checked only on the slow path, in mismatch().

bool PgRows::get_bool(std::size_t col) {
  bool v = false;
  if (decode_bool(oids_[col], cell(col), v)) return v;
  mismatch(col, "boolean");
  return false;
}

std::int64_t PgRows::get_int64(std::size_t col) {
  const std::string_view c = cell(col);
  switch (oids_[col]) {
    case kOidInt8:
      if (c.size() == 8) return static_cast<std::int64_t>(load_be64(c.data()));
      break;
    case kOidInt4:
      if (c.size() == 4) return static_cast<std::int32_t>(load_be32(c.data()));
      break;
    default: {
      std::int64_t v = 0;
      if (decode_int64(oids_[col], c, v)) return v;
      break;
    }
  }
  mismatch(col, "int64");
  return 0;
}

double PgRows::get_double(std::size_t col) {
  const std::string_view c = cell(col);
  if (oids_[col] == kOidFloat8 && c.size() == 8) return std::bit_cast<double>(load_be64(c.data()));
  double v = 0;
  if (decode_double(oids_[col], c, v)) return v;
  mismatch(col, "float64");
  return 0;
}

std::string_view PgRows::get_text(std::size_t col) {
  if (is_text_oid(oids_[col])) return cell(col);  // NULL: empty
  mismatch(col, "text");
  return {};
}

std::span<const std::byte> PgRows::get_bytes(std::size_t col) {
  if (oids_[col] == kOidBytea) {
    const std::string_view c = cell(col);  // NULL: empty
    return {reinterpret_cast<const std::byte*>(c.data()), c.size()};
  }
  mismatch(col, "bytes");
  return {};
}

Timestamp PgRows::get_timestamp(std::size_t col) {
  Timestamp v;
  if (decode_timestamp(oids_[col], cell(col), v)) return v;
  mismatch(col, "timestamp");
  return {};
}

Date PgRows::get_date(std::size_t col) {
  Date v;
  if (decode_date(oids_[col], cell(col), v)) return v;
  mismatch(col, "date");
  return {};
}

}  // namespace tessera::postgresql::detail
