// Setting a text column from an integer placeholder.
#include "models.hpp"
void f() {
#ifdef TESSERA_COMPILE_FAIL
  auto u = tessera::update<cf::User>().set(&cf::User::name, tessera::param<std::int64_t>());
#else
  auto u = tessera::update<cf::User>().set(&cf::User::name, tessera::param<std::string>());
#endif
  (void)u;
}
