#include "common/protocol/control.h"

#include "common/protocol/body_reader.h"

namespace pl::protocol {

Value to_body(const ControlRequest& m) {
  Value v;
  v["request"] = m.request;
  v["command"] = m.command;
  v["args"] = m.args.is_null() ? Value::object() : m.args;
  return v;
}

Result<ControlRequest> control_request_from(const Value& body) {
  BodyReader r(body, "control_request");
  ControlRequest m;
  m.request = r.string("request");
  m.command = r.string("command");
  m.args = r.optional_value("args");
  if (m.args.is_null()) m.args = Value::object();
  if (!r.ok()) return r.status().error();
  if (!m.args.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "control_request: field \"args\" is not a map");
  }
  return m;
}

Result<ControlReply> control_reply_from(const Value& body) {
  return reply_from(body, "control_reply", /*request_required=*/true);
}

Value to_body(const ChildEvent& m) {
  Value v;
  v["seq"] = static_cast<int64_t>(m.seq);
  v["time_ms"] = m.time_ms;
  v["child"] = m.child;
  v["pid"] = m.pid;
  v["kind"] = m.kind;
  v["exit_status"] = m.exit_status;
  v["signal"] = m.signal;
  v["detail"] = m.detail;
  return v;
}

Result<ChildEvent> child_event_from(const Value& body) {
  BodyReader r(body, "child_event");
  ChildEvent m;
  m.seq = static_cast<uint64_t>(r.integer("seq"));
  m.time_ms = r.integer("time_ms");
  m.child = r.string("child");
  m.pid = r.integer("pid");
  m.kind = r.string("kind");
  m.exit_status = r.optional_integer("exit_status", -1);
  m.signal = r.optional_integer("signal", 0);
  m.detail = r.optional_string("detail");
  if (!r.ok()) return r.status().error();
  return m;
}

std::string event_topic(const ChildEvent& e) { return kEventTopicPrefix + e.kind; }

}  // namespace pl::protocol
