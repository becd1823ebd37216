// A prepared statement run with fewer arguments than declared parameters.
#include "models.hpp"
void f(tessera::Db& db) {
  auto q = db.prepare<std::string>(tessera::select<cf::User>().where(
      tessera::col(&cf::User::name) == tessera::param<std::string>()));
#ifdef TESSERA_COMPILE_FAIL
  (void)q.fetch_all();
#else
  (void)q.fetch_all("ada");
#endif
}
