// `pipelinectl run` against real process trees: the private embedded tree, a running tree, a
// worker killed while it holds an item, and pipeline files with mistakes.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "common/ids.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"
#include "common/state_paths.h"
#include "tests/support/harness.h"

namespace pl::test {
namespace {

std::string pipeline_file(const std::string& name) {
  return (source_dir() / "tests/integration/pipelines" / name).string();
}

// A unique environment tag, inherited by every process a test starts, so that we can prove
// none is left behind.
std::string new_tag() { return "PIPELINE_TEST_TAG=" + new_id("t"); }

Value parse_output(const CommandResult& r) {
  auto v = parse_json(r.out);
  EXPECT_TRUE(v.ok()) << "stdout is not JSON: " << r.out << "\nstderr: " << r.err;
  return v.ok() ? *v : Value();
}

TEST(PipelineRun, HelloRunsOnAPrivateTreeAndLeavesNothingBehind) {
  TempDir dir;
  const std::string tag = new_tag();
  SpawnOptions options;
  options.env = {tag};
  options.unset_env = {"PIPELINE_STATE_DIR"};
  options.cwd = dir.path();  // no ./var tree here
  auto r = run_command({binary("pipelinectl"), "run",
                        (source_dir() / "configs/pipelines/hello.yaml").string(), "--input",
                        "who=tests"},
                       120s, options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Value out = parse_output(r);
  EXPECT_TRUE(out.get_bool("success"));
  const Value* steps = out.find("steps");
  ASSERT_NE(steps, nullptr);
  EXPECT_EQ(steps->find("intro")->get_string("text"), "Hello, tests!");
  const Value* loop = steps->find("greet_planets");
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->get_int("succeeded"), 4);
  const auto& items = loop->find("items")->as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[2].find("steps")->find("greet")->get_string("text"),
            "Hello from Earth (2 of 4)");
  EXPECT_TRUE(wait_until([&] { return processes_with_env(tag).empty(); }, 10s))
      << "processes left behind: " << processes_with_env(tag).size();
}

// A tree started by the test, as an operator would, with its own state directory.
class RunningTree : public ::testing::Test {
 protected:
  void SetUp() override {
    SpawnOptions options;
    options.env = {tag_};
    options.unset_env = {"PIPELINE_STATE_DIR", "NOTIFY_SOCKET"};
    options.stderr_file = dir_.path() / "supervisor.log";
    supervisor_ = std::make_unique<Process>(Process::spawn(
        {binary("pipeline-supervisor"), "--config", (source_dir() / "configs/local.yaml").string(),
         "--state-dir", state_dir().string()},
        options));
    // Ready when two workers have joined the broker.
    ASSERT_TRUE(wait_until([&] { return worker_pids().size() == 2; }, 30s))
        << read_text(dir_.path() / "supervisor.log");
  }
  void TearDown() override {
    supervisor_->signal(SIGTERM);
    EXPECT_TRUE(supervisor_->wait(30s).has_value());
    EXPECT_TRUE(wait_until([&] { return processes_with_env(tag_).empty(); }, 10s));
  }

  std::filesystem::path state_dir() const { return dir_.path() / "state"; }

  Value broker_status() {
    auto endpoint = StatePaths(state_dir()).broker_clients_endpoint();
    if (!endpoint.ok()) return Value();
    net::RequestClient client(context_, *endpoint);
    auto reply = client.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 2s);
    return reply.ok() ? reply->body : Value();
  }
  std::vector<int64_t> worker_pids() {
    std::vector<int64_t> pids;
    if (const Value* workers = broker_status().find("workers")) {
      for (const auto& w : workers->as_array()) pids.push_back(w.get_int("pid"));
    }
    return pids;
  }
  // The pid of a worker that holds at least one item, or 0.
  int64_t busy_worker() {
    if (const Value* workers = broker_status().find("workers")) {
      for (const auto& w : workers->as_array()) {
        if (w.find("held") && w.find("held")->size() > 0) return w.get_int("pid");
      }
    }
    return 0;
  }

  TempDir dir_;
  std::string tag_ = new_tag();
  net::Context context_;
  std::unique_ptr<Process> supervisor_;
};

TEST_F(RunningTree, RunUsesTheTreeOnTheStateDirectory) {
  SpawnOptions options;
  options.env = {tag_};
  auto r = run_command({binary("pipelinectl"), "--state-dir", state_dir().string(), "run",
                        (source_dir() / "configs/pipelines/hello.yaml").string()},
                       60s, options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(parse_output(r).get_bool("success"));
  // The tree's broker ran it: its counters moved.
  EXPECT_GE(broker_status().find("counters")->get_int("completed"), 7);
}

TEST_F(RunningTree, KilledWorkerItemsAreRedeliveredAndEachResultAppearsOnce) {
  SpawnOptions options;
  options.env = {tag_};
  options.stdout_file = dir_.path() / "run.out";
  options.stderr_file = dir_.path() / "run.err";
  Process run = Process::spawn({binary("pipelinectl"), "--state-dir", state_dir().string(), "run",
                                pipeline_file("slow_batch.yaml")},
                               options);
  int64_t victim = 0;
  ASSERT_TRUE(wait_until([&] { return (victim = busy_worker()) != 0; }, 30s));
  ASSERT_EQ(::kill(static_cast<pid_t>(victim), SIGKILL), 0);

  auto code = run.wait(120s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish";
  ASSERT_EQ(*code, 0) << read_text(dir_.path() / "run.err");
  auto out = parse_json(read_text(dir_.path() / "run.out"));
  ASSERT_TRUE(out.ok()) << out.error().message;
  const Value* loop = out->find("steps")->find("work");
  ASSERT_NE(loop, nullptr);
  const auto& items = loop->find("items")->as_array();
  ASSERT_EQ(items.size(), 12u);
  std::multiset<int64_t> seen;
  int64_t redelivered = 0;
  for (const auto& item : items) {
    const Value* echo = item.find("steps")->find("echo_n");
    ASSERT_NE(echo, nullptr);
    EXPECT_TRUE(echo->get_bool("success"));
    seen.insert(echo->get_int("data", -1));
    if (echo->get_int("attempts") > 1) ++redelivered;
  }
  for (int64_t n = 0; n < 12; ++n) EXPECT_EQ(seen.count(n), 1u) << n;
  EXPECT_GE(redelivered, 1) << "the killed worker's item should have run twice";
  // The supervisor replaced the worker.
  EXPECT_TRUE(wait_until([&] { return worker_pids().size() == 2; }, 30s));
}

struct BadFileCase {
  std::string file;
  std::string location;  // file:line:column expected in the message
  std::string words;     // what the message must say
};

void PrintTo(const BadFileCase& c, std::ostream* os) { *os << c.file; }

class BadPipelineFile : public ::testing::TestWithParam<BadFileCase> {};

TEST_P(BadPipelineFile, RunExitsTwoNamingFileLineAndColumn) {
  const BadFileCase& c = GetParam();
  TempDir dir;
  SpawnOptions options;
  options.cwd = dir.path();
  const std::string path = pipeline_file(c.file);
  auto r = run_command({binary("pipelinectl"), "run", path}, 30s, options);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(path + ":" + c.location), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(c.words), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Mistakes, BadPipelineFile,
    ::testing::Values(BadFileCase{"syntax_error.yaml", "7:1", "error"},
                      BadFileCase{"unknown_type.yaml", "5:13", "ecko"},
                      BadFileCase{"unknown_key.yaml", "7:7", "valeu"},
                      BadFileCase{"missing_key.yaml", "8:11", "name"}),
    [](const auto& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      for (auto& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace pl::test
