#include "broker/step_binding.h"

#include "common/byte_size.h"
#include "common/json.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/scope.h"
#include "common/pipeline/template.h"

namespace pl::broker {
namespace {

using pipeline::StepType;

// A step result's member, or for a batch result (`items` with ids) the item of that id.
const Value* member_or_item(const Value& v, const std::string& segment) {
  if (const Value* m = v.find(segment)) return m;
  if (const Value* items = v.find("items"); items && items->is_array()) {
    for (const Value& item : items->as_array()) {
      if (item.is_object() && item.get_string("id") == segment) return &item;
    }
  }
  return nullptr;
}

// `path` ("a.b.0") inside `v`; nullptr when a segment is missing.
const Value* walk(const Value& v, std::string_view path) {
  const Value* at = &v;
  size_t pos = 0;
  while (at && pos <= path.size()) {
    const size_t dot = path.find('.', pos);
    const std::string segment(path.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
    if (segment.empty()) return nullptr;
    if (at->is_object()) {
      at = member_or_item(*at, segment);
    } else if (at->is_array()) {
      char* end = nullptr;
      const unsigned long index = std::strtoul(segment.c_str(), &end, 10);
      at = end && *end == '\0' && index < at->as_array().size() ? &at->as_array()[index] : nullptr;
    } else {
      return nullptr;
    }
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return at;
}

// What a previous_response part without `extract` reads: the step's text, else its data. A
// step that was skipped, failed or has neither has no response: the prompt would otherwise
// carry its whole result object as text (and an LLM call be paid for it).
Result<const Value*> response_of(const Value& result, const std::string& step) {
  const std::string named = "step \"" + step + "\"";
  if (result.get_bool("skipped")) {
    return make_error(ErrorCode::kInvalidInput,
                      named + " was skipped (its condition was false): it has no response");
  }
  if (!result.get_bool("success")) {
    return make_error(ErrorCode::kInvalidInput,
                      named + " failed and has no response (an extract reads a field of its "
                              "result all the same); its error: " + result.get_string("error"));
  }
  if (const Value* text = result.find("text"); text && text->is_string()) return text;
  if (const Value* data = result.find("data")) return data;
  if (const Value* file = result.find("text_file"); file && file->is_string()) {
    // A batch's consolidated text that outgrew a result: too large for a prompt as well.
    return make_error(ErrorCode::kInvalidInput,
                      named + "'s consolidated text is " +
                          format_bytes(static_cast<uint64_t>(result.get_int("text_bytes"))) +
                          ", written to " + file->as_string() +
                          " instead of its result; name a task to use with extract");
  }
  return make_error(ErrorCode::kInvalidInput,
                    named + " has neither text nor data to use as its response; name the field "
                            "to use with extract (\"items\", \"total\", ...)");
}

Status bind_previous_responses(Value& input, const FrameScope& scope) {
  Value* prompt = input.find("prompt");
  if (!prompt || !prompt->is_array()) return ok_status();
  size_t index = 0;
  for (Value& part : prompt->as_array()) {
    ++index;
    if (!part.is_object() || part.get_string("type") != "previous_response") continue;
    const std::string step = part.get_string("step");
    const Value* result = scope.root(step);
    if (!result) {
      return make_error(ErrorCode::kInvalidInput, "prompt part " + std::to_string(index) +
                                                      ": no step \"" + step + "\" before this one");
    }
    const std::string extract = part.get_string("extract");
    const Value* chosen = nullptr;
    if (!extract.empty()) {
      chosen = walk(*result, extract);
      if (!chosen && result->find("data")) chosen = walk(*result->find("data"), extract);
      // pipeline_ex called a response's text "content" or "result".
      if (!chosen && (extract == "content" || extract == "result")) {
        chosen = result->find("text") ? result->find("text") : result->find("data");
      }
      if (!chosen) {
        return make_error(ErrorCode::kNotFound, "prompt part " + std::to_string(index) +
                                                    ": step \"" + step + "\" has nothing at \"" +
                                                    extract + "\"");
      }
    } else {
      auto response = response_of(*result, step);
      if (!response.ok()) {
        return response.error().with_context("prompt part " + std::to_string(index));
      }
      chosen = *response;
    }
    // A step or task result extracted whole reads as its text, as a response would.
    if (const Value* text = chosen->is_object() ? chosen->find("text") : nullptr; text && text->is_string()) {
      chosen = text;
    }
    part["content"] = chosen->is_string() ? *chosen : Value(to_json(*chosen, JsonStyle::kPretty));
  }
  return ok_status();
}

// A source as written (`input_source`, a join's `right_source`): a bare reference
// ("steps.fetch.data") is evaluated; one {{ }} is rendered and its value is the data, a string
// included (never read as a reference again); anything else is rendered as a value.
Result<Value> resolve_source(const Value& written, const pipeline::Scope& scope,
                             std::string_view what) {
  if (!written.is_string()) return pipeline::render_value(written, scope);
  const std::string& text = written.as_string();
  auto value = pipeline::has_template(text) ? pipeline::render_template(text, scope)
                                            : pipeline::evaluate_expression(text, scope);
  if (!value.ok()) return value.error().with_context(std::string(what) + " \"" + text + "\"");
  return value;
}

Status bind_data_transform(Value& input, const pipeline::Step& step, const FrameScope& scope) {
  // Sources and operations as written: the leaf does not render them (step_nodes.cpp).
  const Value* source = step.options.find("input_source");
  if (!source) return make_error(ErrorCode::kInvalidInput, "data_transform needs input_source");
  auto resolved = resolve_source(*source, scope, "input_source");
  if (!resolved.ok()) return std::move(resolved).error();
  input["input_source"] = *source;
  input["input_source_value"] = std::move(*resolved);

  // The worker evaluates the operations' expressions against each item.
  Value operations =
      step.options.find("operations") ? *step.options.find("operations") : Value::array();
  if (operations.is_array()) {
    size_t index = 0;
    for (Value& op : operations.as_array()) {
      const Value* right = op.is_object() ? op.find("right_source") : nullptr;
      if (right) {
        auto value =
            resolve_source(*right, scope, "operation " + std::to_string(index) + " right_source");
        if (!value.ok()) return std::move(value).error();
        op["right_source_value"] = std::move(*value);
      }
      ++index;
    }
  }
  input["operations"] = std::move(operations);

  Value roots = Value::object();
  for (std::string_view name : {pipeline::kRootInputs, pipeline::kRootGlobalVars,
                                pipeline::kRootState, pipeline::kRootLoop}) {
    if (const Value* root = scope.root(name)) roots[name] = *root;
  }
  input["run_roots"] = std::move(roots);
  return ok_status();
}

Status bind_functions(Value& input, const PipelineContext& context) {
  const Value* names = input.find("functions");
  if (!names || !names->is_array()) return ok_status();
  Value definitions = Value::object();
  for (const Value& name : names->as_array()) {
    if (!name.is_string()) continue;
    const Value* definition = context.pipeline ? context.pipeline->gemini_functions.find(name.as_string()) : nullptr;
    if (!definition) {
      return make_error(ErrorCode::kInvalidInput,
                        "function \"" + name.as_string() + "\" is not defined in gemini_functions");
    }
    definitions[name.as_string()] = *definition;
  }
  input["function_definitions"] = std::move(definitions);
  return ok_status();
}

}  // namespace

Result<Value> bind_step_input(const pipeline::Step& step, Value input, const FrameScope& scope,
                              const PipelineContext& context) {
  if (auto st = bind_previous_responses(input, scope); !st.ok()) return std::move(st).error();
  if (step.type == StepType::kDataTransform) {
    if (auto st = bind_data_transform(input, step, scope); !st.ok()) return std::move(st).error();
  }
  if (step.type == StepType::kGemini || step.type == StepType::kGeminiInstructor) {
    if (auto st = bind_functions(input, context); !st.ok()) return std::move(st).error();
  }
  return input;
}

}  // namespace pl::broker
