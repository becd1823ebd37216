// col() of a member that TESSERA_MODEL does not list.
#include "models.hpp"
using tessera::col;
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto c = col(&cf::User::not_a_column) == "x";
#else
  auto c = col(&cf::User::name) == "x";
#endif
  (void)c;
}
