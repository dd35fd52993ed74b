#include "worker/llm/tool_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/json.h"
#include "worker/llm/blame.h"
#include "worker/providers/spent.h"

namespace pl::worker::llm {
namespace {

using providers::Completion;
using providers::Message;
using providers::ToolCall;
using providers::ToolResult;

// At most `max_bytes` of `text`, cut on a UTF-8 boundary, with a note of what `writer` wrote.
std::string bounded(std::string text, size_t max_bytes, std::string_view writer) {
  if (text.size() <= max_bytes) return text;
  const size_t total = text.size();
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "\n[truncated: " + std::string(writer) + " wrote " + std::to_string(total) + " bytes]";
  return text;
}

// A tool's output as the model sees it: text as is, other values as compact JSON.
std::string result_text(const Value& v) { return v.is_string() ? v.as_string() : to_json(v); }

// Runs one call. An Error here ends the loop; tool failures are returned as records.
Result<ToolCallRecord> run_call(const ToolCall& call, int turn, const providers::CompletionRequest& request,
                                ToolInvoker& tools, const ToolRunContext& context) {
  ToolCallRecord record{turn, call.name, call.arguments, Value(), false};
  if (!offered(request, call.name)) {
    record.is_error = true;
    record.result = "tool \"" + call.name + "\" is not allowed in this step";
    return record;
  }
  if (!call.arguments.is_object()) {
    record.is_error = true;
    record.result =
        "the arguments of this call are not a JSON object: " +
        bounded(call.arguments.is_string() ? call.arguments.as_string() : to_json(call.arguments),
                200, "the model");
    return record;
  }
  auto out = tools.invoke(call.name, call.arguments, context);
  if (out.ok()) {
    record.result = std::move(*out);
    return record;
  }
  const Error& e = out.error();
  if (e.code == ErrorCode::kCancelled) return e;
  if (e.code == ErrorCode::kTimeout && SteadyClock::now() >= context.call.deadline) {
    return not_the_providers_fault(e, "tool \"" + call.name + "\"");
  }
  record.is_error = true;
  record.result = e.message;
  return record;
}

// A cut answer stands (users may cap length on purpose), but must not go unnoticed.
void warn_if_cut(const Completion& last, const providers::CompletionRequest& request,
                 const ToolRunContext& context) {
  if (!providers::is_cut(last.stop_reason)) return;
  spdlog::warn(
      "{}: the answer was {} ({}; {} said {}); it stands as the step's text, with "
      "stop_reason {}",
      context.step_name, providers::cut_cause(last.stop_reason),
      providers::token_limit_text(request.max_tokens), last.provider, last.stop_detail,
      providers::stop_reason_name(last.stop_reason));
}

}  // namespace

bool offered(const providers::CompletionRequest& request, const std::string& name) {
  return std::any_of(request.tools.begin(), request.tools.end(),
                     [&](const providers::ToolSpec& t) { return t.name == name; });
}

Result<Conversation> run_conversation(providers::Provider& provider, providers::CompletionRequest request,
                                      ToolInvoker* tools, const LoopSettings& settings,
                                      const ToolRunContext& context) {
  Conversation conversation;
  conversation.max_tokens = request.max_tokens;
  providers::Spent spent;  // by the calls that answered so far
  // An error that ends the loop carries what those calls cost.
  const auto failed = [&](Error e) {
    return conversation.turns > 0 ? providers::with_spent(std::move(e), spent) : std::move(e);
  };
  const int max_turns = std::max(1, settings.max_turns);
  for (int turn = 1;; ++turn) {
    if (context.call.cancelled()) return failed(make_error(ErrorCode::kCancelled, "cancelled"));
    auto completion = provider.complete(request, context.call);
    if (!completion.ok()) {
      if (conversation.turns > 0) {
        spdlog::warn("{}: failed on model call {} after spending {} input and {} output tokens",
                     context.step_name, turn, conversation.usage.input_tokens,
                     conversation.usage.output_tokens);
      }
      return failed(std::move(completion).error());
    }
    conversation.turns = turn;
    conversation.usage += completion->usage;
    spent = {conversation.usage, completion->model, completion->provider};
    const bool wants_tools = !completion->tool_calls.empty() && tools && !request.tools.empty();
    if (!wants_tools || turn >= max_turns) {
      conversation.hit_max_turns = wants_tools;
      warn_if_cut(*completion, request, context);
      conversation.last = std::move(*completion);
      return conversation;
    }
    std::vector<ToolResult> results;
    for (const ToolCall& call : completion->tool_calls) {
      auto record = run_call(call, turn, request, *tools, context);
      if (!record.ok()) return failed(std::move(record).error());
      results.push_back(ToolResult{
          call.id, call.name,
          bounded(result_text(record->result), settings.max_tool_result_bytes, "the tool"),
          record->is_error});
      conversation.tool_calls.push_back(std::move(*record));
    }
    request.messages.push_back(Message::assistant(completion->text, completion->tool_calls));
    request.messages.push_back(Message::results(std::move(results)));
  }
}

}  // namespace pl::worker::llm
