// The whole public API.
#pragma once

#include "tessera/db.hpp"
#include "tessera/driver_registry.hpp"
#include "tessera/error.hpp"
#include "tessera/model.hpp"
#include "tessera/query.hpp"
