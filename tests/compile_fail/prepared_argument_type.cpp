// A prepared statement's argument whose type does not fit the declared
// parameter type.
#include "models.hpp"
void f(tessera::Db& db) {
  auto q = db.prepare<std::int32_t, std::int64_t>(
      tessera::update<cf::User>()
          .set(&cf::User::age, tessera::param<std::int32_t>())
          .where(tessera::col(&cf::User::id) == tessera::param<std::int64_t>()));
#ifdef TESSERA_COMPILE_FAIL
  q.execute("forty", 1);
#else
  q.execute(40, 1);
#endif
}
