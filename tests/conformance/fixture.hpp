// The conformance suite's harness: which database to test, capability
// gating with recorded skips, and a per-test fixture that isolates tables.
//
// Every TEST_CASE opens its own Db through TestDb, whose table prefix is
// unique per process and test, and drops the tables it created when it ends,
// so suites can share one database server side by side.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tessera/tessera.hpp>

namespace conformance {

// What main() parsed: the database URL and an optional plugin file.
struct Settings {
  std::string url;
  std::optional<std::filesystem::path> plugin;
};
Settings& settings();

// Options for opening the database under test (the plugin filled in).
tessera::Options base_options();

// A table prefix unique to this process and call: "c<pid>_<n>_".
std::string unique_prefix();

// Records that the current test case is skipped for `reason` unless `has`;
// returns `has`. Use as: if (!require_capability(cap.savepoints, "...")) return;
bool require_capability(bool has, std::string_view reason);

// The test case now running (set by the suite's doctest listener).
void set_current_test(std::string name);
const std::string& current_test();

struct Skip {
  std::string test;
  std::string reason;
};
const std::vector<Skip>& skips();
std::size_t test_cases_run();
void count_test_case();

// One test's database: a Db with a unique table prefix, and the tables it
// created, dropped (in reverse order) when it is destroyed.
class TestDb {
 public:
  // Opens the database under test; `adjust` may change the options first.
  explicit TestDb(const std::function<void(tessera::Options&)>& adjust = {});
  ~TestDb();
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  // Drops any leftover of the models' tables, creates them, and drops them
  // when this fixture ends. Parents before children (foreign keys).
  template <tessera::Model... T>
  void create() {
    (create_one<T>(), ...);
  }

  tessera::Db& operator*() { return db_; }
  tessera::Db* operator->() { return &db_; }
  tessera::Db& db() { return db_; }
  const std::string& prefix() const { return prefix_; }
  const tessera::Capability& cap() const { return db_.capability(); }

  // The model's table name as stored, prefix included (for raw SQL).
  template <tessera::Model T>
  std::string table() const {
    return prefix_ + tessera::table_name<T>();
  }

  // Opens a second Db on the same database and prefix (another pool).
  tessera::Db open_another(const std::function<void(tessera::Options&)>& adjust = {}) const;

 private:
  template <tessera::Model T>
  void create_one() {
    db_.drop_tables<T>();
    db_.push_schema<T>();
    drops_.push_back([](tessera::Db& db) { db.drop_tables<T>(); });
  }

  std::string prefix_;
  tessera::Db db_;
  std::vector<std::function<void(tessera::Db&)>> drops_;
};

// The placeholder for parameter `n` (1-based) in the connection's dialect:
// ?n (sqlite), $n (postgresql), ? (mysql).
std::string placeholder(const tessera::Capability& cap, int n);

}  // namespace conformance
