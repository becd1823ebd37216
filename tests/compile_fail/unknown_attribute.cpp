// A member listed with something that is not an attribute.
#include <tessera/tessera.hpp>
namespace cf3 {
struct Tag {
  std::int64_t id{};
  std::string label;
};
#ifdef TESSERA_COMPILE_FAIL
TESSERA_MODEL(Tag, "tags", (id, tessera::primary_key), (label, 42));
#else
TESSERA_MODEL(Tag, "tags", (id, tessera::primary_key), (label, tessera::unique));
#endif
}  // namespace cf3
void f() { (void)tessera::detail::column_names<cf3::Tag>(); }
