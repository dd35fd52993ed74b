// What the fuzzers found, as tests that name the behaviour. Each finding also has its input
// under tests/fuzz/regressions/<target>/, replayed by replay_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/config/yaml_document.h"
#include "common/json.h"
#include "common/pipeline/expression.h"
#include "common/pipeline/loader.h"
#include "common/pipeline/scope.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"
#include "common/regex_match.h"
#include "common/registry/json_schema.h"
#include "supervisor/config_loader.h"
#include "worker/data/csv.h"

namespace pl {
namespace {

TEST(EnvelopeFinding, IntegralDoublesStayDoublesOnTheWire) {
  Value body;
  body["three"] = 3.0;
  body["minus_zero"] = -0.0;
  body["huge"] = 1e19;
  body["negative"] = -4005837081302586880.0;
  body["half"] = 0.5;
  body["integer"] = int64_t{3};
  auto decoded = protocol::decode(protocol::encode(protocol::MessageType::kRunStatus, body));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  for (const char* key : {"three", "minus_zero", "huge", "negative", "half"}) {
    ASSERT_TRUE(decoded->body.find(key)->is_double()) << key;
    EXPECT_EQ(decoded->body.find(key)->as_double(), body.find(key)->as_double()) << key;
  }
  EXPECT_TRUE(std::signbit(decoded->body.find("minus_zero")->as_double()));
  EXPECT_TRUE(decoded->body.find("integer")->is_int());
}

TEST(RegexFinding, StackedQuantifiersAreRefusedRatherThanHanging) {
  for (const char* pattern : {"a+*", "a**", "[ab]+*", "(ab)+*x", "a{2}*", "a*??"}) {
    auto found = regex_search_checked("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", pattern,
                                      pipeline::kMaxRegexLength);
    ASSERT_FALSE(found.ok()) << pattern;
    EXPECT_NE(found.error().message.find("quantifier follows another"), std::string::npos)
        << found.error().message;
  }
  for (const char* pattern : {"a+?", "a*b+", "(a+)?x", "a{2,3}?"}) {
    EXPECT_TRUE(regex_search_checked("aab", pattern, pipeline::kMaxRegexLength).ok()) << pattern;
  }
}

Value heartbeat_body(Value free) {
  Value body = Value::object();
  body["free"] = std::move(free);
  return body;
}

TEST(HeartbeatFinding, ANegativeFreeSlotCountIsRefusedNotWrappedAround) {
  auto negative = protocol::heartbeat_from(heartbeat_body(Value(int64_t{-1})));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("free"), std::string::npos) << negative.error().message;
  EXPECT_FALSE(protocol::heartbeat_from(heartbeat_body(Value(int64_t{1} << 32))).ok());
  auto absent = protocol::heartbeat_from(Value::object());
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->free_slots, 0u);
  auto three = protocol::heartbeat_from(protocol::to_body(protocol::Heartbeat{3}));
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->free_slots, 3u);
}

// `depth` json() calls around a string holding one double quote.
std::string nested_json(int depth) {
  std::string text = "'\"'";
  for (int i = 0; i < depth; ++i) text = "json(" + text + ")";
  return text;
}

TEST(ExpressionFinding, JsonOfJsonStopsAtTheResultLimitInsteadOfDoubling) {
  const Value no_roots = Value::object();
  const pipeline::ValueScope scope(no_roots);
  auto small = pipeline::evaluate_expression(nested_json(3), scope);
  ASSERT_TRUE(small.ok()) << small.error().message;
  auto huge = pipeline::evaluate_expression(nested_json(30), scope);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(huge.error().message.find("json() result is"), std::string::npos)
      << huge.error().message;
}

TEST(ExpressionFinding, NestedPredicatesStopAtTheStepBudget) {
  std::string list = "[";
  for (int i = 0; i < 60; ++i) list += i ? ",1" : "1";
  list += "]";
  // count(L, 'count(L, "count(L, ...)")'), five deep: 60^5 predicate evaluations unbounded.
  std::string text = "true";
  for (int depth = 0; depth < 5; ++depth) {
    std::string quoted = to_json(Value(text));
    text = "count(" + list + ", " + quoted + ")";
  }
  auto r = pipeline::evaluate_expression(text, pipeline::ValueScope(Value::object()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("steps"), std::string::npos) << r.error().message;
}

TEST(JsonSchemaFinding, APatternThatCanTakeExponentialTimeIsRefused) {
  auto schema = parse_json(R"({"type": "string", "pattern": "^(a+)+$"})");
  ASSERT_TRUE(schema.ok());
  auto checked = check_schema(*schema);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("nested repetition"), std::string::npos)
      << checked.error().message;
  // Validation against an unchecked schema refuses the pattern rather than run it.
  Status valid = validate_against_schema(*schema, Value(std::string(40, 'a') + "!"));
  ASSERT_FALSE(valid.ok());
  EXPECT_NE(valid.error().message.find("nested repetition"), std::string::npos)
      << valid.error().message;
}

TEST(ConfigLoaderFinding, ARootThatIsAListIsAConfigErrorNotAnException) {
  auto doc = parse_yaml("- a\n- b\n", "list.yaml");
  ASSERT_TRUE(doc.ok());
  supervisor::CommandLookup lookup{"/bin", "/usr/bin"};
  auto tree = supervisor::read_tree_spec(*doc, lookup, "/tmp");
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.error().code, ErrorCode::kInvalidInput);
}

TEST(LoaderFinding, ATemplatedWorkflowIsAnErrorWithALocation) {
  auto loaded = pipeline::load_pipeline_text("workflow: \"{{ x }}\"\n", "t.yaml");
  EXPECT_FALSE(loaded.ok());
  ASSERT_TRUE(pipeline::has_errors(loaded.diagnostics));
  EXPECT_EQ(loaded.diagnostics.front().where.line, 1);
  EXPECT_NE(loaded.diagnostics.front().message.find("literal"), std::string::npos)
      << loaded.diagnostics.front().message;
}

TEST(CsvFinding, AFieldStartingWithAByteOrderMarkIsQuotedAndReadsBack) {
  const std::string field = "\xEF\xBB\xBFid";
  EXPECT_EQ(worker::data::csv_field(field), "\"" + field + "\"");
  Value records = Value::array();
  Value record;
  record[field] = "1";
  records.push_back(record);
  auto text = worker::data::records_to_csv(records);
  ASSERT_TRUE(text.ok());
  auto back = worker::data::csv_to_records(*text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, records);
}

}  // namespace
}  // namespace pl
