// Helpers shared by the PostgreSQL tests: the server's URL, unique table
// prefixes, opening a Db on the linked driver, and running psql.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/engine/url.hpp"
#include "tessera/postgresql.hpp"
#include "tessera/tessera.hpp"

namespace pgtest {

inline const std::string& url() {
  static const std::string u = [] {
    const char* v = std::getenv("TESSERA_TEST_POSTGRESQL_URL");
    REQUIRE_MESSAGE(v != nullptr, "TESSERA_TEST_POSTGRESQL_URL is not set");
    return std::string(v);
  }();
  return u;
}

// A table prefix unique to this process and call.
inline std::string prefix() {
  static int n = 0;
  return "pgit" + std::to_string(::getpid()) + "_" + std::to_string(++n) + "_";
}

// A Db on the linked driver; `options` (e.g. "copy_min_rows=0") is added to
// the URL's query.
inline tessera::Db open(const std::string& table_prefix, std::size_t pool = 4,
                        const std::string& options = {}) {
  static const bool registered = [] {
    tessera::postgresql::register_linked();
    return true;
  }();
  (void)registered;
  tessera::Options o;
  o.table_prefix = table_prefix;
  o.max_connections = pool;
  o.slow_statement = std::chrono::milliseconds(60'000);
  std::string u = url();
  if (!options.empty()) u += (u.find('?') == std::string::npos ? "?" : "&") + options;
  return tessera::Db::open(u, o);
}

// Runs `sql` through psql (unaligned, tuples only, '|' between fields) and
// returns its output. The script goes through a file: no shell quoting of
// SQL.
inline std::string psql(const std::string& sql) {
  const auto script = std::filesystem::temp_directory_path() /
                      ("tessera-psql-" + std::to_string(::getpid()) + ".sql");
  {
    std::ofstream f(script);
    f << "SET TimeZone = 'UTC';\n" << sql << "\n";
  }
  const std::string command = std::string(TESSERA_TEST_PSQL) + " '" + url() +
                              "' -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -f '" + script.string() +
                              "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  std::filesystem::remove(script);
  INFO("psql output: " << out);
  REQUIRE(status == 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A connection of the driver itself, below the engine; `options` as in open().
inline std::unique_ptr<tessera::Connection> connect_spi(const std::string& options = {}) {
  std::string u = url();
  if (!options.empty()) u += (u.find('?') == std::string::npos ? "?" : "&") + options;
  auto url_parsed = tessera::detail::parse_url(u);
  REQUIRE(url_parsed.ok());
  auto connected = tessera::postgresql::make_driver()->connect(*url_parsed);
  REQUIRE(connected.ok());
  return std::move(connected).value();
}

// Runs an operation through the SPI, failing the test on an error.
inline tessera::ExecResponse spi(tessera::Connection& c, const tessera::Operation& op) {
  auto r = c.exec(op);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}

// Runs f; returns the exception of type E it threw, or nothing if it threw
// none. Any other exception propagates (and fails the test).
template <class E = tessera::DbError, class F>
std::optional<E> catch_error(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  return std::nullopt;
}

// '"prefix_table"' as a regclass literal for psql.
inline std::string regclass(const std::string& table) { return "'\"" + table + "\"'::regclass"; }

}  // namespace pgtest
