// ConnectionWrapper and DriverWrapper: forward every call to another
// Connection / Driver, after LevelDB's EnvWrapper. Override only what you
// need: logging, metrics, recording operations, fault injection.
//
// Ownership: a wrapper owns what it wraps.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/driver/driver.hpp"

namespace tessera {

class ConnectionWrapper : public Connection {
 public:
  explicit ConnectionWrapper(std::unique_ptr<Connection> target) : target_(std::move(target)) {}

  Connection& target() { return *target_; }

  const Capability& capability() const override { return target_->capability(); }
  Result<ExecResponse> exec(const Operation& op) override { return target_->exec(op); }
  bool is_valid() const override { return target_->is_valid(); }
  Status ping() override { return target_->ping(); }
  Status push_schema(const Schema& schema) override { return target_->push_schema(schema); }
  Status drop_tables(const std::vector<std::string>& tables) override {
    return target_->drop_tables(tables);
  }

 private:
  std::unique_ptr<Connection> target_;
};

class DriverWrapper : public Driver {
 public:
  explicit DriverWrapper(std::shared_ptr<Driver> target) : target_(std::move(target)) {}

  Driver& target() { return *target_; }

  std::string_view name() const override { return target_->name(); }
  std::vector<std::string> schemes() const override { return target_->schemes(); }
  Result<std::unique_ptr<Connection>> connect(const Url& url) override {
    return target_->connect(url);
  }
  std::size_t max_connections(const Url& url) const override {
    return target_->max_connections(url);
  }

 private:
  std::shared_ptr<Driver> target_;
};

}  // namespace tessera
