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

Result<std::unique_ptr<MysqlRows>> MysqlRows::open(StatementLease lease, Session* session) {
  std::unique_ptr<MysqlRows> rows(new MysqlRows(std::move(lease), session));
  if (Status s = rows->bind_columns(); !s) return std::move(s).error();
  return rows;
}

MysqlRows::~MysqlRows() { end_stream(); }

void MysqlRows::end_stream() noexcept {
  if (!streaming_ && lease_.get() == nullptr) return;
  lease_.release();
  streaming_ = false;
  session_->stream_finished(this);
}

Status MysqlRows::bind_columns() {
  MYSQL_STMT* stmt = lease_.get();
  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt);
  if (meta == nullptr) return session_->statement_failed(stmt, lease_.sql());
  const unsigned n = mysql_num_fields(meta);
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  kinds_.resize(n);
  columns_.resize(n);
  binds_.assign(n, MYSQL_BIND{});
  for (unsigned i = 0; i < n; ++i) {
    enum_field_types type = MYSQL_TYPE_NULL;
    kinds_[i] = kind_of(fields[i], type);
    Column& c = columns_[i];
    MYSQL_BIND& b = binds_[i];
    b.buffer_type = type;
    b.is_null = &c.null;
    b.length = &c.length;
    b.error = &c.truncated;
    b.is_unsigned = kinds_[i] == ColumnKind::unsigned_integer;
    if (variable_length(kinds_[i])) {
      c.buffer.resize(
          std::min<unsigned long>(std::max<unsigned long>(fields[i].length, 1), kInitialBuffer));
      b.buffer = c.buffer.data();
      b.buffer_length = c.buffer.size();
    } else {
      b.buffer = &c.fixed;
      b.buffer_length = sizeof c.fixed;
    }
  }
  mysql_free_result(meta);
  if (mysql_stmt_bind_result(stmt, binds_.data()) != 0)
    return session_->statement_failed(stmt, lease_.sql());
  return {};
}

// Reads the rest of each value the bound buffer was too short for, and
// grows the buffer for the rows to come.
Status MysqlRows::fetch_truncated() {
  MYSQL_STMT* stmt = lease_.get();
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    Column& c = columns_[i];
    if (!c.truncated || c.null || !variable_length(kinds_[i])) continue;
    const unsigned long have = static_cast<unsigned long>(c.buffer.size());
    c.buffer.resize(c.length);
    MYSQL_BIND b{};
    b.buffer_type = binds_[i].buffer_type;
    b.buffer = c.buffer.data() + have;
    b.buffer_length = c.length - have;
    unsigned long length = 0;
    b.length = &length;
    if (mysql_stmt_fetch_column(stmt, &b, static_cast<unsigned>(i), have) != 0)
      return session_->statement_failed(stmt, lease_.sql());
    binds_[i].buffer = c.buffer.data();
    binds_[i].buffer_length = c.buffer.size();
    c.truncated = 0;
    rebind_ = true;
  }
  return {};
}

Result<bool> MysqlRows::fetch() {
  MYSQL_STMT* stmt = lease_.get();
  if (rebind_) {
    if (mysql_stmt_bind_result(stmt, binds_.data()) != 0)
      return session_->statement_failed(stmt, lease_.sql());
    rebind_ = false;
  }
  const int rc = mysql_stmt_fetch(stmt);
  if (rc == MYSQL_NO_DATA) return false;
  if (rc == 1) return session_->statement_failed(stmt, lease_.sql());
  if (rc == MYSQL_DATA_TRUNCATED)
    if (Status s = fetch_truncated(); !s) return std::move(s).error();
  return true;
}

Result<bool> MysqlRows::next() {
  error_.reset();
  if (failure_) return *failure_;
  if (done_) return false;
  if (!streaming_) {
    if (row_ < stored_.size()) {
      ++row_;
      return true;
    }
    done_ = true;
    on_row_ = false;
    return false;
  }
  auto r = fetch();
  if (!r || !*r) {
    done_ = true;
    on_row_ = false;
    end_stream();
    if (!r) failure_ = r.error();
    return r;
  }
  on_row_ = true;
  return true;
}

std::vector<MysqlRows::StoredCell> MysqlRows::copy_current() const {
  std::vector<StoredCell> row(columns_.size());
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const Cell c = cell(i);
    StoredCell& s = row[i];
    s.null = c.null;
    if (c.null) continue;
    s.integer = c.integer;
    s.real = c.real;
    if (c.time) s.time = *c.time;
    s.bytes.assign(c.bytes.data(), c.bytes.size());
  }
  return row;
}

Status MysqlRows::buffer_rest() {
  if (!streaming_) return {};
  if (on_row_) {
    stored_.push_back(copy_current());
    row_ = 1;
  }
  for (;;) {
    auto r = fetch();
    if (!r) {
      failure_ = r.error();
      end_stream();
      return std::move(r).error();
    }
    if (!*r) break;
    stored_.push_back(copy_current());
  }
  streaming_ = false;  // from here cell() reads stored_
  end_stream();
  return {};
}

void MysqlRows::append(MysqlRows& other) {
  for (auto& row : other.stored_) stored_.push_back(std::move(row));
  other.stored_.clear();
}

MysqlRows::Cell MysqlRows::cell(std::size_t col) const {
  Cell c{true, kinds_[col], 0, 0, nullptr, {}};
  if (!streaming_) {
    const StoredCell& s = stored_[row_ - 1][col];
    c.null = s.null;
    c.integer = s.integer;
    c.real = s.real;
    c.time = &s.time;
    c.bytes = s.bytes;
    return c;
  }
  const Column& k = columns_[col];
  c.null = k.null != 0;
  if (c.null) return c;
  switch (c.kind) {
    case ColumnKind::integer:
    case ColumnKind::unsigned_integer: c.integer = k.fixed.integer; break;
    case ColumnKind::float32: c.real = k.fixed.f32; break;
    case ColumnKind::float64: c.real = k.fixed.f64; break;
    case ColumnKind::datetime:
    case ColumnKind::date:
    case ColumnKind::time: c.time = &k.fixed.time; break;
    default:
      c.bytes = std::string_view(k.buffer.data(), std::min<std::size_t>(k.length, k.buffer.size()));
      break;
  }
  return c;
}

void MysqlRows::mismatch(std::size_t col, std::string_view wanted) {
  if (error_) return;
  error_ = driver_error(ErrorKind::invalid_value,
                        "column " + std::to_string(col) + " holds a " +
                            std::string(kind_name(kinds_[col])) + " value that cannot be read as " +
                            std::string(wanted),
                        lease_.get() ? std::string_view(lease_.sql()) : std::string_view());
}

bool MysqlRows::is_null(std::size_t col) { return cell(col).null; }

bool MysqlRows::get_bool(std::size_t col) {
  const Cell c = cell(col);
  if (c.null) return false;
  if (c.kind == ColumnKind::integer || c.kind == ColumnKind::unsigned_integer)
    return c.integer != 0;
  return get_int64(col) != 0;
}

std::int64_t MysqlRows::get_int64(std::size_t col) {
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
  const Cell c = cell(col);
  if (c.null) return {};
  if (c.kind == ColumnKind::text || c.kind == ColumnKind::binary || c.kind == ColumnKind::decimal)
    return c.bytes;
  return mismatch(col, "text"), std::string_view();
}

std::span<const std::byte> MysqlRows::get_bytes(std::size_t col) {
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
