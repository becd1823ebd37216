// ValueRows: rows held in memory as Values, for key-value drivers, RETURNING
// emulation and tests.
//
// Kept out of rows.hpp on purpose: a translation unit that sees a final
// Rows class defined inline lets GCC guess it at every virtual getter call
// (speculative devirtualization) and inline its body next to the call. The
// typed API's row mapping, compiled into the user's program, would then
// carry ValueRows' code between its hot instructions for any driver, and a
// point select would touch more instruction-cache lines (callgrind: 14 lines
// for a 5-column row with the guess, against 6 without it).
//
// Thread safety: as any Rows, one thread at a time.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/driver/error.hpp"
#include "tessera/driver/rows.hpp"
#include "tessera/driver/value.hpp"

namespace tessera {

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

}  // namespace tessera
