// Reading steps: the part of WorkflowReader that turns step maps into Steps.
#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "common/pipeline/defaults.h"
#include "common/pipeline/duration.h"
#include "common/pipeline/schema.h"
#include "common/pipeline/scope.h"
#include "common/pipeline/suggest.h"
#include "common/pipeline/template.h"
#include "common/pipeline/workflow_reader.h"

namespace pl::pipeline {
namespace {

constexpr int64_t kDefaultRobustRetries = 3;

bool is_text(const YamlNode& node) {
  if (!node.is_scalar()) return false;
  Value v = node.scalar_value();
  return v.is_string() || v.is_number();
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

std::optional<Backoff> backoff_from(std::string_view name) {
  if (name == "fixed") return Backoff::kFixed;
  if (name == "linear") return Backoff::kLinear;
  if (name == "exponential") return Backoff::kExponential;
  return std::nullopt;
}

// pipeline_ex's retry_conditions words in error_code_name() spelling.
std::string retry_code(std::string_view condition) {
  if (condition == "api_error") return "server_error";
  if (condition == "network_error") return "unavailable";
  return std::string(condition);
}

std::optional<int64_t> int_of(const YamlNode* node) {
  if (!node) return std::nullopt;
  Value v = node->scalar_value();
  if (!node->is_scalar() || !v.is_int()) return std::nullopt;
  return v.as_int();
}

// A retry delay in range; nullopt for one out of range, which the schema check has reported.
std::optional<int64_t> delay_ms_of(const YamlNode* node) {
  auto ms = int_of(node);
  if (!ms || *ms < 0 || *ms > kMaxDurationMs) return std::nullopt;
  return ms;
}

struct FileOpNeeds {
  std::string_view operation;
  std::initializer_list<std::string_view> all_of;  // each required
  std::initializer_list<std::string_view> any_of;  // at least one required (when not empty)
};

const FileOpNeeds kFileOpNeeds[] = {
    {"copy", {"source", "destination"}, {}},
    {"move", {"source", "destination"}, {}},
    {"delete", {}, {"path", "files", "source"}},
    {"list", {"path"}, {}},
    {"validate", {"files"}, {}},
    {"convert", {"source", "destination", "format"}, {}},
};

}  // namespace

std::vector<Step> WorkflowReader::read_steps(const YamlNode& list, std::string_view scope) {
  std::vector<Step> steps;
  std::map<std::string, SourceLocation, std::less<>> seen;
  for (const YamlNode& item : list.items) {
    if (item.is_map()) {
      const YamlMember* name = item.member("name");
      if (name && is_text(name->value)) {
        const std::string& text = name->value.scalar;
        if (is_reserved_root(text)) {
          checker_.error(name->value.where,
                         "step name " + quote(text) + " is reserved (it names a template root)");
        }
        auto [it, inserted] = seen.emplace(text, name->value.where);
        if (!inserted) {
          checker_.error(name->value.where, "duplicate step name " + quote(text) + " in " +
                                                std::string(scope) + " (first at " +
                                                to_string(it->second) + ")");
        }
      }
    }
    if (auto step = read_step(item)) {
      steps.push_back(std::move(*step));
    } else if (const YamlNode* name = item.is_map() ? item.find("name") : nullptr;
               name && is_text(*name)) {
      unread_steps_.push_back(name->scalar);
    }
  }
  return steps;
}

std::optional<Step> WorkflowReader::read_step(const YamlNode& node) {
  if (!node.is_map()) {
    checker_.error(node.where,
                   "a step must be a map with \"name\" and \"type\", got " + node.describe());
    return std::nullopt;
  }
  const YamlNode* name = node.find("name");
  const std::string step_name = name && is_text(*name) ? name->scalar : std::string();
  const std::string label = step_name.empty() ? "step" : "step " + quote(step_name);
  const YamlNode* type_node = node.find("type");
  if (!type_node) {
    checker_.error(node.where, label + " is missing required key \"type\"");
    return std::nullopt;
  }
  if (!is_text(*type_node)) {
    checker_.error(type_node->where, "key \"type\" must be a string, got " + type_node->describe());
    return std::nullopt;
  }
  const std::string& type_name = type_node->scalar;
  const std::optional<StepType> type = step_type_from_name(type_name);
  if (!type) {
    if (has_template(type_name)) {
      checker_.error(type_node->where, "a step type must be written out, not a template");
    } else if (auto note = unsupported_step_type_note(type_name)) {
      checker_.error(type_node->where,
                     "step type " + quote(type_name) +
                         " (from pipeline_ex) is not supported: " + std::string(*note));
    } else {
      checker_.error(type_node->where, "unknown step type " + quote(type_name) +
                                           did_you_mean(type_name, step_type_names()));
    }
    return std::nullopt;
  }

  const std::string context = std::string(step_type_name(*type)) + " " + label;
  const KeyTable& table = step_keys(*type);
  checker_.check_map(node, table, context, "", &common_step_keys());

  Step step;
  step.name = step_name;
  step.type = *type;
  step.type_name = type_name;
  step.location = node.where;
  record_locations(node, "", step.type, step);
  for (const YamlMember& member : node.members) {
    const KeySpec* spec = find_key(member.key, table, &common_step_keys());
    if (!spec || member.key == "name" || member.key == "type") continue;
    read_member(member, *spec, context, step);
  }
  if (step.type == StepType::kClaudeRobust && !step.retry) {
    derive_retry_from_retry_config(node, step);
  } else if (step.type == StepType::kClaudeRobust) {
    warn_retry_config_overridden(node, context);
  }
  check_step_rules(node, context, step);
  return step;
}

void WorkflowReader::read_member(const YamlMember& member, const KeySpec& spec,
                                 const std::string& context, Step& step) {
  const YamlNode& value = member.value;
  const std::string& key = member.key;
  if (spec.support == KeySupport::kIgnored) {
    step.options[key] = value.to_value();
    return;
  }
  if (key == "condition") {
    step.condition = value.to_value();
  } else if (key == "output_to_file") {
    if (is_text(value)) step.output_to_file = value.scalar;
  } else if (key == "timeout" || key == "timeout_seconds") {
    if (step.timeout_ms) {
      checker_.error(member.key_where, context + " sets both \"timeout\" and \"timeout_seconds\"");
      return;
    }
    if (key == "timeout") {
      if (auto ms = parse_duration_ms(value.scalar_value()); ms.ok()) step.timeout_ms = *ms;
    } else if (auto seconds = int_of(&value);
               seconds && *seconds >= 1 && *seconds <= kMaxDurationMs / 1000) {
      step.timeout_ms = *seconds * 1000;
    }
  } else if (key == "retry") {
    if (is_loop(step.type) || step.type == StepType::kPipeline) {
      // Only work items are retried: one of a loop's or a child pipeline's own steps.
      checker_.warning(member.key_where, context + ": \"retry\" is ignored on a " +
                                             step.type_name +
                                             " step; set it on the steps inside, each of "
                                             "which is retried on its own");
    }
    if (value.is_map()) read_retry(value, step);
  } else if (key == "on_error" || key == "continue_on_error") {
    if (step.has_key("on_error") && step.has_key("continue_on_error") &&
        key == "continue_on_error") {
      checker_.error(member.key_where,
                     context + " sets both \"on_error\" and \"continue_on_error\"");
      return;
    }
    Value v = value.scalar_value();
    if (key == "on_error" && v.is_string() && v.as_string() == "continue") {
      step.on_error = OnError::kContinue;
    } else if (key == "continue_on_error" && v.is_bool() && v.as_bool()) {
      step.on_error = OnError::kContinue;
    }
  } else if (key == "steps" && is_loop(step.type)) {
    if (!value.is_sequence()) return;
    if (value.items.empty()) {
      checker_.error(value.where, "the body of " + context + " (\"steps\") must not be empty");
    }
    step.steps = read_steps(value, "loop " + quote(step.name));
  } else if (key == "pipeline" && step.type == StepType::kPipeline) {
    step.options[key] = value.to_value();
    if (value.is_map()) {
      step.inline_pipeline = std::make_shared<const Pipeline>(
          read_workflow(value, "the inline pipeline of " + context));
    }
  } else {
    step.options[key] = value_as(value, spec);
  }
}

void WorkflowReader::read_retry(const YamlNode& node, Step& step) {
  RetryPolicy policy;
  if (auto attempts = int_of(node.find("max_attempts")); attempts && *attempts >= 1) {
    policy.max_attempts = static_cast<int>(std::min<int64_t>(*attempts, 1000));
  }
  if (const YamlNode* backoff = node.find("backoff"); backoff && backoff->is_scalar()) {
    policy.backoff = backoff_from(backoff->scalar).value_or(Backoff::kExponential);
  }
  if (auto base = delay_ms_of(node.find("base_delay_ms"))) policy.base_delay_ms = *base;
  if (auto max = delay_ms_of(node.find("max_delay_ms"))) policy.max_delay_ms = *max;
  if (const YamlNode* on = node.find("retry_on"); on && on->is_sequence()) {
    for (const auto& element : on->items) {
      if (element.is_scalar()) policy.retry_on.push_back(element.scalar);
    }
  }
  if (policy.max_delay_ms < policy.base_delay_ms) {
    const YamlNode* max = node.find("max_delay_ms");
    checker_.error(max ? max->where : node.where, "key \"retry.max_delay_ms\" (" +
                                                      std::to_string(policy.max_delay_ms) +
                                                      ") must not be less than base_delay_ms (" +
                                                      std::to_string(policy.base_delay_ms) + ")");
  }
  step.retry = std::move(policy);
}

void WorkflowReader::derive_retry_from_retry_config(const YamlNode& step_node, Step& step) {
  const YamlNode* config = step_node.find("retry_config");
  if (!config || !config->is_map()) return;
  RetryPolicy policy;
  const int64_t retries = int_of(config->find("max_retries")).value_or(kDefaultRobustRetries);
  policy.max_attempts = static_cast<int>(std::clamp<int64_t>(retries, 0, 999) + 1);
  if (const YamlNode* backoff = config->find("backoff_strategy"); backoff && backoff->is_scalar()) {
    policy.backoff = backoff_from(backoff->scalar).value_or(Backoff::kExponential);
  }
  if (auto base = delay_ms_of(config->find("base_delay_ms"))) policy.base_delay_ms = *base;
  if (auto max = delay_ms_of(config->find("max_delay_ms"))) policy.max_delay_ms = *max;
  policy.max_delay_ms = std::max(policy.max_delay_ms, policy.base_delay_ms);
  if (const YamlNode* conditions = config->find("retry_conditions");
      conditions && conditions->is_sequence()) {
    for (const auto& element : conditions->items) {
      if (element.is_scalar()) policy.retry_on.push_back(retry_code(element.scalar));
    }
  }
  step.retry = std::move(policy);
}

void WorkflowReader::warn_retry_config_overridden(const YamlNode& step_node,
                                                  const std::string& context) {
  const YamlNode* config = step_node.find("retry_config");
  if (!config || !config->is_map()) return;
  for (const YamlMember& member : config->members) {
    if (member.key == "fallback_action") continue;
    // The worker is told the broker's policy, so fallback_action follows `retry`.
    checker_.warning(member.key_where,
                     context + ": \"retry_config." + member.key +
                         "\" is ignored: the step's \"retry\" decides how the broker retries; "
                         "fallback_action applies once no retry of it follows");
  }
}

void WorkflowReader::check_exactly_one(const YamlNode& node, const std::string& context,
                                       std::initializer_list<std::string_view> keys,
                                       const Step& step) {
  std::vector<const YamlMember*> present;
  std::string words;
  for (std::string_view key : keys) {
    if (const YamlMember* m = node.member(key)) present.push_back(m);
    words += (words.empty() ? "" : ", ") + quote(key);
  }
  std::sort(present.begin(), present.end(), [](const YamlMember* a, const YamlMember* b) {
    return std::tie(a->key_where.line, a->key_where.column) <
           std::tie(b->key_where.line, b->key_where.column);
  });
  if (present.empty()) {
    checker_.error(step.location, context + " needs one of " + words);
  } else if (present.size() > 1) {
    checker_.error(present[1]->key_where, context + " takes only one of " + words + ", got " +
                                              quote(present[0]->key) + " and " +
                                              quote(present[1]->key));
  }
}

void WorkflowReader::check_unique_ids(const YamlNode& list,
                                      std::initializer_list<std::string_view> id_keys,
                                      const std::string& what) {
  std::map<std::string, SourceLocation, std::less<>> seen;
  for (const YamlNode& entry : list.items) {
    if (!entry.is_map()) continue;
    for (std::string_view id_key : id_keys) {
      const YamlNode* id = entry.find(id_key);
      if (!id || !is_text(*id)) continue;
      auto [it, inserted] = seen.emplace(id->scalar, id->where);
      if (!inserted) {
        checker_.error(id->where, "duplicate " + what + " " + quote(id->scalar) + " (first at " +
                                      to_string(it->second) + ")");
      }
    }
  }
}

void WorkflowReader::check_step_rules(const YamlNode& node, const std::string& context,
                                      Step& step) {
  switch (step.type) {
    case StepType::kForLoop: {
      check_exactly_one(node, context, {"data_source", "items", "items_file"}, step);
      if (const YamlNode* iterator = node.find("iterator"); iterator && is_text(*iterator)) {
        const std::string& name = iterator->scalar;
        if (!is_identifier(name)) {
          checker_.error(iterator->where, "the iterator of " + context + " must be a name " +
                                              "(letters, digits, _), got " + quote(name));
        } else if (std::find(kLoopFrameFields.begin(), kLoopFrameFields.end(), name) !=
                   kLoopFrameFields.end()) {
          checker_.error(iterator->where, "the iterator of " + context + " cannot be " +
                                              quote(name) + ": loop." + name +
                                              " is a field of every loop");
        }
      }
      if (const YamlNode* source = node.find("data_source");
          source && !source->is_sequence() &&
          !(source->is_scalar() && source->scalar_value().is_string())) {
        checker_.error(source->where,
                       "key \"data_source\" must be a reference (such as "
                       "\"steps.find.files\") or a list, got " +
                           source->describe());
      }
      break;
    }
    case StepType::kWhileLoop:
      if (node.member("condition") && step.condition.is_null()) {
        checker_.error(step.location_of("condition"), context + " needs a condition");
      }
      break;
    case StepType::kPipeline:
      check_exactly_one(node, context, {"pipeline_file", "pipeline"}, step);
      break;
    case StepType::kClaudeBatch: {
      check_exactly_one(node, context, {"tasks", "tasks_file"}, step);
      const YamlNode* tasks = node.find("tasks");
      if (!tasks || !tasks->is_sequence()) break;
      if (tasks->items.empty()) checker_.error(tasks->where, "key \"tasks\" must not be empty");
      for (size_t i = 0; i < tasks->items.size(); ++i) {
        const YamlNode& task = tasks->items[i];
        if (!task.is_map()) continue;
        const bool has_task_id = task.find("task_id") != nullptr;
        const bool has_id = task.find("id") != nullptr;
        if (has_task_id == has_id) {
          checker_.error(task.where, "tasks entry " + std::to_string(i) + " of " + context +
                                         (has_id ? " takes only one of \"task_id\" and \"id\""
                                                 : " needs a \"task_id\""));
        }
      }
      check_unique_ids(*tasks, {"task_id", "id"}, "task id");
      break;
    }
    case StepType::kParallelClaude:
      if (const YamlNode* tasks = node.find("parallel_tasks"); tasks && tasks->is_sequence()) {
        if (tasks->items.empty()) {
          checker_.error(tasks->where, "key \"parallel_tasks\" must not be empty");
        }
        check_unique_ids(*tasks, {"id"}, "task id");
      }
      break;
    case StepType::kDataTransform:
      if (const YamlNode* ops = node.find("operations");
          ops && ops->is_sequence() && ops->items.empty()) {
        checker_.error(ops->where, "key \"operations\" must not be empty");
      }
      break;
    case StepType::kFileOps: {
      const YamlNode* operation = node.find("operation");
      if (!operation || !operation->is_scalar()) break;
      for (const FileOpNeeds& needs : kFileOpNeeds) {
        if (needs.operation != operation->scalar) continue;
        for (std::string_view key : needs.all_of) {
          if (!node.member(key)) {
            checker_.error(step.location, context + " (operation " + quote(needs.operation) +
                                              ") is missing required key " + quote(key));
          }
        }
        if (needs.any_of.size() != 0) {
          bool any = false;
          std::string words;
          for (std::string_view key : needs.any_of) {
            any = any || node.member(key);
            words += (words.empty() ? "" : ", ") + quote(key);
          }
          if (!any) {
            checker_.error(step.location, context + " (operation " + quote(needs.operation) +
                                              ") needs one of " + words);
          }
        }
      }
      break;
    }
    default:
      break;
  }
}

void WorkflowReader::record_locations(const YamlNode& node, const std::string& prefix,
                                      StepType type, Step& step) {
  if (node.is_map()) {
    for (const YamlMember& member : node.members) {
      const std::string path = join_path(prefix, member.key);
      step.key_locations.emplace(path, member.key_where);
      const bool body = prefix.empty() && member.key == "steps" && is_loop(type);
      const bool child = prefix.empty() && member.key == "pipeline" && type == StepType::kPipeline;
      if (!body && !child) record_locations(member.value, path, type, step);
    }
  } else if (node.is_sequence()) {
    for (size_t i = 0; i < node.items.size(); ++i) {
      const std::string path = join_path(prefix, std::to_string(i));
      step.key_locations.emplace(path, node.items[i].where);
      record_locations(node.items[i], path, type, step);
    }
  }
}

}  // namespace pl::pipeline
