#include "worker/executors/data_transform_executor.h"

#include <optional>

#include "worker/data/field_path.h"
#include "worker/data/value_order.h"

namespace pl::worker {

Result<Value> DataTransformExecutor::execute(const protocol::WorkItem& item,
                                             const ExecutionContext& context) {
  const Value& input = item.input;
  if (!input.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "data_transform: the step's options must be a map");
  }
  const Value* operations = input.find("operations");
  if (!operations)
    return make_error(ErrorCode::kInvalidInput, "data_transform needs \"operations\"");
  auto parsed = data::parse_operations(*operations, limits_);
  if (!parsed.ok()) return std::move(parsed).error();

  const Value* source = input.find("input_source_value");
  if (!source) {
    const Value* raw = input.find("input_source");
    if (!raw) {
      return make_error(ErrorCode::kInvalidInput, "data_transform needs \"input_source\"");
    }
    if (!raw->is_array() && !raw->is_object()) {
      return make_error(ErrorCode::kInvalidInput,
                        "data_transform: \"input_source\" was not resolved to a list or a map "
                        "before dispatch (it is " +
                            data::kind_phrase(*raw) + ")");
    }
    source = raw;
  }
  std::optional<data::FieldPath> output_field;
  if (const Value* field = input.find("output_field"); field && !field->is_null()) {
    if (!field->is_string() || field->as_string().empty()) {
      return make_error(ErrorCode::kInvalidInput,
                        "data_transform: \"output_field\" must be a non-empty string");
    }
    // A field path like the operations' ones: "a.b" nests, so steps.NAME.data.a.b reads it.
    auto path = data::FieldPath::parse(field->as_string());
    if (!path.ok()) {
      return make_error(ErrorCode::kInvalidInput,
                        "data_transform: \"output_field\": " + path.error().message);
    }
    output_field = std::move(*path);
  }

  const CancelToken& cancel = context.cancel;
  const auto deadline = context.deadline;
  const data::StopCheck stop = [&cancel, deadline] {
    return cancel.cancelled() || std::chrono::steady_clock::now() > deadline;
  };
  const Value* roots = input.find("run_roots");
  if (roots && !roots->is_null() && !roots->is_object()) {
    return make_error(ErrorCode::kInvalidInput, "data_transform: \"run_roots\" must be a map");
  }
  auto result = data::apply_operations(*source, *parsed, limits_, stop, roots ? *roots : Value());
  if (!result.ok()) {
    Error e = std::move(result).error();
    if (e.code == ErrorCode::kCancelled && !cancel.cancelled()) e.code = ErrorCode::kTimeout;
    return e;
  }
  Value out = Value::object();
  if (!output_field) {
    out["data"] = std::move(*result);
    return out;
  }
  Value wrapped = Value::object();
  Status s = output_field->assign(wrapped, std::move(*result));  // into fresh maps: cannot fail
  if (!s.ok()) return s.error();
  out["data"] = std::move(wrapped);
  return out;
}

}  // namespace pl::worker
