#include "tests/fakes/llm_doubles.h"

#include <algorithm>
#include <iterator>

#include "common/json.h"

namespace pl::fakes {

using worker::providers::CallContext;
using worker::providers::Completion;
using worker::providers::CompletionRequest;
using worker::providers::HttpRequest;
using worker::providers::HttpResponse;
using worker::providers::StopReason;
using worker::providers::ToolCall;
using worker::providers::ToolSpec;

void FakeHttpClient::push(long status, std::string body, std::map<std::string, std::string> headers) {
  std::lock_guard lock(mutex_);
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  script_.emplace_back(std::move(r));
}

void FakeHttpClient::push_error(ErrorCode code, std::string message) {
  std::lock_guard lock(mutex_);
  script_.emplace_back(make_error(code, std::move(message)));
}

Result<HttpResponse> FakeHttpClient::send(const HttpRequest& request) {
  std::lock_guard lock(mutex_);
  requests.push_back(request);
  if (script_.empty()) {
    HttpResponse r;
    r.status = 500;
    r.body = "script exhausted";
    return r;
  }
  auto next = std::move(script_.front());
  script_.pop_front();
  return next;
}

void ScriptedProvider::push(Completion completion) {
  std::lock_guard lock(mutex_);
  script_.emplace_back(std::move(completion));
}

void ScriptedProvider::push_text(std::string text, int64_t in, int64_t out) {
  Completion c;
  c.provider = name_;
  c.model = "scripted-model";
  c.text = std::move(text);
  c.usage.input_tokens = in;
  c.usage.output_tokens = out;
  push(std::move(c));
}

void ScriptedProvider::push_cut_text(std::string text, StopReason reason) {
  Completion c;
  c.provider = name_;
  c.model = "scripted-model";
  c.text = std::move(text);
  c.stop_reason = reason;
  c.stop_detail = reason == StopReason::kMaxTokens ? "max_tokens" : "model_context_window_exceeded";
  c.usage.input_tokens = 10;
  c.usage.output_tokens = 5;
  push(std::move(c));
}

void ScriptedProvider::push_tool_call(std::string tool, Value arguments, std::string id) {
  Completion c;
  c.provider = name_;
  c.model = "scripted-model";
  c.tool_calls.push_back(ToolCall{std::move(id), std::move(tool), std::move(arguments), ""});
  c.stop_reason = StopReason::kToolUse;
  c.usage.input_tokens = 10;
  c.usage.output_tokens = 5;
  push(std::move(c));
}

void ScriptedProvider::push_error(ErrorCode code, std::string message, int64_t retry_after_ms) {
  Error error = make_error(code, std::move(message));
  error.retry_after_ms = retry_after_ms;
  push_failure(std::move(error));
}

void ScriptedProvider::push_failure(Error error) {
  std::lock_guard lock(mutex_);
  script_.emplace_back(std::move(error));
}

Result<Completion> ScriptedProvider::complete(const CompletionRequest& request, const CallContext&) {
  std::lock_guard lock(mutex_);
  requests.push_back(request);
  if (script_.empty()) return make_error(ErrorCode::kInternal, "scripted provider: script exhausted");
  auto next = std::move(script_.front());
  script_.pop_front();
  return next;
}

void FakeToolInvoker::add(std::string name, Tool run, std::string description) {
  std::lock_guard lock(mutex_);
  ToolSpec spec;
  spec.name = name;
  spec.description = std::move(description);
  spec.input_schema["type"] = "object";
  spec.input_schema["properties"]["query"]["type"] = "string";
  tools_[std::move(name)] = {std::move(spec), std::move(run)};
}

Result<std::vector<ToolSpec>> FakeToolInvoker::describe(const std::vector<std::string>& names,
                                                        const CallContext&) {
  std::lock_guard lock(mutex_);
  std::vector<ToolSpec> out;
  std::string missing;
  for (const std::string& n : names) {
    auto it = tools_.find(n);
    if (it == tools_.end() && skipped_.count(n)) continue;
    if (it == tools_.end()) {
      missing += (missing.empty() ? "" : ", ") + n;
    } else {
      out.push_back(it->second.first);
    }
  }
  if (!missing.empty()) return make_error(ErrorCode::kNotFound, "no such tools: " + missing);
  return out;
}

Result<Value> FakeToolInvoker::invoke(const std::string& name, const Value& arguments,
                                      const worker::llm::ToolRunContext& context) {
  Tool run;
  {
    std::lock_guard lock(mutex_);
    calls.push_back(Call{name, arguments,
                         context.work_context ? context.work_context->get_string("workspace_dir") : ""});
    auto it = tools_.find(name);
    if (it == tools_.end()) return make_error(ErrorCode::kNotFound, "no such tool: " + name);
    run = it->second.second;
  }
  return run(arguments);
}

namespace {

// A turn's size as the registry counts it: its messages as JSON.
size_t turn_bytes(const std::vector<SessionMessage>& messages) {
  Value list = Value::array();
  for (const SessionMessage& m : messages) list.push_back(to_value(m));
  return to_json(list).size();
}

}  // namespace

Result<Session> MemorySessionStore::load(const std::string& name,
                                         const worker::llm::HistoryWindow& window,
                                         const CallContext&) {
  Session copy;
  bool found = false;
  {
    std::lock_guard lock(mutex_);
    ++loads;
    windows.push_back(window);
    auto it = sessions_.find(name);
    found = it != sessions_.end();
    if (found) copy = it->second;
    copy.info.name = name;
    if (window.last_turns > 0 && copy.turns.size() > window.last_turns) {
      copy.turns.erase(copy.turns.begin(),
                       copy.turns.end() - static_cast<std::ptrdiff_t>(window.last_turns));
    }
    if (window.max_bytes > 0) {
      size_t bytes = 0;
      auto first_kept = copy.turns.end();
      while (first_kept != copy.turns.begin()) {
        bytes += turn_bytes(std::prev(first_kept)->messages);
        if (bytes > window.max_bytes) break;
        --first_kept;
      }
      copy.turns.erase(copy.turns.begin(), first_kept);
    }
  }
  if (after_load) after_load();
  if (!found) return make_error(ErrorCode::kNotFound, "no session \"" + name + "\"");
  return copy;
}

Result<int64_t> MemorySessionStore::append(const TurnAppend& turn, const CallContext&) {
  if (before_append) before_append();
  std::lock_guard lock(mutex_);
  if (turn_bytes_limit > 0 && static_cast<int64_t>(turn_bytes(turn.messages)) > turn_bytes_limit) {
    return make_error(ErrorCode::kTooLarge, "the turn is over the limit");
  }
  auto it = sessions_.find(turn.session);
  if (it == sessions_.end() && !turn.create) {
    return make_error(ErrorCode::kNotFound, "no session " + turn.session);
  }
  const bool created = it == sessions_.end();
  Session& s = sessions_[turn.session];
  if (s.info.version != turn.expected_version) {
    return make_error(ErrorCode::kConflict, "session " + turn.session + " is at version " +
                                                std::to_string(s.info.version));
  }
  // As the registry: the first append sets the session's own limit, a higher one raises it.
  if (created || (s.info.max_turns > 0 && turn.max_turns > s.info.max_turns)) {
    s.info.max_turns = turn.max_turns;
  }
  for (int64_t limit : {s.info.max_turns, turn.max_turns}) {
    if (limit > 0 && s.info.version >= limit) {
      return make_error(ErrorCode::kTooLarge, "session " + turn.session + " is full");
    }
  }
  SessionTurn stored{++s.info.version, 0, turn.origin, turn.messages};
  s.info.usage += stored.usage();
  s.turns.push_back(std::move(stored));
  ++appends;
  if (lose_append_replies) {
    return make_error(ErrorCode::kUnavailable, "no answer from the registry (its reply lost)");
  }
  return s.info.version;
}

Result<int64_t> MemorySessionStore::max_turn_bytes(const CallContext&) { return turn_bytes_limit; }

void MemorySessionStore::seed(const std::string& name,
                              const std::vector<std::pair<std::string, std::string>>& messages,
                              const std::string& origin) {
  std::lock_guard lock(mutex_);
  Session& s = sessions_[name];
  SessionTurn turn{++s.info.version, 0, origin, {}};
  for (const auto& [role, text] : messages) {
    turn.messages.push_back(SessionMessage{role, Value(text), std::nullopt, 0});
  }
  s.turns.push_back(std::move(turn));
}

void MemorySessionStore::limit(const std::string& name, int64_t max_turns) {
  std::lock_guard lock(mutex_);
  sessions_[name].info.max_turns = max_turns;
}

Session MemorySessionStore::session(const std::string& name) {
  std::lock_guard lock(mutex_);
  return sessions_[name];
}

CallContext call_within(Duration in) { return CallContext{SteadyClock::now() + in, nullptr}; }

}  // namespace pl::fakes
