#include "lmdb_connection.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <new>

#include "lmdb_errors.hpp"

namespace tessera::lmdb::detail {

namespace {

constexpr std::uint32_t bit(Isolation i) { return 1u << static_cast<int>(i); }

bool map_full(const Error& e) { return e.native_code == MDB_MAP_FULL; }

void merge(Overlay& into, Overlay& from) {
  for (auto& [name, info] : from) into[name] = std::move(info);
  from.clear();
}

// Ends a single-use read (a slot's embedded box, which no refcount ends) on
// scope exit unless its rows took it over: an error or exception between
// begin_read and the rows must not leave the slot busy, holding a snapshot.
class SingleUseRead {
 public:
  SingleUseRead(ReaderSlot& slot, const std::shared_ptr<TxnBox>& box)
      : box_(box.get() == &slot.box ? box.get() : nullptr) {}
  ~SingleUseRead() {
    if (box_) box_->abort();
  }
  SingleUseRead(const SingleUseRead&) = delete;
  SingleUseRead& operator=(const SingleUseRead&) = delete;
  void taken_over() { box_ = nullptr; }

 private:
  TxnBox* box_;
};

// Removes the keys asked before, keeping each key's first occurrence in
// place (a key asked twice yields its row once): a linear check for a few
// keys, else an open-addressing table of positions, with no allocation per
// key (a std::set cost ~1,100 instructions a key of a 500-key GetByKey).
void drop_repeats(std::vector<std::string>& keys) {
  constexpr std::size_t kLinear = 8;
  std::size_t out = 0;
  if (keys.size() <= kLinear) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto kept = keys.begin() + static_cast<std::ptrdiff_t>(out);
      if (std::find(keys.begin(), kept, keys[i]) != kept) continue;
      if (out != i) keys[out] = std::move(keys[i]);
      ++out;
    }
    keys.resize(out);
    return;
  }
  constexpr std::uint32_t kEmpty = ~std::uint32_t{0};
  const std::size_t mask = std::bit_ceil(keys.size() * 2) - 1;
  std::vector<std::uint32_t> slots(mask + 1, kEmpty);  // positions in the kept prefix
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::size_t h = std::hash<std::string_view>{}(keys[i]) & mask;
    bool repeat = false;
    for (; slots[h] != kEmpty; h = (h + 1) & mask)
      if (keys[slots[h]] == keys[i]) {
        repeat = true;
        break;
      }
    if (repeat) continue;
    slots[h] = static_cast<std::uint32_t>(out);
    if (out != i) keys[out] = std::move(keys[i]);
    ++out;
  }
  keys.resize(out);
}

template <class T>
Result<T> guarded(const std::function<Result<T>()>& fn) {
  return catch_all(kDriverName, fn);
}

}  // namespace

Result<std::unique_ptr<Connection>> LmdbConnection::open(const OpenOptions& options) {
  auto env = Environment::acquire(options);
  if (!env.ok()) return std::move(env).error();
  return std::unique_ptr<Connection>(new LmdbConnection(*env));
}

LmdbConnection::LmdbConnection(Environment* env)
    : env_(env), reader_(std::make_shared<ReaderSlot>(*env)) {
  Capability& c = capability_;
  c.sql = SqlDialect::none;
  c.returning = true;
  c.upsert = true;
  c.upsert_target = true;
  c.savepoints = true;
  c.isolation_levels = bit(Isolation::database_default) | bit(Isolation::serializable);
  c.read_only_transactions = true;
  c.max_bind_params = 65535;  // no limit of LMDB's: one Insert op is one transaction
  c.max_insert_rows = 0;
  c.stores_nan = true;
  c.stores_infinity = true;
  c.text_embedded_nul = true;
  c.raw_sql = false;
  c.transactional_ddl = true;
  c.for_update = false;
  c.ordered_scan = true;
  c.secondary_indexes = true;
  c.full_scan = true;
  c.insert_row_source = true;  // Store::insert pulls rows a chunk at a time
  c.concurrent_connections = true;
}

LmdbConnection::~LmdbConnection() {
  end_explicit(false);
  reader_.reset();  // aborts the idle read transaction, unless rows still hold it
  Environment::release(env_);
}

Status LmdbConnection::ping() {
  if (broken_) return driver_error(ErrorKind::connection_lost, "the environment failed");
  MDB_envinfo info{};
  if (int rc = mdb_env_info(env_->env(), &info); rc != 0) return make_error(rc, "mdb_env_info");
  return {};
}

// ------------------------------------------------------------------ catalog

Result<TableRef> LmdbConnection::lookup(std::string_view table) {
  auto in = [&](const Overlay& o) { return o.find(table); };
  if (statement_overlay_)
    if (auto it = in(*statement_overlay_); it != statement_overlay_->end()) return it->second;
  for (auto l = levels_.rbegin(); l != levels_.rend(); ++l)
    if (auto it = in(l->overlay); it != l->overlay.end()) return it->second;
  if (auto it = in(top_overlay_); it != top_overlay_.end()) return it->second;
  const std::uint64_t generation = env_->generation();
  if (cached_table_ && cached_generation_ == generation && cached_table_->schema.name == table)
    return cached_table_;
  auto found = env_->table(std::string(table));
  if (found.ok() && *found) {
    cached_table_ = *found;
    cached_generation_ = generation;
  }
  return found;
}

std::vector<TableRef> LmdbConnection::all_tables() {
  std::map<std::string, TableRef> all;
  for (auto& t : env_->tables()) all[t->schema.name] = t;
  auto apply = [&](const Overlay& o) {
    for (const auto& [name, info] : o) {
      if (info)
        all[name] = info;
      else
        all.erase(name);
    }
  };
  apply(top_overlay_);
  for (const auto& l : levels_) apply(l.overlay);
  if (statement_overlay_) apply(*statement_overlay_);
  std::vector<TableRef> out;
  for (auto& [name, info] : all) out.push_back(std::move(info));
  return out;
}

bool LmdbConnection::may_have_foreign_keys() const {
  if (env_->has_foreign_keys()) return true;
  auto any = [](const Overlay& o) {
    return std::any_of(o.begin(), o.end(), [](const auto& e) {
      return e.second && !e.second->schema.foreign_keys.empty();
    });
  };
  if (any(top_overlay_) || (statement_overlay_ && any(*statement_overlay_))) return true;
  return std::any_of(levels_.begin(), levels_.end(),
                     [&](const Level& l) { return any(l.overlay); });
}

Store LmdbConnection::store(MDB_txn* txn, Overlay* ddl, UndoLog* undo) {
  // Child rows are looked for in every table, unless no table can have any.
  return Store(
      *env_, txn, [this](const std::string& t) { return lookup(t); },
      [this] { return may_have_foreign_keys() ? all_tables() : std::vector<TableRef>(); }, ddl,
      scratch_, undo);
}

Status LmdbConnection::column_positions(const TableInfo& t, std::span<const std::string> columns,
                                        ColumnMap& out) {
  const auto& defs = t.schema.columns;
  if (columns.empty() ||
      (columns.size() == defs.size() &&
       std::equal(columns.begin(), columns.end(), defs.begin(),
                  [](const std::string& c, const ColumnDef& d) { return c == d.name; }))) {
    out.all = true;
    return {};
  }
  for (const auto& c : columns) {
    const int p = t.column(c);
    if (p < 0)
      return driver_error(ErrorKind::invalid_statement,
                          "table '" + t.schema.name + "' has no column '" + c + "'");
    out.positions.push_back(static_cast<std::size_t>(p));
  }
  return {};
}

// ------------------------------------------------------------------ transactions

MDB_txn* LmdbConnection::innermost() const {
  for (auto l = levels_.rbegin(); l != levels_.rend(); ++l)
    if (l->box) return l->box->txn();
  return top_ ? top_->txn() : nullptr;
}

Overlay& LmdbConnection::innermost_overlay() {
  return levels_.empty() ? top_overlay_ : levels_.back().overlay;
}

Result<std::shared_ptr<TxnBox>> LmdbConnection::begin_child(MDB_txn* parent) {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_->env(), parent, 0, &txn); rc != 0)
    return make_error(rc, "beginning a nested transaction");
  return std::make_shared<TxnBox>(*env_, txn, true, false);
}

Status LmdbConnection::ensure_write() {
  if (!top_ || !top_->write()) {
    std::optional<std::size_t> snapshot;
    if (top_) snapshot = mdb_txn_id(top_->txn());
    auto txn = env_->begin(true);
    if (!txn.ok()) return std::move(txn).error();
    auto box = std::make_shared<TxnBox>(*env_, *txn, true, true);
    if (snapshot && mdb_txn_id(box->txn()) != *snapshot + 1) {
      // Someone committed after this transaction read: its reads are stale.
      box->abort();
      return driver_error(ErrorKind::serialization_failure,
                          "the database changed after this transaction read it; retry the "
                          "transaction");
    }
    top_ = std::move(box);  // rows may keep the read snapshot alive
  }
  MDB_txn* parent = top_->txn();
  for (auto& l : levels_) {
    if (!l.box) {
      auto child = begin_child(parent);
      if (!child.ok()) return std::move(child).error();
      l.box = std::move(*child);
    }
    parent = l.box->txn();
  }
  return {};
}

Result<std::shared_ptr<TxnBox>> LmdbConnection::begin_read(bool single_use) {
  if (!reader_->busy.load(std::memory_order_acquire)) {
    if (reader_->txn) {
      if (auto st = env_->renew(reader_->txn); !st.ok()) return std::move(st).error();
    } else {
      auto txn = env_->begin(false);
      if (!txn.ok()) return std::move(txn).error();
      reader_->txn = *txn;
    }
    reader_->busy.store(true, std::memory_order_relaxed);
    if (!single_use) return std::make_shared<TxnBox>(*env_, reader_);
    reader_->box.renew_on(reader_->txn);
    return std::shared_ptr<TxnBox>(reader_, &reader_->box);
  }
  auto txn = env_->begin(false);
  if (!txn.ok()) return std::move(txn).error();
  return std::make_shared<TxnBox>(*env_, *txn, false, true);
}

Result<std::shared_ptr<TxnBox>> LmdbConnection::read_box() {
  if (in_tx_) {
    if (!top_) {
      auto box = begin_read(false);
      if (!box.ok()) return box;
      top_ = std::move(*box);
    }
    for (auto l = levels_.rbegin(); l != levels_.rend(); ++l)
      if (l->box) return l->box;
    return top_;
  }
  return begin_read(true);
}

void LmdbConnection::end_explicit(bool commit_levels) {
  // Children end before their parent (LMDB would end them implicitly, but
  // their boxes must know).
  for (auto l = levels_.rbegin(); l != levels_.rend(); ++l) {
    if (!l->box) continue;
    if (commit_levels)
      (void)l->box->commit();
    else
      l->box->abort();
  }
  levels_.clear();
  if (top_ && !commit_levels) top_->abort();
  top_.reset();
  top_overlay_.clear();
  in_tx_ = false;
  tx_read_only_ = false;
  failed_.reset();
}

Result<ExecResponse> LmdbConnection::exec_transaction(const op::Transaction& t) {
  using Kind = op::Transaction::Kind;
  auto find_level = [&](std::string_view name) -> int {
    for (int i = static_cast<int>(levels_.size()) - 1; i >= 0; --i)
      if (levels_[static_cast<std::size_t>(i)].name == name) return i;
    return -1;
  };
  switch (t.kind) {
    case Kind::start:
      if (in_tx_)
        return driver_error(ErrorKind::invalid_statement, "a transaction is already open");
      if (!capability_.supports(t.isolation))
        return driver_error(
            ErrorKind::unsupported,
            std::string("isolation level ") + to_string(t.isolation) + " is not supported by lmdb");
      in_tx_ = true;
      tx_read_only_ = t.read_only;
      return ExecResponse{};
    case Kind::commit: {
      if (!in_tx_) return driver_error(ErrorKind::invalid_statement, "no transaction is open");
      if (failed_) {
        Error e = *failed_;
        end_explicit(false);
        e.message += " (rolled back instead of committed)";
        return e;
      }
      // Fold every level's catalog changes into the top before committing.
      for (auto& l : levels_) merge(top_overlay_, l.overlay);
      Overlay created;
      merge(created, top_overlay_);
      std::shared_ptr<TxnBox> top = top_;
      end_explicit(true);
      if (top && top->write()) {
        if (int rc = top->commit(); rc != 0) return make_error(rc, "committing");
        for (auto& [name, info] : created) env_->publish(name, info);
      }
      return ExecResponse{};
    }
    case Kind::rollback:
      if (!in_tx_) return driver_error(ErrorKind::invalid_statement, "no transaction is open");
      end_explicit(false);
      return ExecResponse{};
    case Kind::savepoint: {
      if (!in_tx_) return driver_error(ErrorKind::invalid_statement, "no transaction is open");
      Level l;
      l.name = std::string(t.savepoint);
      if (top_ && top_->write()) {
        auto child = begin_child(innermost());
        if (!child.ok()) return std::move(child).error();
        l.box = std::move(*child);
      }
      levels_.push_back(std::move(l));
      return ExecResponse{};
    }
    case Kind::release: {
      const int i = find_level(t.savepoint);
      if (i < 0) return driver_error(ErrorKind::invalid_statement, "no such savepoint");
      for (int j = static_cast<int>(levels_.size()) - 1; j >= i; --j) {
        Level& l = levels_[static_cast<std::size_t>(j)];
        if (l.box) {
          if (int rc = l.box->commit(); rc != 0) {
            // The nested transaction is gone; so are the levels above it.
            levels_.resize(static_cast<std::size_t>(j));
            return make_error(rc, "releasing a savepoint");
          }
        }
        merge(j == 0 ? top_overlay_ : levels_[static_cast<std::size_t>(j - 1)].overlay, l.overlay);
        levels_.pop_back();
      }
      return ExecResponse{};
    }
    case Kind::rollback_to: {
      const int i = find_level(t.savepoint);
      if (i < 0) return driver_error(ErrorKind::invalid_statement, "no such savepoint");
      for (int j = static_cast<int>(levels_.size()) - 1; j >= i; --j) {
        Level& l = levels_[static_cast<std::size_t>(j)];
        if (l.box) l.box->abort();
        l.box.reset();
        l.overlay.clear();
        if (j > i) levels_.pop_back();
      }
      // The savepoint stays, empty, as in SQL. A failed statement ran in a
      // level at or above it (no savepoint can be taken after one), so the
      // failed LMDB transaction is gone.
      failed_.reset();
      if (top_ && top_->write()) {
        auto child = begin_child(innermost());
        if (!child.ok()) return std::move(child).error();
        levels_[static_cast<std::size_t>(i)].box = std::move(*child);
      }
      return ExecResponse{};
    }
  }
  return driver_error(ErrorKind::internal, "unknown transaction operation");
}

bool LmdbConnection::usable(MDB_txn* txn) const {
  // Every read of a transaction that LMDB marked failed answers MDB_BAD_TXN.
  char probe = 0;
  MDB_val k{1, &probe}, v{};
  return mdb_get(txn, env_->meta(), &k, &v) != MDB_BAD_TXN;
}

template <class F>
Result<ExecResponse> LmdbConnection::write(F&& fn, bool ddl) {
  if (in_tx_) {
    if (tx_read_only_)
      return driver_error(ErrorKind::invalid_statement, "write in a read-only transaction");
    if (auto st = ensure_write(); !st.ok()) return std::move(st).error();
    if (!ddl) return write_in_place(fn);
    auto child = begin_child(innermost());
    if (!child.ok()) return std::move(child).error();
    Overlay ddl;
    statement_overlay_ = &ddl;
    Store s = store((*child)->txn(), &ddl);
    Result<ExecResponse> r = fn(s);
    statement_overlay_ = nullptr;
    if (!r.ok()) {
      (*child)->abort();
      return r;
    }
    if (int rc = (*child)->commit(); rc != 0) return make_error(rc, "committing a statement");
    merge(innermost_overlay(), ddl);
    return r;
  }
  // Each MDB_MAP_FULL doubles the map (when no other transaction of the
  // process is live) and runs the whole write again.
  constexpr int kMaxGrowths = 16;
  for (int attempt = 0;; ++attempt) {
    const bool may_grow = attempt < kMaxGrowths;
    auto txn = env_->begin(true);
    if (!txn.ok()) return std::move(txn).error();
    TxnBox box(*env_, *txn, true, true);
    Overlay ddl;
    statement_overlay_ = &ddl;
    Store s = store(box.txn(), &ddl);
    Result<ExecResponse> r = fn(s);
    statement_overlay_ = nullptr;
    if (!r.ok()) {
      box.abort();
      if (map_full(r.error()) && may_grow && env_->grow()) continue;
      return r;
    }
    const int rc = box.commit();
    if (rc == MDB_MAP_FULL && may_grow && env_->grow()) continue;
    if (rc != 0) return make_error(rc, "committing");
    for (auto& [name, info] : ddl) env_->publish(name, info);
    return r;
  }
}

template <class F>
Result<ExecResponse> LmdbConnection::write_in_place(F& fn) {
  MDB_txn* txn = innermost();
  Overlay ddl;
  statement_overlay_ = &ddl;
  undo_.clear();
  Store s = store(txn, &ddl, &undo_);
  Result<ExecResponse> r = fn(s);
  statement_overlay_ = nullptr;
  if (r.ok()) {
    undo_.clear();
    merge(innermost_overlay(), ddl);
    return r;
  }
  const int rc = undo_.undo(txn);
  if (rc != 0 || !usable(txn)) {
    // LMDB failed the transaction (a full map, too many dirty pages, an I/O
    // error), or the statement could not be undone: only a rollback (of the
    // transaction, or to a savepoint begun before this statement) remains.
    Error e = r.error();
    if (rc != 0)
      e.message += "; undoing the statement failed too: " + std::string(mdb_strerror(rc));
    e.message = "this transaction failed and must be rolled back: " + e.message;
    failed_ = std::move(e);
  }
  return r;
}

// ------------------------------------------------------------------ reads

Result<ExecResponse> LmdbConnection::get_by_key(const op::GetByKey& op) {
  auto t = lookup(op.table);
  if (!t.ok()) return std::move(t).error();
  if (!*t)
    return driver_error(ErrorKind::invalid_statement, "no such table: " + std::string(op.table));
  ColumnMap cols;
  if (auto st = column_positions(**t, op.columns, cols); !st.ok()) return std::move(st).error();
  if (op.keys.size() == 1) {  // a find by key: no key list, no duplicate check
    std::string key;          // short keys stay in the string: no allocation
    auto found = lookup_key(**t, (*t)->pk, op.keys[0], key);
    if (!found.ok()) return std::move(found).error();
    auto box = read_box();
    if (!box.ok()) return std::move(box).error();
    SingleUseRead single(*reader_, *box);
    std::unique_ptr<LmdbRows> rows =
        *found ? LmdbRows::key(std::move(*box), std::move(*t), std::move(cols), std::move(key))
               : LmdbRows::keys(std::move(*box), std::move(*t), std::move(cols), {});
    if (!in_tx_) rows->ends_read();
    single.taken_over();
    ExecResponse resp;
    resp.rows = std::move(rows);
    return resp;
  }
  std::vector<std::string> keys;
  keys.reserve(op.keys.size());
  std::string k;
  for (const auto& values : op.keys) {
    auto found = lookup_key(**t, (*t)->pk, values, k);
    if (!found.ok()) return std::move(found).error();
    if (*found) keys.push_back(std::move(k));
  }
  drop_repeats(keys);
  auto box = read_box();
  if (!box.ok()) return std::move(box).error();
  SingleUseRead single(*reader_, *box);
  std::unique_ptr<LmdbRows> rows =
      LmdbRows::keys(std::move(*box), *t, std::move(cols), std::move(keys));
  if (!in_tx_) rows->ends_read();
  single.taken_over();
  ExecResponse resp;
  resp.rows = std::move(rows);
  return resp;
}

Result<ExecResponse> LmdbConnection::query_range(
    std::string_view table, std::string_view index, const std::vector<Value>& lower,
    bool lower_inclusive, const std::vector<Value>& upper, bool upper_inclusive, bool reverse,
    std::int64_t limit, std::span<const std::string> columns) {
  auto t = lookup(table);
  if (!t.ok()) return std::move(t).error();
  if (!*t)
    return driver_error(ErrorKind::invalid_statement, "no such table: " + std::string(table));
  const TableInfo& info = **t;
  ColumnMap cols;
  if (auto st = column_positions(info, columns, cols); !st.ok()) return std::move(st).error();
  MDB_dbi dbi = info.rows;
  const std::vector<std::size_t>* key_cols = &info.pk;
  if (!index.empty()) {
    int ix = -1;
    for (std::size_t i = 0; i < info.schema.indexes.size(); ++i)
      if (info.schema.indexes[i].name == index) ix = static_cast<int>(i);
    if (ix < 0)
      return driver_error(
          ErrorKind::invalid_statement,
          "table '" + info.schema.name + "' has no index '" + std::string(index) + "'");
    dbi = info.indexes[static_cast<std::size_t>(ix)];
    key_cols = &info.index_columns[static_cast<std::size_t>(ix)];
  }
  KeyRange range = key_range(info, *key_cols, lower, lower_inclusive, upper, upper_inclusive);
  auto box = read_box();
  if (!box.ok()) return std::move(box).error();
  SingleUseRead single(*reader_, *box);
  std::unique_ptr<LmdbRows> rows = LmdbRows::range(
      std::move(*box), *t, std::move(cols), dbi, !index.empty(), std::move(range), reverse, limit);
  if (!in_tx_) rows->ends_read();
  single.taken_over();
  ExecResponse resp;
  resp.rows = std::move(rows);
  return resp;
}

Result<ExecResponse> LmdbConnection::find_pk(const op::FindPkByIndex& op) {
  // Resolve first: a table unknown to the cache is loaded in its own
  // transaction, which must come before this one begins.
  auto t = lookup(op.table);
  if (!t.ok()) return std::move(t).error();
  auto box = read_box();
  if (!box.ok()) return std::move(box).error();
  const SingleUseRead single(*reader_, *box);  // the keys are copied out: the read ends here
  Store s = store((*box)->txn(), nullptr);
  return s.find_pk(op);
}

// ------------------------------------------------------------------ dispatch

Result<ExecResponse> LmdbConnection::dispatch(const Operation& operation) {
  if (failed_) {
    const auto* t = std::get_if<op::Transaction>(&operation);
    using Kind = op::Transaction::Kind;
    if (!t ||
        (t->kind != Kind::rollback && t->kind != Kind::rollback_to && t->kind != Kind::commit))
      return *failed_;
  }
  return std::visit(
      [&](const auto& o) -> Result<ExecResponse> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, op::QuerySql> || std::is_same_v<T, op::RawSql>) {
          return driver_error(ErrorKind::unsupported, "the lmdb driver speaks no SQL");
        } else if constexpr (std::is_same_v<T, op::UpdateMany>) {
          // Not in its capability: the engine sends UpdateByKey per row.
          return driver_error(ErrorKind::unsupported, "the lmdb driver does not run UpdateMany");
        } else if constexpr (std::is_same_v<T, op::Insert>) {
          if (!o.statement)
            return driver_error(ErrorKind::invalid_statement, "insert without statement");
          if (auto t = lookup(o.statement->table); !t.ok()) return std::move(t).error();
          return write([&](Store& s) { return s.insert(o); });
        } else if constexpr (std::is_same_v<T, op::UpdateByKey>) {
          if (auto t = lookup(o.table); !t.ok()) return std::move(t).error();
          return write([&](Store& s) { return s.update(o); });
        } else if constexpr (std::is_same_v<T, op::DeleteByKey>) {
          if (auto t = lookup(o.table); !t.ok()) return std::move(t).error();
          return write([&](Store& s) { return s.erase(o); });
        } else if constexpr (std::is_same_v<T, op::GetByKey>) {
          return get_by_key(o);
        } else if constexpr (std::is_same_v<T, op::QueryPk>) {
          return query_range(o.table, o.index, o.lower, o.lower_inclusive, o.upper,
                             o.upper_inclusive, o.reverse, o.limit, o.columns);
        } else if constexpr (std::is_same_v<T, op::FindPkByIndex>) {
          return find_pk(o);
        } else if constexpr (std::is_same_v<T, op::Scan>) {
          return query_range(o.table, {}, {}, true, {}, true, false, -1, o.columns);
        } else {
          return exec_transaction(o);
        }
      },
      operation);
}

Result<ExecResponse> LmdbConnection::exec(const Operation& op) {
  // catch_all on the lambda itself: a std::function per statement cost ~100
  // instructions of a find.
  auto r = catch_all(kDriverName, [&] { return dispatch(op); });
  if (!r.ok() && is_fatal(static_cast<int>(r.error().native_code))) broken_ = true;
  return r;
}

Status LmdbConnection::push_schema(const Schema& schema) {
  auto r = guarded<ExecResponse>([&] {
    return write(
        [&](Store& s) -> Result<ExecResponse> {
          if (auto st = s.push_schema(schema); !st.ok()) return std::move(st).error();
          return ExecResponse{};
        },
        true);
  });
  if (!r.ok()) return std::move(r).error();
  return {};
}

Status LmdbConnection::drop_tables(const std::vector<std::string>& tables) {
  auto r = guarded<ExecResponse>([&] {
    return write(
        [&](Store& s) -> Result<ExecResponse> {
          if (auto st = s.drop_tables(tables); !st.ok()) return std::move(st).error();
          return ExecResponse{};
        },
        true);
  });
  if (!r.ok()) return std::move(r).error();
  return {};
}

}  // namespace tessera::lmdb::detail
