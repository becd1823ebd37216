// Durability and map growth of the LMDB driver.
//
// A child process inserts rows one transaction each and reports each
// committed id through a pipe; the parent SIGKILLs it mid-loop, reopens the
// environment and checks that every reported row is there with its index
// entries, and nothing beyond the one commit that may have landed after the
// last report. Twice, so the second run also recovers a killed writer's
// stale lock. Then a tiny map fills up and must grow without losing a row.
//
//   tessera_lmdb_durability_test --dir /path/to/scratch [doctest options]
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <tessera/lmdb.hpp>
#include <tessera/tessera.hpp>
#include <thread>
#include <vector>

namespace {

std::string g_dir;

struct Entry {
  std::int64_t id{};
  std::string key;
  std::int64_t value{};
  std::optional<std::string> note;
};
TESSERA_MODEL(Entry, "entries", (id, tessera::primary_key), (key, tessera::unique),
              (value, tessera::index), (note));

std::string key_of(std::int64_t id) { return "key-" + std::to_string(id); }

// The child: insert ids from `first` on, one transaction each, reporting
// each committed id. Never returns.
[[noreturn]] void writer(const std::string& url, std::int64_t first, int fd) {
  try {
    auto db = tessera::Db::open(url);
    db.push_schema<Entry>();
    for (std::int64_t id = first;; ++id) {
      db.insert(Entry{id, key_of(id), id * 10, std::string(64 + id % 200, 'x')});
      if (::write(fd, &id, sizeof id) != static_cast<ssize_t>(sizeof id)) _exit(3);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer: %s\n", e.what());
  }
  _exit(2);
}

// Runs a writer from `first` for about `ms` milliseconds, kills it, and
// returns the last id it reported (first - 1 if none).
std::int64_t run_and_kill(const std::string& url, std::int64_t first, int ms) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    writer(url, first, fds[1]);
  }
  ::close(fds[1]);
  std::int64_t last = first - 1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  // Read reports until the deadline, then kill without warning.
  while (std::chrono::steady_clock::now() < deadline) {
    std::int64_t id = 0;
    const ssize_t n = ::read(fds[0], &id, sizeof id);
    if (n != static_cast<ssize_t>(sizeof id)) break;
    last = id;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::int64_t id = 0;
  while (::read(fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id)) last = id;
  ::close(fds[0]);
  CHECK(WIFSIGNALED(status));
  return last;
}

// Every row 1..n present and consistent with both indexes, nothing above n;
// returns n, which must be `reported` or one more.
std::int64_t verify(tessera::Db& db, std::int64_t reported) {
  using tessera::col;
  using tessera::select;
  const std::int64_t n = db.count(select<Entry>());
  CHECK(n >= reported);
  CHECK(n <= reported + 1);
  std::int64_t bad = 0;
  for (std::int64_t id = 1; id <= n; ++id) {
    auto e = db.find<Entry>(id);
    if (!e || e->key != key_of(id) || e->value != id * 10) {
      ++bad;
      continue;
    }
    // Through the unique index, and through the non-unique one.
    auto by_key = db.fetch_all(select<Entry>().where(col(&Entry::key) == key_of(id)));
    if (by_key.size() != 1 || by_key[0].id != id) ++bad;
  }
  CHECK(bad == 0);
  CHECK(db.count(select<Entry>().where(col(&Entry::value) >= std::int64_t{10})) == n);
  CHECK(db.count(select<Entry>().where(col(&Entry::id) > n)) == 0);
  return n;
}

}  // namespace

TEST_CASE("lmdb: rows committed before a SIGKILL survive, and nothing else") {
  const std::string dir = g_dir + "/kill";
  std::filesystem::remove_all(dir);
  const std::string url = "lmdb://" + dir;
  // No environment may be open in this process across fork().
  const std::int64_t first = run_and_kill(url, 1, 400);
  MESSAGE("first writer reported " << first << " commits");
  REQUIRE(first > 0);
  std::int64_t n = 0;
  {
    auto db = tessera::Db::open(url);
    n = verify(db, first);
  }
  const std::int64_t second = run_and_kill(url, n + 1, 300);
  MESSAGE("second writer reported up to id " << second);
  REQUIRE(second > n);
  {
    auto db = tessera::Db::open(url);
    verify(db, second);
  }
}

TEST_CASE("lmdb: a full map grows and keeps every row") {
  const std::string dir = g_dir + "/grow";
  std::filesystem::remove_all(dir);
  auto db = tessera::Db::open("lmdb://" + dir + "?map_size_mb=1");
  db.push_schema<Entry>();
  constexpr std::int64_t kRows = 20000;  // about 6 MB with the indexes: several doublings
  std::vector<Entry> batch;
  for (std::int64_t id = 1; id <= kRows; ++id) {
    batch.push_back(Entry{id, key_of(id), id * 10, std::string(200, 'y')});
    if (batch.size() == 2000) {
      db.insert_many(batch);
      batch.clear();
    }
  }
  CHECK(db.count(tessera::select<Entry>()) == kRows);
  CHECK(db.find<Entry>(kRows)->key == key_of(kRows));
  // One insert far larger than the map was at first.
  std::vector<Entry> big;
  for (std::int64_t id = kRows + 1; id <= 2 * kRows; ++id)
    big.push_back(Entry{id, key_of(id), id * 10, std::string(300, 'z')});
  db.insert_many(big);
  CHECK(db.count(tessera::select<Entry>()) == 2 * kRows);
}

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--dir" && i + 1 < argc)
      g_dir = argv[++i];
    else
      rest.push_back(argv[i]);
  }
  if (g_dir.empty()) g_dir = std::filesystem::temp_directory_path() / "tessera-lmdb-durability";
  std::filesystem::create_directories(g_dir);
  tessera::lmdb::register_linked();
  doctest::Context context;
  context.applyCommandLine(static_cast<int>(rest.size()), rest.data());
  return context.run();
}
