// `tool` and `claude_session` steps end to end: a registry, a broker and a worker (started
// directly, no supervisor), tools registered with pipelinectl, a pipeline submitted to the
// broker. The worker has no API keys, so LLM steps run on the mock provider.
#include <gtest/gtest.h>

#include <fstream>

#include "common/ids.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"
#include "tests/integration/registry/registry_process.h"

namespace pl::test {
namespace {

constexpr const char* kPipeline = R"(workflow:
  name: tools
  steps:
    - name: count
      type: tool
      tool: word_count
      args: {text: "one two three"}
    - name: literal
      type: tool
      tool: show_args
      args:
        a: "; rm -rf ~ && echo $(id) `id` | tee x > y 'q' \"d\" *"
        b: "{{steps.count.data}}"
    - name: listing
      type: tool
      tool: list_files
      args: {dir: docs}
    - name: escape
      type: tool
      tool: list_files
      args: {dir: "../.."}
      on_error: continue
    - name: through_symlink
      type: tool
      tool: file_sha256
      args: {path: outside/secret.txt}
      on_error: continue
    - name: hang
      type: tool
      tool: hang
      on_error: continue
    - name: unknown
      type: tool
      tool: no_such_tool
      on_error: continue
    - name: after
      type: echo
      value: done
)";

constexpr const char* kShowArgs = R"(name: show_args
command: [printf, "[%s]", "{{args.a}}", "{{args.b}}"]
input_schema: {type: object, properties: {a: {type: string}, b: {type: integer}}, required: [a, b]}
)";

constexpr const char* kHang = R"(name: hang
command: [sleep, "60"]
timeout_ms: 300
)";

class RegistrySteps : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.start();
    SpawnOptions options;
    options.env = {"PIPELINE_STATE_DIR=" + state_dir().string(), tag_};
    options.unset_env = {"PIPELINE_CONFIG", "NOTIFY_SOCKET", "PIPELINE_CHILD_NAME"};
    options.stderr_file = dir_.path() / "broker.log";
    broker_ = std::make_unique<Process>(Process::spawn({binary("pipeline-broker")}, options));
    options.stderr_file = dir_.path() / "worker.log";
    options.unset_env.insert(options.unset_env.end(), {"ANTHROPIC_API_KEY", "GEMINI_API_KEY",
                                                       "GOOGLE_API_KEY", "OPENAI_API_KEY"});
    worker_ = std::make_unique<Process>(Process::spawn({binary("pipeline-worker"), "--slots", "2"}, options));
    ASSERT_TRUE(wait_until([&] { return workers() == 1; }, 30s)) << read_text(dir_.path() / "broker.log");
  }
  void TearDown() override {
    worker_->signal(SIGTERM);
    broker_->signal(SIGTERM);
    worker_->wait(30s);
    broker_->wait(30s);
    registry_.stop();
    EXPECT_TRUE(wait_until([&] { return processes_with_env(tag_).empty(); }, 10s));
  }

  std::filesystem::path state_dir() const { return dir_.path() / "state"; }

  size_t workers() {
    net::RequestClient client(context_, *StatePaths(state_dir()).broker_clients_endpoint());
    auto reply = client.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 2s);
    if (!reply.ok()) return 0;
    const Value* w = reply->body.find("workers");
    return w ? w->size() : 0;
  }

  void register_tool(const std::string& file) {
    SpawnOptions options;
    options.env = {tag_};
    auto r = run_command({binary("pipelinectl"), "--state-dir", state_dir().string(), "tools", "register", file},
                         60s, options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Submits the pipeline and waits for its final status.
  Result<protocol::RunStatus> run(const std::filesystem::path& file, const std::filesystem::path& workspace) {
    net::RequestClient broker(context_, *StatePaths(state_dir()).broker_clients_endpoint());
    protocol::SubmitRun submit;
    submit.pipeline_path = file.string();
    submit.pipeline_yaml = read_text(file);
    submit.inputs = Value::object();
    submit.workspace_dir = workspace.string();
    submit.output_dir = (dir_.path() / "outputs").string();
    auto accepted = broker.call(protocol::MessageType::kSubmitRun, protocol::to_body(submit), 10s);
    if (!accepted.ok()) return std::move(accepted).error();
    auto run = protocol::run_accepted_from(accepted->body);
    if (!run.ok()) return make_error(ErrorCode::kInternal, "not accepted: " + to_json(accepted->body));
    std::optional<protocol::RunStatus> final;
    wait_until(
        [&] {
          auto reply = broker.call(protocol::MessageType::kWatchRun,
                                   protocol::to_body(protocol::WatchRun{"", run->run_id}), 2s);
          if (!reply.ok()) return false;
          auto status = protocol::run_status_from(reply->body);
          if (status.ok() && (status->state == "succeeded" || status->state == "failed")) final = *status;
          return final.has_value() || broker_->wait(0ms).has_value();
        },
        120s);
    if (broker_->exited()) return make_error(ErrorCode::kUnavailable, "the broker exited during the run");
    if (!final) return make_error(ErrorCode::kTimeout, "the run did not finish");
    return *final;
  }

  TempDir dir_;
  std::string tag_ = "PIPELINE_TEST_TAG=" + new_id("t");
  RegistryUnderTest registry_{dir_.path() / "state", dir_.path() / "registry.log", tag_};
  net::Context context_;
  std::unique_ptr<Process> broker_;
  std::unique_ptr<Process> worker_;
};

TEST_F(RegistrySteps, ToolStepsRunConfinedWithLiteralArgumentsTimeoutsAndClearErrors) {
  for (const char* name : {"word_count", "list_files", "file_sha256"}) {
    register_tool((source_dir() / "configs/tools" / (std::string(name) + ".yaml")).string());
  }
  for (auto [name, text] : {std::pair{"show_args", kShowArgs}, std::pair{"hang", kHang}}) {
    const auto file = dir_.path() / (std::string(name) + ".yaml");
    std::ofstream(file) << text;
    register_tool(file.string());
  }
  const auto workspace = dir_.path() / "ws";
  std::filesystem::create_directories(workspace / "docs");
  std::ofstream(workspace / "docs/readme.md") << "hi";
  std::filesystem::create_directories(dir_.path() / "secret");
  std::ofstream(dir_.path() / "secret/secret.txt") << "do not read";
  std::filesystem::create_directory_symlink(dir_.path() / "secret", workspace / "outside");
  const auto pipeline = dir_.path() / "tools.yaml";
  std::ofstream(pipeline) << kPipeline;

  auto status = run(pipeline, workspace);
  ASSERT_TRUE(status.ok()) << status.error().message << "\n" << read_text(dir_.path() / "broker.log");
  const Value& steps = *status->result.find("steps");
  auto step = [&](const char* name) -> const Value& { return *steps.find(name); };

  EXPECT_EQ(*step("count").find("data"), Value(3));
  EXPECT_EQ(step("literal").get_string("text"), "[; rm -rf ~ && echo $(id) `id` | tee x > y 'q' \"d\" *][3]");
  EXPECT_EQ(step("listing").get_string("text"), "readme.md\n");

  EXPECT_FALSE(step("escape").get_bool("success", true));
  EXPECT_NE(step("escape").get_string("error").find("leaves the run's workspace"), std::string::npos)
      << to_json(step("escape"));
  EXPECT_FALSE(step("through_symlink").get_bool("success", true));
  EXPECT_NE(step("through_symlink").get_string("error").find("leaves the run's workspace"), std::string::npos)
      << to_json(step("through_symlink"));

  EXPECT_FALSE(step("hang").get_bool("success", true));
  EXPECT_EQ(step("hang").get_string("error_code"), "timeout");
  EXPECT_NE(step("hang").get_string("error").find("did not finish within its timeout of 300 ms"), std::string::npos)
      << to_json(step("hang"));

  EXPECT_EQ(step("unknown").get_string("error_code"), "not_found") << to_json(step("unknown"));
  EXPECT_TRUE(step("after").get_bool("success"));
}

constexpr const char* kSessionPipeline = R"(workflow:
  name: sessions
  steps:
    - name: first
      type: claude_session
      session_config: {session_name: tutor, max_turns: 2}
      prompt: What is Elixir?
    - name: second
      type: claude_session
      session_config: {session_name: tutor, max_turns: 2}
      prompt: And pattern matching?
    - name: third
      type: claude_session
      session_config: {session_name: tutor, max_turns: 2}
      prompt: One more?
      on_error: continue
)";

TEST_F(RegistrySteps, ClaudeSessionKeepsTurnsWithOriginAndUsageAndStopsAtMaxTurns) {
  const auto pipeline = dir_.path() / "sessions.yaml";
  std::ofstream(pipeline) << kSessionPipeline;
  auto status = run(pipeline, dir_.path() / "ws");
  ASSERT_TRUE(status.ok()) << status.error().message << "\n" << read_text(dir_.path() / "broker.log");
  const Value& steps = *status->result.find("steps");
  auto step = [&](const char* name) -> const Value& { return *steps.find(name); };
  ASSERT_TRUE(step("first").get_bool("success")) << to_json(step("first"));
  ASSERT_TRUE(step("second").get_bool("success")) << to_json(step("second"));
  EXPECT_EQ(step("second").find("session")->get_int("history_turns"), 1);
  EXPECT_EQ(step("second").find("session")->get_int("version"), 2);
  // The third turn would pass max_turns: refused before the (mock) model was called.
  EXPECT_FALSE(step("third").get_bool("success", true));
  EXPECT_EQ(step("third").get_string("error_code"), "too_large") << to_json(step("third"));
  EXPECT_NE(step("third").get_string("error").find("holds 2 turns"), std::string::npos)
      << to_json(step("third"));
  EXPECT_EQ(step("third").get_int("attempts"), 1);

  RegistryClient client(registry_.client_options());
  auto session = client.get_session("tutor");
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(session->info.version, 2);
  EXPECT_EQ(session->info.max_turns, 2);  // the first append created it with the step's limit
  ASSERT_EQ(session->turns.size(), 2u);
  for (const SessionTurn& turn : session->turns) {
    // The origin is the work item's id: "RUN/path", what a redelivered item looks for.
    EXPECT_EQ(turn.origin.rfind(status->run_id + "/", 0), 0u) << turn.origin;
    EXPECT_GT(turn.usage().output_tokens, 0);
  }
  EXPECT_NE(session->turns[0].origin, session->turns[1].origin);
  EXPECT_EQ(session->info.usage.output_tokens,
            session->turns[0].usage().output_tokens + session->turns[1].usage().output_tokens);
}

}  // namespace
}  // namespace pl::test
