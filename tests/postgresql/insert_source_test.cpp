// Inserts whose rows come from a row source (Capability::insert_row_source),
// pulled a chunk at a time on the COPY and the INSERT ... unnest paths: an
// error from a later chunk leaves nothing of the insert and the caller's
// transaction usable; a later chunk COPY cannot write exactly sends the
// whole insert through INSERT instead; the returned ids are the stored ones.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tests/postgresql/support.hpp"

namespace pgtest {
namespace {

using tessera::ErrorKind;
using tessera::select;
using tessera::Value;

struct Member {
  std::int64_t id{};
  std::string email;
  std::int64_t points{};
};
TESSERA_MODEL(Member, "member", (id, tessera::primary_key, tessera::auto_increment),
              (email, tessera::unique), (points));

std::vector<Member> members(std::size_t count) {
  std::vector<Member> rows(count);
  for (std::size_t i = 0; i < count; ++i) {
    rows[i].email = "m" + std::to_string(i) + "@x";
    rows[i].points = static_cast<std::int64_t>(i);
  }
  return rows;
}

// Through COPY (copy_min_rows=1) and through INSERT ... unnest in several
// batches (copy_min_rows=0; 8000 rows are two chunks of 5000).
TEST_CASE("a source error in a later chunk leaves nothing; the caller's transaction stays usable") {
  for (const char* options : {"copy_min_rows=1", "copy_min_rows=0"}) {
    CAPTURE(options);
    const std::string p = prefix();
    auto db = open(p, 1, options);
    db.drop_tables<Member>();
    db.push_schema<Member>();
    std::vector<Member> rows = members(8000);
    // Text with a NUL: the row source's check refuses it when the driver pulls
    // its chunk, long after the first rows were sent.
    rows[7000].email = std::string("nul\0here", 8);
    auto outside = catch_error([&] { db.insert_many(rows); });
    REQUIRE(outside.has_value());
    CHECK(outside->kind() == ErrorKind::invalid_value);
    CHECK(db.count(select<Member>()) == 0);
    {
      auto tx = db.transaction();
      tx.insert(Member{0, "before@x", 1});
      for (auto& r : rows) r.id = 0;
      auto inside = catch_error([&] { tx.insert_many(rows); });
      REQUIRE(inside.has_value());
      CHECK(inside->kind() == ErrorKind::invalid_value);
      CHECK(tx.count(select<Member>()) == 1);
      tx.insert(Member{0, "after@x", 2});
      tx.commit();
    }
    CHECK(db.count(select<Member>()) == 2);

    // The same rows, fixed, inside a transaction: all stored, with the ids
    // insert_many returned, in row order.
    for (auto& r : rows) r.id = 0;
    rows[7000].email = "fixed@x";
    {
      auto tx = db.transaction();
      tx.insert_many(rows);
      tx.commit();
    }
    CHECK(db.count(select<Member>()) == 8002);
    bool increasing = true;
    for (std::size_t i = 1; i < rows.size(); ++i)
      increasing = increasing && rows[i].id > rows[i - 1].id;
    CHECK(increasing);
    for (std::size_t i : {std::size_t{0}, std::size_t{4999}, std::size_t{5000}, std::size_t{7000},
                          std::size_t{7999}}) {
      auto found = db.find<Member>(rows[i].id);
      REQUIRE(found.has_value());
      CHECK(found->email == rows[i].email);
      CHECK(found->points == rows[i].points);
    }
    // The connection works on, and the next insert takes a new id.
    const Member one = db.insert(Member{0, "next@x", 3});
    CHECK(one.id > rows.back().id);
    db.drop_tables<Member>();
  }
}

// Rows of (k, v) for an int4 column v: integers, but a double in row
// `odd_row` (float8 into int4 rounds in an INSERT; COPY's text input of
// int4 would refuse "2.5"), asked for any number of times.
class Rows final : public tessera::InsertRowSource {
 public:
  Rows(std::size_t odd_row) : odd_row_(odd_row) {}
  tessera::Result<std::span<const Value>> rows(std::size_t first, std::size_t count) override {
    values_.clear();
    for (std::size_t r = first; r < first + count; ++r) {
      values_.emplace_back(static_cast<std::int64_t>(r));
      if (r == odd_row_)
        values_.emplace_back(2.5);
      else
        values_.emplace_back(static_cast<std::int64_t>(r % 1000));
    }
    return std::span<const Value>(values_);
  }

 private:
  std::size_t odd_row_;
  std::vector<Value> values_;
};

TEST_CASE("COPY meets a value it cannot write as INSERT would in a later chunk: INSERT instead") {
  const auto connection = connect_spi("copy_min_rows=1");
  tessera::Connection& c = *connection;
  REQUIRE(c.capability().insert_row_source);
  const std::string table = prefix() + "ints";
  const std::string q = "\"" + table + "\"";
  spi(c, tessera::op::RawSql{"CREATE TABLE " + q + " (k int8 NOT NULL, v int4)", {}});
  tessera::ast::Insert ins;
  ins.table = table;
  ins.columns = {"k", "v"};
  ins.row_count = 3000;
  auto check = [&](std::int64_t rows) {
    auto read = spi(
        c, tessera::op::RawSql{.sql = "SELECT count(*), count(DISTINCT k), min(v) FILTER (WHERE k "
                                      "= 2500), max(v) FILTER (WHERE k = 2500) FROM " +
                                      q,
                               .params = {},
                               .reads_all = true});
    REQUIRE(*read.rows->next());
    CHECK(read.rows->get_int64(0) == rows);
    CHECK(read.rows->get_int64(1) == 3000);
    // 2.5 rounded to even, as the INSERT's float8-to-int4 cast does.
    CHECK(read.rows->get_int64(2) == 2);
    CHECK(read.rows->get_int64(3) == 2);
  };
  Rows source(2500);
  // Outside a transaction, then inside one that goes on.
  auto done = spi(c, tessera::op::Insert{&ins, {}, &source});
  CHECK(done.affected == 3000);
  check(3000);
  spi(c, tessera::op::RawSql{"BEGIN", {}});
  Rows again(2500);
  done = spi(c, tessera::op::Insert{&ins, {}, &again});
  CHECK(done.affected == 3000);
  check(6000);
  spi(c, tessera::op::RawSql{"COMMIT", {}});
  check(6000);
  spi(c, tessera::op::RawSql{"DROP TABLE " + q, {}});
}

}  // namespace
}  // namespace pgtest
