// SqliteDriver: opens SqliteConnections from sqlite: URLs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite_connection.hpp"
#include "tessera/driver/driver.hpp"

namespace tessera::sqlite::detail {

// Reads a sqlite: URL. Errors: invalid_url for another scheme, a missing
// path, or a bad option value.
Result<OpenOptions> parse_url(const Url& url);

class SqliteDriver final : public Driver {
 public:
  std::string_view name() const override { return kName; }
  std::vector<std::string> schemes() const override;
  Result<std::unique_ptr<Connection>> connect(const Url& url) override;
  // 1 for sqlite::memory: (each connection would be a separate database),
  // no limit otherwise.
  std::size_t max_connections(const Url& url) const override;

 private:
  static constexpr std::string_view kName = "sqlite";
};

}  // namespace tessera::sqlite::detail
