// Url: a parsed database URL, as handed to Driver::connect.
//
// The engine parses the text once (RFC 3986, percent-decoding user, password
// and query values); a driver reads the parts it understands. Forms:
//   sqlite::memory:            scheme "sqlite", path ":memory:"
//   sqlite:///abs/path.db      path "/abs/path.db"
//   sqlite://rel/path.db       host "rel", path "/path.db" (the driver joins them)
//   postgresql://u:pw@h:5432/db?sslmode=disable
//   mysql://u:pw@h:3306/db     (also mariadb://)
//   lmdb:///abs/dir
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera {

struct Url {
  std::string text;  // as given; may contain a password: never log it
  std::string scheme;
  std::string user;
  std::string password;
  bool has_authority = false;  // "//" followed the scheme
  std::string host;
  std::uint16_t port = 0;                                  // 0: not given
  std::string path;                                        // percent-decoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

  // The value of the last query parameter with this name.
  std::optional<std::string> param(std::string_view name) const {
    std::optional<std::string> found;
    for (const auto& [k, v] : query)
      if (k == name) found = v;
    return found;
  }

  // The URL with the password replaced by "***", for messages and logs.
  std::string redacted() const {
    if (password.empty()) return text;
    std::string out = text;
    const auto at = out.find('@');
    const auto colon = out.find(':', scheme.size() + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
    return out;
  }
};

}  // namespace tessera
