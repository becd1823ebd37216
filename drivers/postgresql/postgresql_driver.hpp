// PgDriver: opens PgConnections from postgresql: (and postgres:) URLs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "postgresql_connection.hpp"
#include "tessera/driver/driver.hpp"

namespace tessera::postgresql::detail {

// Reads a postgresql: URL into libpq keywords. Errors: invalid_url for
// another scheme, a query parameter libpq does not know, or a bad value of
// Tessera's own options.
Result<ConnectOptions> parse_url(const Url& url);

class PgDriver final : public Driver {
 public:
  std::string_view name() const override { return kName; }
  std::vector<std::string> schemes() const override;
  Result<std::unique_ptr<Connection>> connect(const Url& url) override;
  // No limit of the driver's own (the server's max_connections applies).
  std::size_t max_connections(const Url&) const override { return 0; }

 private:
  static constexpr std::string_view kName = "postgresql";
};

}  // namespace tessera::postgresql::detail
