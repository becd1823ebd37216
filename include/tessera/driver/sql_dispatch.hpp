// dispatch_sql: the exec() of a SQL driver, once for every driver.
//
// Calls impl.exec_query(op::QuerySql), impl.exec_insert(op::Insert),
// impl.exec_raw(op::RawSql) or impl.exec_transaction(op::Transaction), and
// impl.exec_update_many(op::UpdateMany) when Impl has that member (a driver
// that sets Capability::update_many); every other operation (the key-value
// ones, UpdateMany without the member) is answered with
// ErrorKind::unsupported. Any exception becomes an Error (catch_all), so
// nothing crosses the SPI.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "tessera/driver/error.hpp"
#include "tessera/driver/operation.hpp"
#include "tessera/driver/rows.hpp"

namespace tessera {

// Checks an Insert's shape before a driver batches it: a statement is
// present and the values fill row_count rows of its columns.
inline Status check_insert(const op::Insert& ins, std::string_view driver) {
  auto fail = [&](ErrorKind kind, std::string message) {
    Error e(kind, std::move(message));
    e.driver = std::string(driver);
    return e;
  };
  if (ins.statement == nullptr)
    return fail(ErrorKind::internal, "Insert operation without a statement");
  const std::size_t columns = ins.statement->columns.size();
  const std::size_t total = ins.statement->row_count;
  if (ins.source != nullptr) {
    if (!ins.params.empty())
      return fail(ErrorKind::internal, "Insert operation with both a row source and params");
    return {};
  }
  if (ins.params.size() != total * columns)
    return fail(ErrorKind::invalid_statement,
                "an insert of " + std::to_string(total) + " rows of " + std::to_string(columns) +
                    " columns needs " + std::to_string(total * columns) + " values, " +
                    std::to_string(ins.params.size()) + " were given");
  return {};
}

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
          } else if constexpr (std::is_same_v<T, op::UpdateMany> &&
                               requires { impl.exec_update_many(o); }) {
            return impl.exec_update_many(o);
          } else {
            Error e(ErrorKind::unsupported, "the " + std::string(driver) +
                                                " driver does not run this operation (" +
                                                std::string(operation_name(op)) + ")");
            e.driver = std::string(driver);
            return e;
          }
        },
        op);
  });
}

}  // namespace tessera
