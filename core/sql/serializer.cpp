// SQL rendering for the sqlite, postgresql and mysql dialects.
//
// Everything a dialect decides is in this file, in small functions that
// switch on the dialect, so the three renderings of one construct sit side by
// side. Rendered text is one line: upper-case keywords, single spaces, no
// trailing semicolon.
//
// The mysql renderings assume the session's sql_mode lacks
// NO_BACKSLASH_ESCAPES (the driver sets the session mode): string literals
// double backslashes, and LIKE escapes with '\\'.
#include "core/sql/serializer.hpp"

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace tessera::sql {
namespace {

using Kind = ast::Expr::Kind;

bool is_sql(SqlDialect dialect) {
  return dialect == SqlDialect::sqlite || dialect == SqlDialect::postgresql ||
         dialect == SqlDialect::mysql;
}

Error unsupported_dialect() {
  return Error(ErrorKind::unsupported, "the SQL serializer needs a SQL dialect (got none)");
}

Error invalid_statement(std::string message) {
  return Error(ErrorKind::invalid_statement, std::move(message));
}

// "t"."c" for messages, independent of dialect.
std::string qualified(std::string_view table, std::string_view column) {
  std::string s = "\"";
  s.append(table).append("\".\"").append(column).append("\"");
  return s;
}

std::string quoted_for_message(std::string_view name) {
  std::string s = "\"";
  s.append(name).append("\"");
  return s;
}

// An identifier must be non-empty (no dialect accepts "") and free of NUL
// (the C APIs would truncate the statement there).
Status check_identifier(std::string_view name, std::string_view what, std::string_view table) {
  if (name.empty())
    return invalid_statement("empty " + std::string(what) + " name in a statement on table " +
                             quoted_for_message(table));
  if (name.find('\0') != std::string_view::npos)
    return invalid_statement(std::string(what) + " name " + quoted_for_message(name) +
                             " on table " + quoted_for_message(table) +
                             " contains a NUL character");
  return {};
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::column: return "column";
    case Kind::param: return "param";
    case Kind::eq: return "eq";
    case Kind::ne: return "ne";
    case Kind::lt: return "lt";
    case Kind::le: return "le";
    case Kind::gt: return "gt";
    case Kind::ge: return "ge";
    case Kind::like: return "like";
    case Kind::and_: return "and";
    case Kind::or_: return "or";
    case Kind::not_: return "not";
    case Kind::is_null: return "is_null";
    case Kind::is_not_null: return "is_not_null";
    case Kind::in: return "in";
    case Kind::not_in: return "not_in";
    case Kind::between: return "between";
    case Kind::true_: return "true";
    case Kind::false_: return "false";
    case Kind::case_: return "case";
  }
  return "unknown";
}

std::string_view comparison_operator(Kind kind) {
  switch (kind) {
    case Kind::eq: return " = ";
    case Kind::ne: return " <> ";
    case Kind::lt: return " < ";
    case Kind::le: return " <= ";
    case Kind::gt: return " > ";
    case Kind::ge: return " >= ";
    default: return {};
  }
}

// Builds one DML statement. Holds the dialect, the table (for messages) and,
// for mysql, the next parameter index that a positional `?` will bind.
class Writer {
 public:
  Writer(SqlDialect dialect, std::string_view table) : dialect_(dialect), table_(table) {}

  std::string take() { return std::move(sql_); }

  void keyword(std::string_view text) { sql_.append(text); }

  Status identifier(std::string_view name, std::string_view what) {
    if (auto s = check_identifier(name, what, table_); !s) return s;
    sql_ += quote_identifier(name, dialect_);
    return {};
  }

  Status table() { return identifier(table_, "table"); }

  // "a", "b", "c"
  Status identifier_list(const std::vector<std::string>& names, std::string_view what) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) sql_ += ", ";
      if (auto s = identifier(names[i], what); !s) return s;
    }
    return {};
  }

  // mysql binds `?` by position, so the lowering must number parameters in
  // the order they appear; a statement that breaks this would bind values to
  // the wrong placeholders, which is a bug in Tessera.
  Status param(std::uint64_t index) {
    if (index > std::numeric_limits<std::uint32_t>::max())
      return invalid_statement("statement on table " + quoted_for_message(table_) +
                               " needs more parameters than a statement can bind");
    const auto param = static_cast<std::uint32_t>(index);
    if (dialect_ == SqlDialect::mysql) {
      if (param != next_param_)
        return Error(ErrorKind::internal,
                     "mysql binds parameters by position, but parameter " + std::to_string(param) +
                         " appears where parameter " + std::to_string(next_param_) +
                         " is expected, in a statement on table " + quoted_for_message(table_));
      ++next_param_;
    }
    sql_ += placeholder(param, dialect_);
    return {};
  }

  Status where(bool has_where, const ast::Expr& expr) {
    if (!has_where) return {};
    sql_ += " WHERE ";
    return this->expr(expr);
  }

  // LIMIT / OFFSET; an offset without a limit needs the dialect's
  // "no limit" form except in postgresql.
  Status limit_offset(std::int32_t limit, std::int32_t offset) {
    if (limit < -1 || offset < -1)
      return invalid_statement("SELECT from table " + quoted_for_message(table_) +
                               " has a negative LIMIT or OFFSET parameter index");
    if (limit >= 0) {
      sql_ += " LIMIT ";
      if (auto s = param(static_cast<std::uint64_t>(limit)); !s) return s;
    } else if (offset >= 0) {
      switch (dialect_) {
        case SqlDialect::sqlite: sql_ += " LIMIT -1"; break;
        case SqlDialect::mysql: sql_ += " LIMIT 18446744073709551615"; break;
        default: break;
      }
    }
    if (offset >= 0) {
      sql_ += " OFFSET ";
      if (auto s = param(static_cast<std::uint64_t>(offset)); !s) return s;
    }
    return {};
  }

  Status expr(const ast::Expr& e) {
    switch (e.kind) {
      case Kind::column:
        if (auto s = arity(e, 0, 0); !s) return s;
        return identifier(e.column, "column");
      case Kind::param:
        if (auto s = arity(e, 0, 0); !s) return s;
        return param(e.param);
      case Kind::true_:
      case Kind::false_:
        if (auto s = arity(e, 0, 0); !s) return s;
        sql_ += boolean_constant(e.kind == Kind::true_);
        return {};
      case Kind::eq:
      case Kind::ne:
      case Kind::lt:
      case Kind::le:
      case Kind::gt:
      case Kind::ge:
        if (auto s = arity(e, 2, 2); !s) return s;
        return binary(e, comparison_operator(e.kind));
      case Kind::like:
        if (auto s = arity(e, 2, 2); !s) return s;
        if (auto s = binary(e, " LIKE "); !s) return s;
        // Backslash is the escape character in every dialect; only its
        // spelling inside a string literal differs.
        sql_ += dialect_ == SqlDialect::mysql ? " ESCAPE '\\\\'" : " ESCAPE '\\'";
        return {};
      case Kind::and_:
      case Kind::or_: return group(e, e.kind == Kind::and_ ? " AND " : " OR ");
      case Kind::not_:
        if (auto s = arity(e, 1, 1); !s) return s;
        sql_ += "NOT ";
        return parenthesised(e.children[0]);
      case Kind::is_null:
      case Kind::is_not_null:
        if (auto s = arity(e, 1, 1); !s) return s;
        if (auto s = operand(e.children[0]); !s) return s;
        sql_ += e.kind == Kind::is_null ? " IS NULL" : " IS NOT NULL";
        return {};
      case Kind::in:
      case Kind::not_in: return in_list(e);
      case Kind::between:
        if (auto s = arity(e, 3, 3); !s) return s;
        if (auto s = operand(e.children[0]); !s) return s;
        sql_ += " BETWEEN ";
        if (auto s = operand(e.children[1]); !s) return s;
        sql_ += " AND ";
        return operand(e.children[2]);
      case Kind::case_:
        if (auto s = arity(e, 2, std::numeric_limits<std::size_t>::max()); !s) return s;
        if (e.children.size() % 2 != 0)
          return invalid_statement("CASE with an odd number of operands, in a statement on table " +
                                   quoted_for_message(table_));
        sql_ += "CASE";
        for (std::size_t i = 0; i < e.children.size(); i += 2) {
          sql_ += " WHEN ";
          if (auto s = expr(e.children[i]); !s) return s;
          sql_ += " THEN ";
          if (auto s = operand(e.children[i + 1]); !s) return s;
        }
        sql_ += " END";
        return {};
    }
    return Error(ErrorKind::internal, "unknown expression kind " +
                                          std::to_string(static_cast<int>(e.kind)) +
                                          " in a statement on table " + quoted_for_message(table_));
  }

  SqlDialect dialect() const { return dialect_; }

 private:
  Status arity(const ast::Expr& e, std::size_t min, std::size_t max) {
    const std::size_t n = e.children.size();
    if (n >= min && n <= max) return {};
    return invalid_statement("expression '" + std::string(kind_name(e.kind)) + "' has " +
                             std::to_string(n) + " operands, in a statement on table " +
                             quoted_for_message(table_));
  }

  std::string_view boolean_constant(bool value) const {
    if (dialect_ == SqlDialect::sqlite) return value ? "1" : "0";
    return value ? "TRUE" : "FALSE";
  }

  // Leaves and and/or groups (which bring their own parentheses) render as
  // they are; any other operator is parenthesised so that precedence never
  // depends on the dialect's operator table.
  static bool self_delimited(Kind kind) {
    return kind == Kind::column || kind == Kind::param || kind == Kind::true_ ||
           kind == Kind::false_ || kind == Kind::and_ || kind == Kind::or_ || kind == Kind::case_;
  }

  Status operand(const ast::Expr& e) {
    if (self_delimited(e.kind)) return expr(e);
    return parenthesised(e);
  }

  Status parenthesised(const ast::Expr& e) {
    if (e.kind == Kind::and_ || e.kind == Kind::or_) return expr(e);
    sql_ += '(';
    if (auto s = expr(e); !s) return s;
    sql_ += ')';
    return {};
  }

  Status binary(const ast::Expr& e, std::string_view op) {
    if (auto s = operand(e.children[0]); !s) return s;
    sql_ += op;
    return operand(e.children[1]);
  }

  // (a AND b AND c): every group is parenthesised, including the outermost.
  Status group(const ast::Expr& e, std::string_view op) {
    if (auto s = arity(e, 2, std::numeric_limits<std::size_t>::max()); !s) return s;
    sql_ += '(';
    for (std::size_t i = 0; i < e.children.size(); ++i) {
      if (i > 0) sql_ += op;
      if (auto s = expr(e.children[i]); !s) return s;
    }
    sql_ += ')';
    return {};
  }

  Status in_list(const ast::Expr& e) {
    if (auto s = arity(e, 2, std::numeric_limits<std::size_t>::max()); !s) return s;
    if (auto s = operand(e.children[0]); !s) return s;
    sql_ += e.kind == Kind::in ? " IN (" : " NOT IN (";
    for (std::size_t i = 1; i < e.children.size(); ++i) {
      if (i > 1) sql_ += ", ";
      if (auto s = operand(e.children[i]); !s) return s;
    }
    sql_ += ')';
    return {};
  }

  SqlDialect dialect_;
  std::string_view table_;
  std::string sql_;
  std::uint32_t next_param_ = 0;
};

// ---- SELECT ---------------------------------------------------------------

Status render_select_body(Writer& w, const ast::Select& select) {
  w.keyword("SELECT ");
  switch (select.projection) {
    case ast::Select::Projection::columns: {
      if (select.columns.empty())
        return invalid_statement("SELECT from table " + quoted_for_message(select.table) +
                                 " selects no columns");
      if (auto s = w.identifier_list(select.columns, "column"); !s) return s;
      w.keyword(" FROM ");
      if (auto s = w.table(); !s) return s;
      if (auto s = w.where(select.has_where, select.where); !s) return s;
      for (std::size_t i = 0; i < select.order_by.size(); ++i) {
        w.keyword(i == 0 ? " ORDER BY " : ", ");
        if (auto s = w.identifier(select.order_by[i].column, "ORDER BY column"); !s) return s;
        w.keyword(select.order_by[i].descending ? " DESC" : " ASC");
        // NULL sorts as the smallest value on every driver: SQLite and MySQL
        // do so natively, PostgreSQL is told.
        if (w.dialect() == SqlDialect::postgresql)
          w.keyword(select.order_by[i].descending ? " NULLS LAST" : " NULLS FIRST");
      }
      return w.limit_offset(select.limit_param, select.offset_param);
    }
    case ast::Select::Projection::count: {
      // Ordering cannot change a count, so ORDER BY is dropped. A page
      // (LIMIT/OFFSET) can, so a paged count counts the rows of the page.
      const bool paged = select.limit_param >= 0 || select.offset_param >= 0;
      w.keyword(paged ? "COUNT(*) FROM (SELECT 1 FROM " : "COUNT(*) FROM ");
      if (auto s = w.table(); !s) return s;
      if (auto s = w.where(select.has_where, select.where); !s) return s;
      if (!paged) return {};
      if (auto s = w.limit_offset(select.limit_param, select.offset_param); !s) return s;
      w.keyword(") AS ");
      return w.identifier("q", "alias");
    }
    case ast::Select::Projection::exists: {
      // ORDER BY is dropped; LIMIT/OFFSET stay because they can change the
      // answer (OFFSET n asks for more than n rows) and because their
      // parameters must appear in the SQL for the bind to succeed.
      w.keyword("EXISTS (SELECT 1 FROM ");
      if (auto s = w.table(); !s) return s;
      if (auto s = w.where(select.has_where, select.where); !s) return s;
      if (auto s = w.limit_offset(select.limit_param, select.offset_param); !s) return s;
      w.keyword(")");
      return {};
    }
  }
  return Error(ErrorKind::internal,
               "unknown SELECT projection on table " + quoted_for_message(select.table));
}

// ---- INSERT ---------------------------------------------------------------

Status render_values(Writer& w, const ast::Insert& insert, SqlDialect dialect) {
  if (insert.columns.empty()) {
    // No column named: every column takes its default.
    if (dialect == SqlDialect::mysql) {
      w.keyword(" () VALUES ");
      for (std::size_t r = 0; r < insert.row_count; ++r) w.keyword(r == 0 ? "()" : ", ()");
      return {};
    }
    if (insert.row_count != 1)
      return Error(ErrorKind::unsupported, "an INSERT of only default values into table " +
                                               quoted_for_message(insert.table) +
                                               " can insert one row per statement in this dialect");
    w.keyword(" DEFAULT VALUES");
    return {};
  }
  w.keyword(" (");
  if (auto s = w.identifier_list(insert.columns, "column"); !s) return s;
  w.keyword(") VALUES ");
  const std::uint64_t width = insert.columns.size();
  for (std::uint64_t r = 0; r < insert.row_count; ++r) {
    w.keyword(r == 0 ? "(" : ", (");
    for (std::uint64_t c = 0; c < width; ++c) {
      if (c > 0) w.keyword(", ");
      if (auto s = w.param(r * width + c); !s) return s;
    }
    w.keyword(")");
  }
  return {};
}

// ON CONFLICT for sqlite and postgresql.
Status render_on_conflict(Writer& w, const ast::Insert& insert) {
  const ast::OnConflict& oc = insert.on_conflict;
  const bool update = oc.action == ast::OnConflict::Action::update && !oc.update_columns.empty();
  if (update && oc.target.empty())
    return invalid_statement("upsert into table " + quoted_for_message(insert.table) +
                             " updates on conflict but names no conflict target");
  w.keyword(" ON CONFLICT");
  if (!oc.target.empty()) {
    w.keyword(" (");
    if (auto s = w.identifier_list(oc.target, "conflict target column"); !s) return s;
    w.keyword(")");
  }
  if (!update) {
    w.keyword(" DO NOTHING");
    return {};
  }
  w.keyword(" DO UPDATE SET ");
  for (std::size_t i = 0; i < oc.update_columns.size(); ++i) {
    if (i > 0) w.keyword(", ");
    if (auto s = w.identifier(oc.update_columns[i], "update column"); !s) return s;
    w.keyword(" = excluded.");
    if (auto s = w.identifier(oc.update_columns[i], "update column"); !s) return s;
  }
  return {};
}

// ON DUPLICATE KEY UPDATE for mysql, which fires on a conflict with any
// unique key (it cannot name a target). VALUES(col) is deprecated in MySQL
// 8.0.20+ but still works there, and it is the only form MariaDB knows.
// DO NOTHING becomes a self-assignment of one column; INSERT IGNORE would
// also hide unrelated errors (truncation, foreign keys).
Status render_on_duplicate_key(Writer& w, const ast::Insert& insert) {
  const ast::OnConflict& oc = insert.on_conflict;
  w.keyword(" ON DUPLICATE KEY UPDATE ");
  if (oc.action == ast::OnConflict::Action::update && !oc.update_columns.empty()) {
    for (std::size_t i = 0; i < oc.update_columns.size(); ++i) {
      if (i > 0) w.keyword(", ");
      if (auto s = w.identifier(oc.update_columns[i], "update column"); !s) return s;
      w.keyword(" = VALUES(");
      if (auto s = w.identifier(oc.update_columns[i], "update column"); !s) return s;
      w.keyword(")");
    }
    return {};
  }
  const std::string* column = !oc.target.empty()        ? &oc.target.front()
                              : !insert.columns.empty() ? &insert.columns.front()
                                                        : nullptr;
  if (column == nullptr)
    return Error(ErrorKind::unsupported,
                 "upsert into table " + quoted_for_message(insert.table) +
                     " that ignores conflicts needs a conflict target or an inserted column "
                     "in mysql");
  if (auto s = w.identifier(*column, "column"); !s) return s;
  w.keyword(" = ");
  return w.identifier(*column, "column");
}

Status render_insert(Writer& w, const ast::Insert& insert, SqlDialect dialect) {
  if (insert.row_count == 0)
    return invalid_statement("INSERT into table " + quoted_for_message(insert.table) +
                             " has no rows");
  w.keyword("INSERT INTO ");
  if (auto s = w.table(); !s) return s;
  if (auto s = render_values(w, insert, dialect); !s) return s;
  if (insert.on_conflict.action != ast::OnConflict::Action::error) {
    if (dialect == SqlDialect::mysql) {
      if (auto s = render_on_duplicate_key(w, insert); !s) return s;
    } else {
      // SQLite's grammar has no upsert clause after DEFAULT VALUES.
      if (dialect == SqlDialect::sqlite && insert.columns.empty())
        return Error(ErrorKind::unsupported,
                     "sqlite cannot upsert a row of only default values into table " +
                         quoted_for_message(insert.table));
      if (auto s = render_on_conflict(w, insert); !s) return s;
    }
  }
  if (!insert.returning.empty()) {
    w.keyword(" RETURNING ");
    if (auto s = w.identifier_list(insert.returning, "RETURNING column"); !s) return s;
  }
  return {};
}

// ---- UPDATE / DELETE ------------------------------------------------------

Status render_update(Writer& w, const ast::Update& update) {
  if (update.set.empty())
    return invalid_statement("UPDATE of table " + quoted_for_message(update.table) +
                             " sets no columns");
  w.keyword("UPDATE ");
  if (auto s = w.table(); !s) return s;
  w.keyword(" SET ");
  for (std::size_t i = 0; i < update.set.size(); ++i) {
    if (i > 0) w.keyword(", ");
    if (auto s = w.identifier(update.set[i].column, "column"); !s) return s;
    w.keyword(" = ");
    if (update.set[i].has_value) {
      if (auto s = w.expr(update.set[i].value); !s) return s;
    } else if (auto s = w.param(update.set[i].param); !s) {
      return s;
    }
  }
  return w.where(update.has_where, update.where);
}

Status render_delete(Writer& w, const ast::Delete& del) {
  w.keyword("DELETE FROM ");
  if (auto s = w.table(); !s) return s;
  return w.where(del.has_where, del.where);
}

template <class Statement, class Body>
Result<std::string> render_with(const Statement& statement, SqlDialect dialect, Body body) {
  if (!is_sql(dialect)) return unsupported_dialect();
  Writer w(dialect, statement.table);
  if (auto s = body(w); !s) return std::move(s).error();
  return w.take();
}

// ---- literals -------------------------------------------------------------

bool is_integer_type(ColumnType type) {
  switch (type) {
    case ColumnType::int8:
    case ColumnType::int16:
    case ColumnType::int32:
    case ColumnType::int64:
    case ColumnType::uint8:
    case ColumnType::uint16:
    case ColumnType::uint32: return true;
    default: return false;
  }
}

// The range of an integer column type.
std::pair<std::int64_t, std::int64_t> integer_range(ColumnType type) {
  switch (type) {
    case ColumnType::int8: return {-128, 127};
    case ColumnType::int16: return {-32768, 32767};
    case ColumnType::int32:
      return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
    case ColumnType::uint8: return {0, 255};
    case ColumnType::uint16: return {0, 65535};
    case ColumnType::uint32: return {0, std::numeric_limits<std::uint32_t>::max()};
    default:
      return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
  }
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Years 0001..9999 are the range every dialect's date types accept.
Status check_year(std::int64_t year, std::string_view what) {
  if (year >= 1 && year <= 9999) return {};
  return Error(ErrorKind::invalid_value, std::string(what) + " in year " + std::to_string(year) +
                                             " is outside the years 0001..9999");
}

Result<std::string> date_text(Date date) {
  const auto civil = detail::civil_from_days(date.days);
  if (auto s = check_year(civil.year, "date"); !s) return std::move(s).error();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(civil.year), civil.month,
                civil.day);
  return std::string(buf);
}

Result<std::string> timestamp_text(Timestamp ts) {
  constexpr std::int64_t micros_per_day = 86'400'000'000;
  const std::int64_t days = floor_div(ts.micros, micros_per_day);
  const std::int64_t in_day = ts.micros - days * micros_per_day;
  const auto civil = detail::civil_from_days(days);
  if (auto s = check_year(civil.year, "timestamp"); !s) return std::move(s).error();
  const auto secs = static_cast<unsigned>(in_day / 1'000'000);
  const auto micros = static_cast<unsigned>(in_day % 1'000'000);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02u:%02u:%02u.%06u", static_cast<int>(civil.year),
                civil.month, civil.day, secs / 3600, secs / 60 % 60, secs % 60, micros);
  return std::string(buf);
}

std::string text_literal(std::string_view text, SqlDialect dialect) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    if (c == '\\' && dialect == SqlDialect::mysql) out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string bytes_literal(const Bytes& bytes, SqlDialect dialect) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = dialect == SqlDialect::postgresql ? "'\\x" : "X'";
  for (std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out += digits[v >> 4];
    out += digits[v & 0xf];
  }
  out += dialect == SqlDialect::postgresql ? "'::bytea" : "'";
  return out;
}

// The shortest text that reads back as the same double (std::to_chars
// round-trips exactly), which is at most 17 significant digits.
Result<std::string> double_literal(double v, ColumnType type) {
  if (!std::isfinite(v))
    return Error(ErrorKind::invalid_value, "NaN and infinities have no SQL literal");
  if (type == ColumnType::float32 && std::fabs(v) > std::numeric_limits<float>::max())
    return Error(ErrorKind::invalid_value,
                 "value " + std::to_string(v) + " is out of range for a float32 column");
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  if (res.ec != std::errc{}) return Error(ErrorKind::internal, "cannot format a double");
  return std::string(buf, res.ptr);
}

// ---- DDL ------------------------------------------------------------------

std::string_view on_delete_sql(ForeignKeyAction action) {
  switch (action) {
    case ForeignKeyAction::cascade: return " ON DELETE CASCADE";
    case ForeignKeyAction::set_null: return " ON DELETE SET NULL";
    case ForeignKeyAction::restrict: return " ON DELETE RESTRICT";
    case ForeignKeyAction::no_action: return "";
  }
  return "";
}

// Every name in `columns` is a column of `table`, non-empty and unrepeated.
Status check_column_list(const TableSchema& table, const std::vector<std::string>& columns,
                         const std::string& what) {
  if (columns.empty())
    return invalid_statement(what + " of table " + quoted_for_message(table.name) +
                             " has no columns");
  std::set<std::string_view> seen;
  for (const auto& c : columns) {
    if (table.column_index(c) < 0)
      return invalid_statement(what + " names " + qualified(table.name, c) +
                               ", which is not a column of the table");
    if (!seen.insert(c).second)
      return invalid_statement(what + " names " + qualified(table.name, c) + " twice");
  }
  return {};
}

Status check_table(const TableSchema& table) {
  if (auto s = check_identifier(table.name, "table", table.name); !s) return s;
  if (table.columns.empty())
    return invalid_statement("table " + quoted_for_message(table.name) + " has no columns");
  std::set<std::string_view> names;
  for (const auto& c : table.columns) {
    if (auto s = check_identifier(c.name, "column", table.name); !s) return s;
    if (!names.insert(c.name).second)
      return invalid_statement("table " + quoted_for_message(table.name) + " declares column " +
                               quoted_for_message(c.name) + " twice");
    if (c.auto_increment) {
      const bool sole_key = table.primary_key.size() == 1 && table.primary_key[0] == c.name;
      if (!sole_key || !is_integer_type(c.type))
        return invalid_statement("auto-increment column " + qualified(table.name, c.name) +
                                 " must be the whole primary key and of an integer type");
      if (c.default_value)
        return invalid_statement("auto-increment column " + qualified(table.name, c.name) +
                                 " cannot also have a default value");
    }
  }
  if (!table.primary_key.empty()) {
    if (auto s = check_column_list(table, table.primary_key, "primary key"); !s) return s;
    for (const auto& k : table.primary_key)
      if (table.columns[table.column_index(k)].nullable)
        return invalid_statement("primary key column " + qualified(table.name, k) +
                                 " is declared nullable");
  }
  for (const auto& index : table.indexes) {
    if (auto s = check_identifier(index.name, "index", table.name); !s) return s;
    if (auto s = check_column_list(table, index.columns, "index " + quoted_for_message(index.name));
        !s)
      return s;
  }
  for (const auto& fk : table.foreign_keys) {
    const std::string what =
        fk.name.empty() ? std::string("foreign key") : "foreign key " + quoted_for_message(fk.name);
    if (auto s = check_column_list(table, fk.columns, what); !s) return s;
    if (auto s = check_identifier(fk.ref_table, "referenced table", table.name); !s) return s;
    if (fk.ref_columns.size() != fk.columns.size())
      return invalid_statement(what + " of table " + quoted_for_message(table.name) + " has " +
                               std::to_string(fk.columns.size()) + " columns but " +
                               std::to_string(fk.ref_columns.size()) + " referenced columns");
    for (const auto& c : fk.ref_columns)
      if (auto s = check_identifier(c, "referenced column", table.name); !s) return s;
  }
  return {};
}

// Columns that an index covers. mysql needs them to have a bounded length.
// Foreign-key columns count too: InnoDB creates an index for a foreign key
// that has none.
std::set<std::string_view> key_or_indexed_columns(const TableSchema& table) {
  std::set<std::string_view> out(table.primary_key.begin(), table.primary_key.end());
  for (const auto& index : table.indexes) out.insert(index.columns.begin(), index.columns.end());
  for (const auto& fk : table.foreign_keys) out.insert(fk.columns.begin(), fk.columns.end());
  return out;
}

Status render_column_def(std::string& out, const TableSchema& table, const ColumnDef& column,
                         bool indexed, SqlDialect dialect) {
  auto type = column_type_sql(column, dialect, indexed);
  if (!type) return std::move(type).error();
  out += quote_identifier(column.name, dialect);
  out += ' ';
  out += *type;
  if (column.auto_increment) {
    switch (dialect) {
      // INTEGER PRIMARY KEY makes the column the rowid, which SQLite fills
      // in; AUTOINCREMENT would only forbid reusing deleted ids, at a cost.
      case SqlDialect::sqlite: out += " PRIMARY KEY"; break;
      case SqlDialect::postgresql: out += " GENERATED BY DEFAULT AS IDENTITY"; break;
      default: out += " NOT NULL AUTO_INCREMENT"; break;
    }
    return {};
  }
  if (!column.nullable) out += " NOT NULL";
  if (column.default_value) {
    auto literal = render_literal(*column.default_value, column.type, dialect);
    if (!literal) {
      Error e = std::move(literal).error();
      e.message = "default of column " + qualified(table.name, column.name) + ": " + e.message;
      return e;
    }
    // MySQL accepts a default on TEXT/BLOB columns only as an expression in
    // parentheses (8.0.13+; MariaDB accepts both forms).
    const bool unbounded_mysql =
        dialect == SqlDialect::mysql && !indexed &&
        (column.type == ColumnType::text || column.type == ColumnType::bytes);
    out += unbounded_mysql ? " DEFAULT (" + *literal + ")" : " DEFAULT " + *literal;
  }
  return {};
}

std::string column_list(const std::vector<std::string>& names, SqlDialect dialect) {
  std::string out = "(";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += quote_identifier(names[i], dialect);
  }
  out += ')';
  return out;
}

std::string_view isolation_sql(Isolation level) {
  switch (level) {
    case Isolation::read_uncommitted: return "READ UNCOMMITTED";
    case Isolation::read_committed: return "READ COMMITTED";
    case Isolation::repeatable_read: return "REPEATABLE READ";
    case Isolation::serializable: return "SERIALIZABLE";
    case Isolation::database_default: return "";
  }
  return "";
}

Result<std::vector<std::string>> render_start(const op::Transaction& t, SqlDialect dialect) {
  if (t.isolation != Isolation::database_default && isolation_sql(t.isolation).empty())
    return Error(ErrorKind::internal,
                 "unknown isolation level " + std::to_string(static_cast<int>(t.isolation)));
  switch (dialect) {
    case SqlDialect::sqlite: {
      // SQLite transactions are always serializable. For the levels that
      // promise no write conflicts later, take the write lock up front so the
      // transaction cannot fail with SQLITE_BUSY on its first write.
      const bool strict =
          t.isolation == Isolation::serializable || t.isolation == Isolation::repeatable_read;
      return std::vector<std::string>{!t.read_only && strict ? "BEGIN IMMEDIATE"
                                                             : "BEGIN DEFERRED"};
    }
    case SqlDialect::postgresql: {
      std::string sql = "BEGIN";
      if (t.isolation != Isolation::database_default)
        sql.append(" ISOLATION LEVEL ").append(isolation_sql(t.isolation));
      if (t.read_only) sql += " READ ONLY";
      return std::vector<std::string>{std::move(sql)};
    }
    case SqlDialect::mysql: {
      // SET TRANSACTION without SESSION applies to the next transaction only.
      std::vector<std::string> out;
      if (t.isolation != Isolation::database_default)
        out.push_back("SET TRANSACTION ISOLATION LEVEL " + std::string(isolation_sql(t.isolation)));
      out.push_back(t.read_only ? "START TRANSACTION READ ONLY" : "START TRANSACTION");
      return out;
    }
    case SqlDialect::none: break;
  }
  return unsupported_dialect();
}

}  // namespace

std::string quote_identifier(std::string_view name, SqlDialect dialect) {
  const char quote = dialect == SqlDialect::mysql ? '`' : '"';
  std::string out;
  out.reserve(name.size() + 2);
  out += quote;
  for (char c : name) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}

std::string placeholder(std::uint32_t param, SqlDialect dialect) {
  const std::uint64_t number = static_cast<std::uint64_t>(param) + 1;
  switch (dialect) {
    case SqlDialect::sqlite: return "?" + std::to_string(number);
    case SqlDialect::postgresql: return "$" + std::to_string(number);
    default: return "?";
  }
}

Result<std::string> render(const ast::Statement& statement, SqlDialect dialect) {
  return std::visit([dialect](const auto& s) { return render(s, dialect); }, statement);
}

Result<std::string> render(const ast::Select& select, SqlDialect dialect) {
  return render_with(select, dialect, [&](Writer& w) { return render_select_body(w, select); });
}

Result<std::string> render(const ast::Insert& insert, SqlDialect dialect) {
  return render_with(insert, dialect, [&](Writer& w) { return render_insert(w, insert, dialect); });
}

Result<std::string> render(const ast::Update& update, SqlDialect dialect) {
  return render_with(update, dialect, [&](Writer& w) { return render_update(w, update); });
}

Result<std::string> render(const ast::Delete& del, SqlDialect dialect) {
  return render_with(del, dialect, [&](Writer& w) { return render_delete(w, del); });
}

Result<std::vector<std::string>> render_create_table(const TableSchema& table, SqlDialect dialect,
                                                     bool if_not_exists) {
  if (!is_sql(dialect)) return unsupported_dialect();
  if (auto s = check_table(table); !s) return std::move(s).error();
  const auto indexed = key_or_indexed_columns(table);
  const bool inline_key = dialect == SqlDialect::sqlite && table.primary_key.size() == 1 &&
                          table.columns[table.column_index(table.primary_key[0])].auto_increment;

  std::string sql = if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ";
  sql += quote_identifier(table.name, dialect);
  sql += " (";
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    if (i > 0) sql += ", ";
    const ColumnDef& column = table.columns[i];
    if (auto s = render_column_def(sql, table, column, indexed.count(column.name) > 0, dialect); !s)
      return std::move(s).error();
  }
  if (!table.primary_key.empty() && !inline_key)
    sql += ", PRIMARY KEY " + column_list(table.primary_key, dialect);
  // MySQL has no CREATE INDEX IF NOT EXISTS, so its indexes live inside the
  // table definition and are created with it.
  if (dialect == SqlDialect::mysql)
    for (const auto& index : table.indexes)
      sql += (index.unique ? ", UNIQUE KEY " : ", KEY ") + quote_identifier(index.name, dialect) +
             " " + column_list(index.columns, dialect);
  for (const auto& fk : table.foreign_keys) {
    sql += ", ";
    if (!fk.name.empty()) sql += "CONSTRAINT " + quote_identifier(fk.name, dialect) + " ";
    sql += "FOREIGN KEY " + column_list(fk.columns, dialect) + " REFERENCES " +
           quote_identifier(fk.ref_table, dialect) + " " + column_list(fk.ref_columns, dialect);
    sql += on_delete_sql(fk.on_delete);
  }
  sql += ')';
  if (dialect == SqlDialect::mysql)
    // utf8mb4_bin orders text by code point, as sqlite's BINARY and
    // postgresql's "C" collation do, so every driver sorts text alike.
    sql += " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

  std::vector<std::string> out{std::move(sql)};
  if (dialect != SqlDialect::mysql) {
    for (const auto& index : table.indexes) {
      std::string create = index.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ";
      if (if_not_exists) create += "IF NOT EXISTS ";
      create += quote_identifier(index.name, dialect) + " ON " +
                quote_identifier(table.name, dialect) + " " + column_list(index.columns, dialect);
      out.push_back(std::move(create));
    }
  }
  return out;
}

std::string render_drop_table(std::string_view table, SqlDialect dialect, bool if_exists) {
  std::string sql = if_exists ? "DROP TABLE IF EXISTS " : "DROP TABLE ";
  sql += quote_identifier(table, dialect);
  // Foreign keys of other tables that reference this one go with it.
  if (dialect == SqlDialect::postgresql) sql += " CASCADE";
  return sql;
}

Result<std::string> column_type_sql(const ColumnDef& column, SqlDialect dialect,
                                    bool is_key_or_indexed) {
  using T = ColumnType;
  switch (dialect) {
    case SqlDialect::sqlite:
      switch (column.type) {
        case T::boolean:
        case T::int8:
        case T::int16:
        case T::int32:
        case T::int64:
        case T::uint8:
        case T::uint16:
        case T::uint32: return std::string("INTEGER");
        case T::float32:
        case T::float64: return std::string("REAL");
        case T::text: return std::string("TEXT");
        case T::bytes: return std::string("BLOB");
        case T::timestamp:
        case T::date: return std::string("TEXT");
      }
      break;
    case SqlDialect::postgresql:
      // Unsigned types take the next wider signed type, which holds their
      // whole range.
      switch (column.type) {
        case T::boolean: return std::string("BOOLEAN");
        case T::int8:
        case T::int16:
        case T::uint8: return std::string("SMALLINT");
        case T::int32:
        case T::uint16: return std::string("INTEGER");
        case T::int64:
        case T::uint32: return std::string("BIGINT");
        case T::float32: return std::string("REAL");
        case T::float64: return std::string("DOUBLE PRECISION");
        // Byte order, like sqlite's BINARY and mysql's utf8mb4_bin, so every
        // driver orders and compares text identically.
        case T::text: return std::string("TEXT COLLATE \"C\"");
        case T::bytes: return std::string("BYTEA");
        case T::timestamp: return std::string("TIMESTAMPTZ");
        case T::date: return std::string("DATE");
      }
      break;
    case SqlDialect::mysql:
      switch (column.type) {
        case T::boolean: return std::string("TINYINT(1)");
        case T::int8: return std::string("TINYINT");
        case T::int16: return std::string("SMALLINT");
        case T::int32: return std::string("INT");
        case T::int64: return std::string("BIGINT");
        case T::uint8: return std::string("TINYINT UNSIGNED");
        case T::uint16: return std::string("SMALLINT UNSIGNED");
        case T::uint32: return std::string("INT UNSIGNED");
        case T::float32: return std::string("FLOAT");
        case T::float64: return std::string("DOUBLE");
        // An indexed column needs a bounded type: LONGTEXT/LONGBLOB can be
        // indexed only by a prefix. 255 characters of utf8mb4 take up to 1020
        // bytes, within InnoDB's 3072-byte key limit (DYNAMIC row format, the
        // default since MySQL 5.7 and MariaDB 10.2), so a key of up to three
        // such columns fits.
        case T::text: return std::string(is_key_or_indexed ? "VARCHAR(255)" : "LONGTEXT");
        case T::bytes: return std::string(is_key_or_indexed ? "VARBINARY(255)" : "LONGBLOB");
        case T::timestamp: return std::string("DATETIME(6)");
        case T::date: return std::string("DATE");
      }
      break;
    case SqlDialect::none: return unsupported_dialect();
  }
  return Error(ErrorKind::internal, "unknown column type " +
                                        std::to_string(static_cast<int>(column.type)) +
                                        " for column " + quoted_for_message(column.name));
}

Result<std::vector<std::string>> render_transaction(const op::Transaction& t, SqlDialect dialect) {
  if (!is_sql(dialect)) return unsupported_dialect();
  using K = op::Transaction::Kind;
  std::string_view verb;
  switch (t.kind) {
    case K::start: return render_start(t, dialect);
    case K::commit: return std::vector<std::string>{"COMMIT"};
    case K::rollback: return std::vector<std::string>{"ROLLBACK"};
    case K::savepoint: verb = "SAVEPOINT "; break;
    case K::release: verb = "RELEASE SAVEPOINT "; break;
    case K::rollback_to: verb = "ROLLBACK TO SAVEPOINT "; break;
    default:
      return Error(ErrorKind::internal,
                   "unknown transaction operation " + std::to_string(static_cast<int>(t.kind)));
  }
  if (t.savepoint.empty() || t.savepoint.find('\0') != std::string_view::npos)
    return invalid_statement("savepoint name " + quoted_for_message(t.savepoint) +
                             " is empty or contains a NUL character");
  return std::vector<std::string>{std::string(verb) + quote_identifier(t.savepoint, dialect)};
}

Result<std::string> render_literal(const Value& value, ColumnType type, SqlDialect dialect) {
  if (!is_sql(dialect)) return unsupported_dialect();
  if (value.is_null()) return std::string("NULL");
  if (value.type() != value_type_of(type))
    return Error(ErrorKind::invalid_value, "a " + std::string(to_string(value.type())) +
                                               " value cannot be stored in a " +
                                               std::string(to_string(type)) + " column");
  switch (value.type()) {
    case ValueType::boolean:
      if (dialect == SqlDialect::postgresql) return std::string(value.as_bool() ? "TRUE" : "FALSE");
      return std::string(value.as_bool() ? "1" : "0");
    case ValueType::int64: {
      const std::int64_t v = value.as_int64();
      const auto [lo, hi] = integer_range(type);
      if (v < lo || v > hi)
        return Error(ErrorKind::invalid_value, "value " + std::to_string(v) +
                                                   " is out of range for a " +
                                                   std::string(to_string(type)) + " column");
      return std::to_string(v);
    }
    case ValueType::float64: return double_literal(value.as_double(), type);
    case ValueType::text:
      if (value.as_text().find('\0') != std::string::npos)
        return Error(ErrorKind::invalid_value, "a text literal cannot contain a NUL character");
      return text_literal(value.as_text(), dialect);
    case ValueType::bytes: return bytes_literal(value.as_bytes(), dialect);
    case ValueType::timestamp: {
      auto text = timestamp_text(value.as_timestamp());
      if (!text) return text;
      if (dialect == SqlDialect::postgresql) return "'" + *text + "+00'";
      return "'" + *text + "'";
    }
    case ValueType::date: {
      auto text = date_text(value.as_date());
      if (!text) return text;
      return "'" + *text + "'";
    }
    case ValueType::null: break;
  }
  return std::string("NULL");
}

}  // namespace tessera::sql
