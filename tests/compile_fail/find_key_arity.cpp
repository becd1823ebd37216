// find() with two key values for a one-column primary key.
#include "models.hpp"
void f(tessera::Db& db) {
#ifdef TESSERA_COMPILE_FAIL
  (void)db.find<cf::User>(1, 2);
#else
  (void)db.find<cf::User>(1);
#endif
}
