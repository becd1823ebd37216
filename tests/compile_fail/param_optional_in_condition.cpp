// A std::optional placeholder in a comparison (NULL never compares equal).
#include "models.hpp"
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto q = tessera::select<cf::User>().where(tessera::col(&cf::User::bio) ==
                                             tessera::param<std::optional<std::string>>());
#else
  auto q = tessera::select<cf::User>().where(tessera::col(&cf::User::bio) ==
                                             tessera::param<std::string>());
#endif
  (void)q;
}
