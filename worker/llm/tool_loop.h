// The tool-use loop: call the model; while it asks for tools, run them and call it again with
// their results; stop when it answers, or after `max_turns` model calls.
//
// - Without a ToolInvoker (or with no tools in the request) it is exactly one model call, and
//   any tool calls the model makes are returned unrun in `last.tool_calls` (how a gemini step
//   returns function calls).
// - A tool the request did not offer, or a tool that fails, becomes an error result the model
//   sees (is_error), and the loop goes on; the model can recover or explain.
// - A tool's output longer than max_tool_result_bytes is cut, with a note saying so.
// - Cancellation ends the loop with kCancelled; the step's deadline with kTimeout (the
//   provider's, when it passed during a model call; otherwise reported as not the provider's
//   fault, see blame.h).
// - Reaching max_turns while the model still wants tools is not an error: the result says
//   hit_max_turns, and `last` is the final model answer (which asked for tools).
// - A provider error ends the loop with that error, carrying the tokens already spent, its own
//   call's included when the provider billed it (providers/spent.h); so does a cancellation or
//   a tool's error that ends the loop. llm::run_call prices them.
// - A final answer cut at the output-token limit (or the context window) is still the answer:
//   a step may cap its length on purpose, and stop_reason says so. A warning naming the step
//   and the limit is logged. (A cut answer holding tool calls never gets here: the provider
//   fails it, see providers::cut_in_tool_call().)
#pragma once

#include <optional>
#include <vector>

#include "common/result.h"
#include "worker/llm/tool_invoker.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

struct ToolCallRecord {
  int turn = 0;  // the model call that asked for it, from 1
  std::string name;
  Value arguments;
  Value result;  // the tool's output, or the error message
  bool is_error = false;
};

struct Conversation {
  providers::Completion last;  // the model's final answer
  providers::Usage usage;      // summed over every model call
  int turns = 0;               // model calls made
  std::vector<ToolCallRecord> tool_calls;
  bool hit_max_turns = false;
  std::optional<int64_t> max_tokens;  // the output-token limit every call asked for
};

struct LoopSettings {
  int max_turns = 10;  // model calls, >= 1
  size_t max_tool_result_bytes = 64 * 1024;
};

// Whether `request` offers the model a tool of that name.
bool offered(const providers::CompletionRequest& request, const std::string& name);

Result<Conversation> run_conversation(providers::Provider& provider,
                                      providers::CompletionRequest request, ToolInvoker* tools,
                                      const LoopSettings& settings, const ToolRunContext& context);

}  // namespace pl::worker::llm
