#include "lmdb_env.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "lmdb_errors.hpp"

namespace tessera::lmdb::detail {

namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Environment*>& registry() {
  static std::map<std::string, Environment*> r;
  return r;
}

// Commits a read transaction that opened handles (so they stay open), or
// aborts one that failed.
struct ReadTxn {
  Environment& env;
  MDB_txn* txn;
  bool ended = false;
  int commit() {
    ended = true;
    const int rc = mdb_txn_commit(txn);
    env.end(false);
    return rc;
  }
  ~ReadTxn() {
    if (ended) return;
    mdb_txn_abort(txn);
    env.end(false);
  }
};

}  // namespace

Result<Environment*> Environment::acquire(const OpenOptions& options) {
  std::lock_guard lock(registry_mutex());
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  const auto canonical = std::filesystem::weakly_canonical(options.path, ec);
  const std::string key = ec ? options.path : canonical.string();
  auto it = registry().find(key);
  if (it != registry().end()) {
    ++it->second->refs_;
    return it->second;
  }
  OpenOptions o = options;
  Environment* env = nullptr;
  for (;;) {
    env = new Environment(o);
    auto st = env->open();
    if (st.ok()) break;
    delete env;
    // An environment written with a larger max_dbs (the default was once
    // 1024) holds more named databases than asked for: open it with enough.
    if (st.error().native_code != MDB_DBS_FULL || o.max_dbs >= kMaxDbsLimit)
      return std::move(st).error();
    o.max_dbs = std::min(o.max_dbs * 2, kMaxDbsLimit);
  }
  env->refs_ = 1;
  registry().emplace(key, env);
  return env;
}

void Environment::release(Environment* env) {
  if (!env) return;
  std::lock_guard lock(registry_mutex());
  if (--env->refs_ > 0) return;
  for (auto it = registry().begin(); it != registry().end(); ++it) {
    if (it->second == env) {
      registry().erase(it);
      break;
    }
  }
  delete env;  // closes the environment while no other opener can race it
}

Environment::~Environment() {
  if (env_) mdb_env_close(env_);
}

Status Environment::open() {
  const std::string where = "opening lmdb environment " + options_.path;
  std::error_code ec;
  if (!std::filesystem::is_directory(options_.path, ec))
    return driver_error(ErrorKind::storage, where + ": not a directory or cannot be created");
  if (int rc = mdb_env_create(&env_); rc != 0) return make_error(rc, where);
  if (int rc = mdb_env_set_maxdbs(env_, options_.max_dbs); rc != 0) return make_error(rc, where);
  if (int rc = mdb_env_set_maxreaders(env_, options_.max_readers); rc != 0)
    return make_error(rc, where);
  if (int rc = mdb_env_set_mapsize(env_, options_.map_size_mb * std::size_t{1024} * 1024); rc != 0)
    return make_error(rc, where);
  // MDB_NOTLS: read transactions are not tied to threads, since pooled
  // connections (and the rows they stream) move between threads.
  unsigned flags = MDB_NOTLS;
  if (!options_.sync) flags |= MDB_NOSYNC;
  if (int rc = mdb_env_open(env_, options_.path.c_str(), flags, 0664); rc != 0) {
    Error e = make_error(rc, where);
    mdb_env_close(env_);
    env_ = nullptr;
    return e;
  }

  // The metadata database, created by the first opener.
  auto txn = begin(true);
  if (!txn.ok()) return std::move(txn).error();
  int rc = mdb_dbi_open(*txn, kMetaDb, MDB_CREATE, &meta_);
  if (rc != 0) {
    mdb_txn_abort(*txn);
    end(true);
    return make_error(rc, where);
  }
  rc = mdb_txn_commit(*txn);
  end(true);
  if (rc != 0) return make_error(rc, where);

  // Load the whole catalog, so foreign keys know who references whom.
  auto rtxn = begin(false);
  if (!rtxn.ok()) return std::move(rtxn).error();
  ReadTxn r{*this, *rtxn};
  std::vector<std::string> names;
  {
    MDB_cursor* cur = nullptr;
    if (rc = mdb_cursor_open(r.txn, meta_, &cur); rc != 0) return make_error(rc, where);
    const std::string prefix = schema_key("");
    MDB_val k{prefix.size(), const_cast<char*>(prefix.data())}, v{};
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      const std::string_view key(static_cast<const char*>(k.mv_data), k.mv_size);
      if (!key.starts_with(prefix)) break;
      names.emplace_back(key.substr(prefix.size()));
    }
    mdb_cursor_close(cur);
  }
  std::lock_guard lock(catalog_mutex_);
  for (const auto& n : names) {
    auto info = load(r.txn, n);
    if (!info.ok()) return std::move(info).error();
    if (*info) catalog_[n] = *info;
  }
  count_foreign_keys();
  if (rc = r.commit(); rc != 0) return make_error(rc, where);
  return {};
}

void Environment::count_foreign_keys() {
  bool any = false;
  for (const auto& [name, info] : catalog_) any = any || !info->schema.foreign_keys.empty();
  foreign_keys_.store(any, std::memory_order_release);
}

void Environment::enter_read() {
  for (;;) {
    readers_.fetch_add(1, std::memory_order_seq_cst);
    if (!resizing_.load(std::memory_order_seq_cst)) return;
    readers_.fetch_sub(1, std::memory_order_seq_cst);
    std::lock_guard lock(mutex_);  // the resize holds it: wait for its end
  }
}

bool Environment::resize_if_idle(std::size_t size) {
  if (writer_) return false;
  resizing_.store(true, std::memory_order_seq_cst);
  const bool ok =
      readers_.load(std::memory_order_seq_cst) == 0 && mdb_env_set_mapsize(env_, size) == 0;
  resizing_.store(false, std::memory_order_seq_cst);
  return ok;
}

Result<MDB_txn*> Environment::begin(bool write) {
  for (int attempt = 0;; ++attempt) {
    if (write) {
      std::unique_lock lock(mutex_);
      const auto timeout = std::chrono::milliseconds(options_.busy_timeout_ms);
      if (!gate_cv_.wait_for(lock, timeout, [&] { return !writer_; }))
        return driver_error(ErrorKind::timeout,
                            "another connection of this process holds the write transaction "
                            "(waited busy_timeout_ms=" +
                                std::to_string(options_.busy_timeout_ms) + ")");
      writer_ = true;
    } else {
      enter_read();
    }
    MDB_txn* txn = nullptr;
    const int rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &txn);
    if (rc == 0) return txn;
    end(write);
    if (rc == MDB_MAP_RESIZED && attempt == 0) {
      // Another process grew the map: adopt its size, once no transaction
      // of ours is live.
      std::lock_guard lock(mutex_);
      if (resize_if_idle(0)) continue;
    }
    return make_error(rc, write ? "beginning a write transaction" : "beginning a read transaction");
  }
}

Status Environment::renew(MDB_txn* txn) {
  for (int attempt = 0;; ++attempt) {
    enter_read();
    const int rc = mdb_txn_renew(txn);
    if (rc == 0) return {};
    end(false);
    if (rc == MDB_MAP_RESIZED && attempt == 0) {
      std::lock_guard lock(mutex_);
      if (resize_if_idle(0)) continue;
    }
    return make_error(rc, "renewing a read transaction");
  }
}

void Environment::end(bool write) {
  if (!write) {
    readers_.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    writer_ = false;
  }
  gate_cv_.notify_one();
}

bool Environment::grow() {
  std::lock_guard lock(mutex_);
  MDB_envinfo info{};
  if (mdb_env_info(env_, &info) != 0) return false;
  return resize_if_idle(info.me_mapsize * 2);
}

Result<std::shared_ptr<const TableInfo>> Environment::load(MDB_txn* txn, const std::string& name) {
  const std::string key = schema_key(name);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  int rc = mdb_get(txn, meta_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::shared_ptr<const TableInfo>();
  if (rc != 0) return make_error(rc, "reading the schema of " + name);
  auto schema = parse_schema(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
  if (!schema)
    return driver_error(ErrorKind::storage, "the stored schema of " + name + " is corrupt");
  auto info = std::make_shared<TableInfo>();
  info->schema = std::move(*schema);
  std::string why;
  if (!info->resolve(why)) return driver_error(ErrorKind::storage, why);
  std::lock_guard lock(dbi_mutex_);
  if (rc = mdb_dbi_open(txn, rows_db_name(name).c_str(), 0, &info->rows); rc != 0)
    return make_error(rc, "opening the rows of " + name);
  for (const auto& ix : info->schema.indexes) {
    MDB_dbi dbi = 0;
    if (rc = mdb_dbi_open(txn, index_db_name(name, ix.name).c_str(), 0, &dbi); rc != 0)
      return make_error(rc, "opening index " + ix.name);
    info->indexes.push_back(dbi);
  }
  return std::shared_ptr<const TableInfo>(std::move(info));
}

Result<std::shared_ptr<const TableInfo>> Environment::table(const std::string& name) {
  std::lock_guard lock(catalog_mutex_);
  if (auto it = catalog_.find(name); it != catalog_.end()) return it->second;
  // Not known here: another process may have created it since we opened.
  auto txn = begin(false);
  if (!txn.ok()) return std::move(txn).error();
  ReadTxn r{*this, *txn};
  auto info = load(r.txn, name);
  if (!info.ok() || !*info) return info;
  if (int rc = r.commit(); rc != 0) return make_error(rc, "opening table " + name);
  catalog_[name] = *info;
  count_foreign_keys();
  return info;
}

std::vector<std::shared_ptr<const TableInfo>> Environment::tables() {
  std::lock_guard lock(catalog_mutex_);
  std::vector<std::shared_ptr<const TableInfo>> out;
  for (const auto& [name, info] : catalog_) out.push_back(info);
  return out;
}

void Environment::publish(const std::string& name, std::shared_ptr<const TableInfo> info) {
  std::lock_guard lock(catalog_mutex_);
  if (info)
    catalog_[name] = std::move(info);
  else
    catalog_.erase(name);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  count_foreign_keys();
}

}  // namespace tessera::lmdb::detail
