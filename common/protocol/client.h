// Client (pipelinectl) <-> broker messages, on the broker's client ROUTER.
//
// Every request carries a client-chosen `request` id that its reply echoes, so a client can
// tell replies apart and drop late ones. A failed request is answered with kClientError.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

struct SubmitRun {
  std::string request;
  std::string pipeline_path;  // absolute; relative paths in the pipeline resolve against its dir
  std::string pipeline_yaml;  // the file's text, as read by the client
  Value inputs;               // object: name -> value (strings from --input are converted later)
  std::string workspace_dir;  // "" = the pipeline's own setting
  std::string output_dir;     // "" = the pipeline's own setting
  // "" = none. A submission carrying the key of a run the broker keeps is not run again: the
  // reply names that run (a client retrying after a lost reply, or a script run twice).
  std::string idempotency_key;
};

// The longest idempotency key the broker takes.
inline constexpr size_t kMaxIdempotencyKeyBytes = 200;
// What is wrong with an idempotency key ("is 201 bytes, more than 200", "holds a control
// character"), "" when nothing is; "" (none) is fine.
std::string idempotency_key_problem(std::string_view key);
// In broker_status's `features`: the broker keeps idempotency keys.
inline constexpr std::string_view kFeatureIdempotentSubmit = "idempotent_submit";

struct RunAccepted {
  std::string request;
  std::string run_id;
};

// Asks for a run's status now; also subscribes the asker to the run's final status.
struct WatchRun {
  std::string request;
  std::string run_id;
};

struct CancelRun {
  std::string request;
  std::string run_id;
};

struct RunStatus {
  std::string request;  // "" when pushed unasked (the final status of a watched run)
  std::string run_id;
  std::string state;    // accepted | running | succeeded | failed | cancelled
  Value progress;       // {done, total, failed, running}
  Value result;         // when finished: {success, steps: {name: result}, error?}
  std::string error;    // when failed: what failed, naming the step
};

// Asks for a run's checkpoint: the run and its item results, one page per request. The first
// request has cursor 0, each next one the `next` of the page before. Without a cursor (clients
// older than paging) the broker answers with the whole checkpoint in one reply when it fits one
// page, else with an error asking for a newer client: never with part of it.
struct ExportRun {
  std::string request;
  std::string run_id;
  std::optional<int64_t> cursor;  // >= 0; an opaque position in the run's records
  uint64_t max_bytes = 0;         // of item results per page; 0 or above the broker's: the broker's
};

// One page of a checkpoint (run_export): the run on the first page (cursor 0) only, the item
// results from the cursor on in the order they were recorded, and the cursor of the next page,
// absent on the last one.
struct RunExportPage {
  std::string request;
  Value run;    // {run, pipeline, path, state, created_ms, finished_ms, error?, inputs, result}
  Value items;  // [{id, result}]
  std::optional<int64_t> next;
};

struct ClientError {
  std::string request;
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// A request with only an id and free-form arguments (list_runs, broker_status_request).
struct SimpleRequest {
  std::string request;
  Value args;
};

Value to_body(const SubmitRun& m);
Value to_body(const RunAccepted& m);
Value to_body(const WatchRun& m);
Value to_body(const CancelRun& m);
Value to_body(const RunStatus& m);
Value to_body(const ClientError& m);
Value to_body(const SimpleRequest& m);
Value to_body(const ExportRun& m);
// Taken: a page's items may be megabytes of results, not worth copying into the body.
Value to_body(RunExportPage m);

Result<SubmitRun> submit_run_from(const Value& body);
Result<RunAccepted> run_accepted_from(const Value& body);
Result<WatchRun> watch_run_from(const Value& body);
Result<CancelRun> cancel_run_from(const Value& body);
Result<RunStatus> run_status_from(const Value& body);
Result<ClientError> client_error_from(const Value& body);
Result<SimpleRequest> simple_request_from(const Value& body);
// A cursor that is not an integer or is negative is an error (kInvalidInput).
Result<ExportRun> export_run_from(const Value& body);
// kInvalidInput for a paged reply without items or with a negative next; a whole checkpoint
// (from a broker older than paging) has no `items` and is not a page.
Result<RunExportPage> run_export_page_from(const Value& body);
// The same, taking the items out of `body` instead of copying them (a page holds thousands).
Result<RunExportPage> run_export_page_from(Value&& body);

}  // namespace pl::protocol
