// The `tool` step executor: from a work item to run_tool, with the catalog faked.
#include "worker/executors/tool_executor.h"

#include <gtest/gtest.h>

#include <optional>

#include "common/json.h"
#include "tests/support/harness.h"
#include "worker/tool_invocation.h"

namespace pl::worker {
namespace {

using namespace std::chrono_literals;

class FakeCatalog final : public ToolCatalog {
 public:
  Result<ToolDefinition> find(const std::string& name, const CallLimit& limit) override {
    asked.push_back(name);
    deadline = limit.deadline;
    cancelled_when_asked = limit.cancelled && limit.cancelled();
    if (name == "down") return make_error(ErrorCode::kUnavailable, "no answer from the registry");
    auto v = parse_json(R"({"name": "greet", "command": ["printf", "hello %s", "{{args.who}}"],
        "input_schema": {"type": "object", "required": ["who"], "properties": {"who": {"type": "string"}}}})");
    if (name != "greet") return make_error(ErrorCode::kNotFound, "no tool \"" + name + "\"");
    return tool_definition_from_value(*v);
  }
  std::vector<std::string> asked;
  std::optional<TimePoint> deadline;
  bool cancelled_when_asked = false;
};

class ToolExecutorTest : public ::testing::Test {
 protected:
  Result<Value> run(std::string_view input, TimePoint deadline = SteadyClock::now() + 30s,
                    bool cancelled = false) {
    protocol::WorkItem item;
    item.step_type = "tool";
    item.input = *parse_json(input);
    Value context;
    context["workspace_dir"] = (dir_.path() / "ws").string();
    item.context = std::make_shared<const Value>(std::move(context));
    CancelToken cancel;
    if (cancelled) cancel.cancel("test");
    return executor_.execute(item, ExecutionContext{cancel, deadline});
  }
  pl::test::TempDir dir_;
  FakeCatalog catalog_;
  ToolExecutor executor_{catalog_, current_environment()};
};

TEST_F(ToolExecutorTest, RunsTheNamedToolWithTheStepsArguments) {
  auto r = run(R"({"tool": "greet", "args": {"who": "world"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "hello world");
  EXPECT_EQ(catalog_.asked, std::vector<std::string>{"greet"});
}

// A registry that does not answer must not hold the item past its own deadline or its cancel:
// the lookup carries both.
TEST_F(ToolExecutorTest, TheToolLookupIsBoundByTheItemsDeadlineAndCancellation) {
  const TimePoint deadline = SteadyClock::now() + 7s;
  ASSERT_TRUE(run(R"({"tool": "greet", "args": {"who": "a"}})", deadline).ok());
  EXPECT_EQ(catalog_.deadline, deadline);
  EXPECT_FALSE(catalog_.cancelled_when_asked);
  auto cancelled = run(R"({"tool": "greet", "args": {"who": "a"}})", deadline, true);
  EXPECT_TRUE(catalog_.cancelled_when_asked);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, ErrorCode::kCancelled) << cancelled.error().message;
}

TEST_F(ToolExecutorTest, BadArgumentsAreTheStepsErrorNamingThePath) {
  auto r = run(R"({"tool": "greet", "args": {"who": 5}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().message, "tool greet: args.who: expected a string, got a number");
}

TEST_F(ToolExecutorTest, AnUnknownToolIsNotFoundAndAnUnreachableRegistryIsRetryable) {
  auto missing = run(R"({"tool": "nope"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto down = run(R"({"tool": "down"})");
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(is_retryable(down.error().code));
}

TEST_F(ToolExecutorTest, AStepWithoutAToolNameIsInvalid) {
  auto r = run(R"({"args": {}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace pl::worker
