#include "worker/item_run.h"

#include <gtest/gtest.h>

namespace pl::worker {
namespace {

// An executor that fails with a given error.
class FailingExecutor final : public StepExecutor {
 public:
  explicit FailingExecutor(Error error) : error_(std::move(error)) {}
  Result<Value> execute(const protocol::WorkItem&, const ExecutionContext&) override {
    return error_;
  }

 private:
  Error error_;
};

protocol::WorkResult run(Error error) {
  FailingExecutor executor(std::move(error));
  protocol::WorkItem item;
  item.item_id = "i1";
  item.attempt = 2;
  CancelToken cancel;
  FakeClock clock;
  return run_item(&executor, item, ExecutionContext{cancel, clock.now()}, clock);
}

TEST(RunItem, AWaitTheProviderAskedForGoesToTheBrokerAsRetryAfterMs) {
  Error e = make_error(ErrorCode::kRateLimited, "anthropic: 429 (the provider asks to wait 120 s)");
  e.retry_after_ms = 120000;
  const protocol::WorkResult r = run(std::move(e));
  EXPECT_EQ(r.attempt, 2u);
  EXPECT_FALSE(r.result.get_bool("success"));
  EXPECT_EQ(r.result.get_string("error_code"), "rate_limit");
  EXPECT_EQ(r.result.get_int("retry_after_ms"), 120000);
}

// A step that asks for more memory than it can have fails, naming the step and what limited it,
// instead of "executor threw: std::bad_alloc"; the worker goes on with its other items.
class AllocatingExecutor final : public StepExecutor {
 public:
  Result<Value> execute(const protocol::WorkItem&, const ExecutionContext&) override {
    throw std::bad_alloc();
  }
};

TEST(RunItem, AStepOutOfMemoryFailsNamingTheStepAndTheLimit) {
  AllocatingExecutor executor;
  protocol::WorkItem item;
  item.item_id = "i1";
  item.step_name = "load";
  item.step_type = "json_transform";
  CancelToken cancel;
  FakeClock clock;
  const protocol::WorkResult r =
      run_item(&executor, item, ExecutionContext{cancel, clock.now()}, clock);
  EXPECT_FALSE(r.result.get_bool("success", true));
  EXPECT_NE(r.result.get_string("error").find("step \"load\" (json_transform)"), std::string::npos)
      << r.result.get_string("error");
  EXPECT_EQ(r.result.get_string("error").find("executor threw"), std::string::npos);

  const Error limited = out_of_memory(item, uint64_t{512} << 20);
  EXPECT_EQ(limited.code, ErrorCode::kIo);  // retried: another slot may have held the memory
  EXPECT_NE(limited.message.find("limited to 512 MiB (rlimits.address_space"), std::string::npos)
      << limited.message;
  const Error machine = out_of_memory(item, std::nullopt);
  EXPECT_EQ(machine.code, ErrorCode::kIo);
  EXPECT_NE(machine.message.find("the machine had none left"), std::string::npos)
      << machine.message;
}

TEST(RunItem, AnErrorWithoutAWaitHasNoRetryAfterMs) {
  const protocol::WorkResult r = run(make_error(ErrorCode::kProviderError, "boom"));
  EXPECT_EQ(r.result.get_string("error"), "boom");
  EXPECT_FALSE(r.result.find("retry_after_ms"));
}

TEST(RunItem, AnErrorCarryingFieldsIsAFailureThatKeepsThem) {
  Value fields;
  fields["usage"]["input_tokens"] = 30;
  fields["model"] = "m";
  Error e = make_error(ErrorCode::kStepFailed, "refused").with_context("step");
  e.fields = std::make_shared<const Value>(fields);
  const protocol::WorkResult r = run(e.with_context("again"));  // context keeps the fields
  EXPECT_FALSE(r.result.get_bool("success", true));
  EXPECT_EQ(r.result.get_string("error"), "again: step: refused");
  EXPECT_EQ(r.result.get_string("error_code"), "step_failed");
  EXPECT_EQ(r.result.find("usage")->get_int("input_tokens"), 30);
  EXPECT_EQ(r.result.get_string("model"), "m");
}

// An executor that returns fixed fields.
class FieldsExecutor final : public StepExecutor {
 public:
  explicit FieldsExecutor(Value fields) : fields_(std::move(fields)) {}
  Result<Value> execute(const protocol::WorkItem&, const ExecutionContext&) override {
    return fields_;
  }

 private:
  Value fields_;
};

TEST(RunItem, AFailedResultStaysAFailureAndKeepsItsUsage) {
  Value usage;
  usage["input_tokens"] = 11;
  Value fields;
  fields["usage"] = usage;
  FieldsExecutor executor(failed_result(fields, make_error(ErrorCode::kConflict, "lost the race")));
  protocol::WorkItem item;
  CancelToken cancel;
  FakeClock clock;
  const protocol::WorkResult r =
      run_item(&executor, item, ExecutionContext{cancel, clock.now()}, clock);
  EXPECT_FALSE(r.result.get_bool("success", true));
  EXPECT_EQ(r.result.get_string("error_code"), "conflict");
  EXPECT_EQ(r.result.get_string("error"), "lost the race");
  EXPECT_EQ(r.result.find("usage")->get_int("input_tokens"), 11);
}

}  // namespace
}  // namespace pl::worker
