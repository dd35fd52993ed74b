#include "common/protocol/registry.h"

#include <array>

#include "common/protocol/body_reader.h"

namespace pl::protocol {
namespace {

struct OpName {
  RegistryOp op;
  std::string_view name;
  bool mutation;
};

constexpr std::array<OpName, 14> kOps{{
    {RegistryOp::kPing, "ping", false},
    {RegistryOp::kStatus, "status", false},
    {RegistryOp::kToolRegister, "tool.register", true},
    {RegistryOp::kToolUpdate, "tool.update", true},
    {RegistryOp::kToolRemove, "tool.remove", true},
    {RegistryOp::kToolGet, "tool.get", false},
    {RegistryOp::kToolList, "tool.list", false},
    {RegistryOp::kSessionCreate, "session.create", true},
    {RegistryOp::kSessionGet, "session.get", false},
    {RegistryOp::kSessionList, "session.list", false},
    {RegistryOp::kSessionAppend, "session.append", true},
    {RegistryOp::kSessionTruncate, "session.truncate", true},
    {RegistryOp::kSessionDelete, "session.delete", true},
    {RegistryOp::kBackup, "backup", false},
}};

const OpName* entry(RegistryOp op) {
  for (const auto& e : kOps) {
    if (e.op == op) return &e;
  }
  return nullptr;
}

}  // namespace

std::string_view registry_op_name(RegistryOp op) {
  const OpName* e = entry(op);
  return e ? e->name : "unknown";
}

std::optional<RegistryOp> registry_op_from_name(std::string_view name) {
  for (const auto& e : kOps) {
    if (e.name == name) return e.op;
  }
  return std::nullopt;
}

bool is_mutation(RegistryOp op) {
  const OpName* e = entry(op);
  return e && e->mutation;
}

Value to_body(const RegistryRequest& m) {
  Value v;
  v["request"] = m.request;
  v["op"] = m.op;
  v["id"] = m.id;
  v["args"] = m.args.is_null() ? Value::object() : m.args;
  return v;
}

Result<RegistryRequest> registry_request_from(const Value& body) {
  return registry_request_from(Value(body));
}

Result<RegistryRequest> registry_request_from(Value&& body) {
  BodyReader r(body, "registry_request");
  RegistryRequest m;
  m.request = r.optional_string("request");
  m.op = r.string("op");
  m.id = r.optional_string("id");
  if (!r.ok()) return r.status().error();
  if (Value* args = body.find("args")) m.args = std::move(*args);
  if (m.args.is_null()) m.args = Value::object();
  if (!m.args.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "registry_request: field \"args\" is " +
                                                    a_kind(m.args.kind()) +
                                                    ", expected a map");
  }
  return m;
}

Result<RegistryReply> registry_reply_from(const Value& body) {
  return reply_from(body, "registry_reply", /*request_required=*/false);
}

}  // namespace pl::protocol
