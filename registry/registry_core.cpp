#include "registry/registry_core.h"

#include <array>

#include "common/text.h"
#include "registry/registry_ops.h"

namespace pl::registry {

using protocol::RegistryOp;
using protocol::RegistryReply;

namespace {

constexpr size_t kMaxIdBytes = 200;

bool deterministic(const Error& e) { return static_cast<uint16_t>(e.code) / 100 == 4; }

std::vector<std::string_view> op_names() {
  static constexpr std::array kAll{
      RegistryOp::kPing,          RegistryOp::kStatus,         RegistryOp::kToolRegister,
      RegistryOp::kToolUpdate,    RegistryOp::kToolRemove,     RegistryOp::kToolGet,
      RegistryOp::kToolList,      RegistryOp::kSessionCreate,  RegistryOp::kSessionGet,
      RegistryOp::kSessionList,   RegistryOp::kSessionAppend,  RegistryOp::kSessionTruncate,
      RegistryOp::kSessionDelete};
  std::vector<std::string_view> names;
  for (RegistryOp op : kAll) names.push_back(protocol::registry_op_name(op));
  return names;
}

}  // namespace

RegistryCore::RegistryCore(RegistryStore& store, RegistryLimits limits)
    : store_(store), limits_(limits) {}

RegistryReply RegistryCore::handle(const protocol::RegistryRequest& request, int64_t now_ms) {
  ++counters_.requests;
  RegistryReply reply;
  const auto op = protocol::registry_op_from_name(request.op);
  if (!op) {
    reply = RegistryReply::failure(make_error(
        ErrorCode::kInvalidInput, "unknown op \"" + request.op + "\"" + did_you_mean(request.op, op_names())));
  } else if (protocol::is_mutation(*op)) {
    reply = mutate(*op, request, now_ms);
  } else {
    auto result = apply(*op, request.args, now_ms);
    reply = result.ok() ? RegistryReply::success(std::move(*result)) : RegistryReply::failure(result.error());
  }
  if (!reply.ok) ++counters_.errors;
  reply.request = request.request;
  return reply;
}

Result<std::vector<RegistryReply>> RegistryCore::handle_batch(
    const std::vector<const protocol::RegistryRequest*>& requests, int64_t now_ms) {
  const RegistryCounters before = counters_;
  std::vector<RegistryReply> replies;
  replies.reserve(requests.size());
  savepoints_ = false;
  failed_without_savepoint_ = false;
  for (const protocol::RegistryRequest* request : requests) {
    replies.push_back(handle(*request, now_ms));
    if (failed_without_savepoint_) break;
  }
  savepoints_ = true;
  if (!failed_without_savepoint_) return replies;

  counters_ = before;  // the first pass never happened
  store_.rollback();
  if (auto st = store_.begin(); !st.ok()) {
    store_.rollback();
    return st.error();
  }
  replies.clear();
  for (const protocol::RegistryRequest* request : requests) {
    replies.push_back(handle(*request, now_ms));
  }
  return replies;
}

RegistryReply RegistryCore::mutate(RegistryOp op, const protocol::RegistryRequest& request,
                                   int64_t now_ms) {
  const std::string op_name(protocol::registry_op_name(op));
  if (request.id.empty() || request.id.size() > kMaxIdBytes) {
    return RegistryReply::failure(make_error(
        ErrorCode::kInvalidInput, op_name + " needs an idempotency id (field \"id\", 1 to " +
                                      std::to_string(kMaxIdBytes) + " bytes)"));
  }
  auto seen = store_.applied(request.id);
  if (!seen.ok()) return RegistryReply::failure(seen.error());
  if (*seen) {
    if ((*seen)->op != op_name) {
      return RegistryReply::failure(make_error(
          ErrorCode::kConflict, "id \"" + request.id + "\" was already used for a " + (*seen)->op +
                                    ", not a " + op_name));
    }
    ++counters_.replays;
    return (*seen)->reply;
  }

  if (!savepoints_) {
    auto result = apply(op, request.args, now_ms);
    if (result.ok()) {
      RegistryReply reply = RegistryReply::success(std::move(*result));
      if (store_.record_applied({request.id, op_name, reply, now_ms}).ok()) {
        ++counters_.mutations;
        return reply;
      }
    }
    // What this mutation wrote can only go with the whole transaction: handle_batch starts it
    // again, with savepoints. This reply is never sent.
    failed_without_savepoint_ = true;
    return RegistryReply::failure(
        make_error(ErrorCode::kInternal, "to be handled again with a savepoint"));
  }

  if (auto st = store_.savepoint(); !st.ok()) return RegistryReply::failure(st.error());
  auto result = apply(op, request.args, now_ms);
  if (!result.ok()) {
    store_.rollback_to_savepoint();
    const Error& error = result.error();
    if (!deterministic(error)) return RegistryReply::failure(error);
    RegistryReply reply = RegistryReply::failure(error);
    // Remembered, so that a retry gets the same answer even if the state has moved on.
    if (auto st = store_.record_applied({request.id, op_name, reply, now_ms}); !st.ok()) {
      return RegistryReply::failure(st.error());
    }
    return reply;
  }
  RegistryReply reply = RegistryReply::success(std::move(*result));
  if (auto st = store_.record_applied({request.id, op_name, reply, now_ms}); !st.ok()) {
    store_.rollback_to_savepoint();
    return RegistryReply::failure(st.error());
  }
  if (auto st = store_.release_savepoint(); !st.ok()) {
    store_.rollback_to_savepoint();
    return RegistryReply::failure(st.error());
  }
  ++counters_.mutations;
  return reply;
}

Result<Value> RegistryCore::apply(RegistryOp op, const Value& args, int64_t now_ms) {
  const ops::OpContext c{store_, limits_, now_ms};
  switch (op) {
    case RegistryOp::kPing:
      return Value("pong");
    case RegistryOp::kStatus:
      return status();
    case RegistryOp::kToolRegister:
      return ops::register_tool(c, args);
    case RegistryOp::kToolUpdate:
      return ops::update_tool(c, args);
    case RegistryOp::kToolRemove:
      return ops::remove_tool(c, args);
    case RegistryOp::kToolGet:
      return ops::get_tool(c, args);
    case RegistryOp::kToolList:
      return ops::list_tools(c, args);
    case RegistryOp::kSessionCreate:
      return ops::create_session(c, args);
    case RegistryOp::kSessionGet:
      return ops::get_session(c, args);
    case RegistryOp::kSessionList:
      return ops::list_sessions(c, args);
    case RegistryOp::kSessionAppend:
      return ops::append_turn(c, args);
    case RegistryOp::kSessionTruncate:
      return ops::truncate_session(c, args);
    case RegistryOp::kSessionDelete:
      return ops::delete_session(c, args);
    case RegistryOp::kBackup:  // a file copy over many turns: the shell's (RegistryShell)
      return make_error(ErrorCode::kInternal, "backup reached the registry's core");
  }
  return make_error(ErrorCode::kInternal, "op without a handler");
}

Result<Value> RegistryCore::status() {
  auto counts = store_.counts();
  if (!counts.ok()) return std::move(counts).error();
  Value v;
  v["tools"] = counts->tools;
  v["sessions"] = counts->sessions;
  v["turns"] = counts->turns;
  v["applied_ids"] = counts->applied_ids;
  Value c;
  c["requests"] = static_cast<int64_t>(counters_.requests);
  c["mutations"] = static_cast<int64_t>(counters_.mutations);
  c["replays"] = static_cast<int64_t>(counters_.replays);
  c["errors"] = static_cast<int64_t>(counters_.errors);
  c["batches"] = static_cast<int64_t>(counters_.batches);
  c["bad_frames"] = static_cast<int64_t>(counters_.bad_frames);
  c["failed_commits"] = static_cast<int64_t>(counters_.failed_commits);
  v["counters"] = std::move(c);
  // What a client may check before it pays for something it cannot store (a worker's turn).
  Value l;
  l["max_turn_bytes"] = limits_.max_turn_bytes;
  l["max_reply_bytes"] = limits_.max_reply_bytes;
  l["max_session_turns"] = limits_.max_session_turns;
  l["max_tool_bytes"] = limits_.max_tool_bytes;
  v["limits"] = std::move(l);
  return v;
}

Result<int64_t> RegistryCore::forget_idle_sessions(int64_t now_ms) {
  if (limits_.keep_idle_sessions_ms <= 0) return int64_t{0};
  auto idle =
      store_.sessions_idle_since(now_ms - limits_.keep_idle_sessions_ms, kIdleSessionsPerPass);
  if (!idle.ok()) return std::move(idle).error();
  for (const std::string& name : *idle) {
    if (Status st = store_.remove_session(name); !st.ok()) return st.error();
  }
  return static_cast<int64_t>(idle->size());
}

Result<int64_t> RegistryCore::forget_old_ids(int64_t now_ms) {
  return store_.forget_applied(limits_.keep_applied_ids, now_ms - limits_.applied_ttl_ms,
                               now_ms - limits_.min_applied_age_ms);
}

}  // namespace pl::registry
