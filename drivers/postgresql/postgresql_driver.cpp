#include "postgresql_driver.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <set>

#include "postgresql_errors.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/postgresql.hpp"

namespace tessera::postgresql {
namespace detail {
namespace {

// Tessera's own URL options, not passed to libpq.
constexpr std::string_view kStatementCacheSize = "statement_cache_size";
constexpr std::string_view kCopyMinRows = "copy_min_rows";
// Parts of the URL itself; given as query parameters they are refused so
// that a URL means one thing.
const std::set<std::string, std::less<>> kFromUrlParts = {"user", "password", "port", "dbname"};

Error url_error(const Url& url, const std::string& why) {
  return driver_error(ErrorKind::invalid_url,
                      "invalid postgresql URL '" + url.redacted() + "': " + why);
}

// The connection keywords this libpq knows (PQconndefaults), read once.
const std::set<std::string, std::less<>>& libpq_keywords() {
  static const std::set<std::string, std::less<>> keywords = [] {
    std::set<std::string, std::less<>> out;
    if (PQconninfoOption* options = PQconndefaults()) {
      for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) out.insert(o->keyword);
      PQconninfoFree(options);
    }
    return out;
  }();
  return keywords;
}

}  // namespace

Result<ConnectOptions> parse_url(const Url& url) {
  if (url.scheme != "postgresql" && url.scheme != "postgres")
    return url_error(url, "the scheme is not postgresql or postgres");
  // Later entries override earlier ones; the order below is URL parts,
  // Tessera's defaults, then the query.
  std::map<std::string, std::string, std::less<>> params;
  if (!url.host.empty()) params["host"] = url.host;
  if (url.port != 0) params["port"] = std::to_string(url.port);
  if (!url.user.empty()) params["user"] = url.user;
  if (!url.password.empty()) params["password"] = url.password;
  std::string_view db = url.path;
  if (!db.empty() && db.front() == '/') db.remove_prefix(1);
  if (!db.empty()) params["dbname"] = std::string(db);
  params["client_encoding"] = "UTF8";
  params["application_name"] = "tessera";
  params["connect_timeout"] = "10";

  ConnectOptions o;
  o.redacted_url = url.redacted();
  const auto& known = libpq_keywords();
  for (const auto& [key, value] : url.query) {
    if (key == kStatementCacheSize) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0)
        return url_error(url, "statement_cache_size must be a positive integer");
      o.statement_cache_size = n;
      continue;
    }
    if (key == kCopyMinRows) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size())
        return url_error(url, "copy_min_rows must be a non-negative integer");
      o.copy_min_rows = n;
      continue;
    }
    if (kFromUrlParts.count(key) != 0)
      return url_error(url, "'" + key + "' belongs in the URL itself, not in its query");
    if (key == "client_encoding" && value != "UTF8" && value != "utf8")
      return url_error(url, "client_encoding must be UTF8 (Tessera text is UTF-8)");
    if (key == "replication")
      return url_error(url, "replication connections cannot run queries through Tessera");
    if (known.count(key) == 0) return url_error(url, "unknown connection option '" + key + "'");
    params[key] = value;
  }
  // Timestamps are exchanged in binary (UTC), but the session's zone shapes
  // every text rendering and date arithmetic on the server: UTC, always,
  // after any options of the user's so it wins.
  std::string& options = params["options"];
  if (!options.empty()) options += ' ';
  options += "-c TimeZone=UTC";

  for (auto& [key, value] : params) {
    o.keywords.push_back(key);
    o.values.push_back(std::move(value));
  }
  return o;
}

std::vector<std::string> PgDriver::schemes() const {
  try {
    return {"postgresql", "postgres"};
  } catch (...) {
    return {};
  }
}

Result<std::unique_ptr<Connection>> PgDriver::connect(const Url& url) {
  return catch_all(kDriverName, [&]() -> Result<std::unique_ptr<Connection>> {
    auto options = parse_url(url);
    if (!options) return std::move(options).error();
    return PgConnection::open(*options);
  });
}

}  // namespace detail

std::unique_ptr<Driver> make_driver() { return std::make_unique<detail::PgDriver>(); }

void register_linked() { register_driver(make_driver()); }

}  // namespace tessera::postgresql
