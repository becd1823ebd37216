// MysqlDriver: opens MysqlConnections from mysql: and mariadb: URLs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mysql_connection.hpp"
#include "tessera/driver/driver.hpp"

namespace tessera::mysql::detail {

// Reads a mysql: or mariadb: URL. Errors: invalid_url for another scheme or
// a bad option value.
Result<OpenOptions> parse_url(const Url& url);

class MysqlDriver final : public Driver {
 public:
  std::string_view name() const override { return kName; }
  std::vector<std::string> schemes() const override;
  Result<std::unique_ptr<Connection>> connect(const Url& url) override;
  // No limit of the driver's own (the server's max_connections applies).
  std::size_t max_connections(const Url&) const override { return 0; }

 private:
  static constexpr std::string_view kName = "mysql";
};

}  // namespace tessera::mysql::detail
