// The plugin entry points of the LMDB driver (see tessera/driver/plugin.hpp).
#include "tessera/driver/plugin.hpp"
#include "tessera/lmdb.hpp"

TESSERA_PLUGIN("lmdb", "lmdb", tessera::lmdb::make_driver)
