// The part every LLM executor shares: from a work item's bounds and a CallPlan to a finished
// conversation, and from a conversation to the step result.
//
// Step result fields made here:
//   text            the model's final text
//   provider        who answered: "anthropic", "gemini", "openai", or "mock"
//   stands_in_for   only when the mock answered for a provider without a key: its name
//   mock            true when the mock answered (absent otherwise)
//   model           as the provider reports it
//   usage           {input_tokens, output_tokens, cost_usd, estimated?} summed over all turns
//   turns           model calls made
//   stop_reason     end_turn, tool_use, max_tokens, context_window_exceeded or other
//   tool_calls      [{turn, name, arguments, result, is_error}] when tools ran
//   function_calls  [{name, args}] the final answer's calls that were not run (gemini)
//   max_turns_reached  true when the loop stopped at max_turns with the model wanting tools
#pragma once

#include <vector>

#include "common/protocol/work.h"
#include "common/result.h"
#include "common/value.h"
#include "worker/executor.h"
#include "worker/llm/call_spec.h"
#include "worker/llm/llm_services.h"
#include "worker/llm/prompt_builder.h"
#include "worker/llm/tool_loop.h"

namespace pl::worker::llm {

// The bounds and surroundings of one work item, for the prompt, the provider and the tools.
struct ItemScope {
  providers::CallContext call;
  PromptContext prompt;
  ToolRunContext tools;
};

// REQUIRES: `item` and `services` outlive the scope (it points into item's context).
ItemScope item_scope(const protocol::WorkItem& item, const ExecutionContext& context,
                     const LlmServices& services);

struct CallPlan {
  CallSpec spec;
  std::vector<providers::Message> messages;  // the conversation so far, ending with the prompt
  std::vector<providers::ToolSpec> declared_tools;  // offered but never run (gemini functions)
  providers::ToolChoice tool_choice = providers::ToolChoice::kAuto;
  bool json_output = false;
};

struct CallOutcome {
  Conversation conversation;
  std::string requested_provider;  // the spec's provider
  bool mock = false;
  // allowed_tools the call went on without (Claude Code's own tools, not registered here): said
  // in the result's `warnings`, where the user sees it, not only in the worker's log.
  std::vector<std::string> skipped_tools;
};

// Selects the provider and model, fetches the allowed tools' definitions (errors there are not
// the provider's fault, see blame.h), and runs the tool-use loop (allowed tools run through
// services.tools(); declared tools are only offered). An error after calls that were paid for
// keeps their cost as the failed result's fields {provider, model, usage} (Error::fields).
Result<CallOutcome> run_call(const LlmServices& services, const CallPlan& plan, const ItemScope& scope);

// `e` with the tokens it carries (providers/spent.h) priced into the result fields a failure
// reports: {provider, mock?, model, usage}. Unchanged when it carries none.
Error with_priced_spending(Error e, bool mock, const PricingTable& pricing);

// `e`, a failure to read the final answer (no JSON in it, output not matching a schema), with a
// note when that answer was cut at the output-token limit or the context window, which is most
// likely why: "...; the answer was cut at the output-token limit (max_tokens 100), which is
// likely why: raise the step's max_tokens (...)". Unchanged otherwise.
Error with_cut_note(Error e, const Conversation& conversation);

// The result fields listed above.
Value conversation_result(const CallOutcome& outcome, const PricingTable& pricing);

// The prompt of `input` (its `prompt` key) as text, per prompt_builder.h.
Result<std::string> item_prompt(const Value& input, const ItemScope& scope);

// A member of `v`, or a null Value when there is none.
const Value& member_or_null(const Value& v, std::string_view key);

// A call of the claude family: claude_options (after any preset), text to append to the
// system prompt (a format instruction), and whether JSON is wanted.
struct ClaudeCall {
  Value claude_options;
  std::string system_suffix;
  bool json_output = false;
  std::vector<providers::Message> history;  // turns before the prompt (claude_session)
};

// Builds the plan for `call` with `prompt` as the last user message and runs it.
Result<CallOutcome> run_claude_call(const LlmServices& services, const ItemScope& scope,
                                    const ClaudeCall& call, const std::string& prompt);

}  // namespace pl::worker::llm
