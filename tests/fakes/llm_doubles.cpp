#include "tests/fakes/llm_doubles.h"

#include <algorithm>

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

void ScriptedProvider::push_error(ErrorCode code, std::string message) {
  std::lock_guard lock(mutex_);
  script_.emplace_back(make_error(code, std::move(message)));
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

Result<worker::llm::SessionSnapshot> MemorySessionStore::load(const std::string& name, size_t last_n,
                                                              const CallContext&) {
  worker::llm::SessionSnapshot snapshot;
  {
    std::lock_guard lock(mutex_);
    const Session& s = sessions_[name];
    const size_t skip = last_n == 0 || s.turns.size() <= last_n ? 0 : s.turns.size() - last_n;
    snapshot.turns.assign(s.turns.begin() + static_cast<std::ptrdiff_t>(skip), s.turns.end());
    snapshot.version = s.version;
  }
  if (after_load) after_load();
  return snapshot;
}

Result<int64_t> MemorySessionStore::append(const std::string& name,
                                           const std::vector<worker::llm::SessionTurn>& turns,
                                           int64_t expected_version, const CallContext&) {
  std::lock_guard lock(mutex_);
  Session& s = sessions_[name];
  if (s.version != expected_version) {
    return make_error(ErrorCode::kConflict, "session " + name + " is at version " + std::to_string(s.version));
  }
  s.turns.insert(s.turns.end(), turns.begin(), turns.end());
  return ++s.version;
}

void MemorySessionStore::seed(const std::string& name, std::vector<worker::llm::SessionTurn> turns) {
  std::lock_guard lock(mutex_);
  Session& s = sessions_[name];
  s.turns.insert(s.turns.end(), turns.begin(), turns.end());
  ++s.version;
}

std::vector<worker::llm::SessionTurn> MemorySessionStore::turns(const std::string& name) {
  std::lock_guard lock(mutex_);
  return sessions_[name].turns;
}

CallContext call_within(Duration in) { return CallContext{SteadyClock::now() + in, nullptr}; }

}  // namespace pl::fakes
