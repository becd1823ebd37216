// is_null() on a column that is not std::optional.
#include "models.hpp"
using tessera::col;
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto c = col(&cf::User::name).is_null();
#else
  auto c = col(&cf::User::bio).is_null();
#endif
  (void)c;
}
