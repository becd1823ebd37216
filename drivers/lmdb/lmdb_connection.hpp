// LmdbConnection: a session on a shared LMDB environment behind the
// Connection SPI.
//
// Transactions. Outside an explicit transaction every operation runs in its
// own LMDB transaction: a read transaction for reads (held by the returned
// rows while they stream; the connection keeps one reset between reads and
// renews it, and begins a fresh one only while rows of an earlier read still
// hold it), a write transaction for writes (committed before
// exec returns; on MDB_MAP_FULL aborted, the map doubled when no other
// transaction of the process is live, and retried, up to 16 times; else the
// error is ErrorKind::storage and nothing was written).
// An explicit transaction starts lazily: its first read opens a read
// snapshot, its first write a write transaction. If a read snapshot came
// first, the write transaction must directly follow that snapshot (no commit
// in between by anyone), else the write fails with serialization_failure:
// every transaction is therefore serializable. Savepoints are nested LMDB
// transactions. A row write inside an explicit transaction runs directly in
// the innermost one, recording what it replaces (UndoLog); if it fails, that
// is put back, so a failed statement leaves nothing behind and the
// transaction goes on. DDL runs in a nested transaction of its own. If LMDB
// itself failed the transaction (a full map, too many dirty pages, an I/O
// error) or the undo failed, every later operation fails with that error
// until a rollback (of the transaction or to a savepoint), and a commit
// rolls back.
//
// LMDB ties a write transaction to the thread that began it: a transaction
// (or an operation) must end on the thread that started it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lmdb_env.hpp"
#include "lmdb_rows.hpp"
#include "lmdb_store.hpp"
#include "tessera/driver/connection.hpp"

namespace tessera::lmdb::detail {

class LmdbConnection final : public Connection {
 public:
  // Opens (or shares) the environment of options.path. Errors: storage when
  // it cannot be opened.
  static Result<std::unique_ptr<Connection>> open(const OpenOptions& options);
  ~LmdbConnection() override;

  const Capability& capability() const override { return capability_; }
  Result<ExecResponse> exec(const Operation& op) override;
  bool is_valid() const override { return !broken_; }
  Status ping() override;
  Status push_schema(const Schema& schema) override;
  Status drop_tables(const std::vector<std::string>& tables) override;

 private:
  struct Level {
    std::string name;
    std::shared_ptr<TxnBox> box;  // null until the transaction writes
    Overlay overlay;
  };

  explicit LmdbConnection(Environment* env);

  Result<ExecResponse> dispatch(const Operation& op);
  Result<ExecResponse> exec_transaction(const op::Transaction& t);
  Result<ExecResponse> get_by_key(const op::GetByKey& op);
  Result<ExecResponse> query_range(std::string_view table, std::string_view index,
                                   const std::vector<Value>& lower, bool lower_inclusive,
                                   const std::vector<Value>& upper, bool upper_inclusive,
                                   bool reverse, std::int64_t limit,
                                   std::span<const std::string> columns);
  Result<ExecResponse> find_pk(const op::FindPkByIndex& op);

  // Runs `fn(Store&)` as one atomic write (see the class comment). `ddl`:
  // inside an explicit transaction, run it in a nested transaction (DDL is
  // not undone in place).
  template <class F>
  Result<ExecResponse> write(F&& fn, bool ddl = false);
  // A row write inside the explicit transaction's innermost level, undone
  // in place if it fails (see UndoLog).
  template <class F>
  Result<ExecResponse> write_in_place(F& fn);
  // False when LMDB has marked `txn` failed (only an abort remains).
  bool usable(MDB_txn* txn) const;
  // The transaction reads run in: the explicit transaction's innermost
  // level, or a new read transaction (see begin_read).
  Result<std::shared_ptr<TxnBox>> read_box();
  // A top-level read transaction: the connection's reader slot renewed
  // (no lock), or, while rows of an earlier read still hold the slot, a
  // fresh one. Outside an explicit transaction (`single_use`) the slot's
  // embedded box is returned (no allocation) and the caller ends it: the
  // rows it returns do (LmdbRows::ends_read), else it aborts it.
  Result<std::shared_ptr<TxnBox>> begin_read(bool single_use);
  // Makes the explicit transaction a write transaction with a nested
  // transaction per open savepoint.
  Status ensure_write();
  Result<std::shared_ptr<TxnBox>> begin_child(MDB_txn* parent);
  MDB_txn* innermost() const;
  Overlay& innermost_overlay();
  void end_explicit(bool commit_levels);

  Result<TableRef> lookup(std::string_view table);
  std::vector<TableRef> all_tables();
  // False when no table this transaction sees declares a foreign key.
  bool may_have_foreign_keys() const;
  Store store(MDB_txn* txn, Overlay* ddl, UndoLog* undo = nullptr);
  // Sets `out` (empty on entry) to the positions of `columns` in t; an empty
  // list is every column in table order (what core/kv sends: no names are
  // compared), as is a list naming them all in that order.
  Status column_positions(const TableInfo& t, std::span<const std::string> columns, ColumnMap& out);

  Environment* env_;
  Capability capability_;
  // The last table lookup() found in the environment's catalog, valid while
  // the catalog's generation is `cached_generation_` (see
  // Environment::generation): a statement resolves its table without the
  // catalog's lock.
  TableRef cached_table_;
  std::uint64_t cached_generation_ = 0;
  std::shared_ptr<ReaderSlot> reader_;
  bool broken_ = false;

  bool in_tx_ = false;
  bool tx_read_only_ = false;
  std::shared_ptr<TxnBox> top_;
  Overlay top_overlay_;
  std::vector<Level> levels_;
  Overlay* statement_overlay_ = nullptr;
  UndoLog undo_;  // the running statement's before-images
  StoreScratch scratch_;
  // Set when a statement left the transaction failed: every operation but a
  // rollback (of the transaction, or to a savepoint) answers it.
  std::optional<Error> failed_;
};

}  // namespace tessera::lmdb::detail
