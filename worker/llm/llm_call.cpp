#include "worker/llm/llm_call.h"

#include "worker/llm/blame.h"
#include "worker/providers/spent.h"

namespace pl::worker::llm {

ItemScope item_scope(const protocol::WorkItem& item, const ExecutionContext& context,
                     const LlmServices& services) {
  ItemScope s;
  s.call = providers::CallContext{context.deadline, &context.cancel};
  s.prompt.pipeline_dir = item.context_value().get_string("pipeline_dir");
  s.prompt.workspace_dir = item.context_value().get_string("workspace_dir");
  s.prompt.sessions = &services.sessions();
  s.prompt.max_file_bytes = services.limits().max_prompt_file_bytes;
  s.prompt.max_prompt_bytes = services.limits().max_prompt_bytes;
  s.prompt.call = s.call;
  s.tools.call = s.call;
  s.tools.work_context = &item.context_value();
  s.tools.run_id = item.run_id;
  s.tools.step_name = item.step_name;
  return s;
}

Result<std::string> item_prompt(const Value& input, const ItemScope& scope) {
  const Value* prompt = input.find("prompt");
  if (!prompt || prompt->is_null()) return make_error(ErrorCode::kInvalidInput, "the step has no `prompt`");
  return build_prompt(*prompt, scope.prompt);
}

const Value& member_or_null(const Value& v, std::string_view key) {
  static const Value kNull;
  const Value* m = v.find(key);
  return m ? *m : kNull;
}

Result<CallOutcome> run_claude_call(const LlmServices& services, const ItemScope& scope,
                                    const ClaudeCall& call, const std::string& prompt) {
  auto spec = claude_call_spec(call.claude_options);
  if (!spec.ok()) return std::move(spec).error();
  if (!call.system_suffix.empty()) {
    spec->system += (spec->system.empty() ? "" : "\n\n") + call.system_suffix;
  }
  CallPlan plan;
  plan.spec = std::move(*spec);
  plan.messages = call.history;
  plan.messages.push_back(providers::Message::user(prompt));
  plan.json_output = call.json_output;
  return run_call(services, plan, scope);
}

Result<CallOutcome> run_call(const LlmServices& services, const CallPlan& plan, const ItemScope& scope) {
  auto selected = services.providers().select(plan.spec.provider, plan.spec.model);
  if (!selected.ok()) return std::move(selected).error();

  providers::CompletionRequest request;
  request.model = selected->model;
  request.system = plan.spec.system;
  request.messages = plan.messages;
  request.max_tokens = plan.spec.max_tokens;
  request.temperature = plan.spec.temperature;
  request.top_p = plan.spec.top_p;
  request.top_k = plan.spec.top_k;
  request.tool_choice = plan.tool_choice;
  request.json_output = plan.json_output;
  std::vector<std::string> skipped;
  if (!plan.spec.allowed_tools.empty()) {
    auto specs = services.tools().describe(plan.spec.allowed_tools, scope.call);
    if (!specs.ok()) return not_the_providers_fault(specs.error(), "allowed_tools");
    request.tools = std::move(*specs);
    for (const std::string& name : plan.spec.allowed_tools) {
      if (!offered(request, name)) skipped.push_back(name);
    }
  }
  request.tools.insert(request.tools.end(), plan.declared_tools.begin(), plan.declared_tools.end());

  LoopSettings loop;
  loop.max_turns = static_cast<int>(plan.spec.max_turns > 0 ? plan.spec.max_turns
                                                            : services.limits().default_max_turns);
  loop.max_tool_result_bytes = services.limits().max_tool_result_bytes;
  ToolInvoker* invoker = plan.spec.allowed_tools.empty() ? nullptr : &services.tools();
  auto conversation = run_conversation(*selected->provider, std::move(request), invoker, loop, scope.tools);
  if (!conversation.ok()) {
    return with_priced_spending(std::move(conversation).error(), selected->mock,
                                services.pricing());
  }
  return CallOutcome{std::move(*conversation), plan.spec.provider, selected->mock,
                     std::move(skipped)};
}

Error with_priced_spending(Error e, bool mock, const PricingTable& pricing) {
  auto spent = providers::spent_of(e);
  if (!spent) return e;
  Value fields;
  fields["provider"] = spent->provider;
  if (mock) fields["mock"] = true;
  fields["model"] = spent->model;
  fields["usage"] = usage_value(spent->usage, spent->model, spent->provider, mock, pricing);
  e.fields = std::make_shared<const Value>(std::move(fields));
  return e;
}

Error with_cut_note(Error e, const Conversation& conversation) {
  const providers::StopReason stop = conversation.last.stop_reason;
  if (!providers::is_cut(stop)) return e;
  e.message += "; the answer was " + std::string(providers::cut_cause(stop)) + " (" +
               providers::token_limit_text(conversation.max_tokens) +
               "), which is likely why: " + providers::cut_remedy(stop);
  return e;
}

Value conversation_result(const CallOutcome& outcome, const PricingTable& pricing) {
  const Conversation& c = outcome.conversation;
  const providers::Completion& last = c.last;
  Value r;
  r["text"] = last.text;
  r["provider"] = last.provider;
  if (outcome.mock) {
    r["mock"] = true;
    if (outcome.requested_provider != "mock") r["stands_in_for"] = outcome.requested_provider;
  }
  r["model"] = last.model;
  r["usage"] = usage_value(c.usage, last.model, last.provider, outcome.mock, pricing);
  r["turns"] = c.turns;
  if (!outcome.skipped_tools.empty()) {
    std::string names;
    for (const std::string& n : outcome.skipped_tools) names += (names.empty() ? "" : ", ") + n;
    Value warnings = Value::array();
    warnings.push_back(Value("allowed_tools names Claude Code's own tools " + names +
                             ", not registered here: the call went on without them"));
    r["warnings"] = std::move(warnings);
  }
  r["stop_reason"] = std::string(providers::stop_reason_name(last.stop_reason));
  if (!c.tool_calls.empty()) {
    Value calls = Value::array();
    for (const ToolCallRecord& t : c.tool_calls) {
      Value v;
      v["turn"] = t.turn;
      v["name"] = t.name;
      v["arguments"] = t.arguments;
      v["result"] = t.result;
      v["is_error"] = t.is_error;
      calls.push_back(std::move(v));
    }
    r["tool_calls"] = std::move(calls);
  }
  if (!last.tool_calls.empty()) {
    Value calls = Value::array();
    for (const providers::ToolCall& t : last.tool_calls) {
      Value v;
      v["name"] = t.name;
      v["args"] = t.arguments;
      calls.push_back(std::move(v));
    }
    r["function_calls"] = std::move(calls);
  }
  if (c.hit_max_turns) r["max_turns_reached"] = true;
  return r;
}

}  // namespace pl::worker::llm
