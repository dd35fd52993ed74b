#include "worker/llm/robust.h"

#include <algorithm>

namespace pl::worker::llm {
namespace {

constexpr size_t kSimplifiedPromptChars = 2000;

struct Condition {
  std::string_view name;
  ErrorCode code;
};
constexpr Condition kConditions[] = {
    {"timeout", ErrorCode::kTimeout},          {"rate_limit", ErrorCode::kRateLimited},
    {"api_error", ErrorCode::kProviderError},  {"server_error", ErrorCode::kProviderError},
    {"network_error", ErrorCode::kUnavailable}, {"unavailable", ErrorCode::kUnavailable},
};

struct Action {
  std::string_view name;
  FallbackAction action;
};
constexpr Action kActions[] = {
    {"fail", FallbackAction::kFail},
    {"skip", FallbackAction::kSkip},
    {"mock_response", FallbackAction::kMockResponse},
    {"simplified_prompt", FallbackAction::kSimplifiedPrompt},
};

}  // namespace

Result<RobustConfig> read_robust_config(const Value& v) {
  RobustConfig c;
  if (v.is_null()) return c;
  if (!v.is_object()) return make_error(ErrorCode::kInvalidInput, "retry_config must be a map");
  c.max_retries = std::max<int64_t>(0, v.get_int("max_retries", c.max_retries));
  if (const Value* conditions = v.find("retry_conditions"); conditions && conditions->is_array()) {
    for (const Value& name : conditions->as_array()) {
      const Condition* found = nullptr;
      for (const Condition& cond : kConditions) {
        if (name.is_string() && name.as_string() == cond.name) found = &cond;
      }
      if (!found) {
        return make_error(ErrorCode::kInvalidInput,
                          "retry_config.retry_conditions: unknown condition " +
                              (name.is_string() ? "\"" + name.as_string() + "\"" : std::string("(not a string)")));
      }
      c.retry_on.push_back(found->code);
    }
  }
  const std::string action = v.get_string("fallback_action", "fail");
  const Action* found = nullptr;
  for (const Action& a : kActions) {
    if (a.name == action) found = &a;
  }
  if (!found) {
    return make_error(ErrorCode::kInvalidInput, "retry_config.fallback_action \"" + action +
                                                    "\" is not one of fail, skip, mock_response, simplified_prompt");
  }
  c.fallback = found->action;
  return c;
}

bool should_fall_back(const Error& error, uint32_t attempt, const RobustConfig& config,
                      const protocol::RetryOutlook* broker) {
  const ErrorCode code = error.code;
  if (code == ErrorCode::kCancelled) return false;
  if (broker) return !broker->retries(code, error.retry_after_ms);
  const bool retried_code =
      config.retry_on.empty()
          ? is_retryable(code)
          : std::find(config.retry_on.begin(), config.retry_on.end(), code) != config.retry_on.end();
  const bool last_attempt = static_cast<int64_t>(attempt) >= config.max_retries + 1;
  return !retried_code || last_attempt;
}

std::string_view fallback_name(FallbackAction action) {
  for (const Action& a : kActions) {
    if (a.action == action) return a.name;
  }
  return "fail";
}

std::string simplified_prompt(std::string_view prompt) {
  std::string cut(prompt.substr(0, kSimplifiedPromptChars));
  while (!cut.empty() && cut.size() < prompt.size() &&
         (static_cast<unsigned char>(prompt[cut.size()]) & 0xC0) == 0x80) {
    cut.pop_back();  // do not end inside a multi-byte character
  }
  return "Answer briefly and simply.\n\n" + cut;
}

}  // namespace pl::worker::llm
