// like() on an integer column.
#include "models.hpp"
using tessera::col;
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto c = col(&cf::User::age).like("1%");
#else
  auto c = col(&cf::User::name).like("1%");
#endif
  (void)c;
}
