// The plugin entry points of the MySQL/MariaDB driver (see
// tessera/driver/plugin.hpp).
#include "tessera/driver/plugin.hpp"
#include "tessera/mysql.hpp"

TESSERA_PLUGIN("mysql", "mysql,mariadb", tessera::mysql::make_driver)
