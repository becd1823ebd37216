#include "mysql_driver.hpp"

#include <mysql.h>

#include <charconv>
#include <exception>
#include <mutex>
#include <new>

#include "mysql_errors.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/mysql.hpp"

namespace tessera::mysql {
namespace detail {
namespace {

Error url_error(const Url& url, const std::string& why) {
  return driver_error(ErrorKind::invalid_url, "invalid mysql URL '" + url.redacted() + "': " + why);
}

std::string normalized(std::string_view v) {
  std::string out;
  for (char c : v)
    out += c == '-' ? '_' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// The value of `name`, also spelled with '_' for '-' (ssl-ca, ssl_ca).
std::optional<std::string> option(const Url& url, std::string_view name) {
  std::optional<std::string> found;
  const std::string want = normalized(name);
  for (const auto& [k, v] : url.query)
    if (normalized(k) == want) found = v;
  return found;
}

bool read_seconds(const Url& url, std::string_view name, unsigned& out, Error& error) {
  auto v = option(url, name);
  if (!v) return true;
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || v->empty()) {
    error = url_error(url, std::string(name) + " must be a whole number of seconds");
    return false;
  }
  out = n;
  return true;
}

// The client library's global state is set up once, before any thread
// opens a connection (mysql_init would do it lazily, but not thread-safely).
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

}  // namespace

Result<OpenOptions> parse_url(const Url& url) {
  if (url.scheme != "mysql" && url.scheme != "mariadb")
    return url_error(url, "the scheme is not mysql or mariadb");
  OpenOptions o;
  if (!url.host.empty()) o.host = url.host;
  if (url.port != 0) o.port = url.port;
  o.user = url.user;
  o.password = url.password;
  o.database = url.path;
  if (!o.database.empty() && o.database.front() == '/') o.database.erase(0, 1);
  if (o.database.find('/') != std::string::npos)
    return url_error(url, "the path must be one database name");
  if (auto v = option(url, "socket")) o.socket = *v;
  if (auto v = option(url, "ssl-mode")) {
    const std::string mode = normalized(*v);
    if (mode == "disabled") {
      o.ssl_mode = SslMode::disabled;
    } else if (mode == "required") {
      o.ssl_mode = SslMode::required;
    } else if (mode == "verify_ca") {
      o.ssl_mode = SslMode::verify_ca;
    } else if (mode == "verify_identity") {
      o.ssl_mode = SslMode::verify_identity;
    } else {
      return url_error(url, "ssl-mode must be disabled, required, verify_ca or verify_identity");
    }
  }
  if (auto v = option(url, "ssl-ca")) o.ssl_ca = *v;
  if (auto v = option(url, "ssl-capath")) o.ssl_capath = *v;
  if (auto v = option(url, "ssl-cert")) o.ssl_cert = *v;
  if (auto v = option(url, "ssl-key")) o.ssl_key = *v;
  if (auto v = option(url, "ssl-cipher")) o.ssl_cipher = *v;
  Error error;
  if (!read_seconds(url, "connect_timeout", o.connect_timeout, error) ||
      !read_seconds(url, "read_timeout", o.read_timeout, error) ||
      !read_seconds(url, "write_timeout", o.write_timeout, error))
    return error;
  if (auto v = option(url, "returning")) {
    const std::string r = normalized(*v);
    if (r == "off" || r == "false" || r == "0") {
      o.returning = false;
    } else if (r != "on" && r != "true" && r != "1" && r != "auto") {
      return url_error(url, "returning must be on or off");
    }
  }
  return o;
}

std::vector<std::string> MysqlDriver::schemes() const {
  try {
    return {"mysql", "mariadb"};
  } catch (...) {
    return {};
  }
}

Result<std::unique_ptr<Connection>> MysqlDriver::connect(const Url& url) {
  return catch_all(kDriverName, [&]() -> Result<std::unique_ptr<Connection>> {
    auto options = parse_url(url);
    if (!options) return std::move(options).error();
    init_library();
    auto c = MysqlConnection::open(*options);
    if (!c) {
      Error e = std::move(c).error();
      e.message += " (" + url.redacted() + ")";
      return e;
    }
    return c;
  });
}

}  // namespace detail

std::unique_ptr<Driver> make_driver() { return std::make_unique<detail::MysqlDriver>(); }

void register_linked() { register_driver(make_driver()); }

}  // namespace tessera::mysql
