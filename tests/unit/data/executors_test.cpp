#include <gtest/gtest.h>

#include "fs_fixture.h"
#include "test_util.h"
#include "worker/executors/data_transform_executor.h"
#include "worker/executors/file_ops_executor.h"

namespace pl::worker {
namespace {

using data::testing::json;
using namespace std::chrono_literals;

struct Harness {
  CancelToken cancel;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now() + 60s;
  ExecutionContext context() const { return ExecutionContext{cancel, deadline}; }
};

protocol::WorkItem item_with(std::string_view type, const Value& input, Value context = {}) {
  protocol::WorkItem item;
  item.item_id = "i1";
  item.step_type = std::string(type);
  item.input = input;
  item.context = std::make_shared<const Value>(std::move(context));
  return item;
}

Result<Value> transform(std::string_view input, Harness& h) {
  DataTransformExecutor executor;
  return executor.execute(item_with("data_transform", json(input)), h.context());
}

TEST(DataTransformExecutor, ReturnsTheFinalValueAsData) {
  Harness h;
  auto r = transform(R"({"input_source": "steps.fetch.data", "input_source_value": [3, 1, 2],
                         "operations": [{"operation": "sort", "order": "desc"}]})",
                     h);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({"data": [3, 2, 1]})"));
}

TEST(DataTransformExecutor, OutputFieldNamesTheValueInsideData) {
  Harness h;
  auto r = transform(R"({"input_source_value": [{"s": 1}, {"s": 2}], "output_field": "total",
                         "operations": [{"operation": "aggregate", "function": "sum",
                                         "field": "s"}]})",
                     h);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({"data": {"total": 3}})"));
}

TEST(DataTransformExecutor, ADottedOutputFieldNestsSoItsPathReadsIt) {
  Harness h;
  auto r = transform(R"({"input_source_value": [1, 2], "output_field": "a.b",
                         "operations": [{"operation": "sort"}]})",
                     h);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({"data": {"a": {"b": [1, 2]}}})"));
}

TEST(DataTransformExecutor, AnOutputFieldThatIsNoFieldPathIsRefused) {
  Harness h;
  auto r = transform(R"({"input_source_value": [1], "output_field": "a..b",
                         "operations": [{"operation": "sort"}]})",
                     h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().message.rfind("data_transform: \"output_field\": ", 0), 0u)
      << r.error().message;
}

TEST(DataTransformExecutor, AnInputSourceRenderedToAListIsUsedAsIs) {
  Harness h;
  auto r = transform(R"({"input_source": [1, 2, 3],
                         "operations": [{"operation": "filter", "condition": "item > 1"}]})",
                     h);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({"data": [2, 3]})"));
}

TEST(DataTransformExecutor, RunRootsAreVisibleBehindTheItem) {
  Harness h;
  auto r = transform(R"({"input_source_value": [{"s": 1}, {"s": 5}, {"t": 9}],
                         "run_roots": {"inputs": {"min": 2}},
                         "operations": [{"operation": "filter",
                                         "condition": "default(s, 0) > inputs.min"}]})",
                     h);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({"data": [{"s": 5}]})"));
  EXPECT_FALSE(transform(R"({"input_source_value": [], "run_roots": [1],
                             "operations": [{"operation": "sort"}]})",
                         h)
                   .ok());
}

TEST(DataTransformExecutor, AnUnresolvedInputSourceIsAnError) {
  Harness h;
  auto r = transform(
      R"({"input_source": "steps.fetch.data", "operations": [{"operation": "sort"}]})", h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().message,
            "data_transform: \"input_source\" was not resolved to a list or a map before dispatch "
            "(it is a string)");
}

TEST(DataTransformExecutor, MissingOrMalformedOptionsAreErrors) {
  Harness h;
  EXPECT_FALSE(transform(R"({"input_source_value": []})", h).ok());
  EXPECT_FALSE(transform(R"({"operations": [{"operation": "sort"}]})", h).ok());
  EXPECT_FALSE(transform(R"({"input_source_value": [], "operations": "sort"})", h).ok());
  EXPECT_FALSE(transform(R"({"input_source_value": [], "operations": [{"operation": "sort"}],
                             "output_field": 3})",
                         h)
                   .ok());
  DataTransformExecutor executor;
  EXPECT_FALSE(executor.execute(item_with("data_transform", Value(5)), h.context()).ok());
}

TEST(DataTransformExecutor, ErrorsNameTheOperationAndItem) {
  Harness h;
  auto r = transform(R"({"input_source_value": [{"s": 1}, {"t": 2}],
                         "operations": [{"operation": "sort", "by": "s"}]})",
                     h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "operation 0 (sort): field \"s\" is missing in item 1");
}

TEST(DataTransformExecutor, ACancelledItemStopsWithCancelled) {
  Harness h;
  h.cancel.cancel("test");
  auto r = transform(R"({"input_source_value": [2, 1], "operations": [{"operation": "sort"}]})", h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
}

TEST(DataTransformExecutor, APassedDeadlineStopsWithTimeout) {
  Harness h;
  h.deadline = std::chrono::steady_clock::now() - 1s;
  auto r = transform(R"({"input_source_value": [2, 1], "operations": [{"operation": "sort"}]})", h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
}

class FileOpsExecutorTest : public data::testing::FsTest {
 protected:
  Value context() const {
    Value c = Value::object();
    c["workspace_dir"] = ws_.string();
    c["output_dir"] = out_.string();
    c["pipeline_dir"] = tmp_.path().string();
    return c;
  }
  Result<Value> run(std::string_view input) {
    FileOpsExecutor executor;
    return executor.execute(item_with("file_ops", json(input), context()), h_.context());
  }
  Harness h_;
};

TEST_F(FileOpsExecutorTest, RunsTheOperationInTheItemsWorkspace) {
  write("a.csv", "x,y\n1,2\n");
  auto r = run(R"({"operation": "convert", "source": "a.csv", "destination": "output:a.json",
                   "format": "csv_to_json"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_int("records"), 1);
  EXPECT_EQ(json(pl::test::read_text(out_ / "a.json")), json(R"([{"x": "1", "y": "2"}])"));
}

TEST_F(FileOpsExecutorTest, ListResultsAreData) {
  write("f.txt", "abc");
  auto r = run(R"({"operation": "list", "path": "."})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(R"({"data": {"operation": "list", "path": ".", "count": 1,
                                  "files": [{"path": "f.txt", "size": 3, "type": "file"}]}})"));
}

TEST_F(FileOpsExecutorTest, AnItemWithoutAWorkspaceIsRefused) {
  FileOpsExecutor executor;
  auto r = executor.execute(item_with("file_ops", json(R"({"operation": "list", "path": "."})")),
                            h_.context());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "file_ops: the work item's context has no workspace_dir; file_ops needs one");
}

TEST_F(FileOpsExecutorTest, EscapesAreRefusedWithInvalidInput) {
  link("/etc", "etc");
  for (const char* input :
       {R"({"operation": "list", "path": "/etc"})", R"({"operation": "list", "path": "../.."})",
        R"({"operation": "list", "path": "etc"})"}) {
    auto r = run(input);
    ASSERT_FALSE(r.ok()) << input;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput) << input;
  }
}

TEST_F(FileOpsExecutorTest, ACancelledItemStops) {
  write("d/x", "");
  h_.cancel.cancel("test");
  auto r = run(R"({"operation": "list", "path": "d"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace pl::worker
