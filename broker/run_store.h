// The broker's durable memory: accepted runs and the final result of every item, in broker.db.
//
// Writes are grouped: everything written between two commit() calls is committed together (one
// transaction per loop turn). A commit survives the broker's death at once; it survives a power
// loss when commit() returns if commit_is_durable(), else once a later sync() has returned (the
// broker runs sync() on another thread, overlapping the next turns). The broker replies to a
// client, or acknowledges a worker's result, only once what the reply promises is durable.
//
// Item results are the memo that makes restarts cheap and exact: after a restart each run is
// walked again from the start, and an item whose result is stored finishes from the store
// instead of being dispatched, so no completed item runs twice.
// Not thread-safe: the broker's loop thread owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl::sqlite {
class Database;
}

namespace pl::broker {

struct StoredRun {
  std::string id;
  std::string pipeline_name;
  std::string pipeline_path;
  std::string pipeline_yaml;
  Value inputs;               // as submitted (bound again when the run is recovered)
  std::string workspace_dir;  // as submitted ("" = the pipeline's own)
  std::string output_dir;
  std::string state;          // running | succeeded | failed | cancelled
  int64_t created_ms = 0;
  int64_t finished_ms = 0;
  Value result;               // when finished
  std::string error;
  std::string idempotency_key;  // as submitted ("" = none)
};

struct DeadLetter {
  std::string item_id;
  std::string run_id;
  std::string step_name;
  int64_t attempts = 0;
  std::string error;
  int64_t time_ms = 0;
};

// How much one page of item results may hold, but for one batch: a page holds at least one,
// whatever its size.
struct ItemPageLimits {
  size_t max_bytes = 4 * 1024 * 1024;  // of packed records (protocol::append_record)
  size_t max_items = 50000;
};

struct ItemPage {
  std::vector<std::pair<std::string, Value>> records;  // (item id, result), in record order
  size_t bytes = 0;                                     // their packed size
  std::optional<int64_t> next;                          // the following page's cursor
};

class RunStore {
 public:
  virtual ~RunStore() = default;

  virtual Status put_run(const StoredRun& run) = 0;
  virtual Status finish_run(const std::string& run_id, const std::string& state,
                            const Value& result, const std::string& error,
                            int64_t finished_ms) = 0;
  // Marks a finished run as running again (resume).
  virtual Status reopen_run(const std::string& run_id) = 0;
  // Forgets a run: its record at once, and its item results and dead letters, which no read
  // gives from then on; returns how many item results it had. An unknown run is kNotFound. The
  // caller makes sure it is not running. The space they take is freed later, a little at a time
  // (purge_deleted), so that deleting a run of millions does not stop the broker's loop; a run
  // put again under the same id starts from nothing.
  virtual Result<size_t> delete_run(const std::string& run_id) = 0;
  // Frees what deleted runs left: at most `max_batches` batches of item results, and 64 times as
  // many dead letters, per call (also those of runs deleted before a restart). True while more
  // remains.
  virtual Result<bool> purge_deleted(size_t max_batches) = 0;
  // Records an item's result. `input_digest` (value_digest of the input it was made from; 0:
  // none) is kept as the result's kInputDigestKey member, when the result is an object, so that a
  // recovered or resumed run uses the record only for the same input.
  virtual Status put_item_result(const std::string& run_id, const std::string& item_id,
                                 const Value& result, uint64_t input_digest) = 0;
  Status put_item_result(const std::string& run_id, const std::string& item_id,
                         const Value& result) {
    return put_item_result(run_id, item_id, result, 0);
  }
  // Forgets the failed item results of a run, so a resumed run runs those items again, and its
  // dead letters, the record of those failures: an item that fails again gets a new one.
  virtual Status drop_failed_items(const std::string& run_id) = 0;
  virtual Status put_dead_letter(const DeadLetter& letter) = 0;

  // Commits every write since the last commit (durability: see above). A failure here is fatal
  // for the broker: it cannot keep promises it cannot write down.
  virtual Status commit() = 0;
  // How many commits wrote something, so far: the generation of the newest commit.
  virtual uint64_t commits() const { return 0; }
  // Whether commit() alone survives a power loss. When false, sync() makes every commit that
  // returned before it durable; it may run on another thread than the store's.
  virtual bool commit_is_durable() const { return true; }
  virtual Status sync() { return ok_status(); }

  virtual Result<std::vector<StoredRun>> unfinished_runs() = 0;
  virtual Result<std::optional<StoredRun>> get_run(const std::string& run_id) = 0;
  // The run submitted with `key` (not empty), while it is kept.
  virtual Result<std::optional<StoredRun>> run_by_idempotency_key(const std::string& key) = 0;
  // Newest first, at most `limit`; only those in `state` ("running", "failed", ...) unless it is
  // empty.
  virtual Result<std::vector<StoredRun>> list_runs(size_t limit, const std::string& state) = 0;
  // The ids of finished runs (not running) that finished before `wall_ms`, the oldest first, at
  // most `limit`: for retention.
  virtual Result<std::vector<std::string>> finished_before(int64_t wall_ms, size_t limit) = 0;
  virtual Result<size_t> item_count(const std::string& run_id) = 0;
  // One page of a run's item results in the order they were recorded, from `cursor` on (0: from
  // the first), for export: the whole batches that fit `limits`, and always at least one batch so
  // that every page makes progress (a batch over the limits is a page of its own). The page's
  // `next` is the cursor of the page after it, nullopt once the last batch is in this page; it
  // is greater than `cursor`. An unknown run, or a cursor past the end, gives an empty page
  // without `next`. Pages read at different times show the store at those times: a page read
  // later includes batches recorded since (they follow every earlier one). An item normally has
  // one record; one recorded twice may appear twice, in record order (the broker's memo keeps
  // the later one). Cursors are the store's own positions: only 0 and a page's `next` mean
  // anything. REQUIRES: cursor >= 0.
  virtual Result<ItemPage> item_results_page(const std::string& run_id, int64_t cursor,
                                             const ItemPageLimits& limits) = 0;
  // A run's item results as stored: batches of records (protocol::append_record), each with its
  // position, in the order they were recorded (a later record of an item replaces an earlier
  // one), holding no more than one batch at a time: for the memo of a recovered or resumed run,
  // which may have millions of them and keeps only where each one is (recorded_results.h).
  virtual Status for_each_item_batch(
      const std::string& run_id,
      const std::function<void(int64_t position, std::string_view records)>& visit) = 0;
  // The batch at a position for_each_item_batch gave (and that no write has changed since);
  // kNotFound when there is none.
  virtual Result<std::string> item_batch(const std::string& run_id, int64_t position) = 0;
  virtual Result<std::vector<DeadLetter>> dead_letters(const std::string& run_id) = 0;

  // The connection that writes broker.db, for an online backup (sqlite::BackupJob) made between
  // commits; nullptr for a store without a file.
  virtual sqlite::Database* database() { return nullptr; }
};

struct SqliteRunStoreOptions {
  // true: a commit survives a power loss once durable (synchronous=FULL, or a deferred sync);
  // false: synchronous=NORMAL, which survives the broker's death but may lose the last commits
  // on a power loss.
  bool full_sync = true;
  // With full_sync: fdatasync the WAL in sync(), off the commit (commit_is_durable() false).
  bool deferred_sync = true;
  int checkpoint_pages = 1000;  // WAL size that triggers a checkpoint
  // A cap on the file's pages (SQLite's max_page_count): writes beyond it fail as on a full
  // disk. 0: none. For tests of what a full disk does.
  int64_t max_pages = 0;
};

// The SQLite store at `path` (created when missing): WAL, locked by this process alone (a second
// broker on the same file fails to open it), synchronous per `options`.
Result<std::unique_ptr<RunStore>> open_sqlite_run_store(const std::string& path,
                                                        const SqliteRunStoreOptions& options = {});

// A store in memory, for tests and for a broker run without durability.
std::unique_ptr<RunStore> make_memory_run_store();

}  // namespace pl::broker
