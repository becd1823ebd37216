// Models shared by the compile-fail cases.
#pragma once

#include <tessera/tessera.hpp>

namespace cf {
struct User {
  std::int64_t id{};
  std::string name;
  std::optional<std::string> bio;
  std::int32_t age{};
  std::string not_a_column;  // deliberately absent from TESSERA_MODEL
};
TESSERA_MODEL(User, "users", (id, tessera::primary_key, tessera::auto_increment), (name), (bio),
              (age));

struct Post {
  std::int64_t id{};
  std::string title;
};
TESSERA_MODEL(Post, "posts", (id, tessera::primary_key), (title));

struct NotPartial {
  std::int64_t id{};
};
}  // namespace cf
