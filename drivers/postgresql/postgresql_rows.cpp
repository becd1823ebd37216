#include "postgresql_rows.hpp"

#include <libpq-fe.h>

#include "postgresql_connection.hpp"
#include "postgresql_errors.hpp"
#include "postgresql_values.hpp"

namespace tessera::postgresql::detail {

void ClearResult::operator()(pg_result* r) const { PQclear(r); }

PgRows::PgRows(PgConnection* owner, ResultPtr first) : owner_(owner) {
  read_columns(first.get());
  queue_.push_back(std::move(first));
}

PgRows::PgRows(std::vector<ResultPtr> results) {
  if (!results.empty()) read_columns(results.front().get());
  for (auto& r : results) queue_.push_back(std::move(r));
}

PgRows::~PgRows() {
  if (owner_ != nullptr) owner_->abandon_stream(this);
}

void PgRows::read_columns(const pg_result* r) {
  const int n = PQnfields(r);
  oids_.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) oids_[static_cast<std::size_t>(i)] = PQftype(r, i);
}

bool PgRows::pull() {
  if (owner_ == nullptr) return false;
  std::optional<Error> failure;
  ResultPtr r = owner_->stream_next(this, failure);
  if (r) {
    queue_.push_back(std::move(r));
    return true;
  }
  // The stream ended; the connection has forgotten it.
  owner_ = nullptr;
  if (failure) failure_ = std::move(failure);
  return false;
}

void PgRows::buffer_rest() {
  while (pull()) {
  }
}

Result<bool> PgRows::next() {
  error_.reset();
  if (done_) {
    if (failure_) return *failure_;
    return false;
  }
  if (current_ && ++row_ < rows_in_current_) return true;
  for (;;) {
    if (queue_.empty() && !pull()) break;
    if (queue_.empty()) continue;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    rows_in_current_ = PQntuples(current_.get());
    row_ = 0;
    if (rows_in_current_ > 0) return true;
  }
  done_ = true;
  current_.reset();
  if (failure_) return *failure_;
  return false;
}

std::string_view PgRows::cell(std::size_t col) const {
  const int c = static_cast<int>(col);
  return {PQgetvalue(current_.get(), row_, c),
          static_cast<std::size_t>(PQgetlength(current_.get(), row_, c))};
}

void PgRows::mismatch(std::size_t col, std::string_view wanted) {
  if (error_) return;
  error_ = driver_error(ErrorKind::invalid_value, "column " + std::to_string(col) + " of type " +
                                                      oid_name(oids_[col]) + " cannot be read as " +
                                                      std::string(wanted));
}

bool PgRows::is_null(std::size_t col) {
  return PQgetisnull(current_.get(), row_, static_cast<int>(col)) != 0;
}

bool PgRows::get_bool(std::size_t col) {
  bool v = false;
  if (is_null(col) || decode_bool(oids_[col], cell(col), v)) return v;
  mismatch(col, "boolean");
  return false;
}

std::int64_t PgRows::get_int64(std::size_t col) {
  std::int64_t v = 0;
  if (is_null(col) || decode_int64(oids_[col], cell(col), v)) return v;
  mismatch(col, "int64");
  return 0;
}

double PgRows::get_double(std::size_t col) {
  double v = 0;
  if (is_null(col) || decode_double(oids_[col], cell(col), v)) return v;
  mismatch(col, "float64");
  return 0;
}

std::string_view PgRows::get_text(std::size_t col) {
  if (is_null(col)) return {};
  if (is_text_oid(oids_[col])) return cell(col);
  mismatch(col, "text");
  return {};
}

std::span<const std::byte> PgRows::get_bytes(std::size_t col) {
  if (is_null(col)) return {};
  if (oids_[col] == kOidBytea) {
    const std::string_view c = cell(col);
    return {reinterpret_cast<const std::byte*>(c.data()), c.size()};
  }
  mismatch(col, "bytes");
  return {};
}

Timestamp PgRows::get_timestamp(std::size_t col) {
  Timestamp v;
  if (is_null(col) || decode_timestamp(oids_[col], cell(col), v)) return v;
  mismatch(col, "timestamp");
  return {};
}

Date PgRows::get_date(std::size_t col) {
  Date v;
  if (is_null(col) || decode_date(oids_[col], cell(col), v)) return v;
  mismatch(col, "date");
  return {};
}

}  // namespace tessera::postgresql::detail
