// Malformed options and data of every kind: each must come back as a value or an error, never
// a crash or an exception.
#include <gtest/gtest.h>

#include "fs_fixture.h"
#include "test_util.h"
#include "worker/data/file_operations.h"
#include "worker/data/transform.h"

namespace pl::worker::data {
namespace {

using testing::json;

std::vector<Value> odd_values() {
  return {Value(),    Value(true),        Value(-1),     Value(1.5),
          Value(""),  Value("x"),         Value("a..b"), Value("{{"),
          json("[]"), json("[1, \"a\"]"), json("{}"),    json(R"({"a": [1]})")};
}

std::vector<Value> odd_inputs() {
  return {Value(),
          Value(3),
          json("[]"),
          json("[1, 2.5, \"x\", null, true]"),
          json(R"([{"a": 1, "k": "x"}, {"a": "2", "k": 1}, {"k": null}, [1], {}])"),
          json(R"({"a": 1})")};
}

TEST(DataRobustness, EveryOperationOptionOfEveryKindIsHandled) {
  const std::map<std::string, std::vector<std::string>> keys{
      {"filter", {"condition", "field"}},
      {"map", {"expression", "mapping", "field", "as"}},
      {"aggregate", {"function", "field", "group_by", "as"}},
      {"join", {"right_source", "right_source_value", "join_key", "left_field", "join_type", "as"}},
      {"group_by", {"field", "by"}},
      {"sort", {"by", "field", "order"}},
  };
  size_t runs = 0;
  for (const auto& [op, names] : keys) {
    for (const std::string& key : names) {
      for (const Value& v : odd_values()) {
        Value entry = Value::object();
        entry["operation"] = op;
        entry[key] = v;
        Value ops = Value::array();
        ops.push_back(entry);
        auto parsed = parse_operations(ops);
        if (!parsed.ok()) {
          EXPECT_FALSE(parsed.error().message.empty());
          continue;
        }
        for (const Value& input : odd_inputs()) {
          auto r = apply_operations(input, *parsed);
          if (!r.ok()) {
            EXPECT_FALSE(r.error().message.empty());
          }
          ++runs;
        }
      }
    }
  }
  EXPECT_GT(runs, 0u);
}

TEST(DataRobustness, EveryFileOpsKeyOfEveryKindIsHandled) {
  pl::test::TempDir tmp;
  std::filesystem::create_directories(tmp.path() / "ws");
  const Workspace workspace(tmp.path() / "ws", tmp.path() / "out");
  for (const char* op : {"copy", "move", "delete", "list", "validate", "convert"}) {
    for (const char* key :
         {"source", "destination", "path", "files", "format", "pattern", "recursive"}) {
      for (const Value& v : odd_values()) {
        Value input = Value::object();
        input["operation"] = op;
        input[key] = v;
        auto request = parse_file_ops_request(input);
        if (!request.ok()) {
          EXPECT_FALSE(request.error().message.empty());
          continue;
        }
        auto r = run_file_operation(*request, workspace);
        if (!r.ok()) {
          EXPECT_FALSE(r.error().message.empty());
        }
      }
    }
  }
}

TEST(DataRobustness, DeeplyNestedValuesAreCompared) {
  Value deep = json("1");
  for (int i = 0; i < 100; ++i) {
    Value::Array wrap{deep};
    deep = Value(std::move(wrap));
  }
  Value items = Value::array();
  items.push_back(deep);
  items.push_back(deep);
  auto ops =
      parse_operations(json(R"([{"operation": "aggregate", "function": "count_distinct"}])"));
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(*apply_operations(items, *ops), Value(1));
}

}  // namespace
}  // namespace pl::worker::data
