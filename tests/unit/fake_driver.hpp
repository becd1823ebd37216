// A fake driver for tests about the engine itself (which operations it
// emits, how the pool behaves). Driver behaviour is tested only in the
// conformance suite, against real databases.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <tessera/driver/driver.hpp>
#include <tessera/driver/value_rows.hpp>

namespace fake {

struct Recorded {
  std::string operation;
  std::string sql;
  std::uint64_t cache_key = 0;
  std::vector<tessera::Value> params;
  std::size_t insert_rows = 0;  // Insert and UpdateMany: the row count
  // Insert from a row source: each chunk pulled, as {first row, row count}.
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  // UpdateMany: the table, then key and set columns with their types.
  std::vector<std::string> columns;
  std::vector<tessera::ColumnType> types;
};

// Shared state of every connection a FakeDriver opens.
struct State {
  std::mutex mutex;
  std::vector<Recorded> ops;
  std::atomic<int> connects{0};
  std::atomic<int> live{0};
  std::atomic<bool> fail_next{false};  // the next exec reports connection_lost
  // What every query returns: `columns` columns, these rows (none by default).
  std::size_t columns = 1;
  std::vector<std::vector<tessera::Value>> rows;
  // What every operation reports as ExecResponse::affected.
  std::uint64_t affected = 0;
  // Rows pulled at once from an Insert's row source (with
  // Capability::insert_row_source).
  std::size_t source_chunk = 64;
  // Instead, bind each row through InsertRowSource::bind_row (recorded as
  // one-row chunks, its values as Values).
  bool bind_rows = false;
  tessera::Capability capability;
};

// Appends each bound value to `out` as a Value.
class RecordingBinder final : public tessera::RowBinder {
 public:
  explicit RecordingBinder(std::vector<tessera::Value>& out) : out_(out) {}
  void bind_null(std::size_t c) override { add(c, tessera::Value()); }
  void bind_int64(std::size_t c, std::int64_t v) override { add(c, tessera::Value(v)); }
  void bind_double(std::size_t c, double v) override { add(c, tessera::Value(v)); }
  void bind_text(std::size_t c, std::string_view v) override { add(c, tessera::Value(v)); }
  void bind_bytes(std::size_t c, std::span<const std::byte> v) override {
    add(c, tessera::Value(tessera::Bytes(v.begin(), v.end())));
  }
  void bind_value(std::size_t c, const tessera::Value& v) override { add(c, v); }

 private:
  // Columns come in order, each once; after a refused value (the row then
  // fails) some may be missing.
  void add(std::size_t column, tessera::Value v) {
    if (column < next_) throw std::logic_error("RowBinder: columns out of order");
    next_ = column + 1;
    out_.push_back(std::move(v));
  }
  std::vector<tessera::Value>& out_;
  std::size_t next_ = 0;
};

class FakeConnection : public tessera::Connection {
 public:
  explicit FakeConnection(std::shared_ptr<State> s) : s_(std::move(s)) { ++s_->live; }
  ~FakeConnection() override { --s_->live; }
  const tessera::Capability& capability() const override { return s_->capability; }
  tessera::Result<tessera::ExecResponse> exec(const tessera::Operation& op) override {
    if (s_->fail_next.exchange(false)) {
      valid_ = false;
      return tessera::Error(tessera::ErrorKind::connection_lost, "injected");
    }
    Recorded r;
    r.operation = std::string(tessera::operation_name(op));
    if (auto* q = std::get_if<tessera::op::QuerySql>(&op)) {
      r.sql = std::string(q->sql);
      r.cache_key = q->cache_key;
      r.params.assign(q->params.begin(), q->params.end());
    } else if (auto* i = std::get_if<tessera::op::Insert>(&op)) {
      r.insert_rows = i->statement->row_count;
      r.params.assign(i->params.begin(), i->params.end());
      for (std::size_t row = 0; i->source && s_->bind_rows && row < r.insert_rows; ++row) {
        RecordingBinder binder(r.params);
        if (tessera::Status st = i->source->bind_row(row, binder); !st)
          return std::move(st).error();
        r.chunks.emplace_back(row, 1);
      }
      for (std::size_t first = 0; i->source && !s_->bind_rows && first < r.insert_rows;) {
        const std::size_t n = std::min(s_->source_chunk, r.insert_rows - first);
        auto chunk = i->source->rows(first, n);
        if (!chunk) return std::move(chunk).error();
        r.chunks.emplace_back(first, n);
        r.params.insert(r.params.end(), chunk->begin(), chunk->end());
        first += n;
      }
    } else if (auto* u = std::get_if<tessera::op::UpdateMany>(&op)) {
      r.sql = std::string(u->table);
      r.insert_rows = u->row_count;
      r.params.assign(u->values.begin(), u->values.end());
      r.columns.assign(u->key_columns.begin(), u->key_columns.end());
      r.columns.insert(r.columns.end(), u->set_columns.begin(), u->set_columns.end());
      r.types.assign(u->key_types.begin(), u->key_types.end());
      r.types.insert(r.types.end(), u->set_types.begin(), u->set_types.end());
    }
    {
      std::lock_guard lock(s_->mutex);
      s_->ops.push_back(r);
    }
    tessera::ExecResponse resp;
    std::lock_guard lock(s_->mutex);
    resp.rows = std::make_unique<tessera::ValueRows>(s_->columns, s_->rows);
    resp.affected = s_->affected;
    return resp;
  }
  bool is_valid() const override { return valid_; }
  tessera::Status ping() override { return {}; }
  tessera::Status push_schema(const tessera::Schema&) override { return {}; }
  tessera::Status drop_tables(const std::vector<std::string>&) override { return {}; }

 private:
  std::shared_ptr<State> s_;
  bool valid_ = true;
};

class FakeDriver : public tessera::Driver {
 public:
  explicit FakeDriver(std::shared_ptr<State> s, std::string scheme)
      : s_(std::move(s)), scheme_(std::move(scheme)) {}
  std::string_view name() const override { return "fake"; }
  std::vector<std::string> schemes() const override { return {scheme_}; }
  tessera::Result<std::unique_ptr<tessera::Connection>> connect(const tessera::Url&) override {
    ++s_->connects;
    return std::unique_ptr<tessera::Connection>(new FakeConnection(s_));
  }
  std::size_t max_connections(const tessera::Url&) const override { return 0; }

 private:
  std::shared_ptr<State> s_;
  std::string scheme_;
};

// Registers a fake driver under a fresh scheme and returns its state.
inline std::shared_ptr<State> install(const std::string& scheme,
                                      tessera::SqlDialect dialect = tessera::SqlDialect::sqlite) {
  auto s = std::make_shared<State>();
  s->capability.sql = dialect;
  s->capability.returning = true;
  s->capability.savepoints = true;
  s->capability.raw_sql = true;
  tessera::register_driver(std::make_shared<FakeDriver>(s, scheme));
  return s;
}

}  // namespace fake
