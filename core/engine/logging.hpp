// The `tessera` spdlog logger. Created on first use with a stderr sink; its
// level comes from the TESSERA_LOG environment variable (trace, debug, info,
// warn, error, off; default warn). A service may instead register its own
// logger named "tessera" before opening a Db.
#pragma once

#include <memory>
#include <span>
#include <string>

#include <spdlog/spdlog.h>

#include "tessera/driver/value.hpp"

namespace tessera::detail {

spdlog::logger& logger();

// Values for a debug log line ("[1, 'ada', NULL]"); long values are cut.
std::string describe_values(std::span<const Value> values);

}  // namespace tessera::detail
