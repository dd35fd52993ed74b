// echo reads `fail` and `delay_ms` as they arrive from a rendered template (text) too, and
// refuses what it cannot read instead of treating it as "no".
#include "worker/executors/echo_executor.h"

#include <gtest/gtest.h>

#include <chrono>

namespace pl::worker {
namespace {

Result<Value> echo(Value input) {
  protocol::WorkItem item;
  item.item_id = "i1";
  item.input = std::move(input);
  CancelToken cancel;
  EchoExecutor executor;
  return executor.execute(item, ExecutionContext{cancel, std::chrono::steady_clock::now() + std::chrono::seconds(5)});
}

Value with(const char* key, Value v) {
  Value input;
  input["value"] = "x";
  input[key] = std::move(v);
  return input;
}

TEST(EchoExecutor, FailGivenAsTextFailsAsTheBooleanWould) {
  EXPECT_EQ(echo(with("fail", Value("true"))).error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(echo(with("fail", Value(true))).error().code, ErrorCode::kStepFailed);
  EXPECT_TRUE(echo(with("fail", Value("false"))).ok());
  EXPECT_TRUE(echo(with("fail", Value(false))).ok());
}

TEST(EchoExecutor, AFailOrDelayItCannotReadIsAnErrorNotANo) {
  for (const Value& bad : {Value("yes"), Value(1), Value::object()}) {
    auto r = echo(with("fail", bad));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(r.error().message.find("fail"), std::string::npos);
  }
  auto r = echo(with("delay_ms", Value("soon")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("delay_ms"), std::string::npos);
  EchoExecutor executor;
  protocol::WorkItem item;
  item.input = with("delay_ms", Value("soon"));
  EXPECT_TRUE(executor.runs_inline(item));  // fails at once: nothing to wait for
  item.input = with("delay_ms", Value("50"));
  EXPECT_FALSE(executor.runs_inline(item));  // text read as the number it spells
}

}  // namespace
}  // namespace pl::worker
