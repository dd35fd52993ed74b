// What the run coordinator asks the dispatcher to run, and what it gets back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl::broker {

enum class BackoffKind { kFixed, kLinear, kExponential };

struct RetrySettings {
  uint32_t max_attempts = 1;  // attempts that may fail (1 = no retry)
  BackoffKind backoff = BackoffKind::kExponential;
  int64_t base_delay_ms = 1000;
  int64_t max_delay_ms = 30000;
  // Error codes (error_code_name) that may be retried; empty = every retryable code.
  std::vector<std::string> retry_on;
};

struct WorkSpec {
  std::string item_id;  // deterministic within its run: "<run>/<path>"
  std::string run_id;
  std::string step_name;  // for people: "loop[3].greet"
  std::string step_type;  // canonical: "echo"
  std::string provider;   // the LLM provider the item calls ("anthropic", ...), "" for none
  Value input;            // the bound step
  // {workspace_dir, output_dir, pipeline_dir} (protocol/work.h); shared by every item of a
  // pipeline. Null: an empty context.
  std::shared_ptr<const Value> context;
  int64_t timeout_ms = 300000;
  RetrySettings retry;
  // Whether the worker is told the retries left after each attempt (protocol::RetryOutlook):
  // only an executor that decides on its last chance needs it (claude_robust's fallback), and
  // every other item is spared the bytes.
  bool tell_retries = false;
  // Its executor can fall back without its provider (claude_robust with fallback_action skip
  // or mock_response): when the provider's circuit is open at its last attempt, the item is
  // sent to fall back (RetryOutlook::circuit_open) instead of failing as circuit_open.
  bool falls_back_without_provider = false;
  // The submitter's own reference to the item (a run's leaf node), handed back in the item's
  // Completion: found by a number, not by hashing the item id.
  uint64_t tag = 0;
  // value_digest(input), recorded with the result: a later life of the run reuses the result
  // only for the same input. 0: none.
  uint64_t input_digest = 0;
};

// The key under which an item's recorded result (in the run store, in exports) keeps its
// WorkSpec's input_digest, as 16 hex digits. The pipeline never sees it.
inline constexpr std::string_view kInputDigestKey = "input_digest";

// The final outcome of an item: a step result ({success, ..., attempts}).
struct Completion {
  std::string item_id;
  std::string run_id;
  std::string step_name;
  Value result;
  bool success = false;  // result's `success`, read once
  uint64_t tag = 0;  // the WorkSpec's
  uint64_t input_digest = 0;  // the WorkSpec's
};

}  // namespace pl::broker
