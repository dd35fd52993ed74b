// The broker's answers to its clients (pipelinectl): one request in, one reply out. The shell
// moves the frames and sends the replies after the next commit.
//
// Requests and replies (bodies are msgpack maps; every request has `request`, echoed back):
//   submit_run {path, yaml, inputs, workspace_dir, output_dir} -> run_accepted {run}
//   watch_run {run}          -> run_status {run, state, progress, result?, error?}; the final
//                               status is pushed to the watcher as well
//   cancel_run {run}         -> run_status
//   resume_run {run}         -> run_status
//   list_runs {args: {limit?, state?}} -> run_list {runs: [{run, pipeline, state, created_ms,
//   finished_ms}]} run_detail_request {run} -> run_detail {run, pipeline, path, state, created_ms,
//   finished_ms,
//                               error, progress?, items_recorded, dead_letters: [...], result?}
//   export_run {run, cursor, max_bytes?} -> run_export {run (first page), items: [{id, result}],
//                               next?}: one page of the checkpoint, `next` the following page's
//                               cursor (protocol::ExportRun); without a cursor (older clients)
//                               -> run_export {checkpoint: {run, items}} when the run fits one
//                               page, else client_error too_large
//   backup_request {dir?}    -> backup_status {state, path, pages_copied, pages_total, bytes,
//                               elapsed_ms, error?}: with `dir` (absolute, on the broker's host)
//                               starts copying broker.db into dir/broker.db while the broker
//                               serves (sqlite::BackupJob); without, the copy's status. The
//                               shell takes it only on an ipc:// socket (backup_allowed_over)
//   broker_status_request    -> broker_status {workers: [{name, pid, host, slots, held,
//                               items_done, draining}], queued, in_flight, waiting_retry,
//                               outstanding, runs_running, counters, providers, item_latency}
// Any failure -> client_error {code, message}. Documented for people in docs/broker-api.md.
#pragma once

#include <functional>
#include <string>

#include "broker/dispatcher.h"
#include "broker/run_coordinator.h"
#include "broker/run_store.h"
#include "common/clock.h"
#include "common/protocol/envelope.h"
#include "common/sqlite/online_backup.h"

namespace pl::broker {

struct ClientLimits {
  size_t max_running_runs = 1000;  // more submissions are refused with retry_later
  // One export reply's item results at most (a request may ask for fewer bytes). The bytes stay
  // well under a client's 16 MiB message limit, and bound the broker's work per reply (decoding
  // and encoding 4 MiB of results takes tens of milliseconds of its loop).
  ItemPageLimits export_page{};
};

struct ClientReply {
  protocol::MessageType type;
  Value body;
  std::string watch_run;  // when set, push this run's final status to the asker too
};

// A client drops a message over its ZMQ_MAXMSGSIZE (16 MiB) together with the connection, and
// sees only a timeout: no reply may be larger than this.
inline constexpr size_t kMaxClientReplyBytes = 15 * 1024 * 1024;

// The envelope of a reply. One over `max_bytes` goes without the run's `result` (its success,
// error and usage are kept, with `result_omitted_bytes`); if that is still too large, or there
// is no result to leave out, a client_error too_large says what happened instead.
std::string encode_client_reply(protocol::MessageType type, const Value& body,
                                size_t max_bytes = kMaxClientReplyBytes);

class ClientApi {
 public:
  ClientApi(RunCoordinator& coordinator, Dispatcher& dispatcher, ClientLimits limits);
  ClientReply handle(const protocol::Message& request, Instant now);
  // A status body for a run held in memory or in the store; kNotFound when unknown, the store's
  // error when it cannot be read.
  Result<Value> status_body(const std::string& run_id);
  // Counters kept outside the dispatcher and coordinator (the shell's), read when a status is
  // built: {name: n}.
  void set_extra_counters(std::function<Value()> source) { extra_counters_ = std::move(source); }
  // The backup a backup_request started: the shell steps it between commits.
  sqlite::BackupJob& backup() { return backup_; }

 private:
  ClientReply error(const std::string& request, const Error& e) const;
  // watch, cancel, delete, resume and detail: the requests about one run, named by `run_id`.
  ClientReply handle_run(protocol::MessageType type, const std::string& request,
                         const std::string& run_id, Instant now);
  ClientReply run_status(const std::string& request, const std::string& run_id);
  ClientReply run_detail(const std::string& request, const std::string& run_id);
  ClientReply run_export(const std::string& request, const Value& body);
  ClientReply run_list(const std::string& request, const Value& body);
  ClientReply broker_status(const std::string& request, Instant now);
  ClientReply backup(const std::string& request, const Value& body);

  RunCoordinator& coordinator_;
  Dispatcher& dispatcher_;
  ClientLimits limits_;
  std::function<Value()> extra_counters_;
  sqlite::BackupJob backup_{"broker.db"};
};

}  // namespace pl::broker
