// Comparing a text column with an integer.
#include "models.hpp"
using tessera::col;
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto c = col(&cf::User::name) == 5;
#else
  auto c = col(&cf::User::name) == "five";
#endif
  (void)c;
}
