#include "lmdb_store.hpp"

#include <algorithm>
#include <set>

#include "lmdb_codec.hpp"
#include "lmdb_errors.hpp"
#include "tessera/driver/value_rows.hpp"

namespace tessera::lmdb::detail {

namespace {

// Cascading deletes deeper than this are refused (a reference cycle).
constexpr int kMaxCascadeDepth = 64;
// Rows pulled from an insert's row source at once (op::Insert::source):
// their Values stay in the data cache while the rows are encoded.
constexpr std::size_t kSourceChunkRows = 64;

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

std::string key_of(const TableInfo& t, const std::vector<std::size_t>& positions, const Row& row) {
  std::string k;
  for (std::size_t p : positions) encode_key_part(k, row[p], t.types[p]);
  return k;
}

bool has_null(const std::vector<std::size_t>& positions, const Row& row) {
  return std::any_of(positions.begin(), positions.end(),
                     [&](std::size_t p) { return row[p].is_null(); });
}

// The index entry of `row`: its index key, plus the primary key where the
// index allows duplicates (non-unique, or a NULL in a unique index's columns).
void append_index_key(std::string& k, const TableInfo& t, std::size_t ix, const Row& row,
                      std::string_view pk) {
  const auto& cols = t.index_columns[ix];
  for (std::size_t p : cols) encode_key_part(k, row[p], t.types[p]);
  if (!t.schema.indexes[ix].unique || has_null(cols, row)) k += pk;
}
std::string index_key(const TableInfo& t, std::size_t ix, const Row& row, const std::string& pk) {
  std::string k;
  append_index_key(k, t, ix, row, pk);
  return k;
}

Error violation(ErrorKind kind, std::string constraint, const std::string& message) {
  Error e = driver_error(kind, message);
  e.constraint = std::move(constraint);
  return e;
}

Error unique_error(const TableInfo& t, int ix) {
  const std::string name =
      ix < 0 ? t.schema.name + ".primary_key" : t.schema.indexes[static_cast<std::size_t>(ix)].name;
  return violation(
      ErrorKind::unique_violation, name,
      "duplicate key in table '" + t.schema.name + "' violates unique constraint '" + name + "'");
}

bool same_columns(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  return std::all_of(a.begin(), a.end(), [&](const std::string& c) {
    return std::find(b.begin(), b.end(), c) != b.end();
  });
}

Result<std::vector<std::size_t>> positions_of(const TableInfo& t,
                                              const std::vector<std::string>& names) {
  std::vector<std::size_t> out;
  for (const auto& n : names) {
    const int p = t.column(n);
    if (p < 0)
      return driver_error(ErrorKind::invalid_statement,
                          "table '" + t.schema.name + "' has no column '" + n + "'");
    out.push_back(static_cast<std::size_t>(p));
  }
  return out;
}

template <class T>
Result<T> mdb_fail(int rc, std::string_view what) {
  return make_error(rc, what);
}

}  // namespace

Result<bool> lookup_key(const TableInfo& t, const std::vector<std::size_t>& positions,
                        std::span<const Value> values, std::string& out) {
  if (values.size() != positions.size())
    return driver_error(ErrorKind::invalid_statement,
                        "a key of table '" + t.schema.name + "' needs " +
                            std::to_string(positions.size()) + " values, got " +
                            std::to_string(values.size()));
  out.clear();
  for (std::size_t i = 0; i < positions.size(); ++i) {
    const ValueType type = t.types[positions[i]];
    if (values[i].is_null() || values[i].type() == type) {  // no conversion, no copy
      encode_key_part(out, values[i], type);
      continue;
    }
    auto v = coerce(values[i], type);
    if (!v) return false;
    encode_key_part(out, *v, type);
  }
  return true;
}

Result<std::optional<std::string>> lookup_key(const TableInfo& t,
                                              const std::vector<std::size_t>& positions,
                                              std::span<const Value> values) {
  std::string k;
  auto found = lookup_key(t, positions, values, k);
  if (!found.ok()) return std::move(found).error();
  if (!*found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(k));
}

void UndoLog::add(MDB_dbi dbi, std::string_view key, std::string_view value, bool had) {
  entries_.push_back(Entry{dbi, had, bytes_.size(), key.size(), value.size()});
  bytes_.append(key);
  bytes_.append(value);
}

int UndoLog::undo(MDB_txn* txn) {
  int first = 0;
  for (auto e = entries_.rbegin(); e != entries_.rend() && first == 0; ++e) {
    MDB_val k{e->key_size, bytes_.data() + e->key};
    if (e->had) {
      MDB_val v{e->value_size, bytes_.data() + e->key + e->key_size};
      first = mdb_put(txn, e->dbi, &k, &v, 0);
    } else if (const int rc = mdb_del(txn, e->dbi, &k, nullptr); rc != MDB_NOTFOUND) {
      first = rc;
    }
  }
  clear();
  return first;
}

Result<TableRef> Store::require(std::string_view table) {
  auto t = lookup_(std::string(table));
  if (!t.ok()) return t;
  if (!*t)
    return driver_error(ErrorKind::invalid_statement, "no such table: " + std::string(table));
  return t;
}

Result<std::optional<std::string>> Store::get(MDB_dbi dbi, const std::string& key) {
  MDB_val k = val(key), v{};
  const int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return make_error(rc, "mdb_get");
  return std::optional<std::string>(std::string(view(v)));
}

int Store::save(MDB_dbi dbi, std::string_view key, const std::string* before) {
  if (before) {
    undo_->had(dbi, key, *before);
    return 0;
  }
  MDB_val k = val(key), v{};
  const int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    undo_->absent(dbi, key);
  else if (rc == 0)
    undo_->had(dbi, key, view(v));
  else
    return rc;
  return 0;
}

int Store::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags,
               const std::string* before) {
  const bool fresh = (flags & MDB_NOOVERWRITE) != 0;
  if (undo_ && !fresh)
    if (const int rc = save(dbi, key, before); rc != 0) return rc;
  MDB_val k = val(key), v = val(value);
  const int rc = mdb_put(txn_, dbi, &k, &v, flags);
  if (rc == 0 && undo_ && fresh) undo_->absent(dbi, key);
  return rc;
}

int Store::del(MDB_dbi dbi, std::string_view key, const std::string* before) {
  if (undo_ && !before)
    if (const int rc = save(dbi, key, nullptr); rc != 0) return rc;
  MDB_val k = val(key);
  const int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == 0 && undo_ && before) undo_->had(dbi, key, *before);
  return rc;
}

Result<std::optional<Row>> Store::read_row(const TableInfo& t, const std::string& pk,
                                           std::string* raw) {
  MDB_val k = val(pk), v{};
  const int rc = mdb_get(txn_, t.rows, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<Row>();
  if (rc != 0) return make_error(rc, "reading a row of " + t.schema.name);
  if (raw) raw->assign(view(v));
  std::vector<Field> fields;
  if (!decode_row(view(v), t.schema.columns.size(), fields))
    return driver_error(ErrorKind::storage, "a row of " + t.schema.name + " is corrupt");
  Row row;
  row.reserve(fields.size());
  for (const auto& f : fields) row.push_back(to_value(f));
  return std::optional<Row>(std::move(row));
}

Status Store::check_value(const TableInfo& t, std::size_t c, Value& v) {
  const ColumnDef& def = t.schema.columns[c];
  if (v.is_null()) {
    if (!def.nullable)
      return violation(
          ErrorKind::not_null_violation, t.schema.name + "." + def.name,
          "NULL in column '" + def.name + "' of table '" + t.schema.name + "', which is NOT NULL");
    return {};
  }
  if (v.type() == t.types[c]) return {};
  auto converted = coerce(v, t.types[c]);
  if (!converted)
    return driver_error(ErrorKind::invalid_value,
                        "column '" + def.name + "' of table '" + t.schema.name + "' holds " +
                            std::string(to_string(def.type)) + ", got a " +
                            std::string(to_string(v.type())));
  v = std::move(*converted);
  return {};
}

Status Store::check_row(const TableInfo& t, Row& row) {
  for (std::size_t c = 0; c < row.size(); ++c)
    if (auto st = check_value(t, c, row[c]); !st.ok()) return st;
  return {};
}

Status Store::check_parents(const TableInfo& t, const Row& row, const Row* old) {
  for (const auto& fk : t.schema.foreign_keys) {
    auto cols = positions_of(t, fk.columns);
    if (!cols.ok()) return std::move(cols).error();
    if (has_null(*cols, row)) continue;
    if (old &&
        std::all_of(cols->begin(), cols->end(), [&](std::size_t p) { return row[p] == (*old)[p]; }))
      continue;
    auto parent = require(fk.ref_table);
    if (!parent.ok()) return std::move(parent).error();
    const TableInfo& p = **parent;
    Row values;
    for (std::size_t c : *cols) values.push_back(row[c]);
    auto ref = positions_of(p, fk.ref_columns);
    if (!ref.ok()) return std::move(ref).error();
    bool found = false;
    if (same_columns(fk.ref_columns, p.schema.primary_key)) {
      // Reorder the values into primary-key order.
      Row key;
      for (std::size_t pc : p.pk)
        for (std::size_t i = 0; i < ref->size(); ++i)
          if ((*ref)[i] == pc) key.push_back(values[i]);
      auto k = lookup_key(p, p.pk, key);
      if (!k.ok()) return std::move(k).error();
      if (*k) {
        auto hit = get(p.rows, **k);
        if (!hit.ok()) return std::move(hit).error();
        found = hit->has_value();
      }
    } else {
      const int ix = p.index_on(fk.ref_columns);
      if (ix < 0 || !p.schema.indexes[static_cast<std::size_t>(ix)].unique)
        return driver_error(ErrorKind::unsupported,
                            "foreign key " + fk.name +
                                " references columns that are neither the primary key nor a "
                                "unique index of " +
                                p.schema.name);
      Row key;
      for (std::size_t pc : p.index_columns[static_cast<std::size_t>(ix)])
        for (std::size_t i = 0; i < ref->size(); ++i)
          if ((*ref)[i] == pc) key.push_back(values[i]);
      auto k = lookup_key(p, p.index_columns[static_cast<std::size_t>(ix)], key);
      if (!k.ok()) return std::move(k).error();
      if (*k) {
        auto hit = get(p.indexes[static_cast<std::size_t>(ix)], **k);
        if (!hit.ok()) return std::move(hit).error();
        found = hit->has_value();
      }
    }
    if (!found)
      return violation(ErrorKind::foreign_key_violation, fk.name,
                       "a row of '" + t.schema.name + "' references a missing row of '" +
                           p.schema.name + "' (foreign key " + fk.name + ")");
  }
  return {};
}

Result<std::vector<std::string>> Store::children(const TableInfo& child, const ForeignKeyDef& fk,
                                                 const std::vector<std::size_t>& fk_cols,
                                                 const Row& values) {
  std::vector<std::string> pks;
  std::string want;
  for (std::size_t i = 0; i < fk_cols.size(); ++i) {
    auto v = coerce(values[i], child.types[fk_cols[i]]);
    if (!v) return pks;
    encode_key_part(want, *v, child.types[fk_cols[i]]);
  }
  // An index whose leading columns are the foreign key answers by prefix.
  for (std::size_t ix = 0; ix < child.index_columns.size(); ++ix) {
    const auto& cols = child.index_columns[ix];
    if (cols.size() < fk_cols.size() || !std::equal(fk_cols.begin(), fk_cols.end(), cols.begin()))
      continue;
    MDB_cursor* cur = nullptr;
    if (int rc = mdb_cursor_open(txn_, child.indexes[ix], &cur); rc != 0)
      return make_error(rc, "mdb_cursor_open");
    MDB_val k = val(want), v{};
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && view(k).starts_with(want); rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      pks.emplace_back(view(v));
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return make_error(rc, "reading index of " + child.schema.name);
    return pks;
  }
  (void)fk;
  // No index: scan the child table.
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(txn_, child.rows, &cur); rc != 0)
    return make_error(rc, "mdb_cursor_open");
  MDB_val k{}, v{};
  std::vector<Field> fields;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (!decode_row(view(v), child.schema.columns.size(), fields)) {
      mdb_cursor_close(cur);
      return driver_error(ErrorKind::storage, "a row of " + child.schema.name + " is corrupt");
    }
    std::string got;
    for (std::size_t c : fk_cols) encode_key_part(got, to_value(fields[c]), child.types[c]);
    if (got == want) pks.emplace_back(view(k));
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return make_error(rc, "scanning " + child.schema.name);
  return pks;
}

Status Store::on_parent_change(const TableInfo& parent, const Row& old, const Row* now, int depth) {
  if (depth > kMaxCascadeDepth)
    return driver_error(ErrorKind::invalid_statement, "cascading delete too deep (a cycle?)");
  for (const TableRef& child : all_()) {
    for (const auto& fk : child->schema.foreign_keys) {
      if (fk.ref_table != parent.schema.name) continue;
      auto ref = positions_of(parent, fk.ref_columns);
      if (!ref.ok()) return std::move(ref).error();
      if (now &&
          std::all_of(ref->begin(), ref->end(), [&](std::size_t p) { return old[p] == (*now)[p]; }))
        continue;
      Row values;
      for (std::size_t p : *ref) values.push_back(old[p]);
      if (has_null(*ref, old)) continue;
      auto fk_cols = positions_of(*child, fk.columns);
      if (!fk_cols.ok()) return std::move(fk_cols).error();
      auto pks = children(*child, fk, *fk_cols, values);
      if (!pks.ok()) return std::move(pks).error();
      if (pks->empty()) continue;
      const bool deleting = now == nullptr;
      if (deleting && fk.on_delete == ForeignKeyAction::cascade) {
        for (const auto& pk : *pks) {
          std::string raw;
          auto row = read_old(*child, pk, raw);
          if (!row.ok()) return std::move(row).error();
          if (!*row) continue;
          if (auto st = on_parent_change(*child, **row, nullptr, depth + 1); !st.ok()) return st;
          if (auto st = remove(*child, pk, **row, raw); !st.ok()) return st;
        }
        continue;
      }
      if (deleting && fk.on_delete == ForeignKeyAction::set_null) {
        for (const auto& pk : *pks) {
          std::string raw;
          auto row = read_old(*child, pk, raw);
          if (!row.ok()) return std::move(row).error();
          if (!*row) continue;
          Row changed = **row;
          for (std::size_t c : *fk_cols) changed[c] = Value();
          if (auto st = check_row(*child, changed); !st.ok()) return st;
          if (auto st = rewrite(*child, pk, **row, changed, raw); !st.ok()) return st;
        }
        continue;
      }
      return violation(ErrorKind::foreign_key_violation, fk.name,
                       std::string(deleting ? "deleting" : "changing the key of") + " a row of '" +
                           parent.schema.name + "' still referenced from '" + child->schema.name +
                           "' (foreign key " + fk.name + ")");
    }
  }
  return {};
}

Status Store::write_new(const TableInfo& t, const std::string& pk, const Row& row, bool last) {
  // The connection's buffers: a bulk insert allocates none per row.
  std::string& bytes = scratch_.bytes;
  bytes.clear();
  encode_row(bytes, row);
  // MDB_APPEND skips the search and splits a full last page by starting a
  // new one. It answers MDB_KEYEXIST, writing nothing, for a key that is not
  // the last after all (an update moved a key past the sequence): then the
  // plain put decides.
  int rc = last ? put(t.rows, pk, bytes, MDB_NOOVERWRITE | MDB_APPEND) : MDB_KEYEXIST;
  if (rc == MDB_KEYEXIST) rc = put(t.rows, pk, bytes, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return unique_error(t, -1);
  if (rc != 0) return make_error(rc, "writing a row of " + t.schema.name);
  for (std::size_t ix = 0; ix < t.indexes.size(); ++ix) {
    std::string& ik = scratch_.after;
    ik.clear();
    append_index_key(ik, t, ix, row, pk);
    rc = put(t.indexes[ix], ik, pk, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return unique_error(t, static_cast<int>(ix));
    if (rc != 0) return make_error(rc, "writing index " + t.schema.indexes[ix].name);
  }
  return {};
}

Status Store::rewrite(const TableInfo& t, const std::string& old_pk, const Row& old, const Row& now,
                      const std::string& old_bytes) {
  // The stored bytes, when read_old kept them (else put/del read them).
  const std::string* known = undo_ && !old_bytes.empty() ? &old_bytes : nullptr;
  const std::string pk = key_of(t, t.pk, now);
  for (std::size_t ix = 0; ix < t.indexes.size(); ++ix) {
    const std::string before = index_key(t, ix, old, old_pk);
    const std::string after = index_key(t, ix, now, pk);
    if (before == after) continue;
    int rc = del(t.indexes[ix], before, &old_pk);  // an index entry holds its row's key
    if (rc != 0 && rc != MDB_NOTFOUND) return make_error(rc, "updating index");
    rc = put(t.indexes[ix], after, pk, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return unique_error(t, static_cast<int>(ix));
    if (rc != 0) return make_error(rc, "updating index " + t.schema.indexes[ix].name);
  }
  std::string bytes;
  encode_row(bytes, now);
  if (pk != old_pk) {
    if (int rc = del(t.rows, old_pk, known); rc != 0 && rc != MDB_NOTFOUND)
      return make_error(rc, "moving a row");
    int rc = put(t.rows, pk, bytes, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return unique_error(t, -1);
    if (rc != 0) return make_error(rc, "moving a row");
    return {};
  }
  if (int rc = put(t.rows, pk, bytes, 0, known); rc != 0)
    return make_error(rc, "writing a row of " + t.schema.name);
  return {};
}

Status Store::remove(const TableInfo& t, const std::string& pk, const Row& row,
                     const std::string& old_bytes) {
  const std::string* known = undo_ && !old_bytes.empty() ? &old_bytes : nullptr;
  for (std::size_t ix = 0; ix < t.indexes.size(); ++ix) {
    const std::string ik = index_key(t, ix, row, pk);
    if (int rc = del(t.indexes[ix], ik, &pk); rc != 0 && rc != MDB_NOTFOUND)
      return make_error(rc, "deleting from index " + t.schema.indexes[ix].name);
  }
  if (int rc = del(t.rows, pk, known); rc != 0 && rc != MDB_NOTFOUND)
    return make_error(rc, "deleting a row of " + t.schema.name);
  return {};
}

Result<std::int64_t> Store::read_sequence(const std::string& table) {
  auto v = get(env_.meta(), sequence_key(table));
  if (!v.ok()) return std::move(v).error();
  if (!*v) return std::int64_t{0};
  std::string_view in(**v);
  Value out;
  if (!decode_value(in, out) || out.type() != ValueType::int64)
    return driver_error(ErrorKind::storage, "the sequence of " + table + " is corrupt");
  return out.as_int64();
}

Status Store::write_sequence(const std::string& table, std::int64_t value) {
  const std::string key = sequence_key(table);
  std::string bytes;
  encode_value(bytes, Value(value));
  if (int rc = put(env_.meta(), key, bytes, 0); rc != 0)
    return make_error(rc, "writing the sequence of " + table);
  return {};
}

Result<ExecResponse> Store::insert(const op::Insert& op) {
  const ast::Insert& st = *op.statement;
  auto tr = require(st.table);
  if (!tr.ok()) return std::move(tr).error();
  const TableInfo& t = **tr;
  auto cols = positions_of(t, st.columns);
  if (!cols.ok()) return std::move(cols).error();
  const std::size_t width = st.columns.size();
  if (op.source == nullptr && op.params.size() != width * st.row_count)
    return driver_error(ErrorKind::invalid_statement, "insert: wrong number of values");
  std::vector<std::size_t> returning;
  if (!st.returning.empty()) {
    auto r = positions_of(t, st.returning);
    if (!r.ok()) return std::move(r).error();
    returning = std::move(*r);
  }
  const auto& oc = st.on_conflict;
  std::vector<std::size_t> update_cols;
  int target_index = -1;  // -1: the primary key
  if (oc.action != ast::OnConflict::Action::error) {
    auto u = positions_of(t, oc.update_columns);
    if (!u.ok()) return std::move(u).error();
    update_cols = std::move(*u);
    if (!oc.target.empty() && !same_columns(oc.target, t.schema.primary_key)) {
      target_index = t.index_on(oc.target);
      if (target_index < 0 || !t.schema.indexes[static_cast<std::size_t>(target_index)].unique)
        return driver_error(ErrorKind::invalid_statement,
                            "the conflict target is neither the primary key nor a unique index "
                            "of " +
                                t.schema.name);
    }
  }

  auto seq = read_sequence(t.schema.name);
  if (!seq.ok()) return std::move(seq).error();
  const std::int64_t seq_before = *seq;
  ExecResponse resp;
  std::vector<Row> out;
  std::vector<bool> provided(t.schema.columns.size());
  for (std::size_t c = 0; c < width; ++c) provided[(*cols)[c]] = true;
  Row row;  // reused from row to row (unless RETURNING keeps it)
  // The rows at hand, [chunk_first, chunk_end): all of params, or a chunk
  // pulled from the row source (an error from it fails the statement, which
  // the connection undoes like any other failed write).
  std::span<const Value> chunk = op.params;
  std::size_t chunk_first = 0;
  std::size_t chunk_end = op.source ? 0 : st.row_count;
  for (std::size_t r = 0; r < st.row_count; ++r) {
    if (r == chunk_end) {
      const std::size_t n = std::min(kSourceChunkRows, st.row_count - r);
      auto pulled = insert_values(op, r, n, kDriverName);
      if (!pulled.ok()) return std::move(pulled).error();
      chunk = *pulled;
      chunk_first = r;
      chunk_end = r + n;
    }
    const Value* values = &chunk[(r - chunk_first) * width];
    row.resize(t.schema.columns.size());
    for (std::size_t c = 0; c < width; ++c) row[(*cols)[c]] = values[c];
    for (std::size_t c = 0; c < row.size(); ++c)
      if (!provided[c])
        row[c] = t.schema.columns[c].default_value ? *t.schema.columns[c].default_value : Value();
    bool generated = false;
    if (t.auto_increment >= 0) {
      Value& id = row[static_cast<std::size_t>(t.auto_increment)];
      if (id.is_null()) {
        generated = true;
        id = Value(++*seq);
        resp.generated_ids.push_back(*seq);
      } else if (auto v = coerce(id, ValueType::int64); v && v->as_int64() > *seq) {
        *seq = v->as_int64();  // explicit keys move the counter past them
      }
    }
    if (auto s = check_row(t, row); !s.ok()) return std::move(s).error();
    const std::string pk = key_of(t, t.pk, row);

    if (oc.action != ast::OnConflict::Action::error) {
      std::optional<std::string> existing;
      if (target_index < 0) {
        auto hit = get(t.rows, pk);
        if (!hit.ok()) return std::move(hit).error();
        if (*hit) existing = pk;
      } else {
        const auto ix = static_cast<std::size_t>(target_index);
        if (!has_null(t.index_columns[ix], row)) {
          auto hit = get(t.indexes[ix], index_key(t, ix, row, pk));
          if (!hit.ok()) return std::move(hit).error();
          existing = std::move(*hit);
        }
      }
      if (existing) {
        if (oc.action == ast::OnConflict::Action::do_nothing) continue;
        std::string raw;
        auto old = read_old(t, *existing, raw);
        if (!old.ok()) return std::move(old).error();
        if (!*old) return driver_error(ErrorKind::storage, "an index entry has no row");
        Row now = **old;
        for (std::size_t c : update_cols) now[c] = row[c];
        if (auto s = check_row(t, now); !s.ok()) return std::move(s).error();
        if (auto s = check_parents(t, now, &**old); !s.ok()) return std::move(s).error();
        if (auto s = on_parent_change(t, **old, &now, 0); !s.ok()) return std::move(s).error();
        if (auto s = rewrite(t, *existing, **old, now, raw); !s.ok()) return std::move(s).error();
        ++resp.affected;
        if (!returning.empty()) out.push_back(std::move(now));
        continue;
      }
    }
    if (auto s = check_parents(t, row, nullptr); !s.ok()) return std::move(s).error();
    // A generated key is above every key the sequence has seen: likely the last.
    const bool last =
        generated && t.pk.size() == 1 && t.pk[0] == static_cast<std::size_t>(t.auto_increment);
    if (auto s = write_new(t, pk, row, last); !s.ok()) return std::move(s).error();
    ++resp.affected;
    if (!returning.empty()) out.push_back(std::move(row));
  }
  if (*seq != seq_before)
    if (auto s = write_sequence(t.schema.name, *seq); !s.ok()) return std::move(s).error();
  if (!returning.empty()) {
    std::vector<Row> projected;
    projected.reserve(out.size());
    for (auto& row : out) {
      Row p;
      p.reserve(returning.size());
      for (std::size_t c : returning) p.push_back(std::move(row[c]));
      projected.push_back(std::move(p));
    }
    resp.rows = std::make_unique<ValueRows>(returning.size(), std::move(projected));
  }
  return resp;
}

bool Store::splices(const TableInfo& t, const std::vector<std::size_t>& cols) {
  auto changed = [&](const std::vector<std::size_t>& positions) {
    return std::any_of(positions.begin(), positions.end(), [&](std::size_t p) {
      return std::find(cols.begin(), cols.end(), p) != cols.end();
    });
  };
  if (changed(t.pk)) return false;
  for (const auto& fk : t.schema.foreign_keys) {
    auto fk_cols = positions_of(t, fk.columns);
    if (!fk_cols.ok() || changed(*fk_cols)) return false;
  }
  for (const TableRef& child : all_())
    for (const auto& fk : child->schema.foreign_keys) {
      if (fk.ref_table != t.schema.name) continue;
      auto ref = positions_of(t, fk.ref_columns);
      if (!ref.ok() || changed(*ref)) return false;
    }
  return true;
}

Result<bool> Store::splice(const TableInfo& t, const std::string& pk,
                           const std::vector<std::size_t>& cols, std::span<const Value> values) {
  MDB_val k = val(pk), v{};
  int rc = mdb_get(txn_, t.rows, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return make_error(rc, "reading a row of " + t.schema.name);
  // A copy: the writes below may move the page `v` points into.
  StoreScratch& w = scratch_;
  w.old_bytes.assign(view(v));
  const std::size_t n = t.schema.columns.size();
  w.fields.resize(n);
  w.raw.resize(n);
  if (!decode_row(w.old_bytes, w.fields, w.raw))
    return driver_error(ErrorKind::storage, "a row of " + t.schema.name + " is corrupt");
  // The new value of each column (the last one given wins, as in the
  // general path), checked in column order as check_row does.
  w.now.assign(n, nullptr);
  w.values.assign(values.begin(), values.end());
  for (std::size_t i = 0; i < cols.size(); ++i) w.now[cols[i]] = &w.values[i];
  for (std::size_t c = 0; c < n; ++c) {
    if (w.now[c]) {
      if (auto st = check_value(t, c, *w.now[c]); !st.ok()) return std::move(st).error();
    } else if (w.fields[c].tag == FieldTag::null && !t.schema.columns[c].nullable) {
      Status st = check_value(t, c, w.null_value);  // a stored NULL the schema forbids
      return std::move(st).error();
    }
  }
  auto value_of = [&](std::size_t c) { return w.now[c] ? *w.now[c] : to_value(w.fields[c]); };
  for (std::size_t ix = 0; ix < t.indexes.size(); ++ix) {
    const auto& ic = t.index_columns[ix];
    if (std::none_of(ic.begin(), ic.end(), [&](std::size_t c) { return w.now[c] != nullptr; }))
      continue;  // its key (columns, primary key) is unchanged
    const bool dup = !t.schema.indexes[ix].unique;
    bool null_before = false, null_after = false;
    w.before.clear();
    w.after.clear();
    for (std::size_t c : ic) {
      const Value old = to_value(w.fields[c]);
      const Value now = value_of(c);
      null_before |= old.is_null();
      null_after |= now.is_null();
      encode_key_part(w.before, old, t.types[c]);
      encode_key_part(w.after, now, t.types[c]);
    }
    if (dup || null_before) w.before += pk;
    if (dup || null_after) w.after += pk;
    if (w.before == w.after) continue;
    rc = del(t.indexes[ix], w.before, &pk);  // an index entry holds its row's key
    if (rc != 0 && rc != MDB_NOTFOUND) return make_error(rc, "updating index");
    rc = put(t.indexes[ix], w.after, pk, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return unique_error(t, static_cast<int>(ix));
    if (rc != 0) return make_error(rc, "updating index " + t.schema.indexes[ix].name);
  }
  // The row: unchanged fields copied as stored, changed ones encoded.
  w.bytes.clear();
  for (std::size_t c = 0; c < n; ++c) {
    if (w.now[c])
      encode_value(w.bytes, *w.now[c]);
    else if (!w.raw[c].empty())
      w.bytes.append(w.raw[c]);
    else
      w.bytes.push_back(static_cast<char>(FieldTag::null));  // a missing trailing column
  }
  if (rc = put(t.rows, pk, w.bytes, 0, undo_ ? &w.old_bytes : nullptr); rc != 0)
    return make_error(rc, "writing a row of " + t.schema.name);
  return true;
}

Result<ExecResponse> Store::update(const op::UpdateByKey& op) {
  auto tr = require(op.table);
  if (!tr.ok()) return std::move(tr).error();
  const TableInfo& t = **tr;
  std::vector<std::size_t> cols;
  cols.reserve(op.columns.size());
  for (const auto& name : op.columns) {
    const int p = t.column(name);
    if (p < 0)
      return driver_error(ErrorKind::invalid_statement,
                          "table '" + t.schema.name + "' has no column '" + name + "'");
    cols.push_back(static_cast<std::size_t>(p));
  }
  if (op.values.size() != cols.size())
    return driver_error(ErrorKind::invalid_statement, "update: one value per column needed");
  // Columns outside the primary key and every foreign key (either side)
  // change no key but index keys: the row is rewritten from its stored
  // fields, without decoding it into values or re-encoding what stays.
  const bool in_place = splices(t, cols);
  ExecResponse resp;
  std::set<std::string> seen;
  for (const auto& key : op.keys) {
    auto k = lookup_key(t, t.pk, key);
    if (!k.ok()) return std::move(k).error();
    if (!*k || (op.keys.size() > 1 && !seen.insert(**k).second)) continue;
    if (in_place) {
      auto done = splice(t, **k, cols, op.values);
      if (!done.ok()) return std::move(done).error();
      if (*done) ++resp.affected;
      continue;
    }
    std::string raw;
    auto old = read_old(t, **k, raw);
    if (!old.ok()) return std::move(old).error();
    if (!*old) continue;
    Row now = **old;
    for (std::size_t i = 0; i < cols.size(); ++i) now[cols[i]] = op.values[i];
    if (auto s = check_row(t, now); !s.ok()) return std::move(s).error();
    if (auto s = check_parents(t, now, &**old); !s.ok()) return std::move(s).error();
    if (auto s = on_parent_change(t, **old, &now, 0); !s.ok()) return std::move(s).error();
    if (auto s = rewrite(t, **k, **old, now, raw); !s.ok()) return std::move(s).error();
    ++resp.affected;
  }
  return resp;
}

Result<ExecResponse> Store::erase(const op::DeleteByKey& op) {
  auto tr = require(op.table);
  if (!tr.ok()) return std::move(tr).error();
  const TableInfo& t = **tr;
  ExecResponse resp;
  for (const auto& key : op.keys) {
    auto k = lookup_key(t, t.pk, key);
    if (!k.ok()) return std::move(k).error();
    if (!*k) continue;
    std::string raw;
    auto old = read_old(t, **k, raw);
    if (!old.ok()) return std::move(old).error();
    if (!*old) continue;
    if (auto s = on_parent_change(t, **old, nullptr, 0); !s.ok()) return std::move(s).error();
    if (auto s = remove(t, **k, **old, raw); !s.ok()) return std::move(s).error();
    ++resp.affected;
  }
  return resp;
}

Result<ExecResponse> Store::find_pk(const op::FindPkByIndex& op) {
  auto tr = require(op.table);
  if (!tr.ok()) return std::move(tr).error();
  const TableInfo& t = **tr;
  int ix = -1;
  for (std::size_t i = 0; i < t.schema.indexes.size(); ++i)
    if (t.schema.indexes[i].name == op.index) ix = static_cast<int>(i);
  if (ix < 0)
    return driver_error(
        ErrorKind::invalid_statement,
        "table '" + t.schema.name + "' has no index '" + std::string(op.index) + "'");
  const auto i = static_cast<std::size_t>(ix);
  std::set<std::string> pks;  // encoded: primary-key order, no duplicates
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(txn_, t.indexes[i], &cur); rc != 0)
    return make_error(rc, "mdb_cursor_open");
  for (const auto& key : op.keys) {
    auto k = lookup_key(t, t.index_columns[i], key);
    if (!k.ok()) {
      mdb_cursor_close(cur);
      return std::move(k).error();
    }
    if (!*k) continue;
    // Every entry starting with the key: one for a unique index, any number
    // otherwise (their keys end with the primary key).
    MDB_val a = val(**k), b{};
    int rc = mdb_cursor_get(cur, &a, &b, MDB_SET_RANGE);
    for (; rc == 0 && view(a).starts_with(**k); rc = mdb_cursor_get(cur, &a, &b, MDB_NEXT))
      pks.emplace(view(b));
    if (rc != 0 && rc != MDB_NOTFOUND) {
      mdb_cursor_close(cur);
      return make_error(rc, "reading index " + std::string(op.index));
    }
  }
  mdb_cursor_close(cur);
  std::vector<Row> rows;
  for (const auto& pk : pks) {
    std::string_view in(pk);
    Row r;
    for (std::size_t p : t.pk) {
      Value v;
      if (!decode_key_part(in, t.types[p], v))
        return driver_error(ErrorKind::storage,
                            "an index entry of " + t.schema.name + " is corrupt");
      r.push_back(std::move(v));
    }
    rows.push_back(std::move(r));
  }
  ExecResponse resp;
  resp.rows = std::make_unique<ValueRows>(t.pk.size(), std::move(rows));
  return resp;
}

Status Store::push_schema(const Schema& schema) {
  for (const auto& ts : schema.tables) {
    auto existing = lookup_(ts.name);
    if (!existing.ok()) return std::move(existing).error();
    if (*existing) continue;  // existing tables are left as they are
    if (ts.primary_key.empty())
      return driver_error(ErrorKind::unsupported,
                          "table '" + ts.name +
                              "' has no primary key: the lmdb driver stores "
                              "rows by primary key");
    auto info = std::make_shared<TableInfo>();
    info->schema = ts;
    std::string why;
    if (!info->resolve(why)) return driver_error(ErrorKind::invalid_statement, why);
    {
      std::lock_guard lock(env_.dbi_mutex());
      if (int rc = mdb_dbi_open(txn_, rows_db_name(ts.name).c_str(), MDB_CREATE, &info->rows);
          rc != 0)
        return make_error(rc, "creating table " + ts.name);
      for (const auto& ix : ts.indexes) {
        MDB_dbi dbi = 0;
        if (int rc = mdb_dbi_open(txn_, index_db_name(ts.name, ix.name).c_str(), MDB_CREATE, &dbi);
            rc != 0)
          return make_error(rc, "creating index " + ix.name);
        info->indexes.push_back(dbi);
      }
    }
    const std::string key = schema_key(ts.name);
    const std::string bytes = serialize_schema(ts);
    MDB_val k = val(key), v = val(bytes);
    if (int rc = mdb_put(txn_, env_.meta(), &k, &v, 0); rc != 0)
      return make_error(rc, "recording the schema of " + ts.name);
    if (ddl_) (*ddl_)[ts.name] = std::move(info);
  }
  return {};
}

Status Store::drop_tables(const std::vector<std::string>& tables) {
  for (const auto& name : tables) {
    auto t = lookup_(name);
    if (!t.ok()) return std::move(t).error();
    if (!*t) continue;
    {
      std::lock_guard lock(env_.dbi_mutex());
      for (MDB_dbi dbi : (*t)->indexes)
        if (int rc = mdb_drop(txn_, dbi, 1); rc != 0) return make_error(rc, "dropping an index");
      if (int rc = mdb_drop(txn_, (*t)->rows, 1); rc != 0)
        return make_error(rc, "dropping table " + name);
    }
    for (const std::string& key : {schema_key(name), sequence_key(name)}) {
      MDB_val k = val(key);
      if (int rc = mdb_del(txn_, env_.meta(), &k, nullptr); rc != 0 && rc != MDB_NOTFOUND)
        return make_error(rc, "dropping table " + name);
    }
    // mdb_drop closed the handles at once, committed or not: forget them now.
    env_.publish(name, nullptr);
    if (ddl_) (*ddl_)[name] = nullptr;
  }
  return {};
}

}  // namespace tessera::lmdb::detail
