// A placeholder whose declared type does not fit its column, as a literal
// of that type would not.
#include "models.hpp"
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto q = tessera::select<cf::User>().where(tessera::col(&cf::User::age) ==
                                             tessera::param<std::string>());
#else
  auto q = tessera::select<cf::User>().where(tessera::col(&cf::User::age) ==
                                             tessera::param<std::int32_t>());
#endif
  (void)q;
}
