// Rows and ExecResponse: what a connection returns.
//
// Rows is a forward-only cursor the engine pulls; the engine maps each row
// into the user's struct with the typed accessors, so the SQL path builds no
// Value per column. A driver may stream (memory bounded by its fetch chunk)
// or buffer, and says which in its documentation.
//
// Thread safety: a Rows object is used by one thread at a time and must not
// outlive the Connection that produced it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/driver/error.hpp"
#include "tessera/driver/value.hpp"

namespace tessera {

class Rows {
 public:
  virtual ~Rows() = default;

  // Advances to the next row: true if there is one, false at the end. After
  // false or an error, the cursor is finished and next() keeps returning the
  // same answer.
  virtual Result<bool> next() = 0;

  virtual std::size_t column_count() const = 0;

  // Typed accessors for the current row. Precondition: next() returned true
  // and col < column_count(). A getter on a NULL column returns the type's
  // zero value (false, 0, 0.0, empty, epoch) and records no error: the engine
  // calls the getter first and asks is_null() only when it got a zero value,
  // so a row without NULLs costs one call per column. A getter asked for a
  // type the stored
  // value cannot convert to records an error (see conversion_error()) and
  // returns a zero value: the engine checks after each row.
  // Views (text, bytes) stay valid until the next call to next().
  virtual bool is_null(std::size_t col) = 0;
  virtual bool get_bool(std::size_t col) = 0;
  virtual std::int64_t get_int64(std::size_t col) = 0;
  virtual double get_double(std::size_t col) = 0;
  virtual std::string_view get_text(std::size_t col) = 0;
  virtual std::span<const std::byte> get_bytes(std::size_t col) = 0;
  virtual Timestamp get_timestamp(std::size_t col) = 0;
  virtual Date get_date(std::size_t col) = 0;

  // The first conversion error since the last next(), or null.
  virtual const Error* conversion_error() const { return nullptr; }

  // How many more rows next() will return, when the driver knows it without
  // reading them (a result it fetched whole); 0 when it does not. A hint:
  // the engine only reserves memory with it (fetch_all).
  virtual std::size_t size_hint() const { return 0; }

  // Reads a column as a Value of the given type (NULL if the column is
  // NULL). Slow path for raw SQL and in-memory evaluation.
  Value get_value(std::size_t col, ValueType type) {
    if (is_null(col)) return Value();
    switch (type) {
      case ValueType::boolean: return Value(get_bool(col));
      case ValueType::int64: return Value(get_int64(col));
      case ValueType::float64: return Value(get_double(col));
      case ValueType::text: return Value(std::string(get_text(col)));
      case ValueType::bytes: {
        auto b = get_bytes(col);
        return Value(Bytes(b.begin(), b.end()));
      }
      case ValueType::timestamp: return Value(get_timestamp(col));
      case ValueType::date: return Value(get_date(col));
      case ValueType::null: break;
    }
    return Value();
  }
};

// Rows held in memory as Values. For key-value drivers, RETURNING emulation
// and tests. Getters convert only between a Value and its own type (int64
// also reads as bool; int64 as double).
class ValueRows final : public Rows {
 public:
  ValueRows(std::size_t columns, std::vector<std::vector<Value>> rows)
      : columns_(columns), rows_(std::move(rows)) {}

  Result<bool> next() override {
    error_.reset();
    if (pos_ <= rows_.size()) ++pos_;
    return pos_ <= rows_.size();
  }
  std::size_t column_count() const override { return columns_; }
  std::size_t size_hint() const override { return pos_ < rows_.size() ? rows_.size() - pos_ : 0; }
  bool is_null(std::size_t c) override { return cur(c).is_null(); }
  bool get_bool(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::boolean) return v.as_bool();
    if (v.type() == ValueType::int64) return v.as_int64() != 0;
    return mismatch(c, ValueType::boolean), false;
  }
  std::int64_t get_int64(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::int64) return v.as_int64();
    if (v.type() == ValueType::boolean) return v.as_bool() ? 1 : 0;
    return mismatch(c, ValueType::int64), 0;
  }
  double get_double(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::float64) return v.as_double();
    if (v.type() == ValueType::int64) return static_cast<double>(v.as_int64());
    return mismatch(c, ValueType::float64), 0.0;
  }
  std::string_view get_text(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::text) return v.as_text();
    return mismatch(c, ValueType::text), std::string_view();
  }
  std::span<const std::byte> get_bytes(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::bytes) return v.as_bytes();
    return mismatch(c, ValueType::bytes), std::span<const std::byte>();
  }
  Timestamp get_timestamp(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::timestamp) return v.as_timestamp();
    return mismatch(c, ValueType::timestamp), Timestamp{};
  }
  Date get_date(std::size_t c) override {
    const Value& v = cur(c);
    if (v.type() == ValueType::date) return v.as_date();
    return mismatch(c, ValueType::date), Date{};
  }
  const Error* conversion_error() const override { return error_ ? &*error_ : nullptr; }

 private:
  const Value& cur(std::size_t c) const { return rows_[pos_ - 1][c]; }
  // A getter on a NULL returns the zero value without an error (the contract).
  void mismatch(std::size_t c, ValueType want) {
    if (!error_ && !cur(c).is_null())
      error_ = Error(ErrorKind::invalid_value, "column " + std::to_string(c) + " holds " +
                                                   std::string(to_string(cur(c).type())) +
                                                   ", read as " + std::string(to_string(want)));
  }

  std::size_t columns_;
  std::vector<std::vector<Value>> rows_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

// Receives the rows of Connection::read(): row() is called once per row,
// with `rows` positioned on it (its views valid until row() returns).
// Returning false stops the read: the driver ends the statement without
// stepping further. row() must not throw (the engine's sinks catch their
// own exceptions and keep them until read() has returned).
class RowSink {
 public:
  virtual bool row(Rows& rows) noexcept = 0;

 protected:
  ~RowSink() = default;
};

// Hands the rows of `rows` (may be null: no rows) to `sink` until the end,
// an error, or the sink stops; returns the number of rows handed over. The
// default Connection::read() and key-value reads go through it.
inline Result<std::uint64_t> feed(Rows* rows, RowSink& sink) {
  std::uint64_t count = 0;
  if (rows == nullptr) return count;
  for (;;) {
    Result<bool> more = rows->next();
    if (!more.ok()) return std::move(more).error();
    if (!*more) return count;
    ++count;
    if (!sink.row(*rows)) return count;
  }
}

// The answer to one Operation.
struct ExecResponse {
  // Rows for a query or for RETURNING; null for writes without RETURNING.
  std::unique_ptr<Rows> rows;
  // Rows inserted, updated or deleted by a write. For an upsert, the number
  // of rows inserted or updated (drivers that count an update as 2, like
  // MySQL, report 1).
  std::uint64_t affected = 0;
  // Auto-increment values generated by an Insert without RETURNING, one per
  // inserted row in row order. Empty when not applicable.
  std::vector<std::int64_t> generated_ids;
};

}  // namespace tessera
