// Client (pipelinectl) <-> broker messages, on the broker's client ROUTER.
//
// Every request carries a client-chosen `request` id that its reply echoes, so a client can
// tell replies apart and drop late ones. A failed request is answered with kClientError.
#pragma once

#include <string>

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
};

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

Result<SubmitRun> submit_run_from(const Value& body);
Result<RunAccepted> run_accepted_from(const Value& body);
Result<WatchRun> watch_run_from(const Value& body);
Result<CancelRun> cancel_run_from(const Value& body);
Result<RunStatus> run_status_from(const Value& body);
Result<ClientError> client_error_from(const Value& body);
Result<SimpleRequest> simple_request_from(const Value& body);

}  // namespace pl::protocol
