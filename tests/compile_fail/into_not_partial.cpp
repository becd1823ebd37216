// into<P>() with a struct that is not a TESSERA_PARTIAL of the model.
#include "models.hpp"
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto q = tessera::select<cf::User>().into<cf::NotPartial>();
  (void)q;
#endif
}
