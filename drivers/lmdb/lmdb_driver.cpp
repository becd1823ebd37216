#include "lmdb_driver.hpp"

#include <charconv>
#include <exception>
#include <new>
#include <string>

#include "lmdb_connection.hpp"
#include "lmdb_errors.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/lmdb.hpp"

namespace tessera::lmdb {
namespace detail {
namespace {

Error url_error(const Url& url, const std::string& why) {
  return driver_error(ErrorKind::invalid_url, "invalid lmdb URL '" + url.redacted() + "': " + why);
}

template <class T>
bool parse_number(const std::string& s, T& out, T min, T max) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace

Result<OpenOptions> parse_url(const Url& url) {
  if (url.scheme != "lmdb") return url_error(url, "the scheme is not lmdb");
  if (!url.host.empty()) return url_error(url, "use lmdb:///absolute/dir (no host)");
  if (url.path.empty() || url.path.front() != '/')
    return url_error(url, "the path must be an absolute directory");
  OpenOptions o;
  o.path = url.path;
  while (o.path.size() > 1 && o.path.back() == '/') o.path.pop_back();
  if (auto v = url.param("map_size_mb"))
    if (!parse_number<std::size_t>(*v, o.map_size_mb, 1, std::size_t{1} << 30))
      return url_error(url, "map_size_mb must be a positive integer");
  if (auto v = url.param("max_dbs"))
    if (!parse_number<unsigned>(*v, o.max_dbs, 2, kMaxDbsLimit))
      return url_error(url, "max_dbs must be an integer from 2 to " + std::to_string(kMaxDbsLimit));
  if (auto v = url.param("max_readers"))
    if (!parse_number<unsigned>(*v, o.max_readers, 1, 100000))
      return url_error(url, "max_readers must be a positive integer");
  if (auto v = url.param("busy_timeout_ms"))
    if (!parse_number<int>(*v, o.busy_timeout_ms, 0, 86'400'000))
      return url_error(url, "busy_timeout_ms must be a non-negative integer");
  if (auto v = url.param("sync")) {
    if (*v == "off" || *v == "0")
      o.sync = false;
    else if (*v != "on" && *v != "1")
      return url_error(url, "sync must be on or off");
  }
  return o;
}

std::vector<std::string> LmdbDriver::schemes() const {
  try {
    return {"lmdb"};
  } catch (...) {
    return {};
  }
}

Result<std::unique_ptr<Connection>> LmdbDriver::connect(const Url& url) {
  return catch_all(kDriverName, [&]() -> Result<std::unique_ptr<Connection>> {
    auto options = parse_url(url);
    if (!options) return std::move(options).error();
    return LmdbConnection::open(*options);
  });
}

}  // namespace detail

std::unique_ptr<Driver> make_driver() { return std::make_unique<detail::LmdbDriver>(); }

void register_linked() { register_driver(make_driver()); }

}  // namespace tessera::lmdb
