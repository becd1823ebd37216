// A delete with neither where() nor all().
#include "models.hpp"
using tessera::col;
void f(tessera::Db& db) {
#ifdef TESSERA_COMPILE_FAIL
  db.execute(tessera::delete_from<cf::User>());
#else
  db.execute(tessera::delete_from<cf::User>().where(col(&cf::User::id) == 1));
#endif
}
