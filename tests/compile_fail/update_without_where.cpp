// An update with neither where() nor all().
#include "models.hpp"
using tessera::col;
void f(tessera::Db& db) {
#ifdef TESSERA_COMPILE_FAIL
  db.execute(tessera::update<cf::User>().set(&cf::User::age, 1));
#else
  db.execute(tessera::update<cf::User>().set(&cf::User::age, 1).all());
#endif
}
