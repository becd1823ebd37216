#include <doctest/doctest.h>

#include "core/engine/url.hpp"

using tessera::detail::parse_url;

TEST_CASE("url: sqlite forms") {
  auto m = parse_url("sqlite::memory:");
  REQUIRE(m.ok());
  CHECK(m->scheme == "sqlite");
  CHECK(m->path == ":memory:");
  CHECK_FALSE(m->has_authority);

  auto abs = parse_url("sqlite:///var/lib/app.db");
  REQUIRE(abs.ok());
  CHECK(abs->host.empty());
  CHECK(abs->path == "/var/lib/app.db");

  auto rel = parse_url("sqlite://data/app.db?busy_timeout_ms=100");
  REQUIRE(rel.ok());
  CHECK(rel->host == "data");
  CHECK(rel->path == "/app.db");
  CHECK(rel->param("busy_timeout_ms") == "100");
}

TEST_CASE("url: server forms with credentials and percent-encoding") {
  auto u =
      parse_url("postgresql://bob:p%40ss@db.local:5433/app?sslmode=disable&application_name=x%20y");
  REQUIRE(u.ok());
  CHECK(u->scheme == "postgresql");
  CHECK(u->user == "bob");
  CHECK(u->password == "p@ss");
  CHECK(u->host == "db.local");
  CHECK(u->port == 5433);
  CHECK(u->path == "/app");
  CHECK(u->param("sslmode") == "disable");
  CHECK(u->param("application_name") == "x y");
  CHECK(u->redacted().find("p%40ss") == std::string::npos);
}

TEST_CASE("url: errors are typed and do not leak the password") {
  auto bad = parse_url("mysql://u:secret@host:99999/db");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == tessera::ErrorKind::invalid_url);
  CHECK(bad.error().message.find("secret") == std::string::npos);
  CHECK_FALSE(parse_url("not a url").ok());
}
