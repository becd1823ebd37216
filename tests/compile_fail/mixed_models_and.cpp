// && between conditions on two models.
#include "models.hpp"
using tessera::col;
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto c = col(&cf::User::name) == "x" && col(&cf::Post::title) == "y";
#else
  auto c = col(&cf::User::name) == "x" && col(&cf::User::age) > 3;
#endif
  (void)c;
}
