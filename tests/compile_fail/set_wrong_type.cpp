// Assigning a string to an integer column.
#include "models.hpp"
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto u = tessera::update<cf::User>().set(&cf::User::age, "old");
#else
  auto u = tessera::update<cf::User>().set(&cf::User::age, 42);
#endif
  (void)u;
}
