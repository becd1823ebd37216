// A condition on Post used to filter Users.
#include "models.hpp"
using tessera::col;
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto q = tessera::select<cf::User>().where(col(&cf::Post::title) == "x");
#else
  auto q = tessera::select<cf::User>().where(col(&cf::User::name) == "x");
#endif
  (void)q;
}
