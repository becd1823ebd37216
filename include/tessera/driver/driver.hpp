// Driver: a database kind (sqlite, postgresql, ...) that opens Connections.
//
// Thread safety: every member may be called from any thread concurrently.
// No exception escapes any member.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/connection.hpp"
#include "tessera/driver/error.hpp"
#include "tessera/driver/url.hpp"

namespace tessera {

class Driver {
 public:
  virtual ~Driver() = default;

  // Short lower-case name: "sqlite". Used in errors and logs.
  virtual std::string_view name() const = 0;

  // URL schemes this driver opens: {"mysql", "mariadb"}.
  virtual std::vector<std::string> schemes() const = 0;

  // Opens a connection. Errors: invalid_url for a URL the driver cannot use,
  // unavailable when the database cannot be reached, storage for a file that
  // cannot be opened.
  virtual Result<std::unique_ptr<Connection>> connect(const Url& url) = 0;

  // The most connections the pool may open for this URL (1 for an in-memory
  // SQLite database), or 0 for no limit of the driver's own.
  virtual std::size_t max_connections(const Url& url) const = 0;
};

}  // namespace tessera
