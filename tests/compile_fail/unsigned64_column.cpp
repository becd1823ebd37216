// A model with an unsigned 64-bit column.
#include <tessera/tessera.hpp>
namespace cf2 {
struct Counter {
  std::int64_t id{};
#ifdef TESSERA_COMPILE_FAIL
  std::uint64_t hits{};
#else
  std::uint32_t hits{};
#endif
};
TESSERA_MODEL(Counter, "counters", (id, tessera::primary_key), (hits));
}  // namespace cf2
void f() { (void)tessera::detail::column_names<cf2::Counter>(); }
