#include "core/engine/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace tessera::detail {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("tessera")) return existing;
    auto l = spdlog::stderr_color_mt("tessera");
    l->set_level(spdlog::level::warn);
    if (const char* env = std::getenv("TESSERA_LOG")) l->set_level(spdlog::level::from_str(env));
    return l;
  }();
  return *instance;
}

std::string describe_values(std::span<const Value> values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    if (i == 16) {
      out += "... " + std::to_string(values.size() - 16) + " more";
      break;
    }
    const Value& v = values[i];
    switch (v.type()) {
      case ValueType::null: out += "NULL"; break;
      case ValueType::boolean: out += v.as_bool() ? "true" : "false"; break;
      case ValueType::int64: out += std::to_string(v.as_int64()); break;
      case ValueType::float64: out += std::to_string(v.as_double()); break;
      case ValueType::text:
        out += "'" + v.as_text().substr(0, 64) + (v.as_text().size() > 64 ? "...'" : "'");
        break;
      case ValueType::bytes: out += "<" + std::to_string(v.as_bytes().size()) + " bytes>"; break;
      case ValueType::timestamp: out += "ts:" + std::to_string(v.as_timestamp().micros); break;
      case ValueType::date: out += "date:" + std::to_string(v.as_date().days); break;
    }
  }
  return out + "]";
}

}  // namespace tessera::detail
