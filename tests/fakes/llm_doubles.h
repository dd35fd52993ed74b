// In-process test doubles for the provider and LLM seams. Each records what it was asked to
// do, so tests assert on effects.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "worker/llm/session_store.h"
#include "worker/llm/tool_invoker.h"
#include "worker/providers/http_client.h"
#include "worker/providers/provider.h"

namespace pl::fakes {

// An HttpClient that plays back scripted outcomes in order and records every request. When the
// script runs out it answers 500.
class FakeHttpClient final : public worker::providers::HttpClient {
 public:
  void push(long status, std::string body, std::map<std::string, std::string> headers = {});
  void push_error(ErrorCode code, std::string message);
  Result<worker::providers::HttpResponse> send(const worker::providers::HttpRequest& request) override;

  std::vector<worker::providers::HttpRequest> requests;  // what was sent, in order

 private:
  std::mutex mutex_;
  std::deque<Result<worker::providers::HttpResponse>> script_;
};

// A Provider that plays back scripted completions (or errors) and records every request.
class ScriptedProvider final : public worker::providers::Provider {
 public:
  explicit ScriptedProvider(std::string name = "scripted") : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  void push(worker::providers::Completion completion);
  void push_text(std::string text, int64_t in = 10, int64_t out = 5);
  // A text answer cut off: at the output-token limit ("max_tokens"), or where the context window
  // ran out ("model_context_window_exceeded").
  void push_cut_text(std::string text, worker::providers::StopReason reason =
                                           worker::providers::StopReason::kMaxTokens);
  void push_tool_call(std::string tool, Value arguments, std::string id = "call_1");
  // `retry_after_ms`: how long the provider asks to be left alone (its Retry-After).
  void push_error(ErrorCode code, std::string message, int64_t retry_after_ms = 0);
  void push_failure(Error error);  // as made elsewhere: one carrying what it was billed
  Result<worker::providers::Completion> complete(const worker::providers::CompletionRequest& request,
                                                 const worker::providers::CallContext& call) override;

  std::vector<worker::providers::CompletionRequest> requests;

 private:
  std::string name_;
  std::mutex mutex_;
  std::deque<Result<worker::providers::Completion>> script_;
};

// Tools from a table: each has a spec and a function from arguments to output.
class FakeToolInvoker final : public worker::llm::ToolInvoker {
 public:
  using Tool = std::function<Result<Value>(const Value& arguments)>;
  void add(std::string name, Tool run, std::string description = "a fake tool");
  // Names describe() leaves out without an error, as the registry's invoker does with Claude
  // Code's own tools when none of that name is registered.
  void skip(std::string name) { skipped_.insert(std::move(name)); }

  Result<std::vector<worker::providers::ToolSpec>> describe(
      const std::vector<std::string>& names, const worker::providers::CallContext& call) override;
  Result<Value> invoke(const std::string& name, const Value& arguments,
                       const worker::llm::ToolRunContext& context) override;

  struct Call {
    std::string name;
    Value arguments;
    std::string workspace_dir;
  };
  std::vector<Call> calls;

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<worker::providers::ToolSpec, Tool>> tools_;
  std::set<std::string> skipped_;
};

// Sessions in memory, with the version, turn-limit and turn-size checks of the real registry.
class MemorySessionStore final : public worker::llm::SessionStore {
 public:
  Result<Session> load(const std::string& name, const worker::llm::HistoryWindow& window,
                       const worker::providers::CallContext& call) override;
  Result<int64_t> append(const TurnAppend& turn,
                         const worker::providers::CallContext& call) override;
  Result<int64_t> max_turn_bytes(const worker::providers::CallContext& call) override;

  // Seeds a session with one turn of these (role, text) messages, appended by `origin`.
  void seed(const std::string& name, const std::vector<std::pair<std::string, std::string>>& messages,
            const std::string& origin = "");
  // Sets a session's own max_turns (creating it).
  void limit(const std::string& name, int64_t max_turns);
  Session session(const std::string& name);
  // Called inside load(), after reading: lets a test change the session "meanwhile".
  std::function<void()> after_load;
  // Called inside append() before anything is checked: lets a test change the session "meanwhile".
  std::function<void()> before_append;
  int appends = 0;  // calls of append() that stored a turn
  // append() stores the turn, then fails as a registry whose answer never came (it was paused).
  bool lose_append_replies = false;
  int loads = 0;    // calls of load()
  int64_t turn_bytes_limit = 0;  // the registry's max_turn_bytes; 0: none, and not reported
  std::vector<worker::llm::HistoryWindow> windows;  // what each load() asked for

 private:
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
};

// A CallContext that never cancels, with a deadline `in` from now.
worker::providers::CallContext call_within(Duration in = std::chrono::seconds(30));

}  // namespace pl::fakes
