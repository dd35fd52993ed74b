#include "worker/executors/claude_robust_executor.h"

#include <spdlog/spdlog.h>

#include "common/protocol/usage_sum.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/robust.h"

namespace pl::worker {
namespace {

constexpr int64_t kSimplifiedMaxTokens = 1024;

// claude_options for the simplified_prompt fallback: no tools, one turn, few tokens.
Value simplified_options(const Value& options) {
  Value out = options.is_object() ? options : Value::object();
  out["allowed_tools"] = Value::array();
  out["max_turns"] = 1;
  const int64_t max_tokens = out.get_int("max_tokens", kSimplifiedMaxTokens);
  out["max_tokens"] = std::min(max_tokens, kSimplifiedMaxTokens);
  return out;
}

// `fields` with the usage of the calls `failed` paid for (Error::fields) added to theirs.
Value with_usage_of(const Error& failed, Value fields) {
  const Value* spent = failed.fields ? failed.fields->find("usage") : nullptr;
  if (!spent) return fields;
  if (!fields.is_object()) fields = Value::object();
  fields["usage"] = protocol::sum_usage(*spent, llm::member_or_null(fields, "usage"));
  return fields;
}

}  // namespace

ClaudeRobustExecutor::ClaudeRobustExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> ClaudeRobustExecutor::execute(const protocol::WorkItem& item,
                                            const ExecutionContext& context) {
  const Value& input = item.input;
  auto config = llm::read_robust_config(llm::member_or_null(input, "retry_config"));
  if (!config.ok()) return std::move(config).error();
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();

  llm::ClaudeCall call;
  call.claude_options = llm::member_or_null(input, "claude_options");
  const protocol::RetryOutlook* broker = item.retry ? &*item.retry : nullptr;
  Error original;
  if (broker && broker->circuit_open) {
    // The provider's breaker is open and this is the last attempt: fall back without a call.
    // Only skip and mock_response are sent so; simplified_prompt would call the provider.
    original = make_error(ErrorCode::kCircuitOpen, *broker->circuit_open);
    if (config->fallback != llm::FallbackAction::kSkip &&
        config->fallback != llm::FallbackAction::kMockResponse) {
      return original;
    }
  } else {
    auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
    if (outcome.ok()) {
      Value result = llm::conversation_result(*outcome, services_->pricing());
      result["attempt"] = static_cast<int64_t>(item.attempt);
      return result;
    }
    original = std::move(outcome).error();
    if (!llm::should_fall_back(original, item.attempt, *config, broker) ||
        config->fallback == llm::FallbackAction::kFail) {
      return original;
    }
  }
  spdlog::warn("{}: {} after: {}", item.step_name, llm::fallback_name(config->fallback),
               original.message);

  Value result;
  switch (config->fallback) {
    case llm::FallbackAction::kSkip:
      result["skipped"] = true;
      break;
    case llm::FallbackAction::kMockResponse: {
      auto mocked = llm::claude_call_spec(call.claude_options);
      if (!mocked.ok()) return original;
      llm::CallPlan plan;
      plan.spec = std::move(*mocked);
      // The mock answers as the model the step asked for (or Anthropic's default), as it does
      // when it stands in for a provider without a key.
      if (auto asked = services_->providers().select("anthropic", plan.spec.model); asked.ok()) {
        plan.spec.model = asked->model;
      }
      plan.spec.provider = "mock";
      plan.spec.allowed_tools.clear();
      plan.messages.push_back(providers::Message::user(*prompt));
      auto answer = llm::run_call(*services_, plan, scope);
      if (!answer.ok()) return original;
      result = llm::conversation_result(*answer, services_->pricing());
      result["stands_in_for"] = "anthropic";
      break;
    }
    case llm::FallbackAction::kSimplifiedPrompt: {
      llm::ClaudeCall simple;
      simple.claude_options = simplified_options(call.claude_options);
      auto answer = llm::run_claude_call(*services_, scope, simple, llm::simplified_prompt(*prompt));
      if (!answer.ok()) {
        Error both = make_error(original.code, original.message +
                                                   "; the simplified_prompt fallback failed too: " +
                                                   answer.error().message);
        both.retry_after_ms = original.retry_after_ms;
        if (original.fields || answer.error().fields) {
          const Error& second = answer.error();
          both.fields = std::make_shared<const Value>(
              with_usage_of(original, second.fields ? *second.fields : Value::object()));
        }
        return both;
      }
      result = llm::conversation_result(*answer, services_->pricing());
      break;
    }
    case llm::FallbackAction::kFail:
      return original;
  }
  // What the first call cost before it failed counts with what the fallback cost.
  result = with_usage_of(original, std::move(result));
  result["attempt"] = static_cast<int64_t>(item.attempt);
  result["fallback"] = std::string(llm::fallback_name(config->fallback));
  result["original_error"] = original.message;
  // The broker's circuit breaker counts a fallback as the provider's failure by this code.
  result["original_error_code"] = std::string(error_code_name(original.code));
  return result;
}

}  // namespace pl::worker
