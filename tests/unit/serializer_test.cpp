// Golden SQL for every construct the serializer renders, in every dialect.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/sql/serializer.hpp"

namespace {

using tessera::ColumnDef;
using tessera::ColumnType;
using tessera::Date;
using tessera::ErrorKind;
using tessera::ForeignKeyAction;
using tessera::Isolation;
using tessera::SqlDialect;
using tessera::TableSchema;
using tessera::Timestamp;
using tessera::Value;
using tessera::ast::Expr;
using K = Expr::Kind;
using Tx = tessera::op::Transaction;
using Strings = std::vector<std::string>;

constexpr SqlDialect lite = SqlDialect::sqlite;
constexpr SqlDialect pg = SqlDialect::postgresql;
constexpr SqlDialect my = SqlDialect::mysql;

Expr col(std::string name) {
  Expr e;
  e.kind = K::column;
  e.column = std::move(name);
  return e;
}

Expr p(std::uint32_t index) {
  Expr e;
  e.kind = K::param;
  e.param = index;
  return e;
}

Expr op(K kind, std::vector<Expr> children = {}) {
  Expr e;
  e.kind = kind;
  e.children = std::move(children);
  return e;
}

// The rendered SQL, or the error, so a failing CHECK shows why.
template <class Statement>
std::string rendered(const Statement& statement, SqlDialect dialect) {
  auto r = tessera::sql::render(statement, dialect);
  if (r.ok()) return r.value();
  return "error " + std::string(tessera::to_string(r.error().kind)) + ": " + r.error().message;
}

template <class R>
ErrorKind error_kind(const R& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().kind;
}

template <class Statement>
ErrorKind render_error(const Statement& statement, SqlDialect dialect) {
  return error_kind(tessera::sql::render(statement, dialect));
}

tessera::ast::Select select_where(Expr where) {
  tessera::ast::Select s;
  s.table = "t";
  s.columns = {"id"};
  s.has_where = true;
  s.where = std::move(where);
  return s;
}

std::string where_sql(Expr where, SqlDialect dialect) {
  return rendered(select_where(std::move(where)), dialect);
}

Strings create(const TableSchema& table, SqlDialect dialect, bool if_not_exists = true) {
  auto r = tessera::sql::render_create_table(table, dialect, if_not_exists);
  if (r.ok()) return r.value();
  return {"error " + std::string(tessera::to_string(r.error().kind)) + ": " + r.error().message};
}

std::string literal(const Value& v, ColumnType type, SqlDialect dialect) {
  auto r = tessera::sql::render_literal(v, type, dialect);
  if (r.ok()) return r.value();
  return "error " + std::string(tessera::to_string(r.error().kind)) + ": " + r.error().message;
}

Strings tx(Tx t, SqlDialect dialect) {
  auto r = tessera::sql::render_transaction(t, dialect);
  if (r.ok()) return r.value();
  return {"error " + std::string(tessera::to_string(r.error().kind)) + ": " + r.error().message};
}

ColumnDef column(std::string name, ColumnType type, bool nullable = false) {
  ColumnDef c;
  c.name = std::move(name);
  c.type = type;
  c.nullable = nullable;
  return c;
}

ColumnDef with_default(ColumnDef c, Value v) {
  c.default_value = std::move(v);
  return c;
}

TableSchema users_table() {
  TableSchema t;
  t.name = "users";
  ColumnDef id = column("id", ColumnType::int64);
  id.auto_increment = true;
  t.columns = {id, column("name", ColumnType::text), column("email", ColumnType::text),
               column("bio", ColumnType::text, true), column("created_at", ColumnType::timestamp)};
  t.primary_key = {"id"};
  t.indexes = {{"idx_users_name", {"name"}, false}, {"uq_users_email", {"email"}, true}};
  return t;
}

}  // namespace

TEST_CASE("serializer: quote_identifier doubles embedded quotes") {
  using tessera::sql::quote_identifier;
  CHECK(quote_identifier("users", lite) == R"sql("users")sql");
  CHECK(quote_identifier("users", pg) == R"sql("users")sql");
  CHECK(quote_identifier("users", my) == "`users`");
  CHECK(quote_identifier(R"(we"ird)", lite) == R"sql("we""ird")sql");
  CHECK(quote_identifier(R"(we"ird)", pg) == R"sql("we""ird")sql");
  CHECK(quote_identifier("we`ird", my) == "`we``ird`");
  CHECK(quote_identifier(R"(we"ird)", my) == R"sql(`we"ird`)sql");
  CHECK(quote_identifier("we`ird", lite) == R"sql("we`ird")sql");
  CHECK(quote_identifier("select", lite) == R"sql("select")sql");
}

TEST_CASE("serializer: placeholder numbering") {
  using tessera::sql::placeholder;
  CHECK(placeholder(0, lite) == "?1");
  CHECK(placeholder(41, lite) == "?42");
  CHECK(placeholder(0, pg) == "$1");
  CHECK(placeholder(41, pg) == "$42");
  CHECK(placeholder(0, my) == "?");
  CHECK(placeholder(41, my) == "?");
  CHECK(placeholder(std::numeric_limits<std::uint32_t>::max(), pg) == "$4294967296");
}

TEST_CASE("serializer: select with where, order by, limit and offset") {
  tessera::ast::Select s;
  s.table = "users";
  s.columns = {"id", "name"};
  s.has_where = true;
  s.where = op(K::and_, {op(K::eq, {col("name"), p(0)}), op(K::gt, {col("age"), p(1)})});
  s.order_by = {{"name", false}, {"id", true}};
  s.limit_param = 2;
  s.offset_param = 3;
  CHECK(
      rendered(s, lite) ==
      R"sql(SELECT "id", "name" FROM "users" WHERE ("name" = ?1 AND "age" > ?2) ORDER BY "name" ASC, "id" DESC LIMIT ?3 OFFSET ?4)sql");
  CHECK(
      rendered(s, pg) ==
      R"sql(SELECT "id", "name" FROM "users" WHERE ("name" = $1 AND "age" > $2) ORDER BY "name" ASC NULLS FIRST, "id" DESC NULLS LAST LIMIT $3 OFFSET $4)sql");
  CHECK(rendered(s, my) ==
        "SELECT `id`, `name` FROM `users` WHERE (`name` = ? AND `age` > ?) ORDER BY `name` ASC, "
        "`id` DESC LIMIT ? OFFSET ?");
}

TEST_CASE("serializer: select without where, limit only, offset only") {
  tessera::ast::Select s;
  s.table = "users";
  s.columns = {"id"};
  CHECK(rendered(s, lite) == R"sql(SELECT "id" FROM "users")sql");
  CHECK(rendered(s, pg) == R"sql(SELECT "id" FROM "users")sql");
  CHECK(rendered(s, my) == "SELECT `id` FROM `users`");

  s.order_by = {{"id", false}};
  s.limit_param = 0;
  CHECK(rendered(s, lite) == R"sql(SELECT "id" FROM "users" ORDER BY "id" ASC LIMIT ?1)sql");
  CHECK(rendered(s, pg) ==
        R"sql(SELECT "id" FROM "users" ORDER BY "id" ASC NULLS FIRST LIMIT $1)sql");
  CHECK(rendered(s, my) == "SELECT `id` FROM `users` ORDER BY `id` ASC LIMIT ?");

  s.limit_param = -1;
  s.offset_param = 0;
  CHECK(rendered(s, lite) ==
        R"sql(SELECT "id" FROM "users" ORDER BY "id" ASC LIMIT -1 OFFSET ?1)sql");
  CHECK(rendered(s, pg) ==
        R"sql(SELECT "id" FROM "users" ORDER BY "id" ASC NULLS FIRST OFFSET $1)sql");
  CHECK(rendered(s, my) ==
        "SELECT `id` FROM `users` ORDER BY `id` ASC LIMIT 18446744073709551615 OFFSET ?");
}

TEST_CASE("serializer: comparison operators") {
  CHECK(where_sql(op(K::eq, {col("a"), p(0)}), lite) ==
        R"sql(SELECT "id" FROM "t" WHERE "a" = ?1)sql");
  CHECK(where_sql(op(K::ne, {col("a"), p(0)}), lite) ==
        R"sql(SELECT "id" FROM "t" WHERE "a" <> ?1)sql");
  CHECK(where_sql(op(K::lt, {col("a"), p(0)}), pg) ==
        R"sql(SELECT "id" FROM "t" WHERE "a" < $1)sql");
  CHECK(where_sql(op(K::le, {col("a"), p(0)}), pg) ==
        R"sql(SELECT "id" FROM "t" WHERE "a" <= $1)sql");
  CHECK(where_sql(op(K::gt, {col("a"), p(0)}), my) == "SELECT `id` FROM `t` WHERE `a` > ?");
  CHECK(where_sql(op(K::ge, {col("a"), p(0)}), my) == "SELECT `id` FROM `t` WHERE `a` >= ?");
  CHECK(where_sql(op(K::eq, {col("a"), col("b")}), my) == "SELECT `id` FROM `t` WHERE `a` = `b`");
}

TEST_CASE("serializer: like escapes with backslash") {
  const Expr like = op(K::like, {col("name"), p(0)});
  CHECK(where_sql(like, lite) == R"sql(SELECT "id" FROM "t" WHERE "name" LIKE ?1 ESCAPE '\')sql");
  CHECK(where_sql(like, pg) == R"sql(SELECT "id" FROM "t" WHERE "name" LIKE $1 ESCAPE '\')sql");
  CHECK(where_sql(like, my) == R"sql(SELECT `id` FROM `t` WHERE `name` LIKE ? ESCAPE '\\')sql");
}

TEST_CASE("serializer: in, not in, between, is null") {
  const Expr in = op(K::in, {col("a"), p(0), p(1)});
  CHECK(where_sql(in, lite) == R"sql(SELECT "id" FROM "t" WHERE "a" IN (?1, ?2))sql");
  CHECK(where_sql(in, pg) == R"sql(SELECT "id" FROM "t" WHERE "a" IN ($1, $2))sql");
  CHECK(where_sql(in, my) == "SELECT `id` FROM `t` WHERE `a` IN (?, ?)");

  const Expr in_one = op(K::in, {col("a"), p(0)});
  CHECK(where_sql(in_one, lite) == R"sql(SELECT "id" FROM "t" WHERE "a" IN (?1))sql");

  const Expr not_in = op(K::not_in, {col("a"), p(0), p(1), p(2)});
  CHECK(where_sql(not_in, lite) == R"sql(SELECT "id" FROM "t" WHERE "a" NOT IN (?1, ?2, ?3))sql");
  CHECK(where_sql(not_in, pg) == R"sql(SELECT "id" FROM "t" WHERE "a" NOT IN ($1, $2, $3))sql");
  CHECK(where_sql(not_in, my) == "SELECT `id` FROM `t` WHERE `a` NOT IN (?, ?, ?)");

  const Expr between = op(K::between, {col("a"), p(0), p(1)});
  CHECK(where_sql(between, lite) == R"sql(SELECT "id" FROM "t" WHERE "a" BETWEEN ?1 AND ?2)sql");
  CHECK(where_sql(between, pg) == R"sql(SELECT "id" FROM "t" WHERE "a" BETWEEN $1 AND $2)sql");
  CHECK(where_sql(between, my) == "SELECT `id` FROM `t` WHERE `a` BETWEEN ? AND ?");

  CHECK(where_sql(op(K::is_null, {col("bio")}), lite) ==
        R"sql(SELECT "id" FROM "t" WHERE "bio" IS NULL)sql");
  CHECK(where_sql(op(K::is_not_null, {col("bio")}), pg) ==
        R"sql(SELECT "id" FROM "t" WHERE "bio" IS NOT NULL)sql");
  CHECK(where_sql(op(K::is_null, {col("bio")}), my) == "SELECT `id` FROM `t` WHERE `bio` IS NULL");
  CHECK(where_sql(op(K::is_not_null, {col("bio")}), my) ==
        "SELECT `id` FROM `t` WHERE `bio` IS NOT NULL");
}

TEST_CASE("serializer: true and false constants") {
  CHECK(where_sql(op(K::true_), lite) == R"sql(SELECT "id" FROM "t" WHERE 1)sql");
  CHECK(where_sql(op(K::false_), lite) == R"sql(SELECT "id" FROM "t" WHERE 0)sql");
  CHECK(where_sql(op(K::true_), pg) == R"sql(SELECT "id" FROM "t" WHERE TRUE)sql");
  CHECK(where_sql(op(K::false_), pg) == R"sql(SELECT "id" FROM "t" WHERE FALSE)sql");
  CHECK(where_sql(op(K::true_), my) == "SELECT `id` FROM `t` WHERE TRUE");
  CHECK(where_sql(op(K::false_), my) == "SELECT `id` FROM `t` WHERE FALSE");
  CHECK(where_sql(op(K::and_, {op(K::false_), op(K::eq, {col("a"), p(0)})}), lite) ==
        R"sql(SELECT "id" FROM "t" WHERE (0 AND "a" = ?1))sql");
}

TEST_CASE("serializer: nested and, or, not are parenthesised") {
  // (a = 1 AND b = 2) OR NOT (c IS NULL) OR (d < 3 AND (e > 4 OR f >= 5))
  const Expr e =
      op(K::or_,
         {op(K::and_, {op(K::eq, {col("a"), p(0)}), op(K::eq, {col("b"), p(1)})}),
          op(K::not_, {op(K::is_null, {col("c")})}),
          op(K::and_, {op(K::lt, {col("d"), p(2)}),
                       op(K::or_, {op(K::gt, {col("e"), p(3)}), op(K::ge, {col("f"), p(4)})})})});
  CHECK(
      where_sql(e, lite) ==
      R"sql(SELECT "id" FROM "t" WHERE (("a" = ?1 AND "b" = ?2) OR NOT ("c" IS NULL) OR ("d" < ?3 AND ("e" > ?4 OR "f" >= ?5))))sql");
  CHECK(
      where_sql(e, pg) ==
      R"sql(SELECT "id" FROM "t" WHERE (("a" = $1 AND "b" = $2) OR NOT ("c" IS NULL) OR ("d" < $3 AND ("e" > $4 OR "f" >= $5))))sql");
  CHECK(where_sql(e, my) ==
        "SELECT `id` FROM `t` WHERE ((`a` = ? AND `b` = ?) OR NOT (`c` IS NULL) OR (`d` < ? AND "
        "(`e` > ? OR `f` >= ?)))");

  const Expr not_group =
      op(K::not_, {op(K::or_, {op(K::eq, {col("a"), p(0)}), op(K::like, {col("b"), p(1)})})});
  CHECK(where_sql(not_group, lite) ==
        R"sql(SELECT "id" FROM "t" WHERE NOT ("a" = ?1 OR "b" LIKE ?2 ESCAPE '\'))sql");
  CHECK(where_sql(not_group, my) ==
        R"sql(SELECT `id` FROM `t` WHERE NOT (`a` = ? OR `b` LIKE ? ESCAPE '\\'))sql");

  const Expr not_not = op(K::not_, {op(K::not_, {op(K::eq, {col("a"), p(0)})})});
  CHECK(where_sql(not_not, pg) == R"sql(SELECT "id" FROM "t" WHERE NOT (NOT ("a" = $1)))sql");

  const Expr not_in_and = op(K::and_, {op(K::not_in, {col("a"), p(0)}),
                                       op(K::not_, {op(K::between, {col("b"), p(1), p(2)})})});
  CHECK(where_sql(not_in_and, lite) ==
        R"sql(SELECT "id" FROM "t" WHERE ("a" NOT IN (?1) AND NOT ("b" BETWEEN ?2 AND ?3)))sql");

  // A compound operand of a comparison is parenthesised too.
  const Expr compare_bool = op(K::eq, {op(K::eq, {col("a"), p(0)}), op(K::false_)});
  CHECK(where_sql(compare_bool, lite) == R"sql(SELECT "id" FROM "t" WHERE ("a" = ?1) = 0)sql");
}

TEST_CASE("serializer: malformed expressions are refused") {
  CHECK(render_error(select_where(op(K::and_, {op(K::eq, {col("a"), p(0)})})), lite) ==
        ErrorKind::invalid_statement);
  CHECK(render_error(select_where(op(K::in, {col("a")})), pg) == ErrorKind::invalid_statement);
  CHECK(render_error(select_where(op(K::eq, {col("a")})), my) == ErrorKind::invalid_statement);
  CHECK(render_error(select_where(op(K::between, {col("a"), p(0)})), lite) ==
        ErrorKind::invalid_statement);
  CHECK(render_error(select_where(op(K::eq, {col(""), p(0)})), lite) ==
        ErrorKind::invalid_statement);
  tessera::ast::Select no_columns;
  no_columns.table = "t";
  CHECK(render_error(no_columns, pg) == ErrorKind::invalid_statement);
}

TEST_CASE("serializer: count ignores order and wraps a page") {
  tessera::ast::Select s;
  s.table = "users";
  s.projection = tessera::ast::Select::Projection::count;
  s.has_where = true;
  s.where = op(K::gt, {col("age"), p(0)});
  s.order_by = {{"name", false}};
  CHECK(rendered(s, lite) == R"sql(SELECT COUNT(*) FROM "users" WHERE "age" > ?1)sql");
  CHECK(rendered(s, pg) == R"sql(SELECT COUNT(*) FROM "users" WHERE "age" > $1)sql");
  CHECK(rendered(s, my) == "SELECT COUNT(*) FROM `users` WHERE `age` > ?");

  s.limit_param = 1;
  s.offset_param = 2;
  CHECK(
      rendered(s, lite) ==
      R"sql(SELECT COUNT(*) FROM (SELECT 1 FROM "users" WHERE "age" > ?1 LIMIT ?2 OFFSET ?3) AS "q")sql");
  CHECK(
      rendered(s, pg) ==
      R"sql(SELECT COUNT(*) FROM (SELECT 1 FROM "users" WHERE "age" > $1 LIMIT $2 OFFSET $3) AS "q")sql");
  CHECK(rendered(s, my) ==
        "SELECT COUNT(*) FROM (SELECT 1 FROM `users` WHERE `age` > ? LIMIT ? OFFSET ?) AS `q`");

  s.limit_param = -1;
  s.offset_param = 1;
  CHECK(
      rendered(s, lite) ==
      R"sql(SELECT COUNT(*) FROM (SELECT 1 FROM "users" WHERE "age" > ?1 LIMIT -1 OFFSET ?2) AS "q")sql");

  tessera::ast::Select all;
  all.table = "users";
  all.projection = tessera::ast::Select::Projection::count;
  CHECK(rendered(all, lite) == R"sql(SELECT COUNT(*) FROM "users")sql");
  CHECK(rendered(all, my) == "SELECT COUNT(*) FROM `users`");
}

TEST_CASE("serializer: exists") {
  tessera::ast::Select s;
  s.table = "users";
  s.projection = tessera::ast::Select::Projection::exists;
  s.has_where = true;
  s.where = op(K::eq, {col("name"), p(0)});
  s.order_by = {{"name", true}};
  CHECK(rendered(s, lite) == R"sql(SELECT EXISTS (SELECT 1 FROM "users" WHERE "name" = ?1))sql");
  CHECK(rendered(s, pg) == R"sql(SELECT EXISTS (SELECT 1 FROM "users" WHERE "name" = $1))sql");
  CHECK(rendered(s, my) == "SELECT EXISTS (SELECT 1 FROM `users` WHERE `name` = ?)");

  // A page can change the answer and its parameters must be bound, so it stays.
  s.limit_param = 1;
  s.offset_param = 2;
  CHECK(rendered(s, lite) ==
        R"sql(SELECT EXISTS (SELECT 1 FROM "users" WHERE "name" = ?1 LIMIT ?2 OFFSET ?3))sql");
  CHECK(rendered(s, my) ==
        "SELECT EXISTS (SELECT 1 FROM `users` WHERE `name` = ? LIMIT ? OFFSET ?)");

  tessera::ast::Select any;
  any.table = "users";
  any.projection = tessera::ast::Select::Projection::exists;
  CHECK(rendered(any, pg) == R"sql(SELECT EXISTS (SELECT 1 FROM "users"))sql");
}

TEST_CASE("serializer: insert one and many rows") {
  tessera::ast::Insert ins;
  ins.table = "users";
  ins.columns = {"name", "email"};
  CHECK(rendered(ins, lite) == R"sql(INSERT INTO "users" ("name", "email") VALUES (?1, ?2))sql");
  CHECK(rendered(ins, pg) == R"sql(INSERT INTO "users" ("name", "email") VALUES ($1, $2))sql");
  CHECK(rendered(ins, my) == "INSERT INTO `users` (`name`, `email`) VALUES (?, ?)");

  ins.row_count = 3;
  CHECK(rendered(ins, lite) ==
        R"sql(INSERT INTO "users" ("name", "email") VALUES (?1, ?2), (?3, ?4), (?5, ?6))sql");
  CHECK(rendered(ins, pg) ==
        R"sql(INSERT INTO "users" ("name", "email") VALUES ($1, $2), ($3, $4), ($5, $6))sql");
  CHECK(rendered(ins, my) == "INSERT INTO `users` (`name`, `email`) VALUES (?, ?), (?, ?), (?, ?)");

  ins.row_count = 0;
  CHECK(render_error(ins, lite) == ErrorKind::invalid_statement);
}

TEST_CASE("serializer: insert returning") {
  tessera::ast::Insert ins;
  ins.table = "users";
  ins.columns = {"name"};
  ins.row_count = 2;
  ins.returning = {"id", "created_at"};
  CHECK(rendered(ins, lite) ==
        R"sql(INSERT INTO "users" ("name") VALUES (?1), (?2) RETURNING "id", "created_at")sql");
  CHECK(rendered(ins, pg) ==
        R"sql(INSERT INTO "users" ("name") VALUES ($1), ($2) RETURNING "id", "created_at")sql");
  CHECK(rendered(ins, my) ==
        "INSERT INTO `users` (`name`) VALUES (?), (?) RETURNING `id`, `created_at`");
}

TEST_CASE("serializer: insert of default values") {
  tessera::ast::Insert ins;
  ins.table = "users";
  CHECK(rendered(ins, lite) == R"sql(INSERT INTO "users" DEFAULT VALUES)sql");
  CHECK(rendered(ins, pg) == R"sql(INSERT INTO "users" DEFAULT VALUES)sql");
  CHECK(rendered(ins, my) == "INSERT INTO `users` () VALUES ()");

  ins.returning = {"id"};
  CHECK(rendered(ins, lite) == R"sql(INSERT INTO "users" DEFAULT VALUES RETURNING "id")sql");
  CHECK(rendered(ins, pg) == R"sql(INSERT INTO "users" DEFAULT VALUES RETURNING "id")sql");
  CHECK(rendered(ins, my) == "INSERT INTO `users` () VALUES () RETURNING `id`");

  ins.returning.clear();
  ins.row_count = 3;
  CHECK(rendered(ins, my) == "INSERT INTO `users` () VALUES (), (), ()");
  CHECK(render_error(ins, lite) == ErrorKind::unsupported);
  CHECK(render_error(ins, pg) == ErrorKind::unsupported);

  ins.row_count = 1;
  ins.on_conflict.action = tessera::ast::OnConflict::Action::do_nothing;
  CHECK(render_error(ins, lite) == ErrorKind::unsupported);
  CHECK(rendered(ins, pg) == R"sql(INSERT INTO "users" DEFAULT VALUES ON CONFLICT DO NOTHING)sql");
  CHECK(render_error(ins, my) == ErrorKind::unsupported);
}

TEST_CASE("serializer: upsert that ignores conflicts") {
  using Action = tessera::ast::OnConflict::Action;
  tessera::ast::Insert ins;
  ins.table = "kv";
  ins.columns = {"k", "v"};
  ins.on_conflict.action = Action::do_nothing;
  ins.on_conflict.target = {"k"};
  CHECK(rendered(ins, lite) ==
        R"sql(INSERT INTO "kv" ("k", "v") VALUES (?1, ?2) ON CONFLICT ("k") DO NOTHING)sql");
  CHECK(rendered(ins, pg) ==
        R"sql(INSERT INTO "kv" ("k", "v") VALUES ($1, $2) ON CONFLICT ("k") DO NOTHING)sql");
  CHECK(rendered(ins, my) ==
        "INSERT INTO `kv` (`k`, `v`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `k` = `k`");

  ins.on_conflict.target = {"v", "k"};
  CHECK(rendered(ins, lite) ==
        R"sql(INSERT INTO "kv" ("k", "v") VALUES (?1, ?2) ON CONFLICT ("v", "k") DO NOTHING)sql");
  CHECK(rendered(ins, my) ==
        "INSERT INTO `kv` (`k`, `v`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `v` = `v`");

  ins.on_conflict.target.clear();
  CHECK(rendered(ins, lite) ==
        R"sql(INSERT INTO "kv" ("k", "v") VALUES (?1, ?2) ON CONFLICT DO NOTHING)sql");
  CHECK(rendered(ins, pg) ==
        R"sql(INSERT INTO "kv" ("k", "v") VALUES ($1, $2) ON CONFLICT DO NOTHING)sql");
  CHECK(rendered(ins, my) ==
        "INSERT INTO `kv` (`k`, `v`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `k` = `k`");

  // An update with nothing to set ignores the conflict.
  ins.on_conflict.action = Action::update;
  ins.on_conflict.target = {"k"};
  CHECK(rendered(ins, pg) ==
        R"sql(INSERT INTO "kv" ("k", "v") VALUES ($1, $2) ON CONFLICT ("k") DO NOTHING)sql");
  CHECK(rendered(ins, my) ==
        "INSERT INTO `kv` (`k`, `v`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `k` = `k`");
}

TEST_CASE("serializer: upsert that updates on conflict") {
  using Action = tessera::ast::OnConflict::Action;
  tessera::ast::Insert ins;
  ins.table = "kv";
  ins.columns = {"k", "v", "n"};
  ins.row_count = 2;
  ins.on_conflict.action = Action::update;
  ins.on_conflict.target = {"k"};
  ins.on_conflict.update_columns = {"v", "n"};
  ins.returning = {"id"};
  CHECK(
      rendered(ins, lite) ==
      R"sql(INSERT INTO "kv" ("k", "v", "n") VALUES (?1, ?2, ?3), (?4, ?5, ?6) ON CONFLICT ("k") DO UPDATE SET "v" = excluded."v", "n" = excluded."n" RETURNING "id")sql");
  CHECK(
      rendered(ins, pg) ==
      R"sql(INSERT INTO "kv" ("k", "v", "n") VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT ("k") DO UPDATE SET "v" = excluded."v", "n" = excluded."n" RETURNING "id")sql");
  CHECK(rendered(ins, my) ==
        "INSERT INTO `kv` (`k`, `v`, `n`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE "
        "`v` = VALUES(`v`), `n` = VALUES(`n`) RETURNING `id`");

  // Without a target only mysql, which never names one, can render it.
  ins.on_conflict.target.clear();
  ins.returning.clear();
  ins.row_count = 1;
  CHECK(render_error(ins, lite) == ErrorKind::invalid_statement);
  CHECK(render_error(ins, pg) == ErrorKind::invalid_statement);
  CHECK(rendered(ins, my) ==
        "INSERT INTO `kv` (`k`, `v`, `n`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `v` = "
        "VALUES(`v`), `n` = VALUES(`n`)");
}

TEST_CASE("serializer: a batched update by key sets each column to a CASE over the keys") {
  tessera::ast::Update up;
  up.table = "items";
  tessera::ast::Assignment qty;
  qty.column = "qty";
  qty.has_value = true;
  qty.value =
      op(K::case_, {op(K::eq, {col("id"), p(0)}), p(1), op(K::eq, {col("id"), p(2)}), p(3)});
  up.set = {qty};
  up.has_where = true;
  up.where = op(K::in, {col("id"), p(4), p(5)});
  CHECK(
      rendered(up, lite) ==
      R"sql(UPDATE "items" SET "qty" = CASE WHEN "id" = ?1 THEN ?2 WHEN "id" = ?3 THEN ?4 END WHERE "id" IN (?5, ?6))sql");
  CHECK(
      rendered(up, pg) ==
      R"sql(UPDATE "items" SET "qty" = CASE WHEN "id" = $1 THEN $2 WHEN "id" = $3 THEN $4 END WHERE "id" IN ($5, $6))sql");
  CHECK(rendered(up, my) ==
        "UPDATE `items` SET `qty` = CASE WHEN `id` = ? THEN ? WHEN `id` = ? THEN ? END WHERE `id` "
        "IN (?, ?)");
  up.set[0].value.children.pop_back();  // WHEN without THEN
  CHECK(render_error(up, lite) == ErrorKind::invalid_statement);
}

TEST_CASE("serializer: update and delete") {
  tessera::ast::Update up;
  up.table = "users";
  up.set = {{"name", 0}, {"bio", 1}};
  up.has_where = true;
  up.where = op(K::eq, {col("id"), p(2)});
  CHECK(rendered(up, lite) ==
        R"sql(UPDATE "users" SET "name" = ?1, "bio" = ?2 WHERE "id" = ?3)sql");
  CHECK(rendered(up, pg) == R"sql(UPDATE "users" SET "name" = $1, "bio" = $2 WHERE "id" = $3)sql");
  CHECK(rendered(up, my) == "UPDATE `users` SET `name` = ?, `bio` = ? WHERE `id` = ?");

  up.has_where = false;
  CHECK(rendered(up, lite) == R"sql(UPDATE "users" SET "name" = ?1, "bio" = ?2)sql");

  up.set.clear();
  CHECK(render_error(up, lite) == ErrorKind::invalid_statement);
  CHECK(render_error(up, my) == ErrorKind::invalid_statement);

  tessera::ast::Delete del;
  del.table = "users";
  del.has_where = true;
  del.where = op(K::in, {col("id"), p(0), p(1)});
  CHECK(rendered(del, lite) == R"sql(DELETE FROM "users" WHERE "id" IN (?1, ?2))sql");
  CHECK(rendered(del, pg) == R"sql(DELETE FROM "users" WHERE "id" IN ($1, $2))sql");
  CHECK(rendered(del, my) == "DELETE FROM `users` WHERE `id` IN (?, ?)");

  del.has_where = false;
  CHECK(rendered(del, lite) == R"sql(DELETE FROM "users")sql");
  CHECK(rendered(del, my) == "DELETE FROM `users`");
}

TEST_CASE("serializer: render of a Statement variant") {
  tessera::ast::Delete del;
  del.table = "users";
  del.has_where = true;
  del.where = op(K::eq, {col("id"), p(0)});
  const tessera::ast::Statement statement = del;
  CHECK(rendered(statement, pg) == R"sql(DELETE FROM "users" WHERE "id" = $1)sql");
  CHECK(rendered(statement, my) == "DELETE FROM `users` WHERE `id` = ?");
}

TEST_CASE("serializer: mysql requires parameters in order of appearance") {
  // Numbered placeholders bind any order; positional `?` cannot.
  const auto swapped =
      select_where(op(K::and_, {op(K::eq, {col("a"), p(1)}), op(K::eq, {col("b"), p(0)})}));
  CHECK(rendered(swapped, lite) == R"sql(SELECT "id" FROM "t" WHERE ("a" = ?2 AND "b" = ?1))sql");
  CHECK(rendered(swapped, pg) == R"sql(SELECT "id" FROM "t" WHERE ("a" = $2 AND "b" = $1))sql");
  CHECK(render_error(swapped, my) == ErrorKind::internal);

  CHECK(render_error(select_where(op(K::eq, {col("a"), p(1)})), my) == ErrorKind::internal);

  auto limit_first = select_where(op(K::eq, {col("a"), p(1)}));
  limit_first.limit_param = 0;
  CHECK(render_error(limit_first, my) == ErrorKind::internal);

  tessera::ast::Update up;
  up.table = "users";
  up.set = {{"name", 1}};
  up.has_where = true;
  up.where = op(K::eq, {col("id"), p(0)});
  CHECK(render_error(up, my) == ErrorKind::internal);
  CHECK(rendered(up, lite) == R"sql(UPDATE "users" SET "name" = ?2 WHERE "id" = ?1)sql");
}

TEST_CASE("serializer: identifiers with quote characters") {
  tessera::ast::Select s;
  s.table = R"(od"d)";
  s.columns = {"c`d", R"(e"f)"};
  s.has_where = true;
  s.where = op(K::eq, {col(R"(x"; DROP TABLE users; --)"), p(0)});
  CHECK(rendered(s, lite) ==
        R"sql(SELECT "c`d", "e""f" FROM "od""d" WHERE "x""; DROP TABLE users; --" = ?1)sql");
  CHECK(rendered(s, pg) ==
        R"sql(SELECT "c`d", "e""f" FROM "od""d" WHERE "x""; DROP TABLE users; --" = $1)sql");
  CHECK(rendered(s, my) ==
        R"sql(SELECT `c``d`, `e"f` FROM `od"d` WHERE `x"; DROP TABLE users; --` = ?)sql");
}

TEST_CASE("serializer: create table with auto-increment key and indexes") {
  const TableSchema users = users_table();
  CHECK(
      create(users, lite) ==
      Strings{
          R"sql(CREATE TABLE IF NOT EXISTS "users" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL, "email" TEXT NOT NULL, "bio" TEXT, "created_at" TEXT NOT NULL))sql",
          R"sql(CREATE INDEX IF NOT EXISTS "idx_users_name" ON "users" ("name"))sql",
          R"sql(CREATE UNIQUE INDEX IF NOT EXISTS "uq_users_email" ON "users" ("email"))sql"});
  CHECK(
      create(users, pg) ==
      Strings{
          R"sql(CREATE TABLE IF NOT EXISTS "users" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY, "name" TEXT COLLATE "C" NOT NULL, "email" TEXT COLLATE "C" NOT NULL, "bio" TEXT COLLATE "C", "created_at" TIMESTAMPTZ NOT NULL, PRIMARY KEY ("id")))sql",
          R"sql(CREATE INDEX IF NOT EXISTS "idx_users_name" ON "users" ("name"))sql",
          R"sql(CREATE UNIQUE INDEX IF NOT EXISTS "uq_users_email" ON "users" ("email"))sql"});
  CHECK(create(users, my) ==
        Strings{"CREATE TABLE IF NOT EXISTS `users` (`id` BIGINT NOT NULL AUTO_INCREMENT, `name` "
                "VARCHAR(255) NOT NULL, `email` VARCHAR(255) NOT NULL, `bio` LONGTEXT, "
                "`created_at` DATETIME(6) NOT NULL, PRIMARY KEY (`id`), KEY `idx_users_name` "
                "(`name`), UNIQUE KEY `uq_users_email` (`email`)) ENGINE=InnoDB DEFAULT "
                "CHARSET=utf8mb4 COLLATE=utf8mb4_bin"});

  CHECK(
      create(users, lite, false) ==
      Strings{
          R"sql(CREATE TABLE "users" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL, "email" TEXT NOT NULL, "bio" TEXT, "created_at" TEXT NOT NULL))sql",
          R"sql(CREATE INDEX "idx_users_name" ON "users" ("name"))sql",
          R"sql(CREATE UNIQUE INDEX "uq_users_email" ON "users" ("email"))sql"});
}

TEST_CASE("serializer: create table with composite key, foreign keys and defaults") {
  TableSchema t;
  t.name = "memberships";
  t.columns = {
      column("org_id", ColumnType::int64),
      column("user_id", ColumnType::int64),
      with_default(column("role", ColumnType::text), "member"),
      with_default(column("active", ColumnType::boolean), true),
      with_default(column("weight", ColumnType::float64), 0.5),
      with_default(column("since", ColumnType::date), Date::from_civil(2020, 1, 2)),
      with_default(column("note", ColumnType::bytes, true),
                   tessera::Bytes{std::byte{0x00}, std::byte{0xff}}),
      with_default(column("updated", ColumnType::timestamp),
                   Timestamp::from_civil(2021, 2, 3, 4, 5, 6, 7)),
      with_default(column("motto", ColumnType::text, true), "it's"),
  };
  t.primary_key = {"org_id", "user_id"};
  t.indexes = {{"idx_m_role", {"role", "active"}, false}};
  t.foreign_keys = {{"fk_m_user", {"user_id"}, "users", {"id"}, ForeignKeyAction::cascade},
                    {"fk_m_org", {"org_id"}, "orgs", {"id"}, ForeignKeyAction::no_action}};
  CHECK(
      create(t, lite, false) ==
      Strings{
          R"sql(CREATE TABLE "memberships" ("org_id" INTEGER NOT NULL, "user_id" INTEGER NOT NULL, "role" TEXT NOT NULL DEFAULT 'member', "active" INTEGER NOT NULL DEFAULT 1, "weight" REAL NOT NULL DEFAULT 0.5, "since" TEXT NOT NULL DEFAULT '2020-01-02', "note" BLOB DEFAULT X'00ff', "updated" TEXT NOT NULL DEFAULT '2021-02-03 04:05:06.000007', "motto" TEXT DEFAULT 'it''s', PRIMARY KEY ("org_id", "user_id"), CONSTRAINT "fk_m_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE, CONSTRAINT "fk_m_org" FOREIGN KEY ("org_id") REFERENCES "orgs" ("id")))sql",
          R"sql(CREATE INDEX "idx_m_role" ON "memberships" ("role", "active"))sql"});
  CHECK(
      create(t, pg, false) ==
      Strings{
          R"sql(CREATE TABLE "memberships" ("org_id" BIGINT NOT NULL, "user_id" BIGINT NOT NULL, "role" TEXT COLLATE "C" NOT NULL DEFAULT 'member', "active" BOOLEAN NOT NULL DEFAULT TRUE, "weight" DOUBLE PRECISION NOT NULL DEFAULT 0.5, "since" DATE NOT NULL DEFAULT '2020-01-02', "note" BYTEA DEFAULT '\x00ff'::bytea, "updated" TIMESTAMPTZ NOT NULL DEFAULT '2021-02-03 04:05:06.000007+00', "motto" TEXT COLLATE "C" DEFAULT 'it''s', PRIMARY KEY ("org_id", "user_id"), CONSTRAINT "fk_m_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE, CONSTRAINT "fk_m_org" FOREIGN KEY ("org_id") REFERENCES "orgs" ("id")))sql",
          R"sql(CREATE INDEX "idx_m_role" ON "memberships" ("role", "active"))sql"});
  // LONGTEXT/LONGBLOB defaults are expressions in parentheses.
  CHECK(create(t, my, false) ==
        Strings{"CREATE TABLE `memberships` (`org_id` BIGINT NOT NULL, `user_id` BIGINT NOT NULL, "
                "`role` VARCHAR(255) NOT NULL DEFAULT 'member', `active` TINYINT(1) NOT NULL "
                "DEFAULT 1, `weight` DOUBLE NOT NULL DEFAULT 0.5, `since` DATE NOT NULL DEFAULT "
                "'2020-01-02', `note` LONGBLOB DEFAULT (X'00ff'), `updated` DATETIME(6) NOT NULL "
                "DEFAULT '2021-02-03 04:05:06.000007', `motto` LONGTEXT DEFAULT ('it''s'), PRIMARY "
                "KEY (`org_id`, `user_id`), KEY `idx_m_role` (`role`, `active`), CONSTRAINT "
                "`fk_m_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE, "
                "CONSTRAINT `fk_m_org` FOREIGN KEY (`org_id`) REFERENCES `orgs` (`id`)) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"});
}

TEST_CASE("serializer: create table foreign key actions and unnamed keys") {
  TableSchema t;
  t.name = "posts";
  t.columns = {column("id", ColumnType::int32), column("author", ColumnType::text, true),
               column("editor", ColumnType::int64, true),
               column("null_default", ColumnType::int64, true)};
  t.columns[3].default_value = Value();
  t.primary_key = {"id"};
  t.foreign_keys = {
      {"fk_author", {"author"}, "users", {"name"}, ForeignKeyAction::set_null},
      {"", {"editor"}, "users", {"id"}, ForeignKeyAction::restrict},
  };
  CHECK(
      create(t, lite) ==
      Strings{
          R"sql(CREATE TABLE IF NOT EXISTS "posts" ("id" INTEGER NOT NULL, "author" TEXT, "editor" INTEGER, "null_default" INTEGER DEFAULT NULL, PRIMARY KEY ("id"), CONSTRAINT "fk_author" FOREIGN KEY ("author") REFERENCES "users" ("name") ON DELETE SET NULL, FOREIGN KEY ("editor") REFERENCES "users" ("id") ON DELETE RESTRICT))sql"});
  // A foreign-key column is indexed by InnoDB, so its text is bounded.
  CHECK(create(t, my) ==
        Strings{"CREATE TABLE IF NOT EXISTS `posts` (`id` INT NOT NULL, `author` VARCHAR(255), "
                "`editor` BIGINT, `null_default` BIGINT DEFAULT NULL, PRIMARY KEY (`id`), "
                "CONSTRAINT `fk_author` FOREIGN KEY (`author`) REFERENCES `users` (`name`) ON "
                "DELETE SET NULL, FOREIGN KEY (`editor`) REFERENCES `users` (`id`) ON DELETE "
                "RESTRICT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"});
}

TEST_CASE("serializer: create table with every column type") {
  TableSchema t;
  t.name = "all_types";
  t.columns = {
      column("c_bool", ColumnType::boolean, true), column("c_i8", ColumnType::int8, true),
      column("c_i16", ColumnType::int16, true),    column("c_i32", ColumnType::int32, true),
      column("c_i64", ColumnType::int64),          column("c_u8", ColumnType::uint8, true),
      column("c_u16", ColumnType::uint16, true),   column("c_u32", ColumnType::uint32, true),
      column("c_f32", ColumnType::float32, true),  column("c_f64", ColumnType::float64, true),
      column("c_text", ColumnType::text, true),    column("c_bytes", ColumnType::bytes, true),
      column("c_ts", ColumnType::timestamp, true), column("c_date", ColumnType::date, true),
      column("c_key_bytes", ColumnType::bytes)};
  t.primary_key = {"c_i64"};
  t.indexes = {{"uq_key_bytes", {"c_key_bytes"}, true}};
  CHECK(
      create(t, lite) ==
      Strings{
          R"sql(CREATE TABLE IF NOT EXISTS "all_types" ("c_bool" INTEGER, "c_i8" INTEGER, "c_i16" INTEGER, "c_i32" INTEGER, "c_i64" INTEGER NOT NULL, "c_u8" INTEGER, "c_u16" INTEGER, "c_u32" INTEGER, "c_f32" REAL, "c_f64" REAL, "c_text" TEXT, "c_bytes" BLOB, "c_ts" TEXT, "c_date" TEXT, "c_key_bytes" BLOB NOT NULL, PRIMARY KEY ("c_i64")))sql",
          R"sql(CREATE UNIQUE INDEX IF NOT EXISTS "uq_key_bytes" ON "all_types" ("c_key_bytes"))sql"});
  CHECK(
      create(t, pg) ==
      Strings{
          R"sql(CREATE TABLE IF NOT EXISTS "all_types" ("c_bool" BOOLEAN, "c_i8" SMALLINT, "c_i16" SMALLINT, "c_i32" INTEGER, "c_i64" BIGINT NOT NULL, "c_u8" SMALLINT, "c_u16" INTEGER, "c_u32" BIGINT, "c_f32" REAL, "c_f64" DOUBLE PRECISION, "c_text" TEXT COLLATE "C", "c_bytes" BYTEA, "c_ts" TIMESTAMPTZ, "c_date" DATE, "c_key_bytes" BYTEA NOT NULL, PRIMARY KEY ("c_i64")))sql",
          R"sql(CREATE UNIQUE INDEX IF NOT EXISTS "uq_key_bytes" ON "all_types" ("c_key_bytes"))sql"});
  CHECK(create(t, my) ==
        Strings{"CREATE TABLE IF NOT EXISTS `all_types` (`c_bool` TINYINT(1), `c_i8` TINYINT, "
                "`c_i16` SMALLINT, `c_i32` INT, `c_i64` BIGINT NOT NULL, `c_u8` TINYINT UNSIGNED, "
                "`c_u16` SMALLINT UNSIGNED, `c_u32` INT UNSIGNED, `c_f32` FLOAT, `c_f64` DOUBLE, "
                "`c_text` LONGTEXT, `c_bytes` LONGBLOB, `c_ts` DATETIME(6), `c_date` DATE, "
                "`c_key_bytes` VARBINARY(255) NOT NULL, PRIMARY KEY (`c_i64`), UNIQUE KEY "
                "`uq_key_bytes` (`c_key_bytes`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                "COLLATE=utf8mb4_bin"});
}

TEST_CASE("serializer: column_type_sql") {
  using tessera::sql::column_type_sql;
  const auto type = [](ColumnType t, SqlDialect d, bool indexed = false) {
    return column_type_sql(column("c", t), d, indexed).value();
  };
  CHECK(type(ColumnType::text, my, true) == "VARCHAR(255)");
  CHECK(type(ColumnType::text, my, false) == "LONGTEXT");
  CHECK(type(ColumnType::bytes, my, true) == "VARBINARY(255)");
  CHECK(type(ColumnType::bytes, my, false) == "LONGBLOB");
  CHECK(type(ColumnType::text, pg, true) == R"sql(TEXT COLLATE "C")sql");
  CHECK(type(ColumnType::text, lite, true) == "TEXT");
  CHECK(type(ColumnType::uint32, my) == "INT UNSIGNED");
  CHECK(type(ColumnType::uint32, pg) == "BIGINT");
  CHECK(type(ColumnType::timestamp, lite) == "TEXT");
  CHECK(error_kind(column_type_sql(column("c", ColumnType::int64), SqlDialect::none, false)) ==
        ErrorKind::unsupported);
}

TEST_CASE("serializer: create table refuses inconsistent schemas") {
  using tessera::sql::render_create_table;
  {
    TableSchema t = users_table();
    t.columns[0].auto_increment = false;
    t.primary_key = {"missing"};
    auto r = render_create_table(t, lite);
    CHECK(error_kind(r) == ErrorKind::invalid_statement);
    CHECK(r.error().message.find(R"("users"."missing")") != std::string::npos);
  }
  {
    TableSchema t = users_table();
    t.columns[0].type = ColumnType::text;  // auto-increment text
    CHECK(error_kind(render_create_table(t, pg)) == ErrorKind::invalid_statement);
  }
  {
    TableSchema t = users_table();
    t.primary_key = {"id", "name"};  // auto-increment in a composite key
    CHECK(error_kind(render_create_table(t, my)) == ErrorKind::invalid_statement);
  }
  {
    TableSchema t = users_table();
    t.indexes.push_back({"idx_bad", {"nope"}, false});
    CHECK(error_kind(render_create_table(t, lite)) == ErrorKind::invalid_statement);
  }
  {
    TableSchema t = users_table();
    t.columns[2].nullable = true;
    t.primary_key = {"email"};
    t.columns[0].auto_increment = false;
    CHECK(error_kind(render_create_table(t, lite)) == ErrorKind::invalid_statement);
  }
  {
    TableSchema t = users_table();
    t.foreign_keys = {{"fk", {"name"}, "other", {"a", "b"}, ForeignKeyAction::cascade}};
    CHECK(error_kind(render_create_table(t, pg)) == ErrorKind::invalid_statement);
  }
  {
    TableSchema t = users_table();
    t.columns.push_back(column("name", ColumnType::text));
    CHECK(error_kind(render_create_table(t, pg)) == ErrorKind::invalid_statement);
  }
  {
    TableSchema t = users_table();
    t.columns[1].default_value = Value(std::int64_t{5});  // int default on a text column
    auto r = render_create_table(t, lite);
    CHECK(error_kind(r) == ErrorKind::invalid_value);
    CHECK(r.error().message.find(R"("users"."name")") != std::string::npos);
  }
  CHECK(error_kind(render_create_table(users_table(), SqlDialect::none)) == ErrorKind::unsupported);
}

TEST_CASE("serializer: drop table") {
  using tessera::sql::render_drop_table;
  CHECK(render_drop_table("users", lite) == R"sql(DROP TABLE IF EXISTS "users")sql");
  CHECK(render_drop_table("users", pg) == R"sql(DROP TABLE IF EXISTS "users" CASCADE)sql");
  CHECK(render_drop_table("users", my) == "DROP TABLE IF EXISTS `users`");
  CHECK(render_drop_table("users", lite, false) == R"sql(DROP TABLE "users")sql");
  CHECK(render_drop_table("users", pg, false) == R"sql(DROP TABLE "users" CASCADE)sql");
  CHECK(render_drop_table("a`b", my, false) == "DROP TABLE `a``b`");
}

TEST_CASE("serializer: transaction start") {
  const Tx plain{};
  CHECK(tx(plain, lite) == Strings{"BEGIN DEFERRED"});
  CHECK(tx(plain, pg) == Strings{"BEGIN"});
  CHECK(tx(plain, my) == Strings{"START TRANSACTION"});

  const Tx serializable{Tx::Kind::start, Isolation::serializable, false, {}};
  CHECK(tx(serializable, lite) == Strings{"BEGIN IMMEDIATE"});
  CHECK(tx(serializable, pg) == Strings{"BEGIN ISOLATION LEVEL SERIALIZABLE"});
  CHECK(tx(serializable, my) ==
        Strings{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION"});

  const Tx repeatable{Tx::Kind::start, Isolation::repeatable_read, false, {}};
  CHECK(tx(repeatable, lite) == Strings{"BEGIN IMMEDIATE"});
  CHECK(tx(repeatable, pg) == Strings{"BEGIN ISOLATION LEVEL REPEATABLE READ"});
  CHECK(tx(repeatable, my) ==
        Strings{"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION"});

  const Tx committed{Tx::Kind::start, Isolation::read_committed, false, {}};
  CHECK(tx(committed, lite) == Strings{"BEGIN DEFERRED"});
  CHECK(tx(committed, pg) == Strings{"BEGIN ISOLATION LEVEL READ COMMITTED"});
  CHECK(tx(committed, my) ==
        Strings{"SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION"});

  const Tx uncommitted{Tx::Kind::start, Isolation::read_uncommitted, false, {}};
  CHECK(tx(uncommitted, pg) == Strings{"BEGIN ISOLATION LEVEL READ UNCOMMITTED"});
  CHECK(tx(uncommitted, my) ==
        Strings{"SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", "START TRANSACTION"});

  const Tx read_only{Tx::Kind::start, Isolation::database_default, true, {}};
  CHECK(tx(read_only, lite) == Strings{"BEGIN DEFERRED"});
  CHECK(tx(read_only, pg) == Strings{"BEGIN READ ONLY"});
  CHECK(tx(read_only, my) == Strings{"START TRANSACTION READ ONLY"});

  const Tx serializable_ro{Tx::Kind::start, Isolation::serializable, true, {}};
  CHECK(tx(serializable_ro, lite) == Strings{"BEGIN DEFERRED"});
  CHECK(tx(serializable_ro, pg) == Strings{"BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"});
  CHECK(tx(serializable_ro, my) ==
        Strings{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION READ ONLY"});

  CHECK(error_kind(tessera::sql::render_transaction(plain, SqlDialect::none)) ==
        ErrorKind::unsupported);
}

TEST_CASE("serializer: commit, rollback and savepoints") {
  for (SqlDialect d : {lite, pg, my}) {
    CHECK(tx(Tx{Tx::Kind::commit, {}, false, {}}, d) == Strings{"COMMIT"});
    CHECK(tx(Tx{Tx::Kind::rollback, {}, false, {}}, d) == Strings{"ROLLBACK"});
  }
  const auto sp = [](Tx::Kind kind, std::string_view name) {
    Tx t;
    t.kind = kind;
    t.savepoint = name;
    return t;
  };
  CHECK(tx(sp(Tx::Kind::savepoint, "sp1"), lite) == Strings{R"sql(SAVEPOINT "sp1")sql"});
  CHECK(tx(sp(Tx::Kind::savepoint, "sp1"), pg) == Strings{R"sql(SAVEPOINT "sp1")sql"});
  CHECK(tx(sp(Tx::Kind::savepoint, "sp1"), my) == Strings{"SAVEPOINT `sp1`"});
  CHECK(tx(sp(Tx::Kind::release, "sp1"), lite) == Strings{R"sql(RELEASE SAVEPOINT "sp1")sql"});
  CHECK(tx(sp(Tx::Kind::release, "sp1"), pg) == Strings{R"sql(RELEASE SAVEPOINT "sp1")sql"});
  CHECK(tx(sp(Tx::Kind::release, "sp1"), my) == Strings{"RELEASE SAVEPOINT `sp1`"});
  CHECK(tx(sp(Tx::Kind::rollback_to, "sp1"), lite) ==
        Strings{R"sql(ROLLBACK TO SAVEPOINT "sp1")sql"});
  CHECK(tx(sp(Tx::Kind::rollback_to, "sp1"), pg) ==
        Strings{R"sql(ROLLBACK TO SAVEPOINT "sp1")sql"});
  CHECK(tx(sp(Tx::Kind::rollback_to, "sp1"), my) == Strings{"ROLLBACK TO SAVEPOINT `sp1`"});
  CHECK(tx(sp(Tx::Kind::savepoint, R"(s"p)"), pg) == Strings{R"sql(SAVEPOINT "s""p")sql"});
  CHECK(error_kind(tessera::sql::render_transaction(sp(Tx::Kind::savepoint, ""), lite)) ==
        ErrorKind::invalid_statement);
}

TEST_CASE("serializer: text literals are escaped") {
  const auto text = ColumnType::text;
  CHECK(literal("it's", text, lite) == "'it''s'");
  CHECK(literal("it's", text, pg) == "'it''s'");
  CHECK(literal("it's", text, my) == "'it''s'");
  CHECK(literal("'; DROP TABLE users; --", text, lite) == "'''; DROP TABLE users; --'");
  CHECK(literal("'; DROP TABLE users; --", text, pg) == "'''; DROP TABLE users; --'");
  CHECK(literal("'; DROP TABLE users; --", text, my) == "'''; DROP TABLE users; --'");
  CHECK(literal(R"(a\b)", text, lite) == R"sql('a\b')sql");
  CHECK(literal(R"(a\b)", text, pg) == R"sql('a\b')sql");
  CHECK(literal(R"(a\b)", text, my) == R"sql('a\\b')sql");
  // A trailing backslash must not escape the closing quote in mysql.
  CHECK(literal(R"(x\')", text, my) == R"sql('x\\''')sql");
  CHECK(literal("", text, lite) == "''");
  CHECK(literal("h\xc3\xa9", text, pg) == "'h\xc3\xa9'");
  CHECK(error_kind(tessera::sql::render_literal(Value(std::string("a\0b", 3)), text, lite)) ==
        ErrorKind::invalid_value);
}

TEST_CASE("serializer: numeric and boolean literals") {
  using tessera::sql::render_literal;
  CHECK(literal(std::int64_t{42}, ColumnType::int64, lite) == "42");
  CHECK(literal(std::int64_t{-7}, ColumnType::int32, pg) == "-7");
  CHECK(literal(std::numeric_limits<std::int64_t>::min(), ColumnType::int64, my) ==
        "-9223372036854775808");
  CHECK(literal(std::int64_t{4294967295}, ColumnType::uint32, my) == "4294967295");
  CHECK(error_kind(render_literal(std::int64_t{128}, ColumnType::int8, lite)) ==
        ErrorKind::invalid_value);
  CHECK(error_kind(render_literal(std::int64_t{-1}, ColumnType::uint16, pg)) ==
        ErrorKind::invalid_value);

  CHECK(literal(0.5, ColumnType::float64, lite) == "0.5");
  CHECK(literal(0.1 + 0.2, ColumnType::float64, pg) == "0.30000000000000004");
  CHECK(literal(-1e300, ColumnType::float64, my) == "-1e+300");
  CHECK(literal(5e-324, ColumnType::float64, lite) == "5e-324");
  CHECK(literal(3.0, ColumnType::float32, lite) == "3");
  CHECK(error_kind(render_literal(std::nan(""), ColumnType::float64, lite)) ==
        ErrorKind::invalid_value);
  CHECK(error_kind(render_literal(std::numeric_limits<double>::infinity(), ColumnType::float64,
                                  pg)) == ErrorKind::invalid_value);
  CHECK(error_kind(render_literal(1e300, ColumnType::float32, my)) == ErrorKind::invalid_value);

  CHECK(literal(true, ColumnType::boolean, lite) == "1");
  CHECK(literal(false, ColumnType::boolean, lite) == "0");
  CHECK(literal(true, ColumnType::boolean, pg) == "TRUE");
  CHECK(literal(false, ColumnType::boolean, pg) == "FALSE");
  CHECK(literal(true, ColumnType::boolean, my) == "1");
  CHECK(literal(false, ColumnType::boolean, my) == "0");

  CHECK(literal(Value(), ColumnType::text, pg) == "NULL");
  CHECK(error_kind(render_literal("5", ColumnType::int64, lite)) == ErrorKind::invalid_value);
  CHECK(error_kind(render_literal(std::int64_t{1}, ColumnType::boolean, lite)) ==
        ErrorKind::invalid_value);
  CHECK(error_kind(render_literal(std::int64_t{1}, ColumnType::int64, SqlDialect::none)) ==
        ErrorKind::unsupported);
}

TEST_CASE("serializer: bytes, timestamp and date literals") {
  const tessera::Bytes bytes{std::byte{0x00}, std::byte{0xff}, std::byte{0x27}};
  CHECK(literal(bytes, ColumnType::bytes, lite) == "X'00ff27'");
  CHECK(literal(bytes, ColumnType::bytes, my) == "X'00ff27'");
  CHECK(literal(bytes, ColumnType::bytes, pg) == R"sql('\x00ff27'::bytea)sql");
  CHECK(literal(tessera::Bytes{}, ColumnType::bytes, lite) == "X''");
  CHECK(literal(tessera::Bytes{}, ColumnType::bytes, pg) == R"sql('\x'::bytea)sql");

  CHECK(literal(Timestamp{0}, ColumnType::timestamp, lite) == "'1970-01-01 00:00:00.000000'");
  CHECK(literal(Timestamp{0}, ColumnType::timestamp, pg) == "'1970-01-01 00:00:00.000000+00'");
  CHECK(literal(Timestamp{0}, ColumnType::timestamp, my) == "'1970-01-01 00:00:00.000000'");
  CHECK(literal(Timestamp{-1}, ColumnType::timestamp, lite) == "'1969-12-31 23:59:59.999999'");
  CHECK(literal(Timestamp::from_civil(9999, 12, 31, 23, 59, 59, 999999), ColumnType::timestamp,
                my) == "'9999-12-31 23:59:59.999999'");
  CHECK(literal(Timestamp::from_civil(1, 1, 1), ColumnType::timestamp, pg) ==
        "'0001-01-01 00:00:00.000000+00'");
  CHECK(error_kind(tessera::sql::render_literal(Timestamp::from_civil(10000, 1, 1),
                                                ColumnType::timestamp, lite)) ==
        ErrorKind::invalid_value);

  CHECK(literal(Date{0}, ColumnType::date, lite) == "'1970-01-01'");
  CHECK(literal(Date::from_civil(2024, 2, 29), ColumnType::date, pg) == "'2024-02-29'");
  CHECK(literal(Date{-1}, ColumnType::date, my) == "'1969-12-31'");
  CHECK(error_kind(tessera::sql::render_literal(Date::from_civil(0, 12, 31), ColumnType::date,
                                                pg)) == ErrorKind::invalid_value);
}

TEST_CASE("serializer: dialect none is unsupported") {
  tessera::ast::Select s;
  s.table = "t";
  s.columns = {"id"};
  CHECK(render_error(s, SqlDialect::none) == ErrorKind::unsupported);
  tessera::ast::Insert ins;
  ins.table = "t";
  ins.columns = {"a"};
  CHECK(render_error(ins, SqlDialect::none) == ErrorKind::unsupported);
  tessera::ast::Update up;
  up.table = "t";
  up.set = {{"a", 0}};
  CHECK(render_error(up, SqlDialect::none) == ErrorKind::unsupported);
  tessera::ast::Delete del;
  del.table = "t";
  CHECK(render_error(del, SqlDialect::none) == ErrorKind::unsupported);
}
