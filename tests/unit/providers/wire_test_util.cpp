#include "tests/unit/providers/wire_test_util.h"

#include <vector>

namespace pl::worker::providers::testing {
namespace {

const std::vector<Value>& replacements() {
  static const std::vector<Value> kinds = {Value(), Value(true), Value(7), Value(2.5), Value("s"),
                                           Value::array(), Value::object()};
  return kinds;
}

// Visits every node of `v` by pointer; `root` is mutated in place and restored after.
void visit(Value& root, Value& node, const std::function<void(const Value&)>& check) {
  auto try_all = [&](Value& slot) {
    const Value saved = slot;
    for (const Value& r : replacements()) {
      if (r.kind() == saved.kind()) continue;
      slot = r;
      check(root);
    }
    slot = saved;
    visit(root, slot, check);
  };
  if (node.is_object()) {
    for (auto& [k, child] : node.as_object()) try_all(child);
  } else if (node.is_array()) {
    for (Value& child : node.as_array()) try_all(child);
  }
}

}  // namespace

CompletionRequest round_trip_request() {
  CompletionRequest r;
  r.model = "model-x";
  r.system = "be brief";
  r.messages.push_back(Message::user("what is the weather?"));
  Value args;
  args["city"] = "Paris";
  r.messages.push_back(Message::assistant("let me look", {ToolCall{"call_7", "weather", args, ""}}));
  r.messages.push_back(Message::results({ToolResult{"call_7", "weather", R"({"sky": "clear"})", false}}));
  ToolSpec tool;
  tool.name = "weather";
  tool.description = "the weather in a city";
  tool.input_schema["type"] = "object";
  tool.input_schema["properties"]["city"]["type"] = "string";
  r.tools.push_back(tool);
  r.max_tokens = 100;
  r.temperature = 0.5;
  return r;
}

void for_each_truncation(const std::string& body, const std::function<void(std::string_view)>& check) {
  for (size_t n = 0; n < body.size(); ++n) check(std::string_view(body).substr(0, n));
}

void for_each_type_mutation(const Value& body, const std::function<void(const Value&)>& check) {
  Value copy = body;
  visit(copy, copy, check);
}

}  // namespace pl::worker::providers::testing
