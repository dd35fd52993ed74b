// RunStore on SQLite: one connection, prepared statements, a transaction per commit() cycle.
#include <spdlog/spdlog.h>
#include <sysexits.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "broker/run_store.h"
#include "broker/work_spec.h"
#include "common/json.h"
#include "common/protocol/envelope.h"
#include "common/sqlite/commit_deadline.h"
#include "common/sqlite/database.h"
#include "common/sqlite/deferred_wal_sync.h"
#include "common/value_digest.h"

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
  error         TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT  -- as submitted; NULL: none (files made before 2026-11-25 gain it)
);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs(state);
-- Finished runs by age, for retention: read without the rows themselves, whose pipeline text
-- comes before `state` and `finished_ms`.
CREATE INDEX IF NOT EXISTS runs_finished ON runs(finished_ms) WHERE state <> 'running';
-- Item results, written in batches: the results of one run recorded in one commit are one row
-- (or several of at most kMaxBatchBytes), records of [item id, result] (protocol::append_record).
-- An item has one result; a resumed run's failed results are removed before it runs them again
-- (drop_failed_items).
-- A rowid table, its key (run_id, seq) in an index of its own. Files made before 2026-11-24 have
-- it WITHOUT ROWID, which works the same but costs more as a run grows: the key of such a
-- table is the whole row, and finding where a new batch goes read whole batches (their
-- overflow pages) at each step down the tree, 10 % of the broker's loop in a run of a million
-- items. Those files keep their table as it is.
CREATE TABLE IF NOT EXISTS item_batches (
  run_id TEXT NOT NULL,
  seq    INTEGER NOT NULL,  -- per run, in commit order
  count  INTEGER NOT NULL,
  items  BLOB NOT NULL,
  PRIMARY KEY (run_id, seq)
);
-- A run's count of results without reading its batches: each row keeps the start of its blob
-- in its b-tree page, so summing `count` over the table itself reads a page per batch (0.3 s
-- for a run of 3 million results, with the broker's loop waiting).
CREATE INDEX IF NOT EXISTS item_batches_counts ON item_batches(run_id, count);
CREATE TABLE IF NOT EXISTS dead_letters (
  item_id   TEXT NOT NULL,
  run_id    TEXT NOT NULL,
  step_name TEXT NOT NULL,
  attempts  INTEGER NOT NULL,
  error     TEXT NOT NULL,
  time_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_run ON dead_letters(run_id);
-- Runs deleted whose item results and dead letters are still being freed (purge_deleted).
CREATE TABLE IF NOT EXISTS deleted_runs (run_id TEXT PRIMARY KEY) WITHOUT ROWID;
)sql";

// Dead letters freed per batch of item results by purge_deleted: rows of a few hundred bytes
// against batches of up to a megabyte.
constexpr int64_t kDeadLettersPerBatch = 64;

// A stored batch of item results holds at most this much, or one record: a page of `runs export`
// holds whole batches.
constexpr size_t kMaxBatchBytes = 1024 * 1024;

constexpr const char* kRunColumns =
    "id, pipeline_name, pipeline_path, pipeline_yaml, inputs, workspace_dir, output_dir, state, "
    "created_ms, finished_ms, result, error, idempotency_key";

// "pipeline_name=excluded.pipeline_name, ..." for every column of kRunColumns but the id.
std::string replaced_run_columns() {
  std::string set;
  std::string_view columns = kRunColumns;
  while (!columns.empty()) {
    const size_t comma = columns.find(',');
    std::string_view column = columns.substr(0, comma);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    if (column != "id")
      set += (set.empty() ? "" : ", ") + std::string(column) + "=excluded." + std::string(column);
    columns = comma == std::string_view::npos ? std::string_view() : columns.substr(comma + 1);
  }
  return set;
}

Error unreadable(std::string_view what, const Error& why) {
  return make_error(ErrorCode::kIo, "broker.db: unreadable " + std::string(what) + ": " + why.message);
}

// A stored Value: JSON text (runs' inputs and results), or NULL. Unreadable bytes are an error
// naming what they were, never a silent null.
Result<Value> stored_value(const sqlite::Statement& st, int column, std::string_view what) {
  if (st.column_is_null(column)) return Value();
  const std::string text = st.column_text(column);
  if (text.empty()) return Value();
  auto v = parse_json(text);
  if (!v.ok()) return unreadable(what, v.error());
  return v;
}

struct SuccessfulRecords {
  std::string bytes;  // records (protocol::append_record)
  int64_t count = 0;
};

// The records whose result has success == true, in their order, encoded again.
SuccessfulRecords successful_records(const std::vector<std::pair<std::string, Value>>& records) {
  SuccessfulRecords kept;
  for (const auto& [item_id, result] : records) {
    if (!result.get_bool("success")) continue;
    protocol::append_record(kept.bytes, item_id, result);
    ++kept.count;
  }
  return kept;
}

class SqliteRunStore final : public RunStore {
 public:
  explicit SqliteRunStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  ~SqliteRunStore() override {
    wal_sync_.reset();
    statements_.clear();  // finalized before the connection closes
  }

  Status init(const std::string& path, const SqliteRunStoreOptions& options) {
    // The broker's exit code for a disk that fails it (70), as for a stuck deferred sync.
    commit_deadline_ = std::make_unique<sqlite::CommitDeadline>("broker.db", EX_SOFTWARE);
    const bool deferred = options.full_sync && options.deferred_sync;
    const char* synchronous = deferred ? "OFF" : options.full_sync ? "FULL" : "NORMAL";
    // locking_mode before journal_mode: the WAL index then lives in this process's memory, and
    // the file stays locked by us until we exit.
    for (const std::string& pragma :
         {std::string("PRAGMA busy_timeout=2000"), std::string("PRAGMA locking_mode=EXCLUSIVE"),
          std::string("PRAGMA synchronous=") + synchronous, std::string("PRAGMA foreign_keys=ON"),
          // Deferred: no checkpoint until DeferredWalSync takes them over; one before it, with
          // synchronous=OFF, could copy a predecessor's unsynced commits past its first sync.
          std::string("PRAGMA wal_autocheckpoint=") + (deferred ? "0" : "1000"),
          std::string("PRAGMA journal_mode=WAL")}) {
      if (auto st = db_->exec(pragma); !st.ok()) return st.error().with_context(path);
    }
    // Takes the exclusive lock now (and keeps it), creating the schema on the way; the write of
    // user_version also makes sure the WAL file exists.
    if (auto st = db_->exec(std::string("BEGIN IMMEDIATE;") + kSchema + "PRAGMA user_version=1;COMMIT;");
        !st.ok()) {
      return st.error().with_context(path);
    }
    if (auto st = migrate_item_rows(); !st.ok()) return st.error().with_context(path);
    if (auto st = add_idempotency_keys(); !st.ok()) return st.error().with_context(path);
    if (options.max_pages > 0) {
      const std::string cap = "PRAGMA max_page_count=" + std::to_string(options.max_pages);
      if (auto st = db_->exec(cap); !st.ok()) return st.error().with_context(path);
    }
    auto deleted = db_->prepare("SELECT run_id FROM deleted_runs");
    if (!deleted.ok()) return std::move(deleted).error().with_context(path);
    for (;;) {
      auto row = deleted->step();
      if (!row.ok()) return std::move(row).error().with_context(path);
      if (!*row) break;
      deleted_.insert(deleted->column_text(0));
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
    if (deleted_.contains(run.id)) {
      // What is left of a deleted run of this id goes at once: the new one starts from nothing.
      while (deleted_.contains(run.id)) {
        if (auto freed = purge_run(run.id, 1 << 20); !freed.ok()) return freed.error();
      }
    }
    // A run put again under its id replaces its row; an idempotency key held by another run is
    // an error, never a silent replacement of that run (OR REPLACE would delete it).
    static const std::string sql = "INSERT INTO runs (" + std::string(kRunColumns) +
                                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE "
                                   "SET " +
                                   replaced_run_columns();
    auto st = statement(sql.c_str());
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run.id).bind(2, run.pipeline_name).bind(3, run.pipeline_path);
    (*st)->bind(4, run.pipeline_yaml).bind(5, to_json(run.inputs)).bind(6, run.workspace_dir);
    (*st)->bind(7, run.output_dir).bind(8, run.state).bind(9, run.created_ms);
    (*st)->bind(10, run.finished_ms).bind(11, to_json(run.result)).bind(12, run.error);
    if (run.idempotency_key.empty()) {
      (*st)->bind_null(13);
    } else {
      (*st)->bind(13, run.idempotency_key);
    }
    return write(**st);
  }

  Status finish_run(const std::string& run_id, const std::string& state, const Value& result,
                    const std::string& error, int64_t finished_ms) override {
    auto st = statement("UPDATE runs SET state=?, result=?, error=?, finished_ms=? WHERE id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, state).bind(2, to_json(result)).bind(3, error).bind(4, finished_ms).bind(5, run_id);
    next_seq_.erase(run_id);  // looked up again if the run is resumed
    return write(**st);
  }

  Status reopen_run(const std::string& run_id) override {
    auto st = statement("UPDATE runs SET state='running', result=NULL, error='', finished_ms=0 "
                        "WHERE id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    return write(**st);
  }

  Result<size_t> delete_run(const std::string& run_id) override {
    auto known = get_run(run_id);
    if (!known.ok()) return std::move(known).error();
    if (!*known) return make_error(ErrorCode::kNotFound, "no run " + run_id);
    auto items = item_count(run_id);  // this turn's results are written first: they go too
    if (!items.ok()) return std::move(items).error();
    next_seq_.erase(run_id);
    for (const char* sql :
         {"DELETE FROM runs WHERE id=?", "INSERT OR IGNORE INTO deleted_runs (run_id) VALUES (?)"}) {
      auto st = statement(sql);
      if (!st.ok()) return std::move(st).error();
      (*st)->bind(1, run_id);
      if (auto done = write(**st); !done.ok()) return std::move(done).error();
    }
    deleted_.insert(run_id);
    return *items;
  }

  Result<bool> purge_deleted(size_t max_batches) override {
    auto budget = static_cast<int64_t>(max_batches);
    while (budget > 0 && !deleted_.empty()) {
      auto freed = purge_run(*deleted_.begin(), budget);
      if (!freed.ok()) return std::move(freed).error();
      budget -= std::max<int64_t>(*freed, 1);
    }
    return !deleted_.empty();
  }

  using RunStore::put_item_result;
  Status put_item_result(const std::string& run_id, const std::string& item_id,
                         const Value& result, uint64_t input_digest) override {
    if (auto st = begin(); !st.ok()) return st;
    Batch& batch = pending_[run_id];
    const size_t before = batch.bytes.size();
    if (input_digest != 0) {
      const auto digits = digest_digits(input_digest);
      protocol::append_record(batch.bytes, item_id, result, kInputDigestKey,
                              std::string_view(digits.data(), digits.size()));
    } else {
      protocol::append_record(batch.bytes, item_id, result);
    }
    ++batch.count;
    if (batch.bytes.size() > kMaxBatchBytes && batch.count > 1) {
      // The records before this one are sealed as a batch of their own: an export page, which
      // holds whole batches, is then never forced over its budget (nor over what one reply may
      // carry) by one commit's worth of big results.
      Batch sealed{batch.bytes.substr(0, before), batch.count - 1};
      if (auto st = flush_batch(run_id, sealed); !st.ok()) return st;
      batch.bytes.erase(0, before);
      batch.count = 1;
    }
    return ok_status();
  }

  // One stored batch at a time, and only the batches that held a failure are rewritten, so the
  // memory used is one batch's whatever the size of the run. Records are kept or dropped one by
  // one: an item's failure followed by its success (retried after an earlier resume) keeps the
  // success. A success followed by a failure of the same item (should not happen: a succeeded
  // item is not dispatched again) keeps the success, which then finishes the item from the memo
  // instead of running it again. next_seq_ needs no care: rows are only shrunk or removed, so
  // both a cached next seq and a fresh MAX(seq) + 1 still follow every remaining batch.
  Status drop_failed_items(const std::string& run_id) override {
    if (auto st = flush_batches(); !st.ok()) {
      return st.error().with_context("dropping failed items of " + run_id);
    }
    for (int64_t after = -1;;) {
      auto batch = batch_after(run_id, after);
      if (!batch.ok()) return std::move(batch).error();
      if (!*batch) break;
      after = (*batch)->seq;
      if (auto st = drop_failed_records(run_id, **batch); !st.ok()) return st;
    }
    auto letters = statement("DELETE FROM dead_letters WHERE run_id=?");
    if (!letters.ok()) return std::move(letters).error();
    (*letters)->bind(1, run_id);
    return write(**letters);
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
    if (failed_) {
      // SQLite may have rolled the transaction back already (a full disk, an I/O error), or
      // only the statement that failed: either way none of it is kept.
      (void)db_->exec("ROLLBACK");
      in_transaction_ = false;
      return failed_->with_context("a write of this commit failed");
    }
    if (!in_transaction_) return ok_status();
    if (auto st = flush_batches(); !st.ok()) return st;
    in_transaction_ = false;
    commit_deadline_->begin();  // the commit and its checkpoint may wait on the disk
    const Status committed = db_->exec("COMMIT");
    if (committed.ok()) {
      ++commits_;
      // The commit stands whatever happens here; a failed checkpoint only lets the WAL grow.
      if (auto ck = wal_sync_ ? wal_sync_->after_commit() : ok_status(); !ck.ok()) {
        spdlog::warn("broker.db checkpoint: {}", ck.error().message);
      }
    }
    commit_deadline_->end();
    return committed;
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

  Result<std::optional<StoredRun>> run_by_idempotency_key(const std::string& key) override {
    static const std::string sql =
        "SELECT " + std::string(kRunColumns) + " FROM runs WHERE idempotency_key=?";
    auto runs = query_runs(sql.c_str(), [&](sqlite::Statement& st) { st.bind(1, key); });
    if (!runs.ok()) return std::move(runs).error();
    if (runs->empty()) return std::optional<StoredRun>();
    return std::optional<StoredRun>(std::move(runs->front()));
  }

  Result<std::vector<std::string>> finished_before(int64_t wall_ms, size_t limit) override {
    auto st = statement("SELECT id FROM runs WHERE state <> 'running' AND finished_ms < ? "
                        "ORDER BY finished_ms LIMIT ?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, wall_ms).bind(2, static_cast<int64_t>(limit));
    std::vector<std::string> ids;
    for (;;) {
      auto row = (*st)->step();  // resets the statement when done or failed
      if (!row.ok()) return std::move(row).error();
      if (!*row) return ids;
      ids.push_back((*st)->column_text(0));
    }
  }

  Result<std::vector<StoredRun>> list_runs(size_t limit, const std::string& state) override {
    static const std::string sql = "SELECT " + std::string(kRunColumns) +
                                   " FROM runs WHERE ?1 = '' OR state = ?1"
                                   " ORDER BY created_ms DESC LIMIT ?2";
    return query_runs(sql.c_str(), [&](sqlite::Statement& st) {
      st.bind(1, state);
      st.bind(2, static_cast<int64_t>(limit));
    });
  }

  Result<size_t> item_count(const std::string& run_id) override {
    if (auto st = flush_batches(); !st.ok()) return st.error();
    if (deleted_.contains(run_id)) return size_t{0};
    auto st = statement("SELECT COALESCE(SUM(count), 0) FROM item_batches WHERE run_id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    auto n = first_integer(**st);
    if (!n.ok()) return std::move(n).error();
    return static_cast<size_t>(*n);
  }

  // The cursor is the seq of the first batch not read yet. length(items) is known without
  // reading the blob, so a batch that does not fit is not read at all.
  Result<ItemPage> item_results_page(const std::string& run_id, int64_t cursor,
                                     const ItemPageLimits& limits) override {
    if (auto st = flush_batches(); !st.ok()) return st.error();
    ItemPage page;
    if (deleted_.contains(run_id)) return page;
    // A statement of its own, finalized on every return: none is left in the middle of a read.
    auto st = db_->prepare("SELECT seq, count, length(items), items FROM item_batches "
                           "WHERE run_id=? AND seq>=? ORDER BY seq");
    if (!st.ok()) return std::move(st).error();
    st->bind(1, run_id).bind(2, cursor);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) return page;
      const int64_t seq = st->column_int(0);
      const auto bytes = static_cast<size_t>(st->column_int(2));
      const bool fits = page.bytes + bytes <= limits.max_bytes &&
                        page.records.size() + static_cast<size_t>(st->column_int(1)) <=
                            limits.max_items;
      if (!page.records.empty() && !fits) {
        page.next = seq;
        return page;
      }
      auto records = protocol::decode_records(st->column_text(3));
      if (!records.ok()) return unreadable_batch(run_id, seq, records.error());
      std::move(records->begin(), records->end(), std::back_inserter(page.records));
      page.bytes += bytes;
    }
  }

  Status for_each_item_batch(
      const std::string& run_id,
      const std::function<void(int64_t position, std::string_view records)>& visit) override {
    if (auto st = flush_batches(); !st.ok()) return st;
    if (deleted_.contains(run_id)) return ok_status();
    // A statement of its own, finalized on every return: none is left in the middle of a read.
    auto st = db_->prepare("SELECT seq, items FROM item_batches WHERE run_id=? ORDER BY seq");
    if (!st.ok()) return std::move(st).error();
    st->bind(1, run_id);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) return ok_status();
      visit(st->column_int(0), st->column_text(1));
    }
  }

  Result<std::string> item_batch(const std::string& run_id, int64_t position) override {
    const auto missing = [&] {
      return make_error(ErrorCode::kNotFound, "no batch " + std::to_string(position) +
                                                  " of item results of " + run_id);
    };
    if (deleted_.contains(run_id)) return missing();
    auto st = statement("SELECT items FROM item_batches WHERE run_id=? AND seq=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    (*st)->bind(2, position);
    auto row = (*st)->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return missing();
    std::string items = (*st)->column_text(0);
    (*st)->reset();
    return items;
  }

  sqlite::Database* database() override { return db_.get(); }

  Result<std::vector<DeadLetter>> dead_letters(const std::string& run_id) override {
    if (deleted_.contains(run_id)) return std::vector<DeadLetter>();
    auto st = statement("SELECT item_id, run_id, step_name, attempts, error, time_ms "
                        "FROM dead_letters WHERE run_id=? ORDER BY time_ms");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    std::vector<DeadLetter> out;
    for (;;) {
      auto row = (*st)->step();  // resets the statement when done or failed
      if (!row.ok()) return std::move(row).error();
      if (!*row) break;
      out.push_back(DeadLetter{(*st)->column_text(0), (*st)->column_text(1),
                               (*st)->column_text(2), (*st)->column_int(3),
                               (*st)->column_text(4), (*st)->column_int(5)});
    }
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

  Status begin() {
    if (failed_) return *failed_;
    if (in_transaction_) return ok_status();
    if (auto begun = db_->exec("BEGIN"); !begun.ok()) return begun;
    in_transaction_ = true;
    return ok_status();
  }

  // The first column of the first row of a bound statement (0 without a row).
  static Result<int64_t> first_integer(sqlite::Statement& st) {
    auto row = st.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return int64_t{0};
    const int64_t n = st.column_int(0);
    st.reset();
    return n;
  }

  Status write(sqlite::Statement& st) {
    if (auto begun = begin(); !begun.ok()) {
      st.reset();
      return begun;
    }
    Status written = st.run();
    // The first failure ends the transaction: what follows is refused and the commit fails.
    // Otherwise a write after a transaction SQLite rolled back by itself would be committed
    // alone, and one commit would keep part of a turn.
    if (!written.ok()) failed_ = written.error();
    return written;
  }

  // Frees up to `budget` batches of a deleted run's item results, then its dead letters (64 a
  // batch); once nothing is left the run is no longer deleted_. Returns how many batches went.
  Result<int64_t> purge_run(const std::string& run_id, int64_t budget) {
    const std::string context = "freeing the results of deleted run " + run_id;
    auto batches = statement("DELETE FROM item_batches WHERE run_id=?1 AND seq IN "
                             "(SELECT seq FROM item_batches WHERE run_id=?1 ORDER BY seq LIMIT ?2)");
    if (!batches.ok()) return std::move(batches).error().with_context(context);
    (*batches)->bind(1, run_id).bind(2, budget);
    if (auto st = write(**batches); !st.ok()) return st.error().with_context(context);
    const int64_t freed = db_->changes();
    if (freed == budget) return freed;
    const int64_t letters = (budget - freed) * kDeadLettersPerBatch;
    auto dead = statement("DELETE FROM dead_letters WHERE rowid IN "
                          "(SELECT rowid FROM dead_letters WHERE run_id=?1 LIMIT ?2)");
    if (!dead.ok()) return std::move(dead).error().with_context(context);
    (*dead)->bind(1, run_id).bind(2, letters);
    if (auto st = write(**dead); !st.ok()) return st.error().with_context(context);
    if (db_->changes() == letters) return freed;
    auto done = statement("DELETE FROM deleted_runs WHERE run_id=?");
    if (!done.ok()) return std::move(done).error().with_context(context);
    (*done)->bind(1, run_id);
    if (auto st = write(**done); !st.ok()) return st.error().with_context(context);
    deleted_.erase(run_id);
    return freed;
  }

  struct StoredBatch {
    int64_t seq = 0;
    std::string items;  // records (protocol::append_record)
  };

  static Error unreadable_batch(const std::string& run_id, int64_t seq, const Error& why) {
    return unreadable("item results of " + run_id + " (batch " + std::to_string(seq) + ")", why);
  }

  // The run's first stored batch whose seq is above `after`, if any. One row per query, read
  // and reset at once: no statement stays open over the rows drop_failed_items rewrites.
  Result<std::optional<StoredBatch>> batch_after(const std::string& run_id, int64_t after) {
    auto st = statement("SELECT seq, items FROM item_batches WHERE run_id=? AND seq>? "
                        "ORDER BY seq LIMIT 1");
    if (!st.ok()) return std::move(st).error().with_context("reading item results of " + run_id);
    (*st)->bind(1, run_id).bind(2, after);
    auto row = (*st)->step();
    if (!row.ok()) return std::move(row).error().with_context("reading item results of " + run_id);
    if (!*row) return std::optional<StoredBatch>();
    StoredBatch batch{(*st)->column_int(0), (*st)->column_text(1)};
    (*st)->reset();
    return std::optional<StoredBatch>(std::move(batch));
  }

  // Rewrites a batch without its failed records: untouched when it has none, removed when it
  // has nothing else.
  Status drop_failed_records(const std::string& run_id, const StoredBatch& batch) {
    auto records = protocol::decode_records(batch.items);
    if (!records.ok()) return unreadable_batch(run_id, batch.seq, records.error());
    const auto failed = [](const auto& record) { return !record.second.get_bool("success"); };
    if (std::none_of(records->begin(), records->end(), failed)) return ok_status();
    const SuccessfulRecords kept = successful_records(*records);
    auto st = kept.count == 0 ? statement("DELETE FROM item_batches WHERE run_id=?1 AND seq=?2")
                              : statement("UPDATE item_batches SET count=?3, items=?4 "
                                          "WHERE run_id=?1 AND seq=?2");
    const std::string context =
        "dropping failed items of " + run_id + " (batch " + std::to_string(batch.seq) + ")";
    if (!st.ok()) return std::move(st).error().with_context(context);
    (*st)->bind(1, run_id).bind(2, batch.seq);
    if (kept.count > 0) (*st)->bind(3, kept.count).bind_blob(4, kept.bytes);
    if (auto written = write(**st); !written.ok()) return written.error().with_context(context);
    return ok_status();
  }

  struct Batch {
    std::string bytes;  // records (protocol::append_record)
    int64_t count = 0;
  };

  // The item results put since the last flush, one row per run, into the open transaction.
  Status flush_batches() {
    for (auto& [run_id, batch] : pending_) {
      if (auto st = flush_batch(run_id, batch); !st.ok()) return st;
    }
    pending_.clear();
    return ok_status();
  }

  Status flush_batch(const std::string& run_id, const Batch& batch) {
    auto seq = next_seq(run_id);
    if (!seq.ok()) return std::move(seq).error();
    auto st = statement("INSERT INTO item_batches (run_id, seq, count, items) VALUES (?,?,?,?)");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id).bind(2, *seq).bind(3, batch.count).bind_blob(4, batch.bytes);
    return write(**st);
  }

  Result<int64_t> next_seq(const std::string& run_id) {
    auto known = next_seq_.find(run_id);
    if (known != next_seq_.end()) return known->second++;
    auto st = statement("SELECT COALESCE(MAX(seq) + 1, 0) FROM item_batches WHERE run_id=?");
    if (!st.ok()) return std::move(st).error();
    (*st)->bind(1, run_id);
    auto seq = first_integer(**st);
    if (!seq.ok()) return std::move(seq).error();
    next_seq_[run_id] = *seq + 1;
    return *seq;
  }

  // Files made before 2026-11-25 have no idempotency_key column: it is added (NULL for the
  // runs they hold), then its index, which a new file gets here too.
  Status add_idempotency_keys() {
    auto has =
        db_->query_text("SELECT name FROM pragma_table_info('runs') WHERE name='idempotency_key'");
    if (!has.ok()) return std::move(has).error();
    if (has->empty()) {
      if (auto st = db_->exec("ALTER TABLE runs ADD COLUMN idempotency_key TEXT"); !st.ok())
        return st;
    }
    return db_->exec(
        "CREATE UNIQUE INDEX IF NOT EXISTS runs_by_idempotency_key ON runs(idempotency_key) "
        "WHERE idempotency_key IS NOT NULL");
  }

  // Files written before item results were batched hold an `items` table with one row per
  // result (JSON text or msgpack): moved into batches once, then dropped.
  Status migrate_item_rows() {
    auto exists = db_->query_text("SELECT name FROM sqlite_master WHERE type='table' AND name='items'");
    if (!exists.ok()) return std::move(exists).error();
    if (exists->empty()) return ok_status();
    if (auto st = begin(); !st.ok()) return st;
    size_t moved = 0;
    {
      auto rows = db_->prepare("SELECT item_id, result FROM items ORDER BY item_id");
      if (!rows.ok()) return std::move(rows).error();
      for (;;) {
        auto row = rows->step();
        if (!row.ok()) return std::move(row).error();
        if (!*row) break;
        const std::string item_id = rows->column_text(0);
        const std::string bytes = rows->column_text(1);
        auto result = rows->column_is_blob(1) ? protocol::decode_value(bytes) : parse_json(bytes);
        if (!result.ok()) return unreadable("result of " + item_id, result.error());
        const std::string run_id = item_id.substr(0, item_id.find('/'));
        if (auto st = put_item_result(run_id, item_id, *result); !st.ok()) return st;
        ++moved;
      }
    }  // the statement is finalized before its table is dropped
    if (auto st = db_->exec("DROP TABLE items"); !st.ok()) return st;
    if (auto st = commit(); !st.ok()) return st;
    spdlog::info("broker.db: {} item result(s) moved to batches", moved);
    return ok_status();
  }

  Result<std::vector<StoredRun>> query_runs(const char* sql,
                                            const std::function<void(sqlite::Statement&)>& bind) {
    auto st = statement(sql);
    if (!st.ok()) return std::move(st).error();
    bind(**st);
    std::vector<StoredRun> out;
    for (;;) {
      auto row = (*st)->step();  // resets the statement when done or failed
      if (!row.ok()) return std::move(row).error();
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
      r.idempotency_key = (*st)->column_text(12);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::unique_ptr<sqlite::Database> db_;
  std::unordered_map<const char*, sqlite::Statement> statements_;
  bool in_transaction_ = false;
  std::optional<Error> failed_;  // a write of the open transaction failed (see write())
  uint64_t commits_ = 0;
  std::map<std::string, Batch> pending_;  // by run id, until flushed into the transaction
  std::unordered_map<std::string, int64_t> next_seq_;  // by run id, once looked up
  std::set<std::string> deleted_;  // runs whose results are still being freed (deleted_runs)
  std::unique_ptr<sqlite::DeferredWalSync> wal_sync_;  // with a deferred sync only
  std::unique_ptr<sqlite::CommitDeadline> commit_deadline_;  // bounds COMMIT and its checkpoint
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
