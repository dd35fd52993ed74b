// RunStore on SQLite: one connection, prepared statements, a transaction per commit() cycle.
#include <spdlog/spdlog.h>

#include <functional>
#include <unordered_map>

#include "broker/run_store.h"
#include "common/json.h"
#include "common/protocol/envelope.h"
#include "common/sqlite/database.h"
#include "common/sqlite/deferred_wal_sync.h"

namespace pl::broker {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id            TEXT PRIMARY KEY,
  pipeline_name TEXT NOT NULL,
  pipeline_path TEXT NOT NULL,
  pipeline_yaml TEXT NOT NULL,
  inputs        TEXT NOT NULL,
  workspace_dir TEXT NOT NULL,
  output_dir    TEXT NOT NULL,
  state         TEXT NOT NULL,
  created_ms    INTEGER NOT NULL,
  finished_ms   INTEGER NOT NULL DEFAULT 0,
  result        TEXT,
  error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs(state);
-- Item ids are "<run id>/<path>", so a run's items are a key range (see run_range): one
-- b-tree, no second index to maintain on every insert.
CREATE TABLE IF NOT EXISTS items (
  item_id TEXT PRIMARY KEY,
  success INTEGER NOT NULL,
  result  BLOB NOT NULL   -- msgpack (older files: JSON text; both are read)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  item_id   TEXT NOT NULL,
  run_id    TEXT NOT NULL,
  step_name TEXT NOT NULL,
  attempts  INTEGER NOT NULL,
  error     TEXT NOT NULL,
  time_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_run ON dead_letters(run_id);
)sql";

constexpr const char* kRunColumns =
    "id, pipeline_name, pipeline_path, pipeline_yaml, inputs, workspace_dir, output_dir, state, "
    "created_ms, finished_ms, result, error";

// The key range of a run's items: [run + "/", run + "0"), '0' being the byte after '/'.
std::pair<std::string, std::string> run_range(const std::string& run_id) {
  return {run_id + "/", run_id + "0"};
}

// A stored Value: msgpack (item results), JSON text (runs; item results of older versions), or
// NULL. Unreadable bytes are an error naming what they were, never a silent null.
Result<Value> stored_value(const sqlite::Statement& st, int column, std::string_view what) {
  if (st.column_is_null(column)) return Value();
  const std::string bytes = st.column_text(column);
  auto v = st.column_is_blob(column) ? protocol::decode_value(bytes)
                                     : bytes.empty() ? Result<Value>(Value()) : parse_json(bytes);
  if (!v.ok()) return make_error(ErrorCode::kIo, "broker.db: unreadable " + std::string(what) + ": " + v.error().message);
  return v;
}

class SqliteRunStore final : public RunStore {
 public:
  explicit SqliteRunStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  ~SqliteRunStore() override {
    wal_sync_.reset();
    statements_.clear();  // finalized before the connection closes
  }

  Status init(const std::string& path, const SqliteRunStoreOptions& options) {
    const bool deferred = options.full_sync && options.deferred_sync;
    const char* synchronous = deferred ? "OFF" : options.full_sync ? "FULL" : "NORMAL";
    // locking_mode before journal_mode: the WAL index then lives in this process's memory, and
    // the file stays locked by us until we exit.
    for (const std::string& pragma :
         {std::string("PRAGMA busy_timeout=2000"), std::string("PRAGMA locking_mode=EXCLUSIVE"),
          std::string("PRAGMA synchronous=") + synchronous, std::string("PRAGMA foreign_keys=ON"),
          std::string("PRAGMA journal_mode=WAL")}) {
      if (auto st = db_->exec(pragma); !st.ok()) return st.error().with_context(path);
    }
    // Takes the exclusive lock now (and keeps it), creating the schema on the way; the write of
    // user_version also makes sure the WAL file exists.
    if (auto st = db_->exec(std::string("BEGIN IMMEDIATE;") + kSchema + "PRAGMA user_version=1;COMMIT;");
        !st.ok()) {
      return st.error().with_context(path);
    }
    if (deferred) {
      auto wal_sync = sqlite::DeferredWalSync::attach(*db_, path, options.checkpoint_pages);
      if (!wal_sync.ok()) return std::move(wal_sync).error();
      wal_sync_ = std::move(*wal_sync);
    }
    return ok_status();
  }

  uint64_t commits() const override { return commits_; }
  bool commit_is_durable() const override { return !wal_sync_; }
  Status sync() override { return wal_sync_ ? wal_sync_->sync() : ok_status(); }

  Status put_run(const StoredRun& run) override {
    static const std::string sql = "INSERT OR REPLACE INTO runs (" + std::string(kRunColumns) +
                                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
    auto st = statement(sql.c_str());
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run.id).bind(2, run.pipeline_name).bind(3, run.pipeline_path);
    (*st)->bind(4, run.pipeline_yaml).bind(5, to_json(run.inputs)).bind(6, run.workspace_dir);
    (*st)->bind(7, run.output_dir).bind(8, run.state).bind(9, run.created_ms);
    (*st)->bind(10, run.finished_ms).bind(11, to_json(run.result)).bind(12, run.error);
    return write(**st);
  }

  Status finish_run(const std::string& run_id, const std::string& state, const Value& result,
                    const std::string& error, int64_t finished_ms) override {
    auto st = statement("UPDATE runs SET state=?, result=?, error=?, finished_ms=? WHERE id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, state).bind(2, to_json(result)).bind(3, error).bind(4, finished_ms).bind(5, run_id);
    return write(**st);
  }

  Status reopen_run(const std::string& run_id) override {
    auto st = statement("UPDATE runs SET state='running', result=NULL, error='', finished_ms=0 "
                        "WHERE id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    return write(**st);
  }

  Status put_item_result(const std::string&, const std::string& item_id,
                         const Value& result) override {
    auto st = statement("INSERT OR REPLACE INTO items (item_id, success, result) VALUES (?,?,?)");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, item_id);
    (*st)->bind(2, static_cast<int64_t>(result.get_bool("success") ? 1 : 0));
    (*st)->bind_blob(3, protocol::encode_value(result));
    return write(**st);
  }

  Status drop_failed_items(const std::string& run_id) override {
    auto st = statement("DELETE FROM items WHERE item_id >= ? AND item_id < ? AND success=0");
    if (!st.ok()) return std::move(st).error();
    const auto [from, to] = run_range(run_id);
    (*st)->bind(1, from).bind(2, to);
    return write(**st);
  }

  Status put_dead_letter(const DeadLetter& d) override {
    auto st = statement("INSERT INTO dead_letters (item_id, run_id, step_name, attempts, error, "
                        "time_ms) VALUES (?,?,?,?,?,?)");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, d.item_id).bind(2, d.run_id).bind(3, d.step_name).bind(4, d.attempts);
    (*st)->bind(5, d.error).bind(6, d.time_ms);
    return write(**st);
  }

  Status commit() override {
    if (!in_transaction_) return ok_status();
    in_transaction_ = false;
    if (auto st = db_->exec("COMMIT"); !st.ok()) return st;
    ++commits_;
    if (wal_sync_) {
      // The commit stands whatever happens here; a failed checkpoint only lets the WAL grow.
      if (auto ck = wal_sync_->after_commit(); !ck.ok()) {
        spdlog::warn("broker.db checkpoint: {}", ck.error().message);
      }
    }
    return ok_status();
  }

  Result<std::vector<StoredRun>> unfinished_runs() override {
    static const std::string sql = "SELECT " + std::string(kRunColumns) +
                                   " FROM runs WHERE state='running' ORDER BY created_ms";
    return query_runs(sql.c_str(), [](sqlite::Statement&) {});
  }

  Result<std::optional<StoredRun>> get_run(const std::string& run_id) override {
    static const std::string sql = "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id=?";
    auto runs = query_runs(sql.c_str(), [&](sqlite::Statement& st) { st.bind(1, run_id); });
    if (!runs.ok()) return std::move(runs).error();
    if (runs->empty()) return std::optional<StoredRun>();
    return std::optional<StoredRun>(std::move(runs->front()));
  }

  Result<std::vector<StoredRun>> list_runs(size_t limit) override {
    static const std::string sql =
        "SELECT " + std::string(kRunColumns) + " FROM runs ORDER BY created_ms DESC LIMIT ?";
    return query_runs(sql.c_str(),
                      [&](sqlite::Statement& st) { st.bind(1, static_cast<int64_t>(limit)); });
  }

  Result<std::optional<Value>> item_result(const std::string& item_id) override {
    auto st = statement("SELECT result FROM items WHERE item_id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, item_id);
    auto row = (*st)->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return std::optional<Value>();
    auto value = stored_value(**st, 0, "result of " + item_id);
    (*st)->reset();
    if (!value.ok()) return std::move(value).error();
    return std::optional<Value>(std::move(*value));
  }

  Result<size_t> item_count(const std::string& run_id) override {
    auto st = statement("SELECT COUNT(*) FROM items WHERE item_id >= ? AND item_id < ?");
    if (!st.ok()) return std::move(st).error();
    const auto [from, to] = run_range(run_id);
    (*st)->bind(1, from).bind(2, to);
    auto row = (*st)->step();
    const size_t n = row.ok() && *row ? static_cast<size_t>((*st)->column_int(0)) : 0;
    (*st)->reset();
    if (!row.ok()) return std::move(row).error();
    return n;
  }

  Result<std::vector<std::pair<std::string, Value>>> item_results(
      const std::string& run_id) override {
    auto st = statement("SELECT item_id, result FROM items WHERE item_id >= ? AND item_id < ? "
                        "ORDER BY item_id");
    if (!st.ok()) return std::move(st).error();
    const auto [from, to] = run_range(run_id);
    (*st)->bind(1, from).bind(2, to);
    std::vector<std::pair<std::string, Value>> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row.ok()) {
        (*st)->reset();
        return std::move(row).error();
      }
      if (!*row) break;
      std::string id = (*st)->column_text(0);
      auto value = stored_value(**st, 1, "result of " + id);
      if (!value.ok()) {
        (*st)->reset();
        return std::move(value).error();
      }
      out.emplace_back(std::move(id), std::move(*value));
    }
    (*st)->reset();
    return out;
  }

  Result<std::vector<DeadLetter>> dead_letters(const std::string& run_id) override {
    auto st = statement("SELECT item_id, run_id, step_name, attempts, error, time_ms "
                        "FROM dead_letters WHERE run_id=? ORDER BY time_ms");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    std::vector<DeadLetter> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row.ok()) {
        (*st)->reset();
        return std::move(row).error();
      }
      if (!*row) break;
      out.push_back(DeadLetter{(*st)->column_text(0), (*st)->column_text(1),
                               (*st)->column_text(2), (*st)->column_int(3),
                               (*st)->column_text(4), (*st)->column_int(5)});
    }
    (*st)->reset();
    return out;
  }

 private:
  // Prepared statements, cached by the address of their SQL text (every caller passes a
  // string literal or a static string, so the address identifies the statement; no hashing of
  // SQL on the hot path).
  Result<sqlite::Statement*> statement(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return &it->second;
    auto prepared = db_->prepare(sql);
    if (!prepared.ok()) return std::move(prepared).error();
    return &statements_.emplace(sql, std::move(*prepared)).first->second;
  }

  Status write(sqlite::Statement& st) {
    if (!in_transaction_) {
      if (auto begun = db_->exec("BEGIN"); !begun.ok()) {
        st.reset();
        return begun;
      }
      in_transaction_ = true;
    }
    return st.run();
  }

  Result<std::vector<StoredRun>> query_runs(const char* sql,
                                            const std::function<void(sqlite::Statement&)>& bind) {
    auto st = statement(sql);
    if (!st.ok()) return std::move(st).error();
    bind(**st);
    std::vector<StoredRun> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row.ok()) {
        (*st)->reset();
        return std::move(row).error();
      }
      if (!*row) break;
      StoredRun r;
      r.id = (*st)->column_text(0);
      r.pipeline_name = (*st)->column_text(1);
      r.pipeline_path = (*st)->column_text(2);
      r.pipeline_yaml = (*st)->column_text(3);
      auto inputs = stored_value(**st, 4, "inputs of " + r.id);
      auto result = stored_value(**st, 10, "result of " + r.id);
      if (!inputs.ok() || !result.ok()) {
        (*st)->reset();
        return inputs.ok() ? std::move(result).error() : std::move(inputs).error();
      }
      r.inputs = std::move(*inputs);
      r.result = std::move(*result);
      r.workspace_dir = (*st)->column_text(5);
      r.output_dir = (*st)->column_text(6);
      r.state = (*st)->column_text(7);
      r.created_ms = (*st)->column_int(8);
      r.finished_ms = (*st)->column_int(9);
      r.error = (*st)->column_text(11);
      out.push_back(std::move(r));
    }
    (*st)->reset();
    return out;
  }

  std::unique_ptr<sqlite::Database> db_;
  std::unordered_map<const char*, sqlite::Statement> statements_;
  bool in_transaction_ = false;
  uint64_t commits_ = 0;
  std::unique_ptr<sqlite::DeferredWalSync> wal_sync_;  // with a deferred sync only
};

}  // namespace

Result<std::unique_ptr<RunStore>> open_sqlite_run_store(const std::string& path,
                                                        const SqliteRunStoreOptions& options) {
  auto db = sqlite::Database::open(path);
  if (!db.ok()) return std::move(db).error();
  auto store = std::make_unique<SqliteRunStore>(std::move(*db));
  if (auto st = store->init(path, options); !st.ok()) return std::move(st).error();
  return std::unique_ptr<RunStore>(std::move(store));
}

}  // namespace pl::broker
