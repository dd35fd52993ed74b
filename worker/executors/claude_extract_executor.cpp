#include "worker/executors/claude_extract_executor.h"

#include "worker/llm/extraction.h"
#include "worker/llm/llm_call.h"
#include "worker/llm/presets.h"

namespace pl::worker {
namespace {

constexpr std::string_view kDefaultPreset = "analysis";

}  // namespace

ClaudeExtractExecutor::ClaudeExtractExecutor(std::shared_ptr<const llm::LlmServices> services)
    : services_(std::move(services)) {}

Result<Value> ClaudeExtractExecutor::execute(const protocol::WorkItem& item,
                                             const ExecutionContext& context) {
  const Value& input = item.input;
  auto config = llm::read_extraction_config(llm::member_or_null(input, "extraction_config"));
  if (!config.ok()) return std::move(config).error();
  const std::string preset = input.get_string("preset", kDefaultPreset);
  auto options = llm::apply_preset(llm::member_or_null(input, "claude_options"), preset);
  if (!options.ok()) return std::move(options).error();

  llm::ClaudeCall call;
  call.claude_options = std::move(*options);
  call.system_suffix = llm::format_instruction(*config);
  call.json_output = config->format == llm::ExtractFormat::kJson;
  const llm::ItemScope scope = llm::item_scope(item, context, *services_);
  auto prompt = llm::item_prompt(input, scope);
  if (!prompt.ok()) return std::move(prompt).error();
  auto outcome = llm::run_claude_call(*services_, scope, call, *prompt);
  if (!outcome.ok()) return std::move(outcome).error();

  Value result = llm::conversation_result(*outcome, services_->pricing());
  auto extraction = llm::extract(outcome->conversation.last.text, *config);
  if (!extraction.ok()) {
    // The call was paid for: the failure keeps its usage (and the answer it could not use).
    return failed_result(std::move(result),
                         llm::with_cut_note(std::move(extraction).error(), outcome->conversation)
                             .with_context("claude_extract"));
  }
  result["text"] = std::move(extraction->text);
  if (extraction->data) result["data"] = std::move(*extraction->data);
  if (extraction->extracted.size() > 0) result["extracted"] = std::move(extraction->extracted);
  if (!extraction->metadata.is_null()) result["extraction"] = std::move(extraction->metadata);
  result["preset"] = preset;
  return result;
}

}  // namespace pl::worker
