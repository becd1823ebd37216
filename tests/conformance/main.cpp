// tessera-conformance: runs the conformance suite against the driver that
// serves --url (or TESSERA_TEST_URL), optionally loaded from --plugin.
// Every other argument goes to doctest (e.g. -tc="conformance: filters*").
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/conformance/fixture.hpp"

#ifdef TESSERA_CONFORMANCE_LINK_SQLITE
#include <tessera/sqlite.hpp>
#endif

namespace {

// Tells the harness which test case runs, for skip records, and counts them.
struct ConformanceListener : doctest::IReporter {
  explicit ConformanceListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& tc) override {
    conformance::set_current_test(tc.m_name);
    conformance::count_test_case();
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

const char* yes_no(bool b) { return b ? "yes" : "no"; }

const char* dialect_name(tessera::SqlDialect d) {
  switch (d) {
    case tessera::SqlDialect::sqlite: return "sqlite";
    case tessera::SqlDialect::postgresql: return "postgresql";
    case tessera::SqlDialect::mysql: return "mysql";
    case tessera::SqlDialect::none: break;
  }
  return "none (key-value)";
}

// The URL without its password.
std::string redacted_url() {
  return std::regex_replace(conformance::settings().url, std::regex("(://[^:/@]*):[^@]*@"),
                            "$1:***@");
}

void print_driver(const tessera::Db& db) {
  const auto& cap = db.capability();
  const auto& origin = db.driver_origin();
  std::printf("conformance: driver '%s' (%s) for %s\n", std::string(db.driver_name()).c_str(),
              origin.linked ? "linked" : ("plugin " + origin.plugin.string()).c_str(),
              redacted_url().c_str());
  std::printf(
      "conformance: capability sql=%s returning=%s upsert=%s upsert_target=%s savepoints=%s "
      "isolation_levels=0x%x read_only_transactions=%s max_bind_params=%u max_insert_rows=%u "
      "stores_nan=%s stores_infinity=%s text_embedded_nul=%s raw_sql=%s transactional_ddl=%s "
      "for_update=%s ordered_scan=%s secondary_indexes=%s full_scan=%s "
      "concurrent_connections=%s\n",
      dialect_name(cap.sql), yes_no(cap.returning), yes_no(cap.upsert), yes_no(cap.upsert_target),
      yes_no(cap.savepoints), cap.isolation_levels, yes_no(cap.read_only_transactions),
      cap.max_bind_params, cap.max_insert_rows, yes_no(cap.stores_nan), yes_no(cap.stores_infinity),
      yes_no(cap.text_embedded_nul), yes_no(cap.raw_sql), yes_no(cap.transactional_ddl),
      yes_no(cap.for_update), yes_no(cap.ordered_scan), yes_no(cap.secondary_indexes),
      yes_no(cap.full_scan), yes_no(cap.concurrent_connections));
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --url URL [--plugin PATH] [doctest options]\n"
               "  URL defaults to $TESSERA_TEST_URL\n",
               argv0);
  return 2;
}

}  // namespace

REGISTER_LISTENER("conformance", 1, ConformanceListener);

int main(int argc, char** argv) {
  auto& s = conformance::settings();
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> const char* {
      if (a == flag) return i + 1 < argc ? argv[++i] : nullptr;
      if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=')
        return argv[i] + flag.size() + 1;
      return nullptr;
    };
    if (a == "--url" || a.starts_with("--url=")) {
      const char* v = value("--url");
      if (!v) return usage(argv[0]);
      s.url = v;
    } else if (a == "--plugin" || a.starts_with("--plugin=")) {
      const char* v = value("--plugin");
      if (!v) return usage(argv[0]);
      s.plugin = v;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (s.url.empty()) {
    if (const char* env = std::getenv("TESSERA_TEST_URL")) s.url = env;
  }

  doctest::Context context;
  context.applyCommandLine(static_cast<int>(rest.size()), rest.data());
  if (context.shouldExit()) return context.run();  // --help, --list-test-cases...
  if (s.url.empty()) return usage(argv[0]);

#ifdef TESSERA_CONFORMANCE_LINK_SQLITE
  tessera::sqlite::register_linked();
#endif

  try {
    auto db = tessera::Db::open(s.url, conformance::base_options());
    print_driver(db);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conformance: cannot open %s: %s\n", s.url.c_str(), e.what());
    return 1;
  }

  const int rc = context.run();

  const auto& skipped = conformance::skips();
  std::size_t skipped_tests = 0;
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    bool first = true;
    for (std::size_t j = 0; j < i; ++j) first = first && skipped[j].test != skipped[i].test;
    skipped_tests += first;
  }
  std::printf("conformance: %zu test cases, %zu skipped\n", conformance::test_cases_run(),
              skipped_tests);
  for (const auto& skip : skipped)
    std::printf("SKIP %s: %s\n", skip.test.c_str(), skip.reason.c_str());
  return rc;
}
