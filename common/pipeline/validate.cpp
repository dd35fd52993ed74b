#include "common/pipeline/validate.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <system_error>

#include "common/pipeline/condition.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/inputs.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/output_path.h"
#include "common/pipeline/scope.h"
#include "common/pipeline/suggest.h"
#include "common/pipeline/template.h"
#include "common/text.h"

namespace pl::pipeline {
namespace {

constexpr int kMaxPipelineNesting = 16;
constexpr std::string_view kForLoopFields[] = {"index",    "total",   "first",  "last",
                                               "is_first", "is_last", "length", "parent"};
constexpr std::string_view kWhileLoopFields[] = {"index", "first", "is_first", "parent"};
// Ends "global_vars has no ..." in a child that inherits its parent's context.
constexpr const char* kNorInherited = " here or in the pipelines it inherits from";

// What every loop's and fan-out's result may have; the others depend on the type.
constexpr std::string_view kLoopResultMembers[] = {
    "success",    "failed",   "items",   "stopped",       "error",
    "error_code", "failures", "skipped", "items_omitted", "output_file"};
constexpr std::string_view kParallelResultMembers[] = {"total", "succeeded", "not_run"};
constexpr std::string_view kConsolidatedMembers[] = {"text", "text_file", "text_bytes"};

bool is_index(std::string_view segment) {
  return !segment.empty() && std::all_of(segment.begin(), segment.end(),
                                         [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Why a previous_response part without `extract` can never read step `step`'s result (empty
// when it may): the part reads the result's text, else its data (broker/step_binding.cpp), and
// for these types the step's definition alone says that it has neither. Said here, the run is
// refused before it pays for every call that comes before that prompt.
std::string why_no_response(const Step& step) {
  const std::string kind = "a " + std::string(step_type_name(step.type)) + " step's result";
  switch (step.type) {
    case StepType::kForLoop:
      return kind + " has neither text nor data to use as a response; name the field to use "
                    "with \"extract\" (\"items\", \"total\", ...)";
    case StepType::kWhileLoop:
      return kind +
             " has neither text nor data to use as a response; name the field to use "
             "with \"extract\" (\"items\", \"iterations\", ...)";
    case StepType::kParallelClaude:
      return kind + " has neither text nor data to use as a response; name the field to use "
                    "with \"extract\" (a task's id, \"items\", ...)";
    case StepType::kClaudeBatch: {
      if (consolidates_results(step)) return {};
      return kind + " has no text unless its batch_config sets consolidate_results: true; set "
                    "it, or name the field to use with \"extract\" (a task's id, \"items\", ...)";
    }
    case StepType::kPipeline:
      if (step.options.find("outputs")) return {};
      return kind + " has data only when the step lists \"outputs\"; list them, or name the "
                    "field to use with \"extract\" (\"steps.NAME.text\", ...)";
    default:
      return {};
  }
}

// One scope of steps: the workflow's, or a loop's body.
struct Frame {
  const std::vector<Step>* steps = nullptr;
  const Step* loop = nullptr;  // the loop whose body this is; nullptr for the workflow
  const Frame* parent = nullptr;
  size_t index_in_parent = 0;  // the loop's index among the parent's steps
};

// Where an expression is evaluated: in `frame`, after its first `visible` steps have run.
struct Context {
  const Frame* frame = nullptr;
  size_t visible = 0;
  const Step* self = nullptr;  // the step whose field is evaluated (its own result is not there)
};

struct StepInfo {
  SourceLocation where;
  const Step* enclosing_loop = nullptr;
};

// What a child pipeline with `config.inherit_context: true` sees of the pipelines above it.
struct Inherited {
  bool unknown = false;  // not known here (ValidateOptions::inherits_context): nothing checked
  std::set<std::string> global_vars;
  std::set<std::string> state;
  bool state_unknown = false;  // a set_variable above sets variables that are not a map
};

class Validator {
 public:
  // `inherited`: what the pipeline inherits from above; nullptr when it does not inherit.
  Validator(const Pipeline& pipeline, const ValidateOptions& options, std::vector<Diagnostic>& out,
            std::vector<std::filesystem::path>& file_stack, const Inherited* inherited = nullptr)
      : pipeline_(pipeline),
        options_(options),
        out_(out),
        file_stack_(file_stack),
        inherited_(inherited) {}

  void run() {
    index_steps(pipeline_.steps, nullptr);
    Frame top{&pipeline_.steps, nullptr, nullptr, 0};
    check_steps(top);
  }

 private:
  // ---- indexing ----
  // Numbers the steps in the order they first run (a loop before its body, a body before what
  // follows the loop), so that "has a step run before this point" is a comparison.
  void index_steps(const std::vector<Step>& steps, const Step* loop) {
    for (const Step& step : steps) {
      all_steps_.emplace(step.name, StepInfo{step.location, loop});
      placed_[&step] = Placement{next_order_++, 0, loop};
      if (step.type == StepType::kSetVariable) {
        const Value* variables = step.options.find("variables");
        if (variables && variables->is_object()) {
          for (const auto& [name, value] : variables->as_object()) {
            state_names_.insert(name);
            setters_[name].push_back(&step);
          }
        } else {
          state_unknown_ = true;
        }
      }
      index_steps(step.steps, &step);
      placed_[&step].end = next_order_;
    }
  }

  // The order number of the first step that has not run when `c` is evaluated.
  int boundary(const Context& c) const {
    if (c.visible < c.frame->steps->size()) return placed_.at(&(*c.frame->steps)[c.visible]).order;
    return c.frame->loop ? placed_.at(c.frame->loop).end : next_order_;
  }

  // True when `setter` may have run before `c`: it comes earlier, or it is in the body of a loop
  // that `c` is also in (an earlier iteration; a step may be meant to run from the second on).
  bool may_have_run_before(const Step* setter, const Context& c) const {
    if (placed_.at(setter).order < boundary(c)) return true;
    const std::vector<const Step*> around = loops_of(c);
    for (const Step* loop = placed_.at(setter).loop; loop; loop = placed_.at(loop).loop) {
      if (std::find(around.begin(), around.end(), loop) != around.end()) return true;
    }
    return false;
  }

  // ---- diagnostics ----
  void error(const SourceLocation& where, std::string message) {
    out_.push_back(Diagnostic{Severity::kError, where, std::move(message)});
  }

  // ---- scopes ----
  void check_steps(const Frame& frame) {
    for (size_t i = 0; i < frame.steps->size(); ++i) {
      const Step& step = (*frame.steps)[i];
      check_step(step, Context{&frame, i, &step});
      if (is_loop(step.type)) {
        Frame body{&step.steps, &step, &frame, i};
        check_steps(body);
      }
    }
  }

  // The loops around a context, innermost first.
  static std::vector<const Step*> loops_of(const Context& c) {
    std::vector<const Step*> loops;
    for (const Frame* f = c.frame; f; f = f->parent) {
      if (f->loop) loops.push_back(f->loop);
    }
    return loops;
  }

  // Names of the steps visible from a context, for suggestions.
  static std::vector<std::string> visible_names(const Context& c) {
    std::vector<std::string> names;
    size_t limit = c.visible;
    for (const Frame* f = c.frame; f; f = f->parent) {
      for (size_t i = 0; i < limit && i < f->steps->size(); ++i) {
        names.push_back((*f->steps)[i].name);
      }
      limit = f->index_in_parent;
    }
    return names;
  }

  // Checks that step `name` has run when context `c` evaluates, and returns it; reports
  // otherwise and returns nullptr. `what` starts the message: `reference "steps.a.x"` or
  // `previous_response step "a"`.
  const Step* check_step_name(const std::string& name, const std::string& what, const Context& c,
                              const SourceLocation& where) {
    size_t limit = c.visible;
    for (const Frame* f = c.frame; f; f = f->parent) {
      const auto& steps = *f->steps;
      for (size_t i = 0; i < steps.size(); ++i) {
        if (steps[i].name != name) continue;
        if (i < limit) return &steps[i];  // visible
        const std::string prefix = what + ": ";
        if (c.self && &steps[i] == c.self) {
          error(where, prefix + "step " + quote(name) + " cannot refer to its own result");
        } else if (f != c.frame && i == limit) {
          error(where, prefix + "loop " + quote(name) + " is not visible inside its own body");
        } else {
          error(where, prefix + "step " + quote(name) + " runs later (at " +
                           to_string(steps[i].location) + ")");
        }
        return nullptr;
      }
      limit = f->index_in_parent;
    }
    if (std::find(options_.unread_steps.begin(), options_.unread_steps.end(), name) !=
        options_.unread_steps.end()) {
      return nullptr;  // the loader said why the step is not there
    }
    const std::string prefix = what + ": ";
    // Steps of several loops may share the name: each of those loops is named.
    std::vector<std::string> loops;
    for (auto [it, end] = all_steps_.equal_range(name); it != end; ++it) {
      if (it->second.enclosing_loop) loops.push_back(quote(it->second.enclosing_loop->name));
    }
    if (!loops.empty()) {
      error(where, prefix + "step " + quote(name) + " is inside loop " + join(loops, " and loop ") +
                       " and not visible here");
      return nullptr;
    }
    error(where, prefix + "there is no step " + quote(name) + did_you_mean(name, visible_names(c)));
    return nullptr;
  }

  void check_loop_reference(const ReferenceUse& use, const Context& c,
                            const SourceLocation& where) {
    const std::vector<const Step*> loops = loops_of(c);
    const std::string prefix = "reference " + quote(use.text) + ": ";
    if (loops.empty()) {
      error(where, prefix + "\"loop\" is only defined inside a loop body");
      return;
    }
    size_t level = 0;
    for (const std::string& segment : use.path) {
      const Step& loop = *loops[level];
      if (segment == "parent") {
        if (level + 1 >= loops.size()) {
          error(where, prefix + "loop " + quote(loop.name) + " has no enclosing loop");
          return;
        }
        ++level;
        continue;
      }
      std::vector<std::string> fields;
      if (loop.type == StepType::kForLoop) {
        fields.assign(std::begin(kForLoopFields), std::end(kForLoopFields));
        fields.push_back(loop.options.get_string("iterator"));
      } else {
        fields.assign(std::begin(kWhileLoopFields), std::end(kWhileLoopFields));
      }
      if (std::find(fields.begin(), fields.end(), segment) == fields.end()) {
        error(where, prefix + "loop " + quote(loop.name) + " has no field " + quote(segment) +
                         did_you_mean(segment, fields));
      }
      return;
    }
  }

  // The references of an expression (conditions, templates, sources), and the `matches`
  // patterns it writes out.
  void check_references(const Expression& expression, const Context& c,
                        const SourceLocation& where) {
    if (Status st = expression.check_patterns(); !st.ok()) error(where, st.error().message);
    for (const ReferenceUse& use : expression.references()) {
      if (use.guarded) continue;
      const std::string what = "reference " + quote(use.text);
      const std::string prefix = what + ": ";
      if (use.root == kRootSteps) {
        if (use.path.empty()) continue;
        const Step* step = check_step_name(use.path[0], what, c, where);
        if (step && use.path.size() > 1) check_loop_member(*step, use.path[1], prefix, where);
      } else if (use.root == kRootInputs) {
        if (use.path.empty() || !pipeline_.inputs_declared) continue;
        std::vector<std::string> declared;
        for (const auto& input : pipeline_.inputs) declared.push_back(input.name);
        if (std::find(declared.begin(), declared.end(), use.path[0]) == declared.end()) {
          error(where, prefix + "the pipeline declares no input " + quote(use.path[0]) +
                           did_you_mean(use.path[0], declared));
        }
      } else if (use.root == kRootGlobalVars) {
        if (use.path.empty() || pipeline_.global_vars.find(use.path[0])) continue;
        if (inherited_ && (inherited_->unknown || inherited_->global_vars.count(use.path[0]))) {
          continue;
        }
        const Inherited visible = inheritance();
        std::vector<std::string> names(visible.global_vars.begin(), visible.global_vars.end());
        error(where, prefix + "global_vars has no " + quote(use.path[0]) +
                         (inherited_ ? kNorInherited : "") + did_you_mean(use.path[0], names));
      } else if (use.root == kRootState) {
        if (use.path.empty() || state_unknown_) continue;
        if (inherited_ && (inherited_->unknown || inherited_->state_unknown ||
                           inherited_->state.count(use.path[0]))) {
          continue;
        }
        if (auto set = setters_.find(use.path[0]); set != setters_.end()) {
          const auto& steps = set->second;
          if (std::any_of(steps.begin(), steps.end(),
                          [&](const Step* s) { return may_have_run_before(s, c); })) {
            continue;
          }
          error(where, prefix + "set_variable step " + quote(steps.front()->name) + " sets " +
                           quote(use.path[0]) + " only later (at " + to_string(steps.front()->location) +
                           "); write default(" + use.text + ", ...) if it may be unset");
          continue;
        }
        const Inherited visible = inheritance();
        std::vector<std::string> names(visible.state.begin(), visible.state.end());
        error(where, prefix + "no set_variable step sets " + quote(use.path[0]) +
                         (inherited_ ? kNorInherited : "") + did_you_mean(use.path[0], names));
      } else if (use.root == kRootLoop) {
        check_loop_reference(use, c, where);
      } else {
        const Step* step = check_step_name(use.root, what, c, where);
        if (step && !use.path.empty()) check_loop_member(*step, use.path[0], prefix, where);
      }
    }
  }

  // `member` of step `step`'s result, when that result's members are known (a loop's or a
  // fan-out's): they have no `data` whose members a step reference would read instead.
  void check_loop_member(const Step& step, const std::string& member, const std::string& prefix,
                         const SourceLocation& where) {
    const std::vector<std::string_view> members = loop_result_members(step);
    if (members.empty()) return;
    if (std::find(members.begin(), members.end(), member) != members.end()) return;
    if (is_index(member)) return;  // the runtime says what it makes of it
    const std::string has_no = prefix + "a " + std::string(step_type_name(step.type)) +
                               " step's result has no " + quote(member);
    if (step.type == StepType::kClaudeBatch &&
        std::find(std::begin(kConsolidatedMembers), std::end(kConsolidatedMembers), member) !=
            std::end(kConsolidatedMembers)) {
      error(where, has_no + " unless its batch_config sets consolidate_results: true");
      return;
    }
    std::string listed;
    for (std::string_view m : members) listed += (listed.empty() ? "" : ", ") + std::string(m);
    error(where, has_no + did_you_mean(member, members) + " (it has " + listed + ")");
  }

  // An output_to_file path without templates: the broker would refuse it after the step ran.
  void check_output_path(const std::string& path, const SourceLocation& where) {
    if (has_template(path)) return;
    const std::string problem = output_path_problem(path);
    if (!problem.empty()) error(where, "output_to_file: " + problem);
  }

  // A string that may hold templates: each must parse and its references must resolve.
  void check_text(const std::string& text, const Context& c, const SourceLocation& where,
                  const std::string& what) {
    if (!has_template(text)) return;
    auto parsed = Template::parse(text);
    if (!parsed.ok()) {
      error(where, "bad template in " + what + ": " + parsed.error().message);
      return;
    }
    for (const Expression& e : parsed->expressions()) check_references(e, c, where);
  }

  void check_condition(const Value& condition, const Context& c, const SourceLocation& where,
                       const std::string& what) {
    auto parsed = parse_condition(condition);
    if (!parsed.ok()) {
      error(where, "bad " + what + ": " + parsed.error().message);
      return;
    }
    for (const Expression& e : *parsed) check_references(e, c, where);
  }

  // data_source / input_source: a bare reference or exactly one {{ }}.
  void check_source(const Value& source, const Context& c, const SourceLocation& where,
                    const std::string& key) {
    if (!source.is_string()) return;
    const std::string& text = source.as_string();
    if (has_template(text)) {
      auto parsed = Template::parse(text);
      if (!parsed.ok()) {
        error(where, "bad template in " + quote(key) + ": " + parsed.error().message);
        return;
      }
      if (!parsed->is_single_expression()) {
        error(where, quote(key) + " must be a reference or one {{ }} template, not text");
        return;
      }
      check_references(parsed->expressions().front(), c, where);
      return;
    }
    auto parsed = Expression::parse(text);
    if (!parsed.ok()) {
      error(where, "bad " + quote(key) + ": " + parsed.error().message);
      return;
    }
    check_references(*parsed, c, where);
  }

  // Every string inside a step's options, except the keys checked on their own.
  void walk(const Value& v, const std::string& path, const Step& step, const Context& c) {
    if (v.is_string()) {
      check_text(v.as_string(), c, step.location_of(path), quote(path));
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        walk(v.as_array()[i], path + "." + std::to_string(i), step, c);
      }
    } else if (v.is_object()) {
      for (const auto& [key, member] : v.as_object()) {
        walk(member, path.empty() ? key : path + "." + key, step, c);
      }
    }
  }

  // One data_transform operation. The worker gets operations as written and evaluates their
  // conditions and expressions per item, where the item's fields are the names: those are
  // checked for syntax only (plain or one {{ }}, as the worker reads them). A join's
  // right_source is resolved by the broker like input_source. Nothing else is rendered, so a
  // template anywhere else would reach the worker as text: refused.
  void check_operation(const Value& op, const std::string& path, const Step& step,
                       const Context& c) {
    if (!op.is_object()) return;
    for (const auto& [key, value] : op.as_object()) {
      const std::string key_path = path + "." + key;
      const SourceLocation where = step.location_of(key_path);
      if ((key == "condition" || key == "expression") && value.is_string()) {
        auto parsed = parse_condition_string(value.as_string());
        if (!parsed.ok()) {
          error(where, std::string(key == "condition" ? "bad filter condition: "
                                                      : "bad map expression: ") +
                           parsed.error().message);
        }
      } else if (key == "right_source") {
        // A literal list is rendered by the broker like any option: its templates are checked.
        if (value.is_string()) {
          check_source(value, c, where, key);
        } else {
          walk(value, key_path, step, c);
        }
      } else if ((key == "by" || key == "field") && value.is_array() &&
                 op.get_string("operation") != "sort") {
        error(where, quote(key_path) + " is a list, but only sort takes several fields");
      } else {
        refuse_templates(value, key_path, step);
      }
    }
  }

  void refuse_templates(const Value& v, const std::string& path, const Step& step) {
    if (v.is_string() && has_template(v.as_string())) {
      error(step.location_of(path),
            quote(path) + " cannot hold a template: operations reach the worker unrendered " +
                "(only condition, expression and right_source are evaluated)");
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        refuse_templates(v.as_array()[i], path + "." + std::to_string(i), step);
      }
    } else if (v.is_object()) {
      for (const auto& [key, member] : v.as_object()) {
        refuse_templates(member, path + "." + key, step);
      }
    }
  }

  void check_file(const Value* path_value, const SourceLocation& where, const std::string& what,
                  bool also_workspace) {
    if (!path_value || !path_value->is_string()) return;
    const std::string& path = path_value->as_string();
    if (path.empty() || has_template(path)) return;
    std::error_code ec;
    std::filesystem::path p(path);
    std::filesystem::path full = p.is_absolute() ? p : options_.base_dir / p;
    if (std::filesystem::exists(full, ec)) return;
    if (also_workspace && !p.is_absolute()) {
      std::filesystem::path workspace = options_.base_dir / pipeline_.workspace_dir / p;
      if (std::filesystem::exists(workspace, ec)) return;
    }
    // base_dir is the pipeline file's directory: empty for a file named without one.
    std::string looked = options_.base_dir.empty() ? std::string("the pipeline's directory")
                                                   : options_.base_dir.string();
    if (also_workspace) {
      looked += " and the workspace " +
                (options_.base_dir / pipeline_.workspace_dir).lexically_normal().string();
    }
    error(where, what + " " + quote(path) + " does not exist (looked in " + looked + ")");
  }

  void check_prompt(const Value* prompt, const std::string& path, const Step& step,
                    const Context& c) {
    if (!prompt || !prompt->is_array()) return;
    for (size_t i = 0; i < prompt->size(); ++i) {
      const Value& part = prompt->as_array()[i];
      const std::string part_path = path + "." + std::to_string(i);
      const std::string type = part.get_string("type");
      if (type == "file") {
        check_file(part.find("path"), step.location_of(part_path + ".path"), "prompt file", true);
      } else if (type == "previous_response") {
        const Value* name = part.find("step");
        if (!name || !name->is_string() || has_template(name->as_string())) continue;
        const std::string what = "previous_response step " + quote(name->as_string());
        const SourceLocation where = step.location_of(part_path + ".step");
        const Step* named = check_step_name(name->as_string(), what, c, where);
        if (!named) continue;
        const std::string extract = part.get_string("extract");
        if (extract.empty()) {
          const std::string why = why_no_response(*named);
          if (!why.empty()) error(where, what + ": " + why);
        } else if (!has_template(extract)) {
          check_extract(*named, extract, what, step.location_of(part_path + ".extract"));
        }
      }
    }
  }

  // The first segment of a previous_response's `extract` from a loop or a fan-out: one of its
  // result's members or, for a fan-out whose tasks are written out, a task's id (what the
  // broker's walk reads there). Anything else fails in every run.
  void check_extract(const Step& step, const std::string& extract, const std::string& what,
                     const SourceLocation& where) {
    const std::vector<std::string_view> members = loop_result_members(step);
    if (members.empty()) return;
    const std::string first = extract.substr(0, extract.find('.'));
    // pipeline_ex's names for the response, and indices, are the runtime's to judge.
    if (first == "content" || first == "result" || is_index(first)) return;
    if (std::find(members.begin(), members.end(), first) != members.end()) return;
    std::vector<std::string> known(members.begin(), members.end());
    std::vector<std::string> ids;
    if (is_fan_out(step.type)) {
      if (step.options.find("tasks_file")) return;  // its ids are known once the file is read
      const Value* tasks =
          step.options.find(step.type == StepType::kParallelClaude ? "parallel_tasks" : "tasks");
      if (!tasks || !tasks->is_array()) return;
      for (size_t i = 0; i < tasks->size(); ++i) {
        const std::string id = task_id(tasks->as_array()[i], i);
        if (id == first) return;
        ids.push_back(id);
      }
      known.insert(known.end(), ids.begin(), ids.end());
    }
    error(where, what + ": extract " + quote(extract) + ": a " +
                     std::string(step_type_name(step.type)) + " step's result has no " +
                     quote(first) + (ids.empty() ? "" : ", and no task has that id") +
                     did_you_mean(first, known));
  }

  void check_step(const Step& step, const Context& c) {
    const std::string label = std::string(step_type_name(step.type)) + " step " + quote(step.name);
    const Value& options = step.options;
    const size_t said_before = out_.size();

    // Fields evaluated in the step's own context.
    if (step.type != StepType::kWhileLoop) {
      check_condition(step.condition, c, step.location_of("condition"), "condition");
    }
    check_text(step.output_to_file, c, step.location_of("output_to_file"), "\"output_to_file\"");
    if (step.has_key("output_to_file")) {
      check_output_path(step.output_to_file, step.location_of("output_to_file"));
    }
    for (const char* list : {"parallel_tasks", "tasks"}) {
      const Value* tasks = options.find(list);
      if (!tasks || !tasks->is_array()) continue;
      for (size_t i = 0; i < tasks->size(); ++i) {
        const Value* path = tasks->as_array()[i].find("output_to_file");
        if (!path || !path->is_string()) continue;
        check_output_path(
            path->as_string(),
            step.location_of(std::string(list) + "." + std::to_string(i) + ".output_to_file"));
      }
    }
    if (options.is_object()) {
      for (const auto& [key, value] : options.as_object()) {
        if (key == "break_condition") continue;
        if (step.type == StepType::kPipeline && key == "pipeline") continue;
        if ((key == "data_source" || key == "input_source") && value.is_string()) continue;
        if (step.type == StepType::kDataTransform && key == "operations") continue;
        walk(value, key, step, c);
      }
    }

    switch (step.type) {
      case StepType::kForLoop: {
        if (const Value* source = options.find("data_source")) {
          check_source(*source, c, step.location_of("data_source"), "data_source");
        }
        check_file(options.find("items_file"), step.location_of("items_file"), "items_file", false);
        if (const Value* brk = options.find("break_condition")) {
          Frame body{&step.steps, &step, c.frame, c.visible};
          Context after{&body, step.steps.size(), nullptr};
          check_condition(*brk, after, step.location_of("break_condition"), "break_condition");
        }
        break;
      }
      case StepType::kWhileLoop:
        // Checked before each iteration, in the scope around the loop.
        check_condition(step.condition, c, step.location_of("condition"), "condition");
        break;
      case StepType::kDataTransform: {
        if (const Value* source = options.find("input_source")) {
          check_source(*source, c, step.location_of("input_source"), "input_source");
        }
        if (const Value* ops = options.find("operations"); ops && ops->is_array()) {
          for (size_t i = 0; i < ops->size(); ++i) {
            check_operation(ops->as_array()[i], "operations." + std::to_string(i), step, c);
          }
        }
        break;
      }
      case StepType::kClaudeBatch: {
        check_file(options.find("tasks_file"), step.location_of("tasks_file"), "tasks_file", false);
        const Value* tasks = options.find("tasks");
        for (size_t i = 0; tasks && tasks->is_array() && i < tasks->size(); ++i) {
          const std::string path = "tasks." + std::to_string(i);
          const Value& task = tasks->as_array()[i];
          check_prompt(task.find("prompt"), path + ".prompt", step, c);
          check_file(task.find("file"), step.location_of(path + ".file"), "task file", true);
        }
        break;
      }
      case StepType::kParallelClaude: {
        const Value* tasks = options.find("parallel_tasks");
        for (size_t i = 0; tasks && tasks->is_array() && i < tasks->size(); ++i) {
          const std::string path = "parallel_tasks." + std::to_string(i) + ".prompt";
          check_prompt(tasks->as_array()[i].find("prompt"), path, step, c);
        }
        break;
      }
      case StepType::kGemini:
      case StepType::kGeminiInstructor: {
        const Value* functions = options.find("functions");
        for (size_t i = 0; functions && functions->is_array() && i < functions->size(); ++i) {
          const Value& name = functions->as_array()[i];
          if (!name.is_string() || has_template(name.as_string()) ||
              pipeline_.gemini_functions.find(name.as_string())) {
            continue;
          }
          std::vector<std::string> defined;
          if (pipeline_.gemini_functions.is_object()) {
            for (const auto& [k, v] : pipeline_.gemini_functions.as_object()) defined.push_back(k);
          }
          error(step.location_of("functions." + std::to_string(i)),
                "function " + quote(name.as_string()) + " is not defined in gemini_functions" +
                    did_you_mean(name.as_string(), defined));
        }
        break;
      }
      case StepType::kSetVariable:
        if (options.get_string("scope") == "loop" && loops_of(c).empty()) {
          error(step.location_of("scope"), label + " has scope \"loop\" but is not inside a loop");
        }
        break;
      case StepType::kPipeline:
        check_child_pipeline(step);
        break;
      default:
        break;
    }
    check_prompt(options.find("prompt"), "prompt", step, c);
    // Only for a step found clean here, so that its reader does not repeat what was said.
    const bool clean =
        std::none_of(out_.begin() + static_cast<std::ptrdiff_t>(said_before), out_.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
    if (clean && options_.check_step_options) {
      for (StepOptionProblem& problem : options_.check_step_options(step)) {
        error(step.location_of(problem.key), std::move(problem.message));
      }
    }
  }

  // What a child that inherits this pipeline's context sees: its global_vars and state names,
  // and what it inherits itself.
  Inherited inheritance() const {
    Inherited out;
    if (inherited_) out = *inherited_;
    if (pipeline_.global_vars.is_object()) {
      for (const auto& [k, v] : pipeline_.global_vars.as_object()) out.global_vars.insert(k);
    }
    out.state.insert(state_names_.begin(), state_names_.end());
    out.state_unknown = out.state_unknown || state_unknown_;
    return out;
  }

  static bool inherits_context(const Step& step) {
    const Value* config = step.options.find("config");
    return config && config->get_bool("inherit_context", false);
  }

  // What the step gives the child and takes from it, against what the child declares: the
  // broker would refuse it only when the step runs, after the steps before it were paid for.
  void check_child_interface(const Step& step, const Pipeline& child) {
    std::vector<std::string> declared;
    for (const InputSpec& spec : child.inputs) declared.push_back(spec.name);
    const Value* given = step.options.find("inputs");
    const bool given_map = given && given->is_object();  // the schema allows nothing else
    if (given_map && child.inputs_declared) {
      for (const auto& [name, value] : given->as_object()) {
        if (std::find(declared.begin(), declared.end(), name) != declared.end()) continue;
        error(step.location_of("inputs." + name),
              "the child pipeline has no input " + quote(name) + did_you_mean(name, declared) +
                  "; it declares " +
                  (declared.empty() ? std::string("none") : "inputs " + join(declared, ", ")));
      }
    }
    for (const InputSpec& spec : child.inputs) {
      const Value* value = given_map ? given->find(spec.name) : nullptr;
      if (!value) {
        if (spec.required && spec.default_value.is_null()) {
          error(step.location_of(given ? "inputs" : "pipeline_file"),
                "the child pipeline's required input " + quote(spec.name) + " is not given");
        }
        continue;
      }
      if (value->is_string() && has_template(value->as_string())) continue;  // known at run time
      if (auto converted = convert_input(spec, *value); !converted.ok()) {
        error(step.location_of("inputs." + spec.name), converted.error().message);
      }
    }
    const Value* outputs = step.options.find("outputs");
    if (!outputs || !outputs->is_array()) return;
    std::vector<std::string> names;
    for (const Step& s : child.steps) names.push_back(s.name);
    for (size_t i = 0; i < outputs->size(); ++i) {
      const Value& output = outputs->as_array()[i];
      const std::string path = output.is_string() ? output.as_string() : output.get_string("path");
      const std::string first = path.substr(0, path.find('.'));
      if (first.empty() || std::find(names.begin(), names.end(), first) != names.end()) continue;
      error(step.location_of("outputs." + std::to_string(i)),
            "output " + quote(path) + ": the child pipeline has no step " + quote(first) +
                did_you_mean(first, names));
    }
  }

  void check_child_pipeline(const Step& step) {
    const std::optional<Inherited> inherited =
        inherits_context(step) ? std::optional<Inherited>(inheritance()) : std::nullopt;
    const Inherited* passed = inherited ? &*inherited : nullptr;
    if (step.inline_pipeline) {
      if (file_stack_.size() >= kMaxPipelineNesting) return;
      check_child_interface(step, *step.inline_pipeline);
      Validator child(*step.inline_pipeline, options_, out_, file_stack_, passed);
      child.run();
      return;
    }
    const Value* file = step.options.find("pipeline_file");
    const SourceLocation where = step.location_of("pipeline_file");
    check_file(file, where, "pipeline_file", false);
    if (!options_.follow_pipeline_files || !file || !file->is_string() ||
        has_template(file->as_string())) {
      return;
    }
    std::filesystem::path p(file->as_string());
    std::filesystem::path full = p.is_absolute() ? p : options_.base_dir / p;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(full, ec)) return;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(full, ec);
    if (ec) canonical = full;
    if (std::find(file_stack_.begin(), file_stack_.end(), canonical) != file_stack_.end()) {
      std::string chain;
      for (const auto& f : file_stack_) chain += f.filename().string() + " -> ";
      chain += canonical.filename().string();
      error(where, "pipeline files include each other: " + chain);
      return;
    }
    if (file_stack_.size() >= kMaxPipelineNesting) {
      error(where, "pipeline files nest deeper than " + std::to_string(kMaxPipelineNesting));
      return;
    }
    LoadResult loaded = load_pipeline_file(full);
    out_.insert(out_.end(), loaded.diagnostics.begin(), loaded.diagnostics.end());
    if (!loaded.pipeline) return;
    check_child_interface(step, *loaded.pipeline);
    file_stack_.push_back(canonical);
    ValidateOptions child_options = options_;
    child_options.base_dir = full.parent_path();
    child_options.unread_steps.clear();  // the parent's: the child's names are its own
    Validator child(*loaded.pipeline, child_options, out_, file_stack_, passed);
    child.run();
    file_stack_.pop_back();
  }

  const Pipeline& pipeline_;
  const ValidateOptions& options_;
  std::vector<Diagnostic>& out_;
  std::vector<std::filesystem::path>& file_stack_;
  const Inherited* inherited_;
  std::multimap<std::string, StepInfo> all_steps_;
  std::set<std::string> state_names_;
  bool state_unknown_ = false;
  struct Placement {
    int order = 0;                // when the step first runs, counting from 0
    int end = 0;                  // the order of the first step after it and its body
    const Step* loop = nullptr;   // the loop whose body holds it
  };
  std::map<const Step*, Placement> placed_;
  int next_order_ = 0;
  std::map<std::string, std::vector<const Step*>> setters_;  // set_variable steps, by variable
};

// The lines step `step` spans in its file: from its own to the last of its keys' and its
// body's.
std::pair<int, int> lines_of(const Step& step) {
  int last = step.location.line;
  for (const auto& [key, where] : step.key_locations) last = std::max(last, where.line);
  for (const Step& inner : step.steps) last = std::max(last, lines_of(inner).second);
  return {step.location.line, last};
}

// The line ranges, in `steps` and the bodies below them, of the innermost steps that hold a
// line in `error_lines`.
void broken_ranges(const std::vector<Step>& steps, const std::set<int>& error_lines,
                   std::vector<std::pair<int, int>>& out) {
  for (const Step& step : steps) {
    const auto [first, last] = lines_of(step);
    auto error = error_lines.lower_bound(first);
    if (error == error_lines.end() || *error > last) continue;
    const size_t before = out.size();
    broken_ranges(step.steps, error_lines, out);
    // The step itself, unless every error in it is inside one of its body's steps.
    bool all_inside = out.size() > before;
    for (auto e = error; all_inside && e != error_lines.end() && *e <= last; ++e) {
      all_inside =
          std::any_of(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                      [&](const auto& range) { return *e >= range.first && *e <= range.second; });
    }
    if (!all_inside) out.emplace_back(first, last);
  }
}

}  // namespace

std::vector<Diagnostic> validate_partial(const LoadResult& loaded, ValidateOptions options) {
  if (!loaded.partial) return {};
  const Pipeline& pipeline = *loaded.partial;
  std::set<int> error_lines;  // in the pipeline's own file
  for (const Diagnostic& d : loaded.diagnostics) {
    if (d.severity == Severity::kError && d.where.file == pipeline.file) {
      error_lines.insert(d.where.line);
    }
  }
  std::vector<std::pair<int, int>> quiet;
  broken_ranges(pipeline.steps, error_lines, quiet);
  options.unread_steps = loaded.unread_steps;
  std::vector<Diagnostic> found = validate_pipeline(pipeline, options);
  std::erase_if(found, [&](const Diagnostic& d) {
    if (d.where.file != pipeline.file) return false;  // a child file's: nothing here explains it
    if (d.where.line == 0 || error_lines.count(d.where.line)) return true;
    return std::any_of(quiet.begin(), quiet.end(), [&](const auto& range) {
      return d.where.line >= range.first && d.where.line <= range.second;
    });
  });
  return found;
}

std::vector<std::string_view> loop_result_members(const Step& step) {
  if (!is_loop(step.type) && !is_fan_out(step.type)) return {};
  std::vector<std::string_view> members;
  auto add = [&members](std::span<const std::string_view> more) {
    members.insert(members.end(), more.begin(), more.end());
  };
  if (step.type == StepType::kWhileLoop) {
    members.push_back("iterations");
  } else {
    add(kParallelResultMembers);
  }
  add(kLoopResultMembers);
  if (consolidates_results(step)) add(kConsolidatedMembers);
  return members;
}

std::vector<Diagnostic> validate_pipeline(const Pipeline& pipeline,
                                          const ValidateOptions& options) {
  std::vector<Diagnostic> out;
  std::vector<std::filesystem::path> file_stack;
  try {
    if (!pipeline.file.empty()) {
      std::error_code ec;
      std::filesystem::path self(pipeline.file);
      std::filesystem::path full = self.is_absolute() ? self : std::filesystem::absolute(self, ec);
      if (std::filesystem::is_regular_file(full, ec)) {
        file_stack.push_back(std::filesystem::weakly_canonical(full, ec));
      }
    }
    const Inherited unknown{true, {}, {}, false};
    Validator(pipeline, options, out, file_stack, options.inherits_context ? &unknown : nullptr)
        .run();
  } catch (const std::exception& e) {
    Diagnostic stopped;
    stopped.where.file = pipeline.file;
    stopped.message = std::string("validation stopped: ") + e.what();
    out.push_back(std::move(stopped));
  }
  sort_in_file_order(out);
  return out;
}

}  // namespace pl::pipeline
