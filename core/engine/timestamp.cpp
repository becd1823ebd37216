// Timestamp::now(), declared in the SPI header tessera/driver/value.hpp.
#include <chrono>

#include "tessera/driver/value.hpp"
#include "tessera/export.hpp"

namespace tessera {

// Exported explicitly: the SPI header declares no export macro.
TESSERA_API Timestamp Timestamp::now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count()};
}

}  // namespace tessera
