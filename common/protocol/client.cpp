#include "common/protocol/client.h"

#include <algorithm>

#include "common/protocol/body_reader.h"

namespace pl::protocol {

Value to_body(const SubmitRun& m) {
  Value v;
  v["request"] = m.request;
  v["path"] = m.pipeline_path;
  v["yaml"] = m.pipeline_yaml;
  v["inputs"] = m.inputs.is_null() ? Value::object() : m.inputs;
  v["workspace_dir"] = m.workspace_dir;
  v["output_dir"] = m.output_dir;
  if (!m.idempotency_key.empty()) v["idempotency_key"] = m.idempotency_key;
  return v;
}

Result<SubmitRun> submit_run_from(const Value& body) {
  BodyReader r(body, "submit_run");
  SubmitRun m;
  m.request = r.string("request");
  m.pipeline_path = r.string("path");
  m.pipeline_yaml = r.string("yaml");
  m.inputs = r.object("inputs");
  m.workspace_dir = r.optional_string("workspace_dir");
  m.output_dir = r.optional_string("output_dir");
  m.idempotency_key = r.optional_string("idempotency_key");
  if (!r.ok()) return r.status().error();
  if (const std::string problem = idempotency_key_problem(m.idempotency_key); !problem.empty()) {
    return make_error(ErrorCode::kInvalidInput, "submit_run: field \"idempotency_key\" " + problem);
  }
  return m;
}

std::string idempotency_key_problem(std::string_view key) {
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return "is " + std::to_string(key.size()) + " bytes, more than " +
           std::to_string(kMaxIdempotencyKeyBytes);
  }
  // It is quoted in logs and messages: no line breaks or terminal escapes.
  if (std::any_of(key.begin(), key.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return "holds a control character";
  }
  return "";
}

Value to_body(const RunAccepted& m) {
  Value v;
  v["request"] = m.request;
  v["run"] = m.run_id;
  return v;
}

Result<RunAccepted> run_accepted_from(const Value& body) {
  BodyReader r(body, "run_accepted");
  RunAccepted m;
  m.request = r.string("request");
  m.run_id = r.string("run");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const WatchRun& m) {
  Value v;
  v["request"] = m.request;
  v["run"] = m.run_id;
  return v;
}

Result<WatchRun> watch_run_from(const Value& body) {
  BodyReader r(body, "watch_run");
  WatchRun m;
  m.request = r.string("request");
  m.run_id = r.string("run");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const CancelRun& m) {
  Value v;
  v["request"] = m.request;
  v["run"] = m.run_id;
  return v;
}

Result<CancelRun> cancel_run_from(const Value& body) {
  BodyReader r(body, "cancel_run");
  CancelRun m;
  m.request = r.string("request");
  m.run_id = r.string("run");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const RunStatus& m) {
  Value v;
  v["request"] = m.request;
  v["run"] = m.run_id;
  v["state"] = m.state;
  v["progress"] = m.progress;
  v["result"] = m.result;
  v["error"] = m.error;
  return v;
}

Result<RunStatus> run_status_from(const Value& body) {
  BodyReader r(body, "run_status");
  RunStatus m;
  m.request = r.optional_string("request");
  m.run_id = r.string("run");
  m.state = r.string("state");
  m.progress = r.optional_value("progress");
  m.result = r.optional_value("result");
  m.error = r.optional_string("error");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const ClientError& m) {
  Value v;
  v["request"] = m.request;
  v["code"] = static_cast<int64_t>(m.code);
  v["message"] = m.message;
  return v;
}

Result<ClientError> client_error_from(const Value& body) {
  BodyReader r(body, "client_error");
  ClientError m;
  m.request = r.optional_string("request");
  m.code = static_cast<ErrorCode>(r.count("code", 999));
  m.message = r.string("message");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const SimpleRequest& m) {
  Value v;
  v["request"] = m.request;
  v["args"] = m.args.is_null() ? Value::object() : m.args;
  return v;
}

Result<SimpleRequest> simple_request_from(const Value& body) {
  BodyReader r(body, "request");
  SimpleRequest m;
  m.request = r.string("request");
  m.args = r.optional_value("args");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const ExportRun& m) {
  Value v;
  v["request"] = m.request;
  v["run"] = m.run_id;
  if (m.cursor) v["cursor"] = *m.cursor;
  if (m.max_bytes > 0) v["max_bytes"] = static_cast<int64_t>(m.max_bytes);
  return v;
}

Result<ExportRun> export_run_from(const Value& body) {
  BodyReader r(body, "export_run");
  ExportRun m;
  m.request = r.string("request");
  m.run_id = r.string("run");
  if (auto cursor = r.optional_count("cursor", INT64_MAX)) m.cursor = static_cast<int64_t>(*cursor);
  m.max_bytes = r.optional_count("max_bytes", INT64_MAX).value_or(0);
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(RunExportPage m) {
  Value v;
  v["request"] = std::move(m.request);
  if (!m.run.is_null()) v["run"] = std::move(m.run);
  v["items"] = m.items.is_null() ? Value::array() : std::move(m.items);
  if (m.next) v["next"] = *m.next;
  return v;
}

Result<RunExportPage> run_export_page_from(const Value& body) {
  BodyReader r(body, "run_export");
  RunExportPage m;
  m.request = r.optional_string("request");
  m.run = r.optional_value("run");
  m.items = r.value("items");
  if (r.ok() && !m.items.is_array()) {
    return make_error(ErrorCode::kInvalidInput, "run_export: field \"items\" is not a list");
  }
  if (auto next = r.optional_count("next", INT64_MAX)) m.next = static_cast<int64_t>(*next);
  if (!r.ok()) return r.status().error();
  return m;
}

Result<RunExportPage> run_export_page_from(Value&& body) {
  Value items;
  // Only a list moves out (an empty one stands in): anything else stays to be refused.
  if (Value* found = body.find("items"); found && found->is_array()) {
    items = std::exchange(*found, Value::array());
  }
  auto page = run_export_page_from(static_cast<const Value&>(body));
  if (page.ok() && items.is_array()) page->items = std::move(items);
  return page;
}

}  // namespace pl::protocol
