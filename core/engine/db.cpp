#include "tessera/db.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

#include "core/engine/logging.hpp"

namespace tessera {

namespace detail {
void throw_mapping_error(const char* column, const char* problem) {
  throw_error(Error(ErrorKind::invalid_value, std::string("column '") + column + "': " + problem));
}

namespace {
// A type's name for messages: demangled where the compiler allows.
std::string type_name(const std::type_info& t) {
#if __has_include(<cxxabi.h>)
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free);
  if (status == 0 && name) return name.get();
#endif
  return t.name();
}

std::string column_of(const ParamSlot& slot) {
  return slot.column ? "column " + *slot.column : std::string("an undeclared member");
}
}  // namespace

PreparedCore::PreparedCore(std::shared_ptr<Engine> engine, Connection* pinned,
                           std::shared_ptr<const TxState> tx, const ast::Statement& statement,
                           std::vector<Value> values, std::vector<ParamSlot> slots, SchemaFn schema,
                           std::span<const std::type_info* const> declared)
    : engine_(std::move(engine)),
      schema_(schema),
      pinned_(pinned),
      tx_(std::move(tx)),
      values_(std::move(values)),
      slots_(std::move(slots)) {
  std::stable_sort(slots_.begin(), slots_.end(),
                   [](const ParamSlot& a, const ParamSlot& b) { return a.index < b.index; });
  if (slots_.size() != declared.size())
    throw_error(Error(ErrorKind::invalid_statement,
                      "prepare: the statement has " + std::to_string(slots_.size()) +
                          " placeholders (param<T>()), but " + std::to_string(declared.size()) +
                          " parameter types are declared"));
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (*slots_[i].type == *declared[i]) continue;
    throw_error(Error(ErrorKind::invalid_statement,
                      "prepare: parameter " + std::to_string(i + 1) + " is declared as " +
                          type_name(*declared[i]) + ", but placeholder " + std::to_string(i + 1) +
                          " (" + column_of(slots_[i]) + ") is param<" + type_name(*slots_[i].type) +
                          ">()"));
  }
  plan_ = engine_->plan(statement);
}

void PreparedCore::out_of_range(const ParamSlot& slot, std::size_t position) {
  throw_error(Error(ErrorKind::invalid_value, "prepared statement: argument " +
                                                  std::to_string(position + 1) +
                                                  " out of range for " + column_of(slot)));
}

void PreparedCore::ended() {
  throw_error(
      Error(ErrorKind::invalid_statement, "prepared statement run after its transaction ended"));
}
}  // namespace detail

std::shared_ptr<const detail::TxState> Executor::tx_state() const {
  if (!pinned_) return nullptr;
  return static_cast<const Transaction*>(this)->state_;
}

Db Db::open(std::string_view url, Options options) {
  return Db(detail::Engine::open(url, std::move(options)));
}

Transaction Executor::transaction(const TransactionOptions& options) {
  if (pinned_) {
    // Nested: a savepoint on the same connection.
    auto* self = static_cast<Transaction*>(this);
    if (!self->active_)
      throw_error(Error(ErrorKind::invalid_statement, "transaction() on a finished transaction"));
    if (!engine_->capability().savepoints)
      throw_error(Error(ErrorKind::unsupported, "nested transactions need savepoints"));
    static std::atomic<std::uint64_t> counter{0};
    return Transaction(engine_, pinned_, static_cast<int>(++counter), self->state_);
  }
  const Capability& cap = engine_->capability();
  if (!cap.supports(options.isolation))
    throw_error(Error(ErrorKind::unsupported, std::string("isolation level ") +
                                                  to_string(options.isolation) +
                                                  " is not supported by this driver"));
  if (options.read_only && !cap.read_only_transactions)
    throw_error(
        Error(ErrorKind::unsupported, "read-only transactions are not supported by this driver"));
  return Transaction(engine_, engine_->acquire(), options);
}

Transaction::Transaction(std::shared_ptr<detail::Engine> engine, detail::Lease lease,
                         const TransactionOptions& options)
    : Executor(std::move(engine), nullptr),
      lease_(std::move(lease)),
      state_(std::make_shared<detail::TxState>()) {
  pinned_ = &lease_.connection();
  op::Transaction t;
  t.kind = op::Transaction::Kind::start;
  t.isolation = options.isolation;
  t.read_only = options.read_only;
  engine_->transaction(*pinned_, t);
  active_ = true;
}

Transaction::Transaction(std::shared_ptr<detail::Engine> engine, Connection* pinned, int id,
                         std::shared_ptr<detail::TxState> parent)
    : Executor(std::move(engine), pinned),
      savepoint_("tessera_sp_" + std::to_string(id)),
      state_(std::make_shared<detail::TxState>()),
      parent_(std::move(parent)) {
  state_->parent = parent_;
  op::Transaction t;
  t.kind = op::Transaction::Kind::savepoint;
  t.savepoint = savepoint_;
  engine_->transaction(*pinned_, t);
  active_ = true;
  ++parent_->open_children;
}

void Transaction::finish() {
  active_ = false;
  finished_ = true;
  state_->finished = true;
  if (parent_) --parent_->open_children;
  pinned_ = nullptr;
  lease_ = detail::Lease();  // back to the pool (top level)
}

Transaction::Transaction(Transaction&& o) noexcept
    : Executor(std::move(o)),
      lease_(std::move(o.lease_)),
      savepoint_(std::move(o.savepoint_)),
      active_(o.active_),
      state_(std::move(o.state_)),
      parent_(std::move(o.parent_)) {
  finished_ = o.finished_;
  o.active_ = false;
  o.finished_ = true;
  o.pinned_ = nullptr;
}

Transaction::~Transaction() {
  if (!active_) return;
  try {
    rollback();
  } catch (const std::exception& e) {
    detail::logger().warn("rollback in a transaction's destructor failed: {}", e.what());
  } catch (...) {
    detail::logger().warn("rollback in a transaction's destructor failed");
  }
}

void Transaction::commit() {
  if (!active_)
    throw_error(Error(ErrorKind::invalid_statement, "commit() on a finished transaction"));
  if (state_->open_children > 0)
    throw_error(Error(ErrorKind::invalid_statement,
                      "commit() while a nested transaction is still open: end it first"));
  if (parent_ && parent_->finished) {
    finish();
    throw_error(Error(ErrorKind::invalid_statement,
                      "commit() of a nested transaction whose enclosing transaction has ended"));
  }
  struct Finish {
    Transaction* t;
    ~Finish() { t->finish(); }
  } finish_on_exit{this};
  op::Transaction t;
  if (savepoint_.empty()) {
    t.kind = op::Transaction::Kind::commit;
  } else {
    t.kind = op::Transaction::Kind::release;
    t.savepoint = savepoint_;
  }
  try {
    engine_->transaction(*pinned_, t);
  } catch (...) {
    // A failed COMMIT may leave the transaction open on the connection (a
    // busy database, an error the driver reports before finishing). Roll it
    // back so the connection returns to the pool in auto-commit mode; the
    // commit's own error is what the caller sees.
    if (savepoint_.empty()) {
      op::Transaction rb;
      rb.kind = op::Transaction::Kind::rollback;
      try {
        engine_->transaction(*pinned_, rb);
      } catch (const std::exception& e) {
        detail::logger().debug("rollback after a failed commit: {}", e.what());
      }
    }
    throw;
  }
}

void Transaction::rollback() {
  if (!active_)
    throw_error(Error(ErrorKind::invalid_statement, "rollback() on a finished transaction"));
  if (parent_ && parent_->finished) {
    // The enclosing transaction ended and took this one's work with it; its
    // connection may already serve someone else.
    finish();
    return;
  }
  struct Finish {
    Transaction* t;
    ~Finish() { t->finish(); }
  } finish_on_exit{this};
  op::Transaction t;
  if (savepoint_.empty()) {
    t.kind = op::Transaction::Kind::rollback;
    engine_->transaction(*pinned_, t);
  } else {
    // Undo the savepoint's work, then drop it so the name can be reused.
    t.kind = op::Transaction::Kind::rollback_to;
    t.savepoint = savepoint_;
    engine_->transaction(*pinned_, t);
    t.kind = op::Transaction::Kind::release;
    engine_->transaction(*pinned_, t);
  }
}

}  // namespace tessera
