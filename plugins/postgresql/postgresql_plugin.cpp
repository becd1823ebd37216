// The plugin entry points of the PostgreSQL driver (see tessera/driver/plugin.hpp).
#include "tessera/driver/plugin.hpp"
#include "tessera/postgresql.hpp"

TESSERA_PLUGIN("postgresql", "postgresql,postgres", tessera::postgresql::make_driver)
