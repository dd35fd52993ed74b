// `claude_extract`: a claude call whose text is post-processed. Input: {prompt, claude_options,
// preset (default analysis, see worker/llm/presets.h), extraction_config}. The model is told the
// wanted format; the answer goes through worker/llm/extraction.h. Result: see
// worker/llm/llm_call.h, with `text` as formatted, plus `data` (format json), `extracted` (the
// post-processing lists, markdown sections), `extraction` (include_metadata) and `preset`.
#pragma once

#include <memory>

#include "worker/executor.h"
#include "worker/llm/llm_services.h"

namespace pl::worker {

class ClaudeExtractExecutor final : public StepExecutor {
 public:
  explicit ClaudeExtractExecutor(std::shared_ptr<const llm::LlmServices> services);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  std::shared_ptr<const llm::LlmServices> services_;
};

}  // namespace pl::worker
