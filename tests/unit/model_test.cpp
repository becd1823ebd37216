// What a TESSERA_MODEL declaration turns into: the table schema, and the
// lowering of typed statements into untyped shapes with ordered parameters.
#include <doctest/doctest.h>

#include <tessera/driver/value_rows.hpp>
#include <tessera/tessera.hpp>

namespace mt {
enum class Color : std::uint8_t { red, green };
struct Author {
  std::int64_t id{};
  std::string name;
};
TESSERA_MODEL(Author, "authors", (id, tessera::primary_key, tessera::auto_increment),
              (name, tessera::unique));

struct Book {
  std::int64_t author_id{};
  std::int32_t number{};
  std::string title;
  std::optional<double> price;
  Color color{};
  std::string isbn;
  std::int16_t year{};
};
TESSERA_MODEL(Book, "books",
              (author_id, tessera::primary_key,
               tessera::references(&Author::id, tessera::ForeignKeyAction::cascade)),
              (number, tessera::primary_key), (title, tessera::index("ix_books_title_year")),
              (price, tessera::column_name("price_eur")),
              (color, tessera::default_value(std::int64_t{1})),
              (isbn, tessera::unique("ux_books_isbn")),
              (year, tessera::index("ix_books_title_year")));

// `scratch` is a member of the struct but not of the model.
struct Note {
  std::int64_t id{};
  std::string text;
  int scratch = 0;
};
TESSERA_MODEL(Note, "notes", (id, tessera::primary_key), (text));
}  // namespace mt

TEST_CASE("model: table schema from the declaration") {
  const tessera::TableSchema t = tessera::table_schema<mt::Book>("p_");
  CHECK(t.name == "p_books");
  REQUIRE(t.columns.size() == 7);
  CHECK(t.primary_key == std::vector<std::string>{"author_id", "number"});
  CHECK(t.columns[3].name == "price_eur");
  CHECK(t.columns[3].nullable);
  CHECK(t.columns[3].type == tessera::ColumnType::float64);
  CHECK(t.columns[4].type == tessera::ColumnType::uint8);
  REQUIRE(t.columns[4].default_value.has_value());
  CHECK(*t.columns[4].default_value == tessera::Value(std::int64_t{1}));
  CHECK(t.columns[6].type == tessera::ColumnType::int16);
  REQUIRE(t.indexes.size() == 2);
  CHECK(t.indexes[0].name == "p_ix_books_title_year");
  CHECK(t.indexes[0].columns == std::vector<std::string>{"title", "year"});
  CHECK_FALSE(t.indexes[0].unique);
  CHECK(t.indexes[1].name == "p_ux_books_isbn");
  CHECK(t.indexes[1].unique);
  REQUIRE(t.foreign_keys.size() == 1);
  CHECK(t.foreign_keys[0].ref_table == "p_authors");
  CHECK(t.foreign_keys[0].ref_columns == std::vector<std::string>{"id"});
  CHECK(t.foreign_keys[0].on_delete == tessera::ForeignKeyAction::cascade);

  const tessera::TableSchema a = tessera::table_schema<mt::Author>();
  CHECK(a.columns[0].auto_increment);
  CHECK(a.indexes[0].name == "ux_authors_name");
}

TEST_CASE("model: lowering numbers parameters in order of appearance") {
  using mt::Book;
  using tessera::col;
  tessera::ast::Select s;
  std::vector<tessera::Value> v;
  tessera::select<Book>()
      .where(col(&Book::title) == "x" && (col(&Book::year) < 2000 || col(&Book::number).in({1, 2})))
      .limit(5)
      .offset(10)
      .lower(s, v);
  REQUIRE(v.size() == 6);
  CHECK(v[0] == tessera::Value("x"));
  CHECK(v[1] == tessera::Value(std::int64_t{2000}));
  CHECK(v[3] == tessera::Value(std::int64_t{2}));
  CHECK(s.limit_param == 4);
  CHECK(s.offset_param == 5);
  REQUIRE(s.where.kind == tessera::ast::Expr::Kind::and_);
  const auto& inner = s.where.children[1];
  CHECK(inner.kind == tessera::ast::Expr::Kind::or_);
  CHECK(inner.children[1].children[2].param == 3);

  tessera::ast::Update u;
  tessera::update<Book>().set(&Book::title, "t").where(col(&Book::year) == 1999).lower(u, v);
  REQUIRE(v.size() == 2);
  CHECK(u.set[0].param == 0);
  CHECK(u.where.children[1].param == 1);
}

TEST_CASE("model: an update lowers its assignments in set() order, as often as asked") {
  using mt::Book;
  using tessera::col;
  // More values than the update reserves room for at its first set().
  const auto q = tessera::update<Book>()
                     .set(&Book::title, "t")
                     .set(&Book::price, 2.5)
                     .set(&Book::isbn, "i")
                     .set(&Book::year, 1999)
                     .where(col(&Book::number) == 7 && col(&Book::title) == "old");
  for (int pass = 0; pass < 2; ++pass) {  // a const& lower leaves q whole
    tessera::ast::Update u;
    std::vector<tessera::Value> v;
    REQUIRE(q.lower(u, v) == -1);
    REQUIRE(u.set.size() == 4);
    CHECK(u.set[0].column == "title");
    CHECK(u.set[1].column == "price_eur");
    CHECK(u.set[2].column == "isbn");
    CHECK(u.set[3].column == "year");
    for (std::uint32_t k = 0; k < 4; ++k) CHECK(u.set[k].param == k);
    REQUIRE(v.size() == 6);
    CHECK(v[0] == tessera::Value(std::string("t")));
    CHECK(v[1] == tessera::Value(2.5));
    CHECK(v[3] == tessera::Value(std::int64_t{1999}));
    CHECK(v[4] == tessera::Value(std::int64_t{7}));
    CHECK(v[5] == tessera::Value(std::string("old")));
    REQUIRE(u.where.kind == tessera::ast::Expr::Kind::and_);
    CHECK(u.where.children[0].children[1].param == 4);
    CHECK(u.where.children[1].children[1].param == 5);
  }
  // A value out of its column's range is reported by the column's index.
  tessera::ast::Update u;
  std::vector<tessera::Value> v;
  CHECK(tessera::update<Book>()
            .set(&Book::title, "t")
            .set(&Book::year, 70000)
            .where(col(&Book::number) == 1)
            .lower(u, v) == 6);
}

TEST_CASE("model: empty in-lists lower to constants") {
  using mt::Book;
  using tessera::col;
  tessera::ast::Select s;
  std::vector<tessera::Value> v;
  tessera::select<Book>().where(col(&Book::number).in(std::vector<int>{})).lower(s, v);
  CHECK(s.where.kind == tessera::ast::Expr::Kind::false_);
  CHECK(v.empty());
}

TEST_CASE("model: only() and except() choose fields without allocating, and flag strangers") {
  using tessera::except;
  using tessera::only;
  const tessera::FieldSet<mt::Book> all;
  for (std::size_t i = 0; i < tessera::field_count<mt::Book>; ++i) CHECK(all.chosen(i));

  const auto some = only(&mt::Book::title, &mt::Book::year);
  CHECK_FALSE(some.unknown);
  CHECK_FALSE(some.chosen(0));
  CHECK(some.chosen(2));
  CHECK(some.chosen(6));
  CHECK_FALSE(some.chosen(3));

  const auto rest = except(&mt::Book::title);
  CHECK(rest.chosen(0));
  CHECK_FALSE(rest.chosen(2));
  CHECK(rest.chosen(6));

  // A member the model's declaration leaves out is flagged, so insert and
  // update refuse it (invalid_statement) instead of ignoring it.
  const auto stranger = only(&mt::Note::scratch);
  CHECK(stranger.unknown);
  CHECK(except(&mt::Note::text, &mt::Note::scratch).unknown);
  CHECK_FALSE(only(&mt::Note::text).unknown);
}

TEST_CASE("model: a viewed text Value is a text Value, equal to an owned one") {
  std::string name = "a name longer than the small-string buffer";
  const tessera::Value view = tessera::Value::text_view(name);
  const tessera::Value owned(name);
  CHECK(view.type() == tessera::ValueType::text);
  CHECK(view.as_text() == name);
  CHECK(view.as_text().data() == name.data());  // not copied
  CHECK(owned.as_text().data() != name.data());
  CHECK(view == owned);
  CHECK(owned == view);
  CHECK_FALSE(view == tessera::Value(std::string("another")));
  CHECK_FALSE(view == tessera::Value(std::int64_t{1}));
  // Members of the caller's rows are bound as views; optional ones too.
  CHECK(tessera::detail::bound_value(name).as_text().data() == name.data());
  CHECK(tessera::detail::bound_value(std::optional<std::string>()).is_null());
  CHECK(tessera::detail::to_value(name).as_text().data() != name.data());
}

TEST_CASE("model: ValueRows counts the rows left as its size hint") {
  tessera::ValueRows rows(1,
                          {{tessera::Value(std::int64_t{1})}, {tessera::Value(std::int64_t{2})}});
  CHECK(rows.size_hint() == 2);
  REQUIRE(*rows.next());
  CHECK(rows.size_hint() == 1);
  REQUIRE(*rows.next());
  CHECK(rows.size_hint() == 0);
  CHECK_FALSE(*rows.next());
  CHECK(rows.size_hint() == 0);
}
