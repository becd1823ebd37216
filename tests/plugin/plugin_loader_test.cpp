// The plugin loader against real files: each way a plugin fails to load is a
// plugin_load error naming the file, never a crash; the SQLite plugin loads,
// works, and unloads only after its driver is gone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "tessera/driver/plugin.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/sqlite.hpp"

namespace fs = std::filesystem;
using tessera::ErrorKind;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

tessera::Url memory_url() {
  tessera::Url url;
  url.text = "sqlite::memory:";
  url.scheme = "sqlite";
  url.path = ":memory:";
  return url;
}

// Sets TESSERA_PLUGIN_PATH for one scope.
class PluginPathScope {
 public:
  explicit PluginPathScope(const std::string& value) {
    ::setenv("TESSERA_PLUGIN_PATH", value.c_str(), 1);
  }
  ~PluginPathScope() { ::unsetenv("TESSERA_PLUGIN_PATH"); }
};

void check_load_error(const tessera::Result<tessera::FoundDriver>& r, const std::string& file) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::plugin_load);
  CHECK_MESSAGE(contains(r.error().message, fs::path(file).filename().string()), r.error().message);
}

}  // namespace

TEST_CASE("a missing plugin file is a plugin_load error") {
  const std::string file = TESSERA_TEST_FIXTURE_DIR "/libtessera-nothere.so";
  auto r = tessera::load_plugin(file);
  check_load_error(r, file);
  CHECK(contains(r.error().message, "does not exist"));
}

TEST_CASE("a text file named like a plugin is refused with the loader's reason") {
  auto r = tessera::load_plugin(TESSERA_TEST_BOGUS);
  check_load_error(r, TESSERA_TEST_BOGUS);
  // dlerror(): "...: invalid ELF header" (or "file too short").
  CHECK_MESSAGE((contains(r.error().message, "ELF") || contains(r.error().message, "too short")),
                r.error().message);
}

TEST_CASE("a shared library without a descriptor is not a Tessera plugin") {
  auto r = tessera::load_plugin(TESSERA_TEST_NODESC);
  check_load_error(r, TESSERA_TEST_NODESC);
  CHECK(contains(r.error().message, "not a Tessera plugin"));
  CHECK(contains(r.error().message, "tessera_plugin_descriptor"));
}

TEST_CASE("a plugin built for another ABI version names both versions") {
  auto r = tessera::load_plugin(TESSERA_TEST_ABI999);
  check_load_error(r, TESSERA_TEST_ABI999);
  CHECK_MESSAGE(contains(r.error().message, "999"), r.error().message);
  CHECK_MESSAGE(
      contains(r.error().message, "ABI version " + std::to_string(TESSERA_PLUGIN_ABI_VERSION)),
      r.error().message);
}

TEST_CASE("a plugin built by another compiler names both compiler tags") {
  auto r = tessera::load_plugin(TESSERA_TEST_BADTAG);
  check_load_error(r, TESSERA_TEST_BADTAG);
  CHECK_MESSAGE(contains(r.error().message, TESSERA_TEST_FAKE_TAG), r.error().message);
  CHECK_MESSAGE(contains(r.error().message, TESSERA_COMPILER_TAG), r.error().message);
}

TEST_CASE("a plugin whose dependency is missing reports the dlerror text") {
  auto r = tessera::load_plugin(TESSERA_TEST_MISSINGDEP);
  check_load_error(r, TESSERA_TEST_MISSINGDEP);
  CHECK_MESSAGE(contains(r.error().message, "libtessera_fixture_dep.so"), r.error().message);
  CHECK_MESSAGE(contains(r.error().message, "cannot open shared object file"), r.error().message);
}

TEST_CASE("a plugin whose factory throws reports the factory's message") {
  auto r = tessera::load_plugin(TESSERA_TEST_FAILING);
  check_load_error(r, TESSERA_TEST_FAILING);
  CHECK_MESSAGE(contains(r.error().message, "factory exploded"), r.error().message);
}

TEST_CASE("the sqlite plugin loads by path, runs SQL, and outlives its objects") {
  auto found = tessera::load_plugin(TESSERA_TEST_SQLITE_PLUGIN);
  REQUIRE_MESSAGE(found.ok(), found.error().message);
  CHECK_FALSE(found->origin.linked);
  CHECK(found->origin.plugin == fs::canonical(TESSERA_TEST_SQLITE_PLUGIN));
  std::shared_ptr<tessera::Driver> driver = found->driver;
  CHECK(driver->name() == "sqlite");
  CHECK(driver->max_connections(memory_url()) == 1);

  // Loaded once per process: a second load hands out the same driver.
  auto again = tessera::load_plugin(TESSERA_TEST_SQLITE_PLUGIN);
  REQUIRE(again.ok());
  CHECK(again->driver == driver);
  found = tessera::Error();  // drop the other references
  again = tessera::Error();

  {
    auto conn = driver->connect(memory_url());
    REQUIRE_MESSAGE(conn.ok(), conn.error().message);
    CHECK((*conn)->capability().sql == tessera::SqlDialect::sqlite);
    auto response = (*conn)->exec(tessera::op::RawSql{.sql = "SELECT 1", .params = {}});
    REQUIRE_MESSAGE(response.ok(), response.error().message);
    REQUIRE(response->rows);
    auto row = response->rows->next();
    REQUIRE(row.ok());
    CHECK(*row);
    CHECK(response->rows->get_int64(0) == 1);
    CHECK_FALSE(*response->rows->next());
  }  // rows, then the connection, die while the driver holds the plugin

  driver.reset();  // the driver last: the plugin may go now, nothing of it lives
  auto reloaded = tessera::load_plugin(TESSERA_TEST_SQLITE_PLUGIN);
  REQUIRE_MESSAGE(reloaded.ok(), reloaded.error().message);
  CHECK(reloaded->driver->name() == "sqlite");
}

TEST_CASE("an explicit plugin must serve the scheme") {
  auto r = tessera::find_driver("postgresql", fs::path(TESSERA_TEST_SQLITE_PLUGIN));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::plugin_load);
  CHECK_MESSAGE(contains(r.error().message, "does not serve scheme 'postgresql'"),
                r.error().message);

  auto ok = tessera::find_driver("sqlite", fs::path(TESSERA_TEST_SQLITE_PLUGIN));
  REQUIRE_MESSAGE(ok.ok(), ok.error().message);
  CHECK_FALSE(ok->origin.linked);
}

TEST_CASE("the search path is TESSERA_PLUGIN_PATH, then install, then build tree") {
  PluginPathScope scope("/tmp/tessera-a::/tmp/tessera-b");
  const auto dirs = tessera::plugin_search_path();
  REQUIRE(dirs.size() >= 3);
  CHECK(dirs[0] == fs::path("/tmp/tessera-a"));
  CHECK(dirs[1] == fs::path("/tmp/tessera-b"));
  CHECK(dirs.back() == fs::path(TESSERA_TEST_PLUGIN_BUILD_DIR));
}

TEST_CASE("find_driver finds a plugin listing the scheme under another file name") {
  PluginPathScope scope(TESSERA_TEST_ALIAS_DIR);
  auto r = tessera::find_driver("aliasscheme");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->origin.plugin.filename() == "libtessera-aliasdrv.so");
}

TEST_CASE("find_driver for an unknown scheme names every directory searched") {
  PluginPathScope scope(std::string(TESSERA_TEST_FIXTURE_DIR) + ":/nonexistent/tessera-plugins");
  auto r = tessera::find_driver("nosuch");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::plugin_load);
  for (const auto& dir : tessera::plugin_search_path())
    CHECK_MESSAGE(contains(r.error().message, dir.string()), r.error().message);
  CHECK(contains(r.error().message, "nosuch"));
  // The broken fixtures in the folder were tried and are reported, not fatal.
  CHECK_MESSAGE(contains(r.error().message, "libtessera-bogus.so"), r.error().message);
}

// Last in this file: registration cannot be undone.
TEST_CASE("find_driver uses TESSERA_PLUGIN_PATH, and a linked driver comes first") {
  PluginPathScope scope(TESSERA_TEST_PLUGIN_BUILD_DIR);
  auto from_plugin = tessera::find_driver("sqlite");
  REQUIRE_MESSAGE(from_plugin.ok(), from_plugin.error().message);
  CHECK_FALSE(from_plugin->origin.linked);
  CHECK(from_plugin->origin.plugin == fs::canonical(TESSERA_TEST_SQLITE_PLUGIN));

  tessera::sqlite::register_linked();
  CHECK(tessera::registered_driver("sqlite") != nullptr);
  auto linked = tessera::find_driver("sqlite");
  REQUIRE_MESSAGE(linked.ok(), linked.error().message);
  CHECK(linked->origin.linked);
  CHECK(linked->driver != from_plugin->driver);
}
