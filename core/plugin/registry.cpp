// Driver registry and plugin loader (include/tessera/driver_registry.hpp).
//
// A plugin is opened with Boost.DLL (RTLD_NOW | RTLD_LOCAL, so a missing
// symbol fails the load instead of killing the process at first call), its
// descriptor is checked against this build, and only then is its factory
// called. Every failure is an Error of kind plugin_load; no exception
// leaves this file.
#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "tessera/driver/plugin.hpp"
#include "tessera/driver_registry.hpp"

namespace tessera {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPluginPrefix = "libtessera-";
constexpr std::string_view kPluginSuffix = ".so";
constexpr const char* kDescriptorSymbol = "tessera_plugin_descriptor";
constexpr const char* kCreateSymbol = "tessera_plugin_create";

Error plugin_error(std::string message) {
  return Error(ErrorKind::plugin_load, std::move(message));
}

// Built by append: GCC 12 at -O3 warns (-Wrestrict, a libstdc++ false
// positive) on "'" + std::string.
std::string quoted(const fs::path& file) {
  std::string out;
  out.reserve(file.native().size() + 2);
  out += '\'';
  out += file.native();
  out += '\'';
  return out;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (true) {
    const auto pos = text.find(sep);
    const std::string_view part = text.substr(0, pos);
    if (!part.empty()) out.emplace_back(part);
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// One plugin file, opened, whose descriptor passed every check.
struct LoadedPlugin {
  fs::path file;  // canonical
  boost::dll::shared_library library;
  std::string driver_name;
  std::vector<std::string> schemes;
  TesseraPluginCreateFn create = nullptr;
  // The driver made by the factory while anyone holds it; made again if all
  // holders let it go.
  std::weak_ptr<Driver> driver;

  bool serves(std::string_view scheme) const {
    return std::find(schemes.begin(), schemes.end(), scheme) != schemes.end();
  }
};

// Destroys a plugin's Driver on the plugin's side (virtual destructor), then
// lets go of the library: the library outlives everything made from it.
struct PluginDriverDeleter {
  std::shared_ptr<LoadedPlugin> plugin;
  void operator()(Driver* driver) {
    delete driver;
    plugin.reset();
  }
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Driver>, std::less<>> linked;
  // Plugins by canonical path, so each file is opened once per process.
  std::map<fs::path, std::shared_ptr<LoadedPlugin>> plugins;
};

// Deliberately leaked: a plugin library is never closed by a static
// destructor (unloading code that another static destructor, a detached
// thread or a registered Driver may still run is the classic crash of
// plugin systems). The OS reclaims the handles at exit.
Registry& registry() {
  static Registry* const instance = new Registry;
  return *instance;
}

// The loader's error text for a file that failed to load. Boost.DLL resets
// dlerror() before reporting, so ask the dynamic loader again.
std::string load_failure_text(const fs::path& file, const std::exception& e) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* text = ::dlerror();
    if (text != nullptr) return text;
  } else {
    ::dlclose(handle);
  }
  return e.what();
}

Status check_descriptor(const fs::path& file, const TesseraPluginDescriptor& d) {
  // abi_version and struct_size are the two fields every ABI version keeps
  // first; nothing else may be read before they match.
  if (d.abi_version != TESSERA_PLUGIN_ABI_VERSION)
    return plugin_error("plugin " + quoted(file) + " was built for plugin ABI version " +
                        std::to_string(d.abi_version) + ", this Tessera uses ABI version " +
                        std::to_string(TESSERA_PLUGIN_ABI_VERSION));
  if (d.struct_size < sizeof(TesseraPluginDescriptor))
    return plugin_error("plugin " + quoted(file) + " has a descriptor of " +
                        std::to_string(d.struct_size) + " bytes, this Tessera expects at least " +
                        std::to_string(sizeof(TesseraPluginDescriptor)));
  if (d.tessera_version == nullptr || d.compiler_tag == nullptr || d.driver_name == nullptr ||
      d.schemes == nullptr)
    return plugin_error("plugin " + quoted(file) + " has an incomplete descriptor");
  if (std::strcmp(d.tessera_version, TESSERA_VERSION_STRING) != 0)
    return plugin_error("plugin " + quoted(file) + " was built for Tessera " + d.tessera_version +
                        ", this is Tessera " + TESSERA_VERSION_STRING);
  if (std::strcmp(d.compiler_tag, TESSERA_COMPILER_TAG) != 0)
    return plugin_error("plugin " + quoted(file) + " was built with " + d.compiler_tag +
                        ", this Tessera with " + TESSERA_COMPILER_TAG +
                        " (C++ types cannot cross between them)");
  return {};
}

// Opens and checks a plugin file, or returns the cached one. Caller holds
// the registry mutex.
Result<std::shared_ptr<LoadedPlugin>> open_plugin(Registry& reg, const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return plugin_error("plugin file " + quoted(file) + " does not exist");
  fs::path canonical = fs::canonical(file, ec);
  if (ec)
    return plugin_error("plugin file " + quoted(file) + " cannot be resolved: " + ec.message());
  if (auto it = reg.plugins.find(canonical); it != reg.plugins.end()) return it->second;

  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->file = canonical;
  try {
    plugin->library.load(canonical,
                         boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return plugin_error("cannot load plugin " + quoted(canonical) + ": " +
                        load_failure_text(canonical, e));
  }
  if (!plugin->library.has(kDescriptorSymbol))
    return plugin_error(quoted(canonical) + " is not a Tessera plugin: it exports no " +
                        kDescriptorSymbol);
  const auto& descriptor = plugin->library.get<const TesseraPluginDescriptor>(kDescriptorSymbol);
  if (Status s = check_descriptor(canonical, descriptor); !s) return std::move(s).error();
  if (!plugin->library.has(kCreateSymbol))
    return plugin_error("plugin " + quoted(canonical) + " exports no " + kCreateSymbol);
  plugin->create = plugin->library.get<void*(char*, std::size_t)>(kCreateSymbol);
  plugin->driver_name = descriptor.driver_name;
  plugin->schemes = split(descriptor.schemes, ',');
  reg.plugins.emplace(canonical, plugin);
  return plugin;
}

// The plugin's driver, made by its factory if none is alive. Caller holds
// the registry mutex.
Result<FoundDriver> plugin_driver(const std::shared_ptr<LoadedPlugin>& plugin) {
  FoundDriver found;
  found.origin.plugin = plugin->file;
  if ((found.driver = plugin->driver.lock())) return found;
  char message[512] = {};
  void* raw = plugin->create(message, sizeof message);
  if (raw == nullptr)
    return plugin_error("plugin " + quoted(plugin->file) + " failed to create its driver: " +
                        (message[0] != '\0' ? message : "no reason given"));
  found.driver = std::shared_ptr<Driver>(static_cast<Driver*>(raw), PluginDriverDeleter{plugin});
  plugin->driver = found.driver;
  return found;
}

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty()) return false;
  return std::all_of(scheme.begin(), scheme.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
  });
}

bool is_plugin_file_name(const std::string& name) {
  return name.size() > kPluginPrefix.size() + kPluginSuffix.size() &&
         name.starts_with(kPluginPrefix) && name.ends_with(kPluginSuffix);
}

// Looks for a plugin serving `scheme` in one directory: the file named after
// the scheme first, then every other plugin file whose descriptor lists it.
// Files that fail are noted in `rejected` and skipped.
std::shared_ptr<LoadedPlugin> search_dir(Registry& reg, const fs::path& dir,
                                         std::string_view scheme,
                                         std::vector<std::string>& rejected) {
  const fs::path named =
      dir / (std::string(kPluginPrefix) + std::string(scheme) + std::string(kPluginSuffix));
  auto try_file = [&](const fs::path& file) -> std::shared_ptr<LoadedPlugin> {
    auto opened = open_plugin(reg, file);
    if (!opened) {
      rejected.push_back(opened.error().message);
      return nullptr;
    }
    return (*opened)->serves(scheme) ? *opened : nullptr;
  };
  std::error_code ec;
  if (fs::exists(named, ec))
    if (auto p = try_file(named)) return p;

  std::vector<fs::path> others;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_plugin_file_name(name) && it->path() != named) others.push_back(it->path());
  }
  std::sort(others.begin(), others.end());  // deterministic choice
  for (const auto& file : others)
    if (auto p = try_file(file)) return p;
  return nullptr;
}

}  // namespace

void register_driver(std::shared_ptr<Driver> driver) {
  if (!driver) return;
  try {
    const std::vector<std::string> schemes = driver->schemes();
    Registry& reg = registry();
    std::lock_guard lock(reg.mutex);
    for (const auto& s : schemes) reg.linked[s] = driver;
  } catch (...) {
    // Out of memory while registering: the driver stays unregistered and
    // find_driver reports the scheme as unknown.
  }
}

std::shared_ptr<Driver> registered_driver(std::string_view scheme) {
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  auto it = reg.linked.find(scheme);
  return it == reg.linked.end() ? nullptr : it->second;
}

std::vector<fs::path> plugin_search_path() {
  std::vector<fs::path> dirs;
  try {
    auto add = [&](const fs::path& dir) {
      if (!dir.empty() && std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
        dirs.push_back(dir);
    };
    if (const char* env = std::getenv("TESSERA_PLUGIN_PATH"))
      for (const auto& d : split(env, ':')) add(d);
    add(TESSERA_PLUGIN_INSTALL_DIR);
    add(TESSERA_PLUGIN_BUILD_DIR);
  } catch (...) {
    // Out of memory: return what was gathered.
  }
  return dirs;
}

Result<FoundDriver> load_plugin(const fs::path& file) {
  try {
    Registry& reg = registry();
    std::lock_guard lock(reg.mutex);
    auto opened = open_plugin(reg, file);
    if (!opened) return std::move(opened).error();
    return plugin_driver(*opened);
  } catch (const std::exception& e) {
    return plugin_error("loading plugin " + quoted(file) + " failed: " + e.what());
  } catch (...) {
    return plugin_error("loading plugin " + quoted(file) + " failed: unknown exception");
  }
}

Result<FoundDriver> find_driver(std::string_view scheme,
                                const std::optional<fs::path>& explicit_plugin) {
  try {
    if (!valid_scheme(scheme))
      return plugin_error("invalid URL scheme '" + std::string(scheme) + "'");
    if (explicit_plugin) {
      Registry& reg = registry();
      std::lock_guard lock(reg.mutex);
      auto opened = open_plugin(reg, *explicit_plugin);
      if (!opened) return std::move(opened).error();
      if (!(*opened)->serves(scheme))
        return plugin_error("plugin " + quoted((*opened)->file) + " (driver " +
                            (*opened)->driver_name + ", schemes " + join((*opened)->schemes, ",") +
                            ") does not serve scheme '" + std::string(scheme) + "'");
      return plugin_driver(*opened);
    }
    if (auto linked = registered_driver(scheme)) {
      FoundDriver found;
      found.driver = std::move(linked);
      found.origin.linked = true;
      return found;
    }
    const std::vector<fs::path> dirs = plugin_search_path();
    Registry& reg = registry();
    std::lock_guard lock(reg.mutex);
    std::vector<std::string> searched;
    std::vector<std::string> rejected;
    for (const auto& dir : dirs) {
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) {
        searched.push_back(dir.string() + " (missing)");
        continue;
      }
      searched.push_back(dir.string());
      if (auto plugin = search_dir(reg, dir, scheme, rejected)) return plugin_driver(plugin);
    }
    std::string message =
        "no driver for URL scheme '" + std::string(scheme) +
        "': none is linked in, and no plugin serving it was found in " +
        (searched.empty() ? std::string("(no directories)") : join(searched, ", "));
    if (!rejected.empty()) message += "; plugins rejected: " + join(rejected, "; ");
    return plugin_error(std::move(message));
  } catch (const std::exception& e) {
    return plugin_error("finding a driver for scheme '" + std::string(scheme) +
                        "' failed: " + e.what());
  } catch (...) {
    return plugin_error("finding a driver for scheme '" + std::string(scheme) +
                        "' failed: unknown exception");
  }
}

}  // namespace tessera
