#include "broker/client_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/protocol/body_reader.h"
#include "common/protocol/client.h"
#include "common/protocol/envelope.h"

namespace pl::broker {

using protocol::MessageType;

namespace {

Value stored_run_summary(const StoredRun& run) {
  Value r;
  r["run"] = run.id;
  r["pipeline"] = run.pipeline_name;
  r["path"] = run.pipeline_path;
  r["state"] = run.state;
  r["created_ms"] = run.created_ms;
  r["finished_ms"] = run.finished_ms;
  if (!run.error.empty()) r["error"] = run.error;
  if (!run.idempotency_key.empty()) r["idempotency_key"] = run.idempotency_key;
  return r;
}

Value export_run_summary(const StoredRun& run) {
  Value summary = stored_run_summary(run);
  summary["inputs"] = run.inputs;
  summary["result"] = run.result;
  return summary;
}

Value item_list(std::vector<std::pair<std::string, Value>> records) {
  Value list = Value::array();
  for (auto& [id, result] : records) {
    Value entry;
    entry["id"] = std::move(id);
    entry["result"] = std::move(result);
    list.push_back(std::move(entry));
  }
  return list;
}

// A page is far below kMaxClientReplyBytes unless one batch of results is that large by itself
// (a page holds at least one batch), or the run's summary is: then an error saying so instead.
constexpr size_t kEntryOverheadBytes = 16;  // {id, result} around a packed record, at most

std::optional<Error> over_reply_limit(const std::string& run_id, size_t run_bytes,
                                      const ItemPage& page) {
  const size_t bytes = run_bytes + page.bytes + page.records.size() * kEntryOverheadBytes;
  if (bytes <= kMaxClientReplyBytes) return std::nullopt;
  const std::string from =
      page.records.empty() ? "" : " from item " + page.records.front().first;
  return make_error(ErrorCode::kTooLarge,
                    "run " + run_id + ": the export page" + from + " takes " +
                        std::to_string(bytes) + " bytes (the run's summary " +
                        std::to_string(run_bytes) + " of them), more than one reply may carry (" +
                        std::to_string(kMaxClientReplyBytes) + ")");
}

// The answer to a client older than paging (no cursor): the whole checkpoint in one reply when
// the run fits one page, else an error, so that such a client never takes part of a run for all
// of it.
ClientReply whole_checkpoint(const std::string& request, Value run, ItemPage page) {
  if (page.next) {
    const std::string run_id = run.get_string("run");
    return {MessageType::kClientError,
            protocol::to_body(protocol::ClientError{
                request, ErrorCode::kTooLarge,
                "run " + run_id + " has more item results than one reply holds; this pipelinectl "
                "exports in one reply only: export the run with a newer pipelinectl, which reads "
                "it in pages"}),
            ""};
  }
  Value checkpoint;
  checkpoint["run"] = std::move(run);
  checkpoint["items"] = item_list(std::move(page.records));
  Value body;
  body["request"] = request;
  body["checkpoint"] = std::move(checkpoint);
  return {MessageType::kRunExport, std::move(body), ""};
}

// The run a request names: a string that is not empty, or an error saying what came instead.
Result<std::string> named_run(const protocol::Message& message) {
  protocol::BodyReader r(message.body, protocol::message_type_name(message.type));
  std::string run_id = r.string("run");
  if (!r.ok()) return r.status().error();
  if (run_id.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      std::string(protocol::message_type_name(message.type)) +
                          ": field \"run\" is empty, expected a run id");
  }
  return run_id;
}

}  // namespace

std::string encode_client_reply(MessageType type, const Value& body, size_t max_bytes) {
  std::string envelope = protocol::encode(type, body);
  if (envelope.size() <= max_bytes) return envelope;
  const std::string request = body.get_string("request");
  const std::string too_large = "the reply takes " + std::to_string(envelope.size()) +
                                " bytes, more than a client takes (" + std::to_string(max_bytes) +
                                ")";
  if (const Value* result = body.find("result"); result && result->is_object()) {
    Value slim = body;
    Value& kept = slim["result"] = Value::object();
    kept["success"] = result->get_bool("success");
    for (const char* small : {"error", "usage"}) {
      if (const Value* member = result->find(small)) kept[small] = *member;
    }
    kept["result_omitted_bytes"] = static_cast<int64_t>(protocol::packed_size(*result));
    spdlog::warn("{} for run {}: sent without the run's result ({} bytes)", too_large,
                 body.get_string("run"), kept.get_int("result_omitted_bytes"));
    envelope = protocol::encode(type, slim);
    if (envelope.size() <= max_bytes) return envelope;
  }
  spdlog::warn("{}: answered with too_large", too_large);
  return protocol::encode(MessageType::kClientError,
                          protocol::to_body(protocol::ClientError{request, ErrorCode::kTooLarge,
                                                                  too_large}));
}

ClientApi::ClientApi(RunCoordinator& coordinator, Dispatcher& dispatcher, ClientLimits limits)
    : coordinator_(coordinator), dispatcher_(dispatcher), limits_(limits) {}

ClientReply ClientApi::error(const std::string& request, const Error& e) const {
  return {MessageType::kClientError, protocol::to_body(protocol::ClientError{request, e.code, e.message}), ""};
}

Result<Value> ClientApi::status_body(const std::string& run_id) {
  if (const RunRecord* run = coordinator_.find(run_id)) {
    return protocol::to_body(coordinator_.status(*run));
  }
  auto stored = coordinator_.store().get_run(run_id);
  if (!stored.ok()) return std::move(stored).error();
  if (!*stored) return make_error(ErrorCode::kNotFound, "no run " + run_id);
  protocol::RunStatus status;
  status.run_id = run_id;
  status.state = (*stored)->state;
  status.result = (*stored)->result;
  status.error = (*stored)->error;
  status.progress = Value::object();
  return protocol::to_body(status);
}

ClientReply ClientApi::run_status(const std::string& request, const std::string& run_id) {
  auto body = status_body(run_id);
  if (!body.ok()) return error(request, body.error());
  (*body)["request"] = request;
  const bool running = body->get_string("state") == "running";
  return {MessageType::kRunStatus, std::move(*body), running ? run_id : ""};
}

ClientReply ClientApi::handle(const protocol::Message& message, Instant now) {
  const std::string request = message.body.get_string("request");
  switch (message.type) {
    case MessageType::kWatchRun:
    case MessageType::kCancelRun:
    case MessageType::kDeleteRun:
    case MessageType::kResumeRun:
    case MessageType::kRunDetailRequest: {
      auto run_id = named_run(message);
      if (!run_id.ok()) return error(request, run_id.error());
      return handle_run(message.type, request, *run_id, now);
    }
    case MessageType::kSubmitRun: {
      auto submit = protocol::submit_run_from(message.body);
      if (!submit.ok()) return error(request, submit.error());
      // Before the limit: the run already accepted is the answer, however busy the broker is.
      auto before = coordinator_.submitted_before(*submit);
      if (!before.ok()) return error(request, before.error());
      if (*before) {
        Value body = protocol::to_body(protocol::RunAccepted{request, **before});
        body["submitted_before"] = true;
        return {MessageType::kRunAccepted, std::move(body), ""};
      }
      if (coordinator_.running() >= limits_.max_running_runs) {
        // Back-pressure: the submitter hears it instead of a queue growing without bound.
        return error(request, make_error(ErrorCode::kRetryLater,
                                         "the broker is running " +
                                             std::to_string(coordinator_.running()) +
                                             " runs, its limit; try again later"));
      }
      auto id = coordinator_.submit(*submit, now);
      if (!id.ok()) return error(request, id.error());
      return {MessageType::kRunAccepted, protocol::to_body(protocol::RunAccepted{request, *id}), ""};
    }
    case MessageType::kListRuns:
      return run_list(request, message.body);
    case MessageType::kExportRun:
      return run_export(request, message.body);
    case MessageType::kBrokerStatusRequest:
      return broker_status(request, now);
    case MessageType::kBackupRequest:
      return backup(request, message.body);
    default:
      return error(request, make_error(ErrorCode::kInvalidInput,
                                       "the broker does not take " +
                                           std::string(protocol::message_type_name(message.type)) +
                                           " on its client socket"));
  }
}

ClientReply ClientApi::handle_run(MessageType type, const std::string& request,
                                  const std::string& run_id, Instant now) {
  switch (type) {
    case MessageType::kWatchRun:
      return run_status(request, run_id);
    case MessageType::kCancelRun:
      if (auto st = coordinator_.cancel(run_id, now); !st.ok()) return error(request, st.error());
      return run_status(request, run_id);
    case MessageType::kDeleteRun: {
      auto deleted = coordinator_.delete_run(run_id);
      if (!deleted.ok()) return error(request, deleted.error());
      Value body;
      body["request"] = request;
      body["run"] = run_id;
      body["items_deleted"] = static_cast<int64_t>(*deleted);
      return {MessageType::kRunDeleted, std::move(body), ""};
    }
    case MessageType::kResumeRun:
      if (auto st = coordinator_.resume(run_id, now); !st.ok()) return error(request, st.error());
      return run_status(request, run_id);
    case MessageType::kRunDetailRequest:
      return run_detail(request, run_id);
    default:
      return error(request, make_error(ErrorCode::kInternal, "not a request about one run"));
  }
}

ClientReply ClientApi::run_list(const std::string& request, const Value& body) {
  const Value* given = body.find("args");
  if (given && !given->is_null() && !given->is_object()) {
    return error(request,
                 make_error(ErrorCode::kInvalidInput, "list_runs: field \"args\" is not a map"));
  }
  static const Value kNoArgs = Value::object();
  const Value& args = given && given->is_object() ? *given : kNoArgs;
  protocol::BodyReader r(args, "list_runs");
  const int64_t limit = std::clamp<int64_t>(r.optional_integer("limit", 50), 1, 10000);
  const std::string state = r.optional_string("state");
  if (!r.ok()) return error(request, r.status().error());
  if (!state.empty()) {
    const RunState states[] = {RunState::kRunning, RunState::kSucceeded, RunState::kFailed,
                               RunState::kCancelled};
    if (std::none_of(std::begin(states), std::end(states),
                     [&](RunState s) { return run_state_name(s) == state; })) {
      return error(request, make_error(ErrorCode::kInvalidInput,
                                       "no run state \"" + state +
                                           "\" (running, succeeded, failed or cancelled)"));
    }
  }
  auto runs = coordinator_.store().list_runs(static_cast<size_t>(limit), state);
  if (!runs.ok()) return error(request, runs.error());
  Value list = Value::array();
  for (const auto& run : *runs) list.push_back(stored_run_summary(run));
  Value reply;
  reply["request"] = request;
  reply["runs"] = std::move(list);
  return {MessageType::kRunList, std::move(reply), ""};
}

ClientReply ClientApi::run_detail(const std::string& request, const std::string& run_id) {
  auto stored = coordinator_.store().get_run(run_id);
  if (!stored.ok()) return error(request, stored.error());
  if (!*stored) return error(request, make_error(ErrorCode::kNotFound, "no run " + run_id));
  Value body = stored_run_summary(**stored);
  body["request"] = request;
  if (const RunRecord* live = coordinator_.find(run_id); live && live->state == RunState::kRunning) {
    body["progress"] = coordinator_.status(*live).progress;
  } else {
    body["result"] = (*stored)->result;
  }
  if (auto count = coordinator_.store().item_count(run_id); count.ok()) {
    body["items_recorded"] = static_cast<int64_t>(*count);
  }
  Value dead = Value::array();
  if (auto letters = coordinator_.store().dead_letters(run_id); letters.ok()) {
    for (const auto& d : *letters) {
      Value entry;
      entry["item"] = d.item_id;
      entry["step"] = d.step_name;
      entry["attempts"] = d.attempts;
      entry["error"] = d.error;
      entry["time_ms"] = d.time_ms;
      dead.push_back(std::move(entry));
    }
  }
  body["dead_letters"] = std::move(dead);
  return {MessageType::kRunDetail, std::move(body), ""};
}

ClientReply ClientApi::run_export(const std::string& request, const Value& body) {
  auto asked = protocol::export_run_from(body);
  if (!asked.ok()) return error(request, asked.error());
  const std::string& run_id = asked->run_id;
  auto stored = coordinator_.store().get_run(run_id);
  if (!stored.ok()) return error(request, stored.error());
  if (!*stored) return error(request, make_error(ErrorCode::kNotFound, "no run " + run_id));
  const int64_t cursor = asked->cursor.value_or(0);
  ItemPageLimits limits = limits_.export_page;
  if (asked->max_bytes > 0) {
    limits.max_bytes = std::min<uint64_t>(limits.max_bytes, asked->max_bytes);
  }
  Value run;
  size_t run_bytes = 0;
  if (cursor == 0) {
    run = export_run_summary(**stored);
    // The first page carries the run too: its items get what is left of the budget.
    run_bytes = protocol::packed_size(run);
    limits.max_bytes -= std::min(limits.max_bytes, run_bytes);
  }
  auto page = coordinator_.store().item_results_page(run_id, cursor, limits);
  if (!page.ok()) return error(request, page.error());
  if (auto too_large = over_reply_limit(run_id, run_bytes, *page)) {
    return error(request, *too_large);
  }
  if (!asked->cursor) return whole_checkpoint(request, std::move(run), std::move(*page));
  protocol::RunExportPage reply{request, std::move(run), item_list(std::move(page->records)),
                                page->next};
  return {MessageType::kRunExport, protocol::to_body(std::move(reply)), ""};
}

ClientReply ClientApi::broker_status(const std::string& request, Instant now) {
  Value workers = Value::array();
  for (const WorkerRecord* w : dispatcher_.roster().all()) {
    Value entry;
    entry["name"] = w->name;
    entry["pid"] = w->pid;
    entry["host"] = w->host;
    entry["slots"] = w->slots;
    std::vector<std::string> held;
    held.reserve(w->held.size());
    for (const auto& [id, attempt] : w->held) held.push_back(id);
    std::sort(held.begin(), held.end());  // a set without order: shown sorted
    entry["held"] = Value(Value::Array(held.begin(), held.end()));
    entry["items_done"] = static_cast<int64_t>(w->items_done);
    // Slots busy with work this broker did not send (see WorkerRecord::untracked).
    if (w->untracked > 0) entry["untracked"] = w->untracked;
    entry["draining"] = w->slots == 0;  // recycling after worker.max_items
    workers.push_back(std::move(entry));
  }
  const DispatchCounters& c = dispatcher_.counters();
  Value counters = extra_counters_ ? extra_counters_() : Value::object();
  counters["dispatched"] = static_cast<int64_t>(c.dispatched);
  counters["completed"] = static_cast<int64_t>(c.completed);
  counters["failed"] = static_cast<int64_t>(c.failed);
  counters["retried"] = static_cast<int64_t>(c.retried);
  counters["redelivered"] = static_cast<int64_t>(c.redelivered);
  counters["stale_results"] = static_cast<int64_t>(c.stale_results);
  counters["timeouts"] = static_cast<int64_t>(c.timeouts);
  counters["poisoned"] = static_cast<int64_t>(c.poisoned);
  counters["adopted"] = static_cast<int64_t>(c.adopted);
  counters["moved_to_new_connection"] = static_cast<int64_t>(c.moved_to_new_connection);
  counters["undelivered"] = static_cast<int64_t>(c.undelivered);
  counters["stale_attempts_cancelled"] = static_cast<int64_t>(c.stale_attempts_cancelled);
  counters["circuit_rejections"] = static_cast<int64_t>(c.circuit_rejections);
  counters["workers_killed"] = static_cast<int64_t>(c.workers_killed);
  counters["queue_timeouts"] = static_cast<int64_t>(c.queue_timeouts);
  counters["refused"] = static_cast<int64_t>(c.refused);
  counters["oversized_items"] = static_cast<int64_t>(c.oversized_items);
  const CoordinatorCounters& r = coordinator_.counters();
  counters["runs_accepted"] = static_cast<int64_t>(r.accepted);
  counters["runs_recovered"] = static_cast<int64_t>(r.recovered);
  counters["runs_resumed"] = static_cast<int64_t>(r.resumed);
  counters["runs_submitted_again"] = static_cast<int64_t>(r.submitted_again);
  counters["runs_succeeded"] = static_cast<int64_t>(r.succeeded);
  counters["runs_failed"] = static_cast<int64_t>(r.failed);
  counters["runs_cancelled"] = static_cast<int64_t>(r.cancelled);
  counters["dead_letters"] = static_cast<int64_t>(r.dead_letters);
  counters["store_errors"] = static_cast<int64_t>(r.store_errors);
  Value body;
  body["request"] = request;
  body["workers"] = std::move(workers);
  body["queued"] = static_cast<int64_t>(dispatcher_.queued());
  body["in_flight"] = static_cast<int64_t>(dispatcher_.in_flight());
  body["waiting_retry"] = static_cast<int64_t>(dispatcher_.waiting_retry());
  body["runs_running"] = static_cast<int64_t>(coordinator_.running());
  body["outstanding"] = static_cast<int64_t>(dispatcher_.outstanding());
  body["providers"] = dispatcher_.provider_status(now.steady);
  // {count, sum_us, p50_us, p90_us, p99_us, max_us, buckets: [[upper_us, n], ...]}
  body["item_latency"] = latency_summary(dispatcher_.item_latency());
  body["counters"] = std::move(counters);
  // What clients may count on beyond the first protocol: pipelinectl sends a submission again
  // only to a broker that keeps idempotency keys (an older one would run it twice).
  body["features"] = Value(Value::Array{Value(std::string(protocol::kFeatureIdempotentSubmit))});
  return {MessageType::kBrokerStatus, std::move(body), ""};
}

ClientReply ClientApi::backup(const std::string& request, const Value& body) {
  Result<Value> status = backup_.status();
  if (const Value* dir = body.find("dir"); dir && !dir->is_null()) {
    if (!dir->is_string()) {
      return error(request,
                   make_error(ErrorCode::kInvalidInput, "backup_request: dir is not a string"));
    }
    sqlite::Database* db = coordinator_.store().database();
    if (!db) {
      return error(request, make_error(ErrorCode::kInvalidInput,
                                       "this broker keeps its runs in memory: there is no "
                                       "broker.db to back up"));
    }
    status = backup_.start(*db, dir->as_string());
  }
  if (!status.ok()) return error(request, status.error());
  Value reply = std::move(*status);
  reply["request"] = request;
  return {MessageType::kBackupStatus, std::move(reply), ""};
}

}  // namespace pl::broker
