// The fixture of the run execution tests: a run of a pipeline text against a sink that records
// the items it is given, which the test completes as a worker would.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "broker/run_execution.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/pipeline/loader.h"

namespace pl::broker {

// Records what the run asks for; the test decides when and how items finish.
class FakeSink final : public ItemSink {
 public:
  void submit(WorkSpec&& spec) override { submitted.push_back(std::move(spec)); }
  void abandon(const std::string& item_id) override { abandoned.push_back(item_id); }
  std::optional<Value> recorded(const std::string& item_id) override {
    auto it = memo.find(item_id);
    if (it == memo.end()) return std::nullopt;
    return it->second;
  }
  bool has_capacity() override { return submitted.size() - finished < capacity; }
  std::vector<WorkSpec> submitted;
  std::vector<std::string> abandoned;
  std::map<std::string, Value> memo;
  size_t capacity = 1000000;
  size_t finished = 0;
};

class RunExecutionTest : public ::testing::Test {
 protected:
  void start(const std::string& yaml, Value inputs = Value::object(), RunSettings settings = {}) {
    auto loaded = pipeline::load_pipeline_text(yaml, "test.yaml");
    ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty()
                                     ? ""
                                     : pipeline::format_diagnostic(loaded.diagnostics[0]));
    PipelineContext context;
    context.pipeline = std::make_shared<const pipeline::Pipeline>(std::move(*loaded.pipeline));
    context.inputs = std::move(inputs);
    context.files = {"test.yaml"};
    if (dir_.empty()) make_dir();
    RunPaths paths{dir_, dir_ / "workspace", dir_ / "outputs"};
    run_ = std::make_unique<RunExecution>("r1", std::move(context), paths, settings, sink_);
    run_->start();
  }
  void make_dir() {
    char tmpl[] = "/tmp/pl-run-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    run_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Completes the item at `index` of the submitted list the way a worker would for echo and
  // set_variable: data = input.value (or input.variables).
  void complete(size_t index, bool success = true) {
    const WorkSpec& spec = sink_.submitted.at(index);
    Value result;
    result["success"] = success;
    if (success) {
      const char* field = spec.step_type == "set_variable" ? "variables" : "value";
      const Value* value = spec.input.find(field);
      result["data"] = value ? *value : Value();
      if (value && value->is_string()) result["text"] = *value;
    } else {
      result["error"] = "boom";
      result["error_code"] = "step_failed";
    }
    ++sink_.finished;
    run_->on_item_completed(spec.tag, result);
    if (run_->waiting_for_capacity()) run_->capacity_freed();
  }
  // Completes the item at `index` with an LLM-like answer.
  void complete_with_text(size_t index, bool success, const std::string& text) {
    Value result;
    result["success"] = success;
    result["text"] = text;
    if (!success) result["error"] = "boom";
    run_->on_item_completed(sink_.submitted.at(index).tag, result);
  }
  // A loop of four items answered with 400 bytes each, the last one failed, under
  // `max_inline_bytes`; its step result.
  Value loop_of_four_answers(size_t max_inline_bytes) {
    RunSettings settings;
    settings.max_inline_bytes = max_inline_bytes;
    start(R"(workflow:
  name: t
  steps:
    - name: lp
      type: for_loop
      iterator: x
      items: [1, 2, 3, 4]
      steps:
        - {name: e, type: echo, value: "{{loop.x}}"}
)",
          Value::object(), settings);
    for (size_t i = 0; i < 4; ++i) complete_with_text(i, /*success=*/i != 3, std::string(400, 'a'));
    return step("lp");
  }
  // Completes every submitted item not yet completed, in order, until the run finishes.
  void complete_all() {
    while (!run_->finished() && completed_ < sink_.submitted.size()) complete(completed_++);
  }
  const Value& step(const std::string& name) {
    static const Value kMissing;
    const Value* v = run_->result().find("steps")->find(name);
    return v ? *v : kMissing;
  }

  FakeSink sink_;
  std::unique_ptr<RunExecution> run_;
  std::filesystem::path dir_;
  size_t completed_ = 0;
};

}  // namespace pl::broker
