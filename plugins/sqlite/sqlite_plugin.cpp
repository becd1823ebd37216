// The plugin entry points of the SQLite driver (see tessera/driver/plugin.hpp).
#include "tessera/driver/plugin.hpp"
#include "tessera/sqlite.hpp"

TESSERA_PLUGIN("sqlite", "sqlite", tessera::sqlite::make_driver)
