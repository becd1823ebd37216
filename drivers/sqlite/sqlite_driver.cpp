#include "sqlite_driver.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <new>

#include "sqlite_errors.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/sqlite.hpp"

namespace tessera::sqlite {
namespace detail {
namespace {

constexpr std::string_view kMemoryPath = ":memory:";

Error url_error(const Url& url, const std::string& why) {
  return driver_error(ErrorKind::invalid_url,
                      "invalid sqlite URL '" + url.redacted() + "': " + why);
}

}  // namespace

Result<OpenOptions> parse_url(const Url& url) {
  if (url.scheme != "sqlite") return url_error(url, "the scheme is not sqlite");
  OpenOptions o;
  if (url.path == kMemoryPath && url.host.empty()) {
    o.path = std::string(kMemoryPath);
    o.memory = true;
  } else if (url.has_authority && !url.host.empty()) {
    // sqlite://rel/path.db: host "rel" and path "/path.db" form a relative path.
    o.path = url.host + url.path;
  } else {
    o.path = url.path;
  }
  if (o.path.empty()) return url_error(url, "no database path");

  if (auto v = url.param("busy_timeout_ms")) {
    int ms = -1;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
    if (ec != std::errc() || end != v->data() + v->size() || ms < 0)
      return url_error(url, "busy_timeout_ms must be a non-negative integer");
    o.busy_timeout_ms = ms;
  }
  if (auto v = url.param("synchronous")) {
    std::string upper;
    for (char c : *v) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    constexpr std::array<std::string_view, 4> allowed = {"OFF", "NORMAL", "FULL", "EXTRA"};
    if (std::find(allowed.begin(), allowed.end(), upper) == allowed.end())
      return url_error(url, "synchronous must be OFF, NORMAL, FULL or EXTRA");
    o.synchronous = upper;
  }
  if (auto v = url.param("mode")) {
    if (*v == "ro") {
      o.read_only = true;
    } else if (*v == "rw") {
      o.create = false;
    } else if (*v != "rwc") {
      return url_error(url, "mode must be ro, rw or rwc");
    }
  }
  if (o.memory && o.read_only) return url_error(url, "an in-memory database cannot be read-only");
  return o;
}

std::vector<std::string> SqliteDriver::schemes() const {
  try {
    return {std::string(kName)};
  } catch (...) {
    return {};
  }
}

Result<std::unique_ptr<Connection>> SqliteDriver::connect(const Url& url) {
  return catch_all(kDriverName, [&]() -> Result<std::unique_ptr<Connection>> {
    auto options = parse_url(url);
    if (!options) return std::move(options).error();
    return SqliteConnection::open(*options);
  });
}

std::size_t SqliteDriver::max_connections(const Url& url) const {
  return url.path == kMemoryPath && url.host.empty() ? 1 : 0;
}

}  // namespace detail

std::unique_ptr<Driver> make_driver() { return std::make_unique<detail::SqliteDriver>(); }

void register_linked() { register_driver(make_driver()); }

}  // namespace tessera::sqlite
