#include "worker/executors/gemini_instructor_executor.h"

#include "worker/llm/extraction.h"
#include "worker/llm/gemini_functions.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/schema_check.h"
#include "worker/providers/wire_format.h"

namespace pl::worker {
namespace {

struct StructuredOutput {
  std::string function;
  Value data;
};

// The first function call's arguments, else a JSON object in the text.
Result<StructuredOutput> structured_output(const providers::Completion& answer) {
  if (!answer.tool_calls.empty()) {
    const providers::ToolCall& call = answer.tool_calls.front();
    if (!call.arguments.is_object()) {
      return make_error(ErrorCode::kStepFailed, "the arguments of \"" + call.name + "\" are not a JSON object");
    }
    return StructuredOutput{call.name, call.arguments};
  }
  auto json = llm::find_json(answer.text);
  if (json.ok() && json->is_object()) return StructuredOutput{"", std::move(*json)};
  return make_error(ErrorCode::kStepFailed, "the model called no function and its text holds no JSON object: " +
                                                providers::body_excerpt(answer.text, 120));
}

}  // namespace

GeminiInstructorExecutor::GeminiInstructorExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> GeminiInstructorExecutor::execute(const protocol::WorkItem& item,
                                                const ExecutionContext& context) {
  const Value& input = item.input;
  auto spec = llm::gemini_call_spec(input);
  if (!spec.ok()) return std::move(spec).error();
  auto functions = llm::declared_functions(input);
  if (!functions.ok()) return std::move(functions).error();
  const Value& schema = llm::member_or_null(input, "schema");
  if (!schema.is_null() && !schema.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "`schema` must be a map (a JSON Schema)");
  }
  if (functions->empty()) {
    if (schema.is_null()) {
      return make_error(ErrorCode::kInvalidInput, "gemini_instructor needs `functions` or a `schema`");
    }
    functions->push_back(llm::structured_output_function(schema));
  }
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();

  llm::CallPlan plan;
  plan.spec = std::move(*spec);
  plan.messages.push_back(providers::Message::user(std::move(*prompt)));
  plan.declared_tools = *functions;
  plan.tool_choice = providers::ToolChoice::kAny;
  plan.json_output = true;
  auto outcome = llm::run_call(*services_, plan, scope);
  if (!outcome.ok()) return std::move(outcome).error();

  // The call was paid for: a failure below keeps its usage (and the answer it could not use).
  Value result = llm::conversation_result(*outcome, services_->pricing());
  auto output = structured_output(outcome->conversation.last);
  if (!output.ok()) {
    return failed_result(std::move(result),
                         llm::with_cut_note(std::move(output).error(), outcome->conversation)
                             .with_context("gemini_instructor"));
  }
  const Value* check = &schema;
  if (check->is_null()) {
    for (const providers::ToolSpec& f : *functions) {
      if (f.name == output->function) check = &f.input_schema;
    }
  }
  if (!check->is_null()) {
    if (auto st = llm::check_against_schema(output->data, *check); !st.ok()) {
      return failed_result(
          std::move(result),
          llm::with_cut_note(std::move(st).error(), outcome->conversation)
              .with_context("gemini_instructor: the output does not match the schema"));
    }
  }
  result["data"] = std::move(output->data);
  if (!output->function.empty()) result["function"] = output->function;
  return result;
}

}  // namespace pl::worker
