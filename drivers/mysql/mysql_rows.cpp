#include "mysql_rows.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "mysql_errors.hpp"
#include "mysql_values.hpp"

namespace tessera::mysql::detail {
namespace {

// The first buffer of a variable-length column; it grows to the longest
// value seen.
constexpr unsigned long kInitialBuffer = 256;
constexpr unsigned kBinaryCharset = 63;

std::string_view kind_name(ColumnKind k) {
  switch (k) {
    case ColumnKind::integer: return "integer";
    case ColumnKind::unsigned_integer: return "unsigned integer";
    case ColumnKind::float32: return "float";
    case ColumnKind::float64: return "double";
    case ColumnKind::decimal: return "decimal";
    case ColumnKind::text: return "text";
    case ColumnKind::binary: return "binary";
    case ColumnKind::datetime: return "datetime";
    case ColumnKind::date: return "date";
    case ColumnKind::time: return "time";
  }
  return "unknown";
}

// The kind and bound buffer type of a result column.
ColumnKind kind_of(const MYSQL_FIELD& f, enum_field_types& bind_type) {
  switch (f.type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
      bind_type = MYSQL_TYPE_LONGLONG;
      return (f.flags & UNSIGNED_FLAG) ? ColumnKind::unsigned_integer : ColumnKind::integer;
    case MYSQL_TYPE_FLOAT: bind_type = MYSQL_TYPE_FLOAT; return ColumnKind::float32;
    case MYSQL_TYPE_DOUBLE: bind_type = MYSQL_TYPE_DOUBLE; return ColumnKind::float64;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: bind_type = MYSQL_TYPE_STRING; return ColumnKind::decimal;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: bind_type = MYSQL_TYPE_DATE; return ColumnKind::date;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP2: bind_type = MYSQL_TYPE_DATETIME; return ColumnKind::datetime;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2: bind_type = MYSQL_TYPE_TIME; return ColumnKind::time;
    default:
      bind_type = MYSQL_TYPE_BLOB;
      return f.charsetnr == kBinaryCharset ? ColumnKind::binary : ColumnKind::text;
  }
}

bool variable_length(ColumnKind k) {
  return k == ColumnKind::decimal || k == ColumnKind::text || k == ColumnKind::binary;
}

}  // namespace

bool ResultBinding::matches(const MYSQL_FIELD* fields, unsigned n) const {
  if (columns.size() != n) return false;
  enum_field_types type = MYSQL_TYPE_NULL;
  for (unsigned i = 0; i < n; ++i)
    if (columns[i].kind != kind_of(fields[i], type)) return false;
  return true;
}

void ResultBinding::build(const MYSQL_FIELD* fields, unsigned n) {
  columns.clear();
  columns.resize(n);
  binds.assign(n, MYSQL_BIND{});
  for (unsigned i = 0; i < n; ++i) {
    enum_field_types type = MYSQL_TYPE_NULL;
    Column& c = columns[i];
    c.kind = kind_of(fields[i], type);
    MYSQL_BIND& b = binds[i];
    b.buffer_type = type;
    b.is_null = &c.null;
    b.length = &c.length;
    b.error = &c.truncated;
    b.is_unsigned = c.kind == ColumnKind::unsigned_integer;
    if (variable_length(c.kind)) {
      c.buffer.resize(
          std::min<unsigned long>(std::max<unsigned long>(fields[i].length, 1), kInitialBound));
      c.data = c.buffer.data();
      b.buffer = c.buffer.data();
      b.buffer_length = c.buffer.size();
    } else {
      b.buffer = &c.fixed;
      b.buffer_length = sizeof c.fixed;
    }
  }
}

void ResultBinding::trim() noexcept {
  if (!has_long_value) return;
  for (Column& c : columns)
    if (!c.long_value.empty()) {
      std::vector<char>().swap(c.long_value);
      c.data = c.buffer.data();
    }
  has_long_value = false;
}

Result<std::unique_ptr<MysqlRows>> MysqlRows::open(StatementLease lease, Session* session) {
  std::unique_ptr<MysqlRows> rows(new MysqlRows(std::move(lease), session));
  if (Status s = rows->bind_columns(); !s) return std::move(s).error();
  return rows;
}

MysqlRows::~MysqlRows() { end_result(); }

void MysqlRows::end_result() noexcept {
  if (lease_.get() != nullptr) {
    if (binding_ != nullptr) binding_->trim();
    binding_ = nullptr;
    columns_ = nullptr;
    lease_.release();
  }
  if (streaming_) {
    streaming_ = false;
    session_->stream_finished(this);
  }
}

Status MysqlRows::bind_columns() {
  MYSQL_STMT* stmt = lease_.get();
  // The statement's own fields, which each execution updates (Connector/C
  // 3.1+; mysql_stmt_result_metadata would wrap the same in a MYSQL_RES
  // allocated for the purpose).
  const unsigned n = mysql_stmt_field_count(stmt);
  const MYSQL_FIELD* fields = mariadb_stmt_fetch_fields(stmt);
  if (n == 0 || fields == nullptr) return session_->statement_failed(stmt, lease_.sql());
  ResultBinding& b = lease_.binding();
  if (!b.matches(fields, n)) b.build(fields, n);
  binding_ = &b;
  columns_ = b.columns.data();
  column_count_ = n;
  // The library keeps its copy of the binds across executions, except
  // where an execution brings more than one result (CALL): it then makes
  // new, empty binds for it.
  if (!b.bound || mysql_stmt_more_results(stmt)) {
    if (mysql_stmt_bind_result(stmt, b.binds.data()) != 0)
      return session_->statement_failed(stmt, lease_.sql());
    b.bound = true;
  }
  return {};
}

// Reads each value that its bound buffer was too short for whole into the
// column's long_value, and grows the bound buffer (up to kMaxBound) for the
// rows to come.
Status MysqlRows::fetch_long_values() {
  MYSQL_STMT* stmt = lease_.get();
  bool grown = false;
  for (std::size_t i = 0; i < binding_->columns.size(); ++i) {
    ResultBinding::Column& c = binding_->columns[i];
    if (!c.truncated || c.null || !variable_length(c.kind)) continue;
    const unsigned long have = static_cast<unsigned long>(c.buffer.size());
    c.long_value.resize(c.length);
    std::memcpy(c.long_value.data(), c.buffer.data(), have);
    MYSQL_BIND b{};
    b.buffer_type = binding_->binds[i].buffer_type;
    b.buffer = c.long_value.data() + have;
    b.buffer_length = c.length - have;
    unsigned long length = 0;
    b.length = &length;
    if (mysql_stmt_fetch_column(stmt, &b, static_cast<unsigned>(i), have) != 0)
      return session_->statement_failed(stmt, lease_.sql());
    c.data = c.long_value.data();
    c.truncated = 0;
    binding_->has_long_value = true;
    if (have < ResultBinding::kMaxBound) {
      c.buffer.resize(std::min<unsigned long>(c.length, ResultBinding::kMaxBound));
      binding_->binds[i].buffer = c.buffer.data();
      binding_->binds[i].buffer_length = c.buffer.size();
      grown = true;
    }
  }
  // Bound at once, not before the next fetch: whoever fetches next (this
  // Rows, or the lease discarding the rest) must not write into the
  // buffers the resize freed. Binding replaces the library's positions of
  // the current row's values, which mysql_stmt_fetch_column needed above
  // and nothing needs after.
  if (grown) {
    binding_->bound = false;
    if (mysql_stmt_bind_result(stmt, binding_->binds.data()) != 0)
      return session_->statement_failed(stmt, lease_.sql());
    binding_->bound = true;
  }
  return {};
}

MysqlRows::Fetched MysqlRows::fetch() {
  if (binding_->has_long_value) binding_->trim();
  return fetched(mysql_stmt_fetch(lease_.get()));
}

MysqlRows::Fetched MysqlRows::fetched(int rc) {
  if (rc == 0) return Fetched::row;
  if (rc == MYSQL_NO_DATA) return Fetched::end;
  if (rc == MYSQL_DATA_TRUNCATED) {
    Status s = fetch_long_values();
    if (s) return Fetched::row;
    failure_ = std::move(s).error();
  } else {
    failure_ = session_->statement_failed(lease_.get(), lease_.sql());
  }
  return Fetched::failed;
}

// The common case, a streamed row that fits its bound buffers, takes one
// test and the fetch; everything else goes through next_slow() and
// next_after(), kept out of line so that this needs no stack frame.
Result<bool> MysqlRows::next() {
  if (done_ || copied_ || error_ || binding_->has_long_value) return next_slow();
  const int rc = mysql_stmt_fetch(lease_.get());
  if (rc != 0) return next_after(rc);
  on_row_ = true;
  return true;
}

Result<bool> MysqlRows::next_after(int rc) {
  const Fetched f = fetched(rc);
  if (f == Fetched::row) {
    on_row_ = true;
    return true;
  }
  done_ = true;
  on_row_ = false;
  end_result();
  if (f == Fetched::failed) return *failure_;
  return false;
}

Result<bool> MysqlRows::next_slow() {
  if (error_) error_.reset();
  if (done_) return failure_ ? Result<bool>(*failure_) : Result<bool>(false);
  if (copied_) {
    if (row_ < copied_rows_) {
      ++row_;
      return true;
    }
    done_ = true;
    on_row_ = false;
    return false;
  }
  if (binding_->has_long_value) binding_->trim();
  const int rc = mysql_stmt_fetch(lease_.get());
  if (rc != 0) return next_after(rc);
  on_row_ = true;
  return true;
}

void MysqlRows::copy_current() {
  for (std::size_t i = 0; i < column_count_; ++i) {
    const Cell c = cell(i);
    CopiedCell& s = cells_.emplace_back();
    s.null = c.null;
    s.size = 0;
    s.integer = 0;
    if (c.null) continue;
    switch (c.kind) {
      case ColumnKind::integer:
      case ColumnKind::unsigned_integer: s.integer = c.integer; break;
      case ColumnKind::float32:
      case ColumnKind::float64: s.real = c.real; break;
      case ColumnKind::datetime:
      case ColumnKind::date:
      case ColumnKind::time:
        s.offset = times_.size();
        times_.push_back(*c.time);
        break;
      default:
        s.offset = bytes_.size();
        s.size = static_cast<std::uint32_t>(c.bytes.size());
        bytes_.append(c.bytes);
        break;
    }
  }
  ++copied_rows_;
}

Status MysqlRows::buffer_rest() {
  if (copied_) return {};
  if (lease_.get() == nullptr) {  // already at the end
    copied_ = true;
    return {};
  }
  copied_kinds_.resize(column_count_);
  for (std::size_t i = 0; i < column_count_; ++i) copied_kinds_[i] = binding_->columns[i].kind;
  if (on_row_) {
    copy_current();
    row_ = 1;
  }
  for (;;) {
    const Fetched f = fetch();
    if (f == Fetched::failed) {
      end_result();
      return *failure_;
    }
    if (f == Fetched::end) break;
    copy_current();
  }
  copied_ = true;  // from here cell() reads the copies
  end_result();
  return {};
}

void MysqlRows::append(MysqlRows& other) {
  const std::size_t bytes_base = bytes_.size(), times_base = times_.size();
  const std::size_t first = cells_.size();
  cells_.insert(cells_.end(), other.cells_.begin(), other.cells_.end());
  for (std::size_t i = first; i < cells_.size(); ++i) {
    CopiedCell& s = cells_[i];
    if (s.null) continue;
    switch (copied_kinds_[(i - first) % column_count_]) {
      case ColumnKind::datetime:
      case ColumnKind::date:
      case ColumnKind::time: s.offset += times_base; break;
      case ColumnKind::decimal:
      case ColumnKind::text:
      case ColumnKind::binary: s.offset += bytes_base; break;
      default: break;
    }
  }
  bytes_ += other.bytes_;
  times_.insert(times_.end(), other.times_.begin(), other.times_.end());
  copied_rows_ += other.copied_rows_;
  other.cells_.clear();
  other.bytes_.clear();
  other.times_.clear();
  other.copied_rows_ = 0;
}

MysqlRows::Cell MysqlRows::cell(std::size_t col) const {
  if (copied_) {
    const CopiedCell& s = cells_[(row_ - 1) * column_count_ + col];
    Cell c{s.null, copied_kinds_[col], 0, 0, nullptr, {}};
    if (s.null) return c;
    switch (c.kind) {
      case ColumnKind::integer:
      case ColumnKind::unsigned_integer: c.integer = s.integer; break;
      case ColumnKind::float32:
      case ColumnKind::float64: c.real = s.real; break;
      case ColumnKind::datetime:
      case ColumnKind::date:
      case ColumnKind::time: c.time = &times_[s.offset]; break;
      default: c.bytes = std::string_view(bytes_).substr(s.offset, s.size); break;
    }
    return c;
  }
  const ResultBinding::Column& k = binding_->columns[col];
  Cell c{k.null != 0, k.kind, 0, 0, nullptr, {}};
  if (c.null) return c;
  switch (c.kind) {
    case ColumnKind::integer:
    case ColumnKind::unsigned_integer: c.integer = k.fixed.integer; break;
    case ColumnKind::float32: c.real = k.fixed.f32; break;
    case ColumnKind::float64: c.real = k.fixed.f64; break;
    case ColumnKind::datetime:
    case ColumnKind::date:
    case ColumnKind::time: c.time = &k.fixed.time; break;
    default: c.bytes = std::string_view(k.data, k.length); break;
  }
  return c;
}

void MysqlRows::mismatch(std::size_t col, std::string_view wanted) {
  if (error_) return;
  error_ = driver_error(ErrorKind::invalid_value,
                        "column " + std::to_string(col) + " holds a " +
                            std::string(kind_name(cell(col).kind)) +
                            " value that cannot be read as " + std::string(wanted),
                        lease_.get() ? std::string_view(lease_.sql()) : std::string_view());
}

// Each getter first tries the common case, a column of the wanted kind in
// the binding, and leaves the rest to a separate function (kept out of line
// so that the common case needs no stack frame).

bool MysqlRows::is_null(std::size_t col) {
  if (!copied_) return columns_[col].null != 0;
  return cell(col).null;
}

bool MysqlRows::get_bool(std::size_t col) {
  const Cell c = cell(col);
  if (c.null) return false;
  if (c.kind == ColumnKind::integer || c.kind == ColumnKind::unsigned_integer)
    return c.integer != 0;
  return get_int64(col) != 0;
}

std::int64_t MysqlRows::get_int64(std::size_t col) {
  if (!copied_) {
    const ResultBinding::Column& k = columns_[col];
    if (k.kind == ColumnKind::integer) return k.null ? 0 : k.fixed.integer;
  }
  return int64_slow(col);
}

std::int64_t MysqlRows::int64_slow(std::size_t col) {
  const Cell c = cell(col);
  if (c.null) return 0;
  switch (c.kind) {
    case ColumnKind::integer: return c.integer;
    case ColumnKind::unsigned_integer:
      if (static_cast<unsigned long long>(c.integer) >
          static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max()))
        return mismatch(col, "int64 (out of range)"), 0;
      return c.integer;
    case ColumnKind::decimal: {
      // SUM() of integers is DECIMAL; read it when it is a whole number.
      std::string_view text = c.bytes;
      if (const auto dot = text.find('.'); dot != std::string_view::npos) {
        if (text.find_first_not_of('0', dot + 1) != std::string_view::npos)
          return mismatch(col, "int64 (not a whole number)"), 0;
        text = text.substr(0, dot);
      }
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) return mismatch(col, "int64"), 0;
      return v;
    }
    default: return mismatch(col, "int64"), 0;
  }
}

double MysqlRows::get_double(std::size_t col) {
  if (!copied_) {
    const ResultBinding::Column& k = columns_[col];
    if (k.kind == ColumnKind::float64) return k.null ? 0 : k.fixed.f64;
  }
  return double_slow(col);
}

double MysqlRows::double_slow(std::size_t col) {
  const Cell c = cell(col);
  if (c.null) return 0;
  switch (c.kind) {
    case ColumnKind::float32:
    case ColumnKind::float64: return c.real;
    case ColumnKind::integer: return static_cast<double>(c.integer);
    case ColumnKind::unsigned_integer:
      return static_cast<double>(static_cast<unsigned long long>(c.integer));
    case ColumnKind::decimal: {
      double v = 0;
      const auto [end, ec] = std::from_chars(c.bytes.data(), c.bytes.data() + c.bytes.size(), v);
      if (ec != std::errc() || end != c.bytes.data() + c.bytes.size())
        return mismatch(col, "float64"), 0.0;
      return v;
    }
    default: return mismatch(col, "float64"), 0.0;
  }
}

std::string_view MysqlRows::get_text(std::size_t col) {
  if (!copied_) {
    const ResultBinding::Column& k = columns_[col];
    if (k.kind == ColumnKind::text)
      return k.null ? std::string_view() : std::string_view(k.data, k.length);
  }
  return text_slow(col);
}

std::string_view MysqlRows::text_slow(std::size_t col) {
  const Cell c = cell(col);
  if (c.null) return {};
  if (c.kind == ColumnKind::text || c.kind == ColumnKind::binary || c.kind == ColumnKind::decimal)
    return c.bytes;
  return mismatch(col, "text"), std::string_view();
}

std::span<const std::byte> MysqlRows::get_bytes(std::size_t col) {
  if (!copied_) {
    const ResultBinding::Column& k = columns_[col];
    if (k.kind == ColumnKind::binary && !k.null)
      return {reinterpret_cast<const std::byte*>(k.data), k.length};
  }
  return bytes_slow(col);
}

std::span<const std::byte> MysqlRows::bytes_slow(std::size_t col) {
  const Cell c = cell(col);
  if (c.null) return {};
  if (c.kind == ColumnKind::text || c.kind == ColumnKind::binary)
    return {reinterpret_cast<const std::byte*>(c.bytes.data()), c.bytes.size()};
  return mismatch(col, "bytes"), std::span<const std::byte>();
}

Timestamp MysqlRows::get_timestamp(std::size_t col) {
  const Cell c = cell(col);
  Timestamp t;
  if (c.null) return t;
  if ((c.kind == ColumnKind::datetime || c.kind == ColumnKind::date) && from_mysql_time(*c.time, t))
    return t;
  return mismatch(col, "timestamp"), Timestamp{};
}

Date MysqlRows::get_date(std::size_t col) {
  const Cell c = cell(col);
  Date d;
  if (c.null) return d;
  if (c.kind == ColumnKind::date && from_mysql_date(*c.time, d)) return d;
  return mismatch(col, "date"), Date{};
}

}  // namespace tessera::mysql::detail
