// A std::optional (NULL) placeholder set on a non-nullable column.
#include "models.hpp"
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto u = tessera::update<cf::User>().set(&cf::User::age,
                                           tessera::param<std::optional<std::int32_t>>());
#else
  auto u =
      tessera::update<cf::User>().set(&cf::User::bio, tessera::param<std::optional<std::string>>());
#endif
  (void)u;
}
