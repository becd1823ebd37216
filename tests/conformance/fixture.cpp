#include "tests/conformance/fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace conformance {

namespace {
std::mutex g_mutex;
std::string g_current_test;
std::vector<Skip> g_skips;
std::size_t g_test_cases = 0;
std::atomic<std::uint64_t> g_prefix_counter{0};

// The open() of TestDb's member initialiser needs the prefix first.
tessera::Db open_with(const std::string& prefix,
                      const std::function<void(tessera::Options&)>& adjust) {
  tessera::Options o = base_options();
  o.table_prefix = prefix;
  if (adjust) adjust(o);
  return tessera::Db::open(settings().url, std::move(o));
}
}  // namespace

Settings& settings() {
  static Settings s;
  return s;
}

tessera::Options base_options() {
  tessera::Options o;
  o.plugin = settings().plugin;
  return o;
}

std::string unique_prefix() {
  return "c" + std::to_string(::getpid()) + "_" + std::to_string(++g_prefix_counter) + "_";
}

void set_current_test(std::string name) {
  std::lock_guard lock(g_mutex);
  g_current_test = std::move(name);
}

const std::string& current_test() { return g_current_test; }

bool require_capability(bool has, std::string_view reason) {
  if (has) return true;
  std::lock_guard lock(g_mutex);
  for (const Skip& s : g_skips)
    if (s.test == g_current_test && s.reason == reason) return false;
  g_skips.push_back(Skip{g_current_test, std::string(reason)});
  return false;
}

const std::vector<Skip>& skips() { return g_skips; }
std::size_t test_cases_run() { return g_test_cases; }
void count_test_case() {
  std::lock_guard lock(g_mutex);
  ++g_test_cases;
}

TestDb::TestDb(const std::function<void(tessera::Options&)>& adjust)
    : prefix_(unique_prefix()), db_(open_with(prefix_, adjust)) {}

TestDb::~TestDb() {
  for (auto it = drops_.rbegin(); it != drops_.rend(); ++it) {
    try {
      (*it)(db_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "conformance: dropping tables of %s failed: %s\n", prefix_.c_str(),
                   e.what());
    }
  }
}

tessera::Db TestDb::open_another(const std::function<void(tessera::Options&)>& adjust) const {
  return open_with(prefix_, adjust);
}

std::string placeholder(const tessera::Capability& cap, int n) {
  switch (cap.sql) {
    case tessera::SqlDialect::sqlite: return "?" + std::to_string(n);
    case tessera::SqlDialect::postgresql: return "$" + std::to_string(n);
    case tessera::SqlDialect::mysql: return "?";
    case tessera::SqlDialect::none: break;
  }
  return "?";
}

}  // namespace conformance
