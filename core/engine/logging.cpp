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
      out += "... ";
      out += std::to_string(values.size() - 16);
      out += " more";
      break;
    }
    const Value& v = values[i];
    switch (v.type()) {
      case ValueType::null: out += "NULL"; break;
      case ValueType::boolean: out += v.as_bool() ? "true" : "false"; break;
      case ValueType::int64: out += std::to_string(v.as_int64()); break;
      case ValueType::float64: out += std::to_string(v.as_double()); break;
      // Appended piece by piece: `"'" + string` trips GCC 12's -Wrestrict
      // false positive once this function is inlined into its callers.
      case ValueType::text:
        out += '\'';
        out.append(v.as_text(), 0, 64);
        out += v.as_text().size() > 64 ? "...'" : "'";
        break;
      case ValueType::bytes:
        out += '<';
        out += std::to_string(v.as_bytes().size());
        out += " bytes>";
        break;
      case ValueType::timestamp:
        out += "ts:";
        out += std::to_string(v.as_timestamp().micros);
        break;
      case ValueType::date:
        out += "date:";
        out += std::to_string(v.as_date().days);
        break;
    }
  }
  out += ']';
  return out;
}

}  // namespace tessera::detail
