// Finding drivers: drivers linked into the program, and plugins loaded at
// run time with Boost.DLL.
//
// Lookup for a URL scheme (see find_driver): an explicit plugin path if one is
// given; else a driver registered with register_driver(); else plugins found
// in, in order, the directories of TESSERA_PLUGIN_PATH (colon-separated), the
// install's plugin folder, and the build tree's plugin folder.
//
// Lifetime: a plugin's shared library stays loaded while any Driver from it
// (and so any Connection, which holds its Driver) is alive.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/driver/driver.hpp"
#include "tessera/export.hpp"

namespace tessera {

// Registers a driver linked into the program under each of its schemes. A
// later registration for a scheme replaces an earlier one.
TESSERA_API void register_driver(std::shared_ptr<Driver> driver);

// The driver registered for a scheme, or null.
TESSERA_API std::shared_ptr<Driver> registered_driver(std::string_view scheme);

// Where a driver came from, for logs and the example's output.
struct DriverOrigin {
  bool linked = false;           // registered with register_driver()
  std::filesystem::path plugin;  // the plugin file otherwise
};

struct FoundDriver {
  std::shared_ptr<Driver> driver;
  DriverOrigin origin;
};

// Loads one plugin file. Errors (all ErrorKind::plugin_load, message naming
// the file): the file does not exist; it is not a loadable shared library or
// a dependency is missing (with the dlerror text); it has no
// tessera_plugin_descriptor (not a Tessera plugin); its ABI version,
// Tessera version or compiler tag differs from this build's (both sides
// named); its factory failed (its message).
TESSERA_API Result<FoundDriver> load_plugin(const std::filesystem::path& file);

// The driver for a URL scheme, following the lookup order above.
// `explicit_plugin`, when set, is loaded and must serve the scheme.
// Error: plugin_load naming every place searched when nothing serves it.
TESSERA_API Result<FoundDriver> find_driver(
    std::string_view scheme,
    const std::optional<std::filesystem::path>& explicit_plugin = std::nullopt);

// The directories searched for plugins, in order (for messages and tests).
TESSERA_API std::vector<std::filesystem::path> plugin_search_path();

}  // namespace tessera
