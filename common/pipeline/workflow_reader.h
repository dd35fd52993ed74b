// INTERNAL to the loader: reads the YAML tree of a workflow (the file's `workflow:` or an inline
// `pipeline:`) into the model, checking it against the schema as it goes. Every problem goes to
// the diagnostics sink; the reader always returns what it could read, and the loader decides
// from the diagnostics whether the pipeline is usable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/pipeline/diagnostic.h"
#include "common/pipeline/model.h"
#include "common/pipeline/schema_check.h"
#include "common/pipeline/yaml_tree.h"

namespace pl::pipeline {

class WorkflowReader {
 public:
  // `file` is the display name; `sink` must outlive the reader.
  WorkflowReader(std::string file, std::vector<Diagnostic>& sink)
      : file_(std::move(file)), checker_(sink) {}

  // REQUIRES: workflow.is_map(). `context` names it in messages ("workflow").
  Pipeline read_workflow(const YamlNode& workflow, std::string_view context);

  // The names of the steps that could not be read at all (no type, an unknown type), missing
  // from what read_workflow returned; inline child pipelines' included.
  const std::vector<std::string>& unread_steps() const { return unread_steps_; }

 private:
  // workflow_reader.cpp
  void read_inputs(const YamlNode& inputs, Pipeline& pipeline);

  // step_reader.cpp
  std::vector<Step> read_steps(const YamlNode& list, std::string_view scope);
  std::optional<Step> read_step(const YamlNode& node);
  void read_member(const YamlMember& member, const KeySpec& spec, const std::string& context,
                   Step& step);
  void read_retry(const YamlNode& node, Step& step);
  void derive_retry_from_retry_config(const YamlNode& step_node, Step& step);
  // A claude_robust step with its own `retry`: warns at each retry_config key it overrides.
  void warn_retry_config_overridden(const YamlNode& step_node, const std::string& context);
  void check_step_rules(const YamlNode& node, const std::string& context, Step& step);
  void check_exactly_one(const YamlNode& node, const std::string& context,
                         std::initializer_list<std::string_view> keys, const Step& step);
  void check_unique_ids(const YamlNode& list, std::initializer_list<std::string_view> id_keys,
                        const std::string& what);
  void record_locations(const YamlNode& node, const std::string& prefix, StepType type, Step& step);

  std::string file_;
  SchemaChecker checker_;
  std::vector<std::string> unread_steps_;
};

}  // namespace pl::pipeline
