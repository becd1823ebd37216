// LmdbDriver: opens LmdbConnections from lmdb: URLs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lmdb_env.hpp"
#include "tessera/driver/driver.hpp"

namespace tessera::lmdb::detail {

// Reads an lmdb: URL. Errors: invalid_url for another scheme, a relative or
// missing path, or a bad option value.
Result<OpenOptions> parse_url(const Url& url);

class LmdbDriver final : public Driver {
 public:
  std::string_view name() const override { return "lmdb"; }
  std::vector<std::string> schemes() const override;
  Result<std::unique_ptr<Connection>> connect(const Url& url) override;
  // No limit: connections share the environment.
  std::size_t max_connections(const Url&) const override { return 0; }
};

}  // namespace tessera::lmdb::detail
