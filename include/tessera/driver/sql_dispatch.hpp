// dispatch_sql: the exec() of a SQL driver, once for every driver.
//
// Calls impl.exec_query(op::QuerySql), impl.exec_insert(op::Insert),
// impl.exec_raw(op::RawSql) or impl.exec_transaction(op::Transaction);
// the key-value operations are answered with ErrorKind::unsupported. Any
// exception becomes an Error (catch_all), so nothing crosses the SPI.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "tessera/driver/error.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera {

template <class Impl>
Result<ExecResponse> dispatch_sql(Impl& impl, const Operation& op, std::string_view driver) {
  return catch_all(driver, [&]() -> Result<ExecResponse> {
    return std::visit(
        [&](const auto& o) -> Result<ExecResponse> {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, op::QuerySql>) {
            return impl.exec_query(o);
          } else if constexpr (std::is_same_v<T, op::Insert>) {
            return impl.exec_insert(o);
          } else if constexpr (std::is_same_v<T, op::RawSql>) {
            return impl.exec_raw(o);
          } else if constexpr (std::is_same_v<T, op::Transaction>) {
            return impl.exec_transaction(o);
          } else {
            Error e(ErrorKind::unsupported, "the " + std::string(driver) +
                                                " driver does not run key-value operations (" +
                                                std::string(operation_name(op)) + ")");
            e.driver = std::string(driver);
            return e;
          }
        },
        op);
  });
}

}  // namespace tessera
