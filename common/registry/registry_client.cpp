#include "common/registry/registry_client.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include "common/ids.h"
#include "common/net/request_client.h"
#include "common/net/zmq_socket.h"

namespace pl {

using protocol::RegistryOp;


class RegistryClient::Impl {
 public:
  explicit Impl(RegistryClientOptions options) : options_(std::move(options)) {
    if (!options_.context) {
      owned_context_ = std::make_unique<net::Context>();
      options_.context = owned_context_.get();
    }
    options_.max_attempts = std::max(1, options_.max_attempts);
  }

  ~Impl() {
    idle_.clear();  // sockets close before the context they belong to
  }

  Result<Value> call(RegistryOp op, Value args, std::string id, const CallLimit& limit) {
    if (protocol::is_mutation(op) && id.empty()) id = new_id("m");
    protocol::RegistryRequest request{"", std::string(protocol::registry_op_name(op)), id,
                                      std::move(args)};
    const Value body = protocol::to_body(request);
    const auto started = SteadyClock::now();
    const auto own_deadline = started + options_.deadline;
    const bool caller_bound = limit.deadline && *limit.deadline < own_deadline;
    const auto deadline = caller_bound ? *limit.deadline : own_deadline;
    Error last = make_error(ErrorCode::kUnavailable, "not tried");
    bool answered = false;  // the last attempt got a reply (a retryable refusal)
    int attempt = 0;
    while (attempt < options_.max_attempts) {
      if (limit.cancelled && limit.cancelled()) return cancelled(op);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) break;
      ++attempt;
      auto outcome = attempt_once(body, std::min(left, options_.attempt_timeout), limit, answered);
      if (outcome.ok()) return std::move(*outcome);
      last = std::move(outcome).error();
      if (last.code == ErrorCode::kCancelled) return cancelled(op);
      if (!is_retryable(last.code)) return last;
      if (!backoff(attempt, deadline, limit)) break;
    }
    if (limit.cancelled && limit.cancelled()) return cancelled(op);
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    const std::string tried = std::to_string(attempt) + " attempt(s) in " +
                              std::to_string(spent.count()) + " ms: " + last.message;
    if (caller_bound && attempt < options_.max_attempts) {
      return make_error(ErrorCode::kTimeout, "the item's deadline passed waiting for the "
                                             "registry at " + options_.endpoint + " (" + tried +
                                             ")");
    }
    // A registry that answers but cannot do it (its disk is full) is not one that is gone:
    // retry_later, where nobody answering is unavailable (pipelinectl exits 75 and 69).
    if (answered) {
      return make_error(ErrorCode::kRetryLater,
                        "the registry at " + options_.endpoint + " refused " + tried);
    }
    return make_error(ErrorCode::kUnavailable,
                      "no answer from the registry at " + options_.endpoint + " after " + tried);
  }

  const std::string& endpoint() const { return options_.endpoint; }

 private:
  // One attempt on a pooled connection. A connection that saw no reply is closed rather than
  // reused, so that a late reply or a queued request of this attempt cannot reach the next one.
  // `answered`: whether the registry replied at all.
  Result<Value> attempt_once(const Value& body, std::chrono::milliseconds timeout,
                             const CallLimit& limit, bool& answered) {
    std::unique_ptr<net::RequestClient> connection = acquire();
    auto reply = connection->call(protocol::MessageType::kRegistryRequest, body, timeout,
                                  limit.cancelled);
    answered = reply.ok();
    if (!reply.ok()) {
      Error e = std::move(reply).error();
      if (e.code == ErrorCode::kIo) e.code = ErrorCode::kUnavailable;  // a socket error: retry
      return e;
    }
    release(std::move(connection));
    if (reply->type != protocol::MessageType::kRegistryReply) {
      return make_error(ErrorCode::kInternal, "the registry answered with a " +
                                                  std::string(protocol::message_type_name(reply->type)));
    }
    auto decoded = protocol::registry_reply_from(reply->body);
    if (!decoded.ok()) return decoded.error().with_context("bad reply from the registry");
    return decoded->to_result();
  }

  // Sleeps before the next attempt; false when that would pass the deadline or the caller
  // gave up meanwhile (asked every RequestClient::kStopCheckInterval).
  bool backoff(int attempt, TimePoint deadline, const CallLimit& limit) {
    const int64_t cap = options_.backoff_max.count();
    const int64_t base = std::min<int64_t>(cap, options_.backoff_base.count() << std::min(attempt - 1, 16));
    thread_local std::minstd_rand random(std::random_device{}());
    const auto delay = std::chrono::milliseconds(base / 2 + static_cast<int64_t>(random() % (base / 2 + 1)));
    const TimePoint until = SteadyClock::now() + delay;
    if (until >= deadline) return false;
    for (TimePoint now = SteadyClock::now(); now < until; now = SteadyClock::now()) {
      if (limit.cancelled && limit.cancelled()) return false;
      std::this_thread::sleep_for(std::min<Duration>(until - now,
                                                     net::RequestClient::kStopCheckInterval));
    }
    return true;
  }

  Error cancelled(RegistryOp op) const {
    return make_error(ErrorCode::kCancelled, "cancelled while waiting for the registry's answer "
                                             "to " + std::string(protocol::registry_op_name(op)));
  }

  std::unique_ptr<net::RequestClient> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    net::SocketOptions socket_options;
    socket_options.curve_client = options_.curve;
    return std::make_unique<net::RequestClient>(*options_.context, options_.endpoint,
                                                socket_options);
  }

  void release(std::unique_ptr<net::RequestClient> connection) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }

  RegistryClientOptions options_;
  std::unique_ptr<net::Context> owned_context_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<net::RequestClient>> idle_;  // at most one per concurrent caller
};

namespace {

Result<ToolSummary> tool_summary_from(const Value& v) {
  if (!v.is_object()) return make_error(ErrorCode::kInternal, "tool list entry is not a map");
  return ToolSummary{v.get_string("name"), v.get_string("description"), v.get_int("revision"),
                     v.get_int("updated_ms")};
}

}  // namespace

RegistryClient::RegistryClient(RegistryClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RegistryClient::~RegistryClient() = default;

const std::string& RegistryClient::endpoint() const { return impl_->endpoint(); }

Result<Value> RegistryClient::call(RegistryOp op, Value args, std::string id,
                                   const CallLimit& limit) {
  return impl_->call(op, std::move(args), std::move(id), limit);
}

Status RegistryClient::ping() {
  auto r = call(RegistryOp::kPing, Value::object());
  if (!r.ok()) return std::move(r).error();
  return ok_status();
}

Result<Value> RegistryClient::status() { return call(RegistryOp::kStatus, Value::object()); }

Result<Value> RegistryClient::backup(const std::string& dir) {
  Value args = Value::object();
  if (!dir.empty()) args["dir"] = dir;
  return call(RegistryOp::kBackup, std::move(args));
}

Result<int64_t> RegistryClient::register_tool(const ToolDefinition& definition, bool replace) {
  Value args;
  args["definition"] = to_value(definition);
  args["replace"] = replace;
  auto r = call(RegistryOp::kToolRegister, std::move(args));
  if (!r.ok()) return std::move(r).error();
  return r->get_int("revision");
}

Result<int64_t> RegistryClient::update_tool(const ToolDefinition& definition, int64_t expected_revision) {
  Value args;
  args["definition"] = to_value(definition);
  if (expected_revision > 0) args["expected_revision"] = expected_revision;
  auto r = call(RegistryOp::kToolUpdate, std::move(args));
  if (!r.ok()) return std::move(r).error();
  return r->get_int("revision");
}

Result<StoredToolInfo> RegistryClient::get_tool(const std::string& name, const CallLimit& limit) {
  Value args;
  args["name"] = name;
  auto r = call(RegistryOp::kToolGet, std::move(args), {}, limit);
  if (!r.ok()) return std::move(r).error();
  const Value* definition = r->find("definition");
  if (!definition) return make_error(ErrorCode::kInternal, "tool.get reply has no definition");
  auto parsed = tool_definition_from_value(*definition);
  if (!parsed.ok()) return parsed.error().with_context("the registry's definition of " + name);
  return StoredToolInfo{std::move(*parsed), r->get_int("revision"), r->get_int("created_ms"),
                        r->get_int("updated_ms")};
}

Result<std::vector<ToolSummary>> RegistryClient::list_tools() {
  auto r = call(RegistryOp::kToolList, Value::object());
  if (!r.ok()) return std::move(r).error();
  std::vector<ToolSummary> out;
  if (const Value* tools = r->find("tools"); tools && tools->is_array()) {
    for (const auto& t : tools->as_array()) {
      auto s = tool_summary_from(t);
      if (!s.ok()) return std::move(s).error();
      out.push_back(std::move(*s));
    }
  }
  return out;
}

Status RegistryClient::remove_tool(const std::string& name) {
  Value args;
  args["name"] = name;
  auto r = call(RegistryOp::kToolRemove, std::move(args));
  if (!r.ok()) return std::move(r).error();
  return ok_status();
}

Result<SessionInfo> RegistryClient::create_session(const std::string& name, int64_t max_turns,
                                                   bool exist_ok) {
  Value args;
  args["name"] = name;
  if (max_turns > 0) args["max_turns"] = max_turns;
  args["exist_ok"] = exist_ok;
  auto r = call(RegistryOp::kSessionCreate, std::move(args));
  if (!r.ok()) return std::move(r).error();
  return session_info_from(*r);
}

Result<Session> RegistryClient::get_session(const std::string& name, int64_t last_turns,
                                            const CallLimit& limit) {
  Value args;
  args["name"] = name;
  if (last_turns > 0) args["last_turns"] = last_turns;
  auto r = call(RegistryOp::kSessionGet, std::move(args), {}, limit);
  if (!r.ok()) return std::move(r).error();
  return session_from(*r);
}

Result<Session> RegistryClient::get_recent_turns(const std::string& name, int64_t last_turns,
                                                 int64_t max_bytes, const CallLimit& limit) {
  Value args;
  args["name"] = name;
  if (last_turns > 0) args["last_turns"] = last_turns;
  if (max_bytes > 0) args["max_bytes"] = max_bytes;
  auto r = call(RegistryOp::kSessionGet, std::move(args), {}, limit);
  if (!r.ok()) return std::move(r).error();
  return session_from(*r);
}

namespace {

// Whether a later page still shows the session the first page did: not deleted and created
// again (another created_ms), not truncated below what was already read.
Status same_history(const SessionInfo& first, const SessionInfo& now, int64_t read_up_to) {
  if (now.created_ms == first.created_ms && now.version >= read_up_to) return ok_status();
  return make_error(ErrorCode::kConflict,
                    "session \"" + first.name + "\" was truncated or deleted and created again " +
                        "while it was read (version " + std::to_string(first.version) +
                        " at the start, " + std::to_string(now.version) + " now); read it again");
}

}  // namespace

Status RegistryClient::read_session_pages(const std::string& name, const SessionPage& page) {
  std::optional<SessionInfo> first;
  int64_t after = 0;
  for (;;) {
    Value args;
    args["name"] = name;
    args["after_turn"] = after;
    auto r = call(RegistryOp::kSessionGet, std::move(args));
    if (!r.ok()) return std::move(r).error();
    auto got = session_from(*r);
    if (!got.ok()) return std::move(got).error();
    if (!first) first = got->info;
    if (auto st = same_history(*first, got->info, after); !st.ok()) return st;
    // Turns past the first page's version were appended meanwhile: not part of this snapshot.
    std::erase_if(got->turns, [&](const SessionTurn& t) { return t.index > first->version; });
    const bool more = r->get_bool("more") && after < first->version;
    if (more && got->turns.empty()) {
      return make_error(ErrorCode::kInternal, "session.get gave an empty page with more to come");
    }
    if (!got->turns.empty() || after == 0) {
      const int64_t last = got->turns.empty() ? after : got->turns.back().index;
      if (auto st = page(*first, got->turns); !st.ok()) return st;
      after = last;
    }
    if (!more || after >= first->version) return ok_status();
  }
}

Result<Value> RegistryClient::limits(const CallLimit& limit) {
  auto r = call(RegistryOp::kStatus, Value::object(), {}, limit);
  if (!r.ok()) return std::move(r).error();
  const Value* limits = r->find("limits");
  return limits && limits->is_object() ? *limits : Value::object();
}

Result<std::vector<SessionInfo>> RegistryClient::list_sessions(int64_t limit) {
  Value args = Value::object();
  if (limit > 0) args["limit"] = limit;
  auto r = call(RegistryOp::kSessionList, std::move(args));
  if (!r.ok()) return std::move(r).error();
  std::vector<SessionInfo> out;
  if (const Value* sessions = r->find("sessions"); sessions && sessions->is_array()) {
    for (const auto& s : sessions->as_array()) {
      auto info = session_info_from(s);
      if (!info.ok()) return std::move(info).error();
      out.push_back(std::move(*info));
    }
  }
  return out;
}

Result<int64_t> RegistryClient::append_turn(const TurnAppend& turn, const CallLimit& limit) {
  Value args;
  args["name"] = turn.session;
  args["expected_version"] = turn.expected_version;
  Value messages = Value::array();
  for (const auto& m : turn.messages) messages.push_back(to_value(m));
  args["messages"] = std::move(messages);
  if (turn.max_turns > 0) args["max_turns"] = turn.max_turns;
  if (turn.create) args["create"] = true;
  if (!turn.origin.empty()) args["origin"] = turn.origin;
  auto r = call(RegistryOp::kSessionAppend, std::move(args), turn.id, limit);
  if (!r.ok()) return std::move(r).error();
  return r->get_int("version");
}

Result<int64_t> RegistryClient::truncate_session(const std::string& name, int64_t keep_turns,
                                                 int64_t expected_version) {
  Value args;
  args["name"] = name;
  args["keep_turns"] = keep_turns;
  if (expected_version >= 0) args["expected_version"] = expected_version;
  auto r = call(RegistryOp::kSessionTruncate, std::move(args));
  if (!r.ok()) return std::move(r).error();
  return r->get_int("version");
}

Status RegistryClient::delete_session(const std::string& name) {
  Value args;
  args["name"] = name;
  auto r = call(RegistryOp::kSessionDelete, std::move(args));
  if (!r.ok()) return std::move(r).error();
  return ok_status();
}

}  // namespace pl
