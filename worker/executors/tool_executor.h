// `tool`: runs a tool registered in the registry. The item's input is the bound step
// {tool: NAME, args: {...}} (templates already rendered by the broker); the tool runs in the
// run's workspace (item.context.workspace_dir) through run_tool (tool_runner.h), whose result
// and errors are the step's. An unknown tool is kNotFound; a registry that does not answer is
// kUnavailable, which the broker may retry.
#pragma once

#include <string>
#include <vector>

#include "worker/executor.h"
#include "worker/tool_catalog.h"

namespace pl::worker {

class ToolExecutor final : public StepExecutor {
 public:
  // `catalog` outlives the executor. `environment` is what tools' env_allow picks from (the
  // worker's own environment, "NAME=value" entries).
  ToolExecutor(ToolCatalog& catalog, std::vector<std::string> environment);
  Result<Value> execute(const protocol::WorkItem& item, const ExecutionContext& context) override;

 private:
  ToolCatalog& catalog_;
  std::vector<std::string> environment_;
};

}  // namespace pl::worker
