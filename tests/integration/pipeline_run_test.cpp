// `pipelinectl run` against real process trees: the private embedded tree, a running tree, a
// worker killed while it holds an item, and pipeline files with mistakes.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <set>

#include "common/fs.h"
#include "common/ids.h"
#include "common/json.h"
#include "tests/integration/tree.h"
#include "tests/support/harness.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

std::string pipeline_file(const std::string& name) {
  return (source_dir() / "tests/integration/pipelines" / name).string();
}

// A unique environment tag, inherited by every process a test starts, so that we can prove
// none is left behind.

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

// A worker asked to stop (SIGTERM: a shutdown, a scale-down, a restart) finishes what it holds
// within its supervisor's grace instead of leaving it to be run, and paid for, a second time.
TEST(RunningTree, AStoppedWorkerFinishesItsItemsAndNothingRunsTwice) {
  Tree tree(tree_config(2));
  Process run = tree.start_pipelinectl({"run", pipeline_file("slow_batch.yaml")}, "run");
  int64_t stopped = 0;
  ASSERT_TRUE(wait_until([&] { return (stopped = tree.worker_holding()) != 0; }, 30s));
  ASSERT_EQ(::kill(static_cast<pid_t>(stopped), SIGTERM), 0);

  auto code = run.wait(120s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish";
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  auto out = parse_json(read_text(tree.dir() / "run.out"));
  ASSERT_TRUE(out.ok()) << out.error().message;
  // An item the broker sent the worker before it read the worker's draining heartbeat is
  // refused, unrun, and sent elsewhere: an attempt that never ran. Every attempt beyond an
  // item's first must be such a refusal.
  int64_t extra_attempts = 0;
  for (const auto& item : out->find("steps")->find("work")->find("items")->as_array()) {
    const Value* echo = item.find("steps")->find("echo_n");
    ASSERT_NE(echo, nullptr);
    EXPECT_TRUE(echo->get_bool("success")) << to_json(*echo);
    extra_attempts += echo->get_int("attempts") - 1;
  }
  EXPECT_EQ(extra_attempts, tree.counter("refused")) << tree.log();
  EXPECT_EQ(tree.counter("redelivered"), 0) << tree.log();
  EXPECT_TRUE(wait_until(
      [&] {
        return tree.log().find("stopping: every item finished and was acknowledged") !=
               std::string::npos;
      },
      10s))
      << tree.log();
}

// The runs the broker keeps: `runs list --json`.
size_t runs_listed(Tree& tree) {
  auto r = tree.pipelinectl({"runs", "list", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto runs = parse_json(r.out);
  EXPECT_TRUE(runs.ok() && runs->is_array()) << r.out;
  return runs.ok() && runs->is_array() ? runs->as_array().size() : 0;
}

// A submission the broker does not answer (here: paused) is sent again with the same
// idempotency key; the broker, once it goes on, reads both and runs the pipeline once.
TEST(RunningTree, ASubmissionTheBrokerDidNotAnswerIsSentAgainAndRunsOnce) {
  Tree tree(tree_config(1), 1);
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGSTOP), 0);
  Process run = tree.start_pipelinectl(
      {"run", (source_dir() / "configs/pipelines/hello.yaml").string()}, "run");
  const bool resent = wait_until(
      [&] {
        return read_text(tree.dir() / "run.err").find("sending the submission again") !=
               std::string::npos;
      },
      40s);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGCONT), 0);
  ASSERT_TRUE(resent) << read_text(tree.dir() / "run.err");
  auto code = run.wait(120s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish";
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  EXPECT_TRUE(parse_json(read_text(tree.dir() / "run.out"))->get_bool("success"));
  EXPECT_EQ(runs_listed(tree), 1u);
  EXPECT_EQ(tree.counter("runs_accepted"), 1);
  EXPECT_EQ(tree.counter("runs_submitted_again"), 1);
}

// A run given up on (no answer within --silence-timeout) names its key; the same command with
// that key takes up the run the broker stored, or submits it if the broker never read it: one
// run either way.
TEST(RunningTree, ASubmissionGivenUpOnRunsOnceWhenSubmittedAgainWithItsKey) {
  Tree tree(tree_config(1), 1);
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGSTOP), 0);
  const std::string hello = (source_dir() / "configs/pipelines/hello.yaml").string();
  auto first = tree.pipelinectl({"run", hello, "--silence-timeout", "20"}, 60s);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGCONT), 0);
  EXPECT_EQ(first.exit_code, 75) << first.err;
  const std::string flag = "--idempotency-key ";
  const size_t at = first.err.find(flag);
  ASSERT_NE(at, std::string::npos) << first.err;
  const size_t from = at + flag.size();
  const std::string key = first.err.substr(from, first.err.find_first_of(" \n", from) - from);
  ASSERT_FALSE(key.empty()) << first.err;

  auto again = tree.pipelinectl({"run", hello, "--idempotency-key", key}, 120s);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(parse_output(again).get_bool("success"));
  EXPECT_EQ(runs_listed(tree), 1u);
  auto shown = parse_json(
      tree.pipelinectl({"runs", "show", parse_output(again).get_string("run"), "--json"}).out);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->get_string("idempotency_key"), key) << "runs show says which key it holds";
}

// A script that gives its own key and runs the command again (the first was killed after the
// broker took the run) gets the same run back, not a second one.
TEST(RunningTree, ARunSubmittedAgainWithItsKeyIsTheSameRun) {
  Tree tree(tree_config(1), 1);
  const std::string hello = (source_dir() / "configs/pipelines/hello.yaml").string();
  Process first = tree.start_pipelinectl({"run", hello, "--idempotency-key", "job-7"}, "first");
  ASSERT_TRUE(wait_until([&] { return tree.counter("runs_accepted") == 1; }, 30s));
  ::kill(first.pid(), SIGKILL);  // it may have ended already: the run is the broker's
  (void)first.wait(10s);

  auto again = tree.pipelinectl({"run", hello, "--idempotency-key", "job-7"}, 120s);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(parse_output(again).get_bool("success"));
  EXPECT_NE(again.err.find("was accepted before under idempotency key job-7"), std::string::npos)
      << again.err;
  EXPECT_EQ(runs_listed(tree), 1u);
  EXPECT_EQ(tree.counter("runs_accepted"), 1);
  EXPECT_EQ(tree.counter("runs_submitted_again"), 1);

  // The key belongs to that submission: another pipeline under it is refused.
  auto other =
      tree.pipelinectl({"run", hello, "--input", "who=else", "--idempotency-key", "job-7"});
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("was given to run"), std::string::npos) << other.err;
  EXPECT_EQ(runs_listed(tree), 1u);
}

// Ctrl-C while pipelinectl waits for a silent broker ends the wait at once (exit 130). Here it
// comes before the submission (run first asks the broker what it supports, for up to 2 s):
// nothing is submitted, and it says so.
TEST(RunningTree, AnInterruptBeforeTheSubmissionWentOutEndsTheWaitAndSubmitsNothing) {
  Tree tree(tree_config(1), 1);
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGSTOP), 0);
  Process run =
      tree.start_pipelinectl({"run", (source_dir() / "configs/pipelines/hello.yaml").string(),
                              "--idempotency-key", "job-9"},
                             "run");
  // Once SIGINT is blocked (read through a signalfd), it ends the wait instead of the process.
  const bool waiting = wait_until(
      [&] {
        const std::string status = read_text("/proc/" + std::to_string(run.pid()) + "/status");
        const size_t at = status.find("SigBlk:");
        return at != std::string::npos &&
               (std::stoull(status.substr(at + 7), nullptr, 16) & (1ULL << (SIGINT - 1))) != 0;
      },
      30s);
  ASSERT_TRUE(waiting);
  ASSERT_EQ(::kill(run.pid(), SIGINT), 0);
  auto code = run.wait(10s);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGCONT), 0);
  ASSERT_TRUE(code.has_value()) << "the interrupt did not end the wait";
  EXPECT_EQ(*code, 130) << read_text(tree.dir() / "run.err");
  EXPECT_NE(read_text(tree.dir() / "run.err")
                .find("interrupted before the broker answered; "
                      "nothing was submitted"),
            std::string::npos)
      << read_text(tree.dir() / "run.err");
  EXPECT_EQ(runs_listed(tree), 0u);
}

TEST(RunningTree, RunUsesTheTreeOnTheStateDirectory) {
  Tree tree(tree_config(2));
  auto r = tree.pipelinectl({"run", (source_dir() / "configs/pipelines/hello.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(parse_output(r).get_bool("success"));
  // The tree's broker ran it: its counters moved.
  EXPECT_GE(tree.counter("completed"), 7);
}

TEST(RunningTree, KilledWorkerItemsAreRedeliveredAndEachResultAppearsOnce) {
  Tree tree(tree_config(2));
  Process run = tree.start_pipelinectl({"run", pipeline_file("slow_batch.yaml")}, "run");
  int64_t victim = 0;
  ASSERT_TRUE(wait_until([&] { return (victim = tree.worker_holding()) != 0; }, 30s));
  ASSERT_EQ(::kill(static_cast<pid_t>(victim), SIGKILL), 0);

  auto code = run.wait(120s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish";
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  auto out = parse_json(read_text(tree.dir() / "run.out"));
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
  EXPECT_TRUE(wait_until([&] { return tree.worker_pids().size() == 2; }, 30s));
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

TEST(RunningTree, AResumedRunRunsItsFailedStepAgainButNotWhatSucceeded) {
  Tree tree(tree_config(2));
  const fs::path workspace = tree.dir() / "ws";
  fs::create_directories(workspace);
  const std::string file = (tree.dir() / "resume.yaml").string();
  std::ofstream(file) << "workflow:\n  name: resume\n  steps:\n"
                         "    - {name: first, type: echo, value: once}\n"
                         "    - {name: check, type: file_ops, operation: validate, files: [marker]}\n";
  auto failed = tree.pipelinectl({"run", file, "--workspace", workspace.string(), "--progress",
                                  "none"});
  ASSERT_EQ(failed.exit_code, 1) << failed.err;
  auto result = parse_json(failed.out);
  ASSERT_TRUE(result.ok()) << failed.out;
  const std::string run_id = result->get_string("run");
  EXPECT_EQ(result->get_string("state"), "failed");
  auto before = parse_json(tree.pipelinectl({"runs", "show", run_id, "--json"}).out);
  ASSERT_TRUE(before.ok());
  ASSERT_NE(before->find("dead_letters"), nullptr) << to_json(*before);
  EXPECT_EQ(before->find("dead_letters")->size(), 1u) << to_json(*before);

  std::ofstream(workspace / "marker") << "here";
  auto resumed = tree.pipelinectl({"runs", "resume", run_id});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  Value shown;
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = parse_json(tree.pipelinectl({"runs", "show", run_id, "--json"}).out);
        if (!s.ok()) return false;
        shown = std::move(*s);
        return shown.get_string("state") != "running";
      },
      60s));
  EXPECT_EQ(shown.get_string("state"), "succeeded") << to_json(shown);
  // The failure that the resume ran again and that succeeded is no dead letter any more.
  ASSERT_NE(shown.find("dead_letters"), nullptr) << to_json(shown);
  EXPECT_TRUE(shown.find("dead_letters")->as_array().empty()) << to_json(shown);
  // The echo that succeeded the first time was not dispatched again.
  auto exported = tree.pipelinectl({"runs", "export", run_id});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto checkpoint = parse_json(exported.out);
  ASSERT_TRUE(checkpoint.ok()) << exported.out;
  int firsts = 0;
  for (const auto& item : checkpoint->find("items")->as_array()) {
    if (item.get_string("id") != run_id + "/s0") continue;
    ++firsts;
    EXPECT_EQ(item.find("result")->get_int("attempts"), 1);
  }
  EXPECT_EQ(firsts, 1);
}

// Results are recorded by item position; each also records a digest of its item's input, so a
// line inserted into an items file before a resume makes the shifted items run again with their
// own input instead of taking their neighbours' results.
TEST(RunningTree, AResumeAfterAnItemsFileEditRunsTheItemsWhoseInputChanged) {
  Tree tree(tree_config(2));
  const fs::path workspace = tree.dir() / "ws";
  fs::create_directories(workspace);
  const fs::path items = tree.dir() / "items.jsonl";
  std::ofstream(items) << "\"a\"\n\"b\"\n\"c\"\n";
  const std::string file = (tree.dir() / "edited.yaml").string();
  std::ofstream(file) << "workflow:\n  name: edited\n  steps:\n"
                         "    - name: each\n      type: for_loop\n      iterator: x\n"
                         "      items_file: " << items.string() << "\n"
                         "      steps:\n"
                         "        - {name: e, type: echo, value: \"{{loop.x}}\"}\n"
                         "    - {name: check, type: file_ops, operation: validate, files: [marker]}\n";
  auto failed = tree.pipelinectl({"run", file, "--workspace", workspace.string(), "--progress",
                                  "none"});
  ASSERT_EQ(failed.exit_code, 1) << failed.err;
  auto first = parse_json(failed.out);
  ASSERT_TRUE(first.ok()) << failed.out;
  const std::string run_id = first->get_string("run");

  std::ofstream(items) << "\"new\"\n\"a\"\n\"b\"\n\"c\"\n";  // a line inserted before the others
  std::ofstream(workspace / "marker") << "here";
  auto resumed = tree.pipelinectl({"runs", "resume", run_id});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = parse_json(tree.pipelinectl({"runs", "show", run_id, "--json"}).out);
        return s.ok() && s->get_string("state") != "running";
      },
      60s));
  auto exported = tree.pipelinectl({"runs", "export", run_id});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto checkpoint = parse_json(exported.out);
  ASSERT_TRUE(checkpoint.ok()) << exported.out;
  EXPECT_EQ(checkpoint->find("run")->get_string("state"), "succeeded") << exported.out;
  // Each item's last record (the one the run used) is its own line's echo, with a digest.
  std::map<std::string, std::string> last_text;
  std::map<std::string, int> records;
  for (const auto& item : checkpoint->find("items")->as_array()) {
    const std::string id = item.get_string("id");
    if (id.find(".i") == std::string::npos) continue;  // not a loop item
    const Value* result = item.find("result");
    last_text[id] = result->get_string("text");
    ++records[id];
    EXPECT_EQ(result->get_string("input_digest").size(), 16u) << to_json(item);
  }
  ASSERT_EQ(last_text.size(), 4u) << exported.out;
  std::vector<std::string> texts;
  for (const auto& [id, text] : last_text) texts.push_back(text);
  EXPECT_EQ(texts, (std::vector<std::string>{"new", "a", "b", "c"}));
  // The three shifted items ran twice, the new last one once.
  std::vector<int> counts;
  for (const auto& [id, n] : records) counts.push_back(n);
  EXPECT_EQ(counts, (std::vector<int>{2, 2, 2, 1}));
}

// A private tree's registry starts empty: --tool registers what the pipeline calls.
TEST(RunCommand, AToolFileGivenToRunIsRegisteredOnItsPrivateTree) {
  TempDir dir;
  SpawnOptions options;
  options.env = {new_tag()};
  options.unset_env = {"PIPELINE_STATE_DIR"};
  options.cwd = dir.path();
  const std::string pipeline = (source_dir() / "configs/pipelines/tool_step.yaml").string();
  const std::string tool = (source_dir() / "configs/tools/word_count.yaml").string();
  auto with = run_command({binary("pipelinectl"), "run", pipeline, "--tool", tool, "--progress",
                           "none"},
                          120s, options);
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(parse_output(with).find("steps")->find("count")->get_int("data"), 14);
  auto without = run_command({binary("pipelinectl"), "run", pipeline, "--progress", "none"}, 120s,
                             options);
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.out.find("no tool"), std::string::npos) << without.out;
  auto bad = run_command({binary("pipelinectl"), "run", pipeline, "--tool",
                          (dir.path() / "missing.yaml").string()},
                         30s, options);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("missing.yaml"), std::string::npos) << bad.err;
}

// On a kept tree --tool adds a missing tool and keeps one registered the same way, but never
// replaces another definition that other runs may use.
TEST(RunningTree, RunWithAToolKeepsTheSameDefinitionAndRefusesToReplaceAnother) {
  Tree tree(tree_config(2));
  const std::string pipeline = (source_dir() / "configs/pipelines/tool_step.yaml").string();
  const std::string tool = (source_dir() / "configs/tools/word_count.yaml").string();
  auto first = tree.pipelinectl({"run", pipeline, "--tool", tool, "--progress", "none"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto again = tree.pipelinectl({"run", pipeline, "--tool", tool, "--progress", "none"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto listed = tree.pipelinectl({"tools", "show", "word_count", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(parse_output(listed).get_int("revision"), 1);

  const fs::path other = tree.dir() / "other_word_count.yaml";
  auto text = read_file(tool);
  ASSERT_TRUE(text.ok());
  std::string changed = *text;
  changed.replace(changed.find("timeout_ms: 5000"), 16, "timeout_ms: 6000");
  std::ofstream(other) << changed;
  auto refused = tree.pipelinectl({"run", pipeline, "--tool", other.string(), "--progress", "none"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("with another definition"), std::string::npos) << refused.err;
}

// A result over what one message to the broker may carry (16 MiB) would cut the worker's
// connection and be sent again after each reconnect; the worker sends a too_large failure
// instead, and the step fails at once with it rather than at its timeout.
TEST(RunningTree, AResultTooLargeForOneMessageFailsTheStepAtOnceAsTooLarge) {
  Tree tree(tree_config(1), 1);
  std::ofstream(tree.dir() / "big_tool.yaml")
      << "name: big_output\ndescription: Prints 17 MB.\n"
         "input_schema: {type: object, additionalProperties: false}\n"
         "command: [perl, -e, 'print \"x\" x 17000000']\n"
         "timeout_ms: 20000\nmax_output_bytes: 33554432\n";
  std::ofstream(tree.dir() / "big.yaml") << "workflow:\n  name: big\n  steps:\n"
                                            "    - {name: spew, type: tool, tool: big_output, timeout: 20}\n";
  auto run = tree.pipelinectl({"run", (tree.dir() / "big.yaml").string(), "--tool",
                               (tree.dir() / "big_tool.yaml").string(), "--progress", "none"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const Value out = parse_output(run);  // kept: `spew` points into it
  const Value* spew = out.find("steps")->find("spew");
  ASSERT_NE(spew, nullptr) << run.out;
  EXPECT_EQ(spew->get_string("error_code"), "too_large") << run.out;
  EXPECT_NE(spew->get_string("error").find("a message to the broker may carry"), std::string::npos)
      << run.out;
  EXPECT_EQ(spew->get_int("attempts"), 1) << "too_large is not retried";
}

TEST(RunningTree, AnInputTooLargeForOneMessageFailsTheStepAtOnceAsTooLarge) {
  // Sent, the item cut each worker's connection in turn until it counted as poison (internal).
  Tree tree(tree_config(1), 1);
  std::ofstream(tree.dir() / "big.yaml")
      << "workflow:\n  name: big\n  steps:\n"
         "    - {name: s, type: set_variable, variables: {s: \""
      << std::string(9 << 20, 'x')
      << "\"}}\n"
         "    - {name: twice, type: echo, value: \"{{ state.s + state.s }}\"}\n";
  auto run = tree.pipelinectl({"run", (tree.dir() / "big.yaml").string(), "--progress", "none"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const Value out = parse_output(run);  // kept: `twice` points into it
  const Value* twice = out.find("steps")->find("twice");
  ASSERT_NE(twice, nullptr) << run.out.substr(0, 2000);
  EXPECT_EQ(twice->get_string("error_code"), "too_large") << twice->get_string("error");
  EXPECT_NE(twice->get_string("error").find("a message to a worker may carry"), std::string::npos)
      << twice->get_string("error");
}

// What validate accepts must cross every process: a value nested nearly as deep as a pipeline
// file may nest goes to a worker in an item, back in its result and out to pipelinectl. (Over
// ZeroMQ frames were limited to 64 levels: such a run hung until its timeout.)
TEST(RunningTree, AValueNestedAsDeepAsAPipelineMayHoldCrossesEveryProcess) {
  Tree tree(tree_config(1), 1);
  constexpr int kDepth = 94;  // with workflow, steps, the step and its value: 98 of the 100
  std::ofstream(tree.dir() / "deep.yaml")
      << "workflow:\n  name: deep\n  steps:\n"
         "    - {name: a, type: echo, value: "
      << std::string(kDepth, '[') << "\"{{inputs.x}}\"" << std::string(kDepth, ']') << "}\n";
  auto run = tree.pipelinectl(
      {"run", (tree.dir() / "deep.yaml").string(), "--input", "x=bottom", "--progress", "none"},
      60s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Value out = parse_output(run);
  const Value* v = out.find("steps")->find("a")->find("data");
  ASSERT_NE(v, nullptr) << run.out;
  int depth = 0;
  while (v->is_array() && v->as_array().size() == 1) {
    v = &v->as_array()[0];
    ++depth;
  }
  EXPECT_EQ(depth, kDepth);
  EXPECT_EQ(*v, Value("bottom"));
}

TEST(RunCommand, ALockItCannotReadIsAnErrorNotALicenceForAPrivateTree) {
  // As root a permission never stops the open, so a lock that cannot be opened at all (a link
  // to itself) stands for a tree this user may not use.
  TempDir dir;
  const fs::path state = dir.path() / "state";
  fs::create_directories(state);
  fs::create_symlink(state / "supervisor.lock", state / "supervisor.lock");
  std::ofstream(dir.path() / "p.yaml") << "workflow:\n  name: p\n  steps:\n"
                                          "    - {name: e, type: echo, value: x}\n";
  auto r = run_command({binary("pipelinectl"), "--state-dir", state.string(), "run",
                        (dir.path() / "p.yaml").string()},
                       30s);
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_NE(r.err.find("cannot tell whether a tree runs on " + state.string()), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");  // nothing ran
}

// A mistyped or unknown input is reported before a private tree is started for the run.
TEST(RunCommand, AWrongInputIsRefusedBeforeAnyTreeStarts) {
  TempDir dir;
  const std::string tag = new_tag();
  SpawnOptions options;
  options.env = {tag};
  options.unset_env = {"PIPELINE_STATE_DIR"};
  options.cwd = dir.path();  // no ./var tree here
  std::ofstream(dir.path() / "p.yaml") << "workflow:\n  name: p\n"
                                          "  inputs:\n    n: {type: integer, default: 1}\n"
                                          "  steps:\n    - {name: e, type: echo, value: x}\n";
  for (const std::string input : {"m=1", "n=abc"}) {
    auto r = run_command({binary("pipelinectl"), "run", (dir.path() / "p.yaml").string(),
                          "--input", input},
                         30s, options);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(input == "m=1" ? "unknown input \"m\"" : "must be an integer"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("private"), std::string::npos) << "a tree was started: " << r.err;
    EXPECT_EQ(r.out, "");
  }
  auto twice = run_command({binary("pipelinectl"), "run", (dir.path() / "p.yaml").string(),
                            "--input", "n=1", "--input", "n=2"},
                           30s, options);
  EXPECT_EQ(twice.exit_code, 2) << twice.err;
  EXPECT_NE(twice.err.find("--input n is given twice"), std::string::npos) << twice.err;
  EXPECT_TRUE(processes_with_env(tag).empty());
}

TEST(RunningTree, InputsComeFromAJsonFileAndInputFlagsOverIt) {
  Tree tree(tree_config(2));
  const fs::path dir = tree.dir();
  std::ofstream(dir / "greet.yaml") << "workflow:\n  name: greet\n"
                                       "  inputs:\n    who: {type: string, required: true}\n"
                                       "    times: {type: number, default: 1}\n"
                                       "  steps:\n"
                                       "    - {name: e, type: echo, value: \"{{inputs.who}}x{{inputs.times}}\"}\n";
  std::ofstream(dir / "in.json") << R"({"who": "Ada", "times": 3})";
  auto from_file = tree.pipelinectl({"run", (dir / "greet.yaml").string(), "--inputs",
                                     (dir / "in.json").string(), "--progress", "none"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(parse_json(from_file.out)->find("steps")->find("e")->get_string("text"), "Adax3");
  auto overridden = tree.pipelinectl({"run", (dir / "greet.yaml").string(), "--inputs",
                                      (dir / "in.json").string(), "--input", "times=5",
                                      "--progress", "none"});
  ASSERT_EQ(overridden.exit_code, 0) << overridden.err;
  EXPECT_EQ(parse_json(overridden.out)->find("steps")->find("e")->get_string("text"), "Adax5");
  std::ofstream(dir / "bad.json") << R"({"who": )";
  auto bad = tree.pipelinectl({"run", (dir / "greet.yaml").string(), "--inputs",
                               (dir / "bad.json").string(), "--progress", "none"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.json"), std::string::npos) << bad.err;
}

TEST(RunningTree, AnInterruptedRunCommandSaysSoAndLeavesTheRunRunning) {
  Tree tree(tree_config(2));
  const std::string slow = (tree.dir() / "slow.yaml").string();
  std::ofstream(slow) << "workflow:\n  name: slow\n  steps:\n"
                         "    - {name: wait, type: echo, value: x, delay_ms: 60000}\n";
  std::set<std::string> seen;
  for (int sig : {SIGTERM, SIGHUP}) {
    const std::string name = "run" + std::to_string(sig);
    Process run = tree.start_pipelinectl({"run", slow, "--progress", "none"}, name);
    // The run is accepted once the command reads its signals: then it is told to stop.
    std::string run_id;
    ASSERT_TRUE(wait_until(
        [&] {
          auto runs = parse_json(tree.pipelinectl({"runs", "list", "--json"}).out);
          if (!runs.ok()) return false;
          for (const auto& r : runs->as_array()) {
            if (!seen.contains(r.get_string("run"))) run_id = r.get_string("run");
          }
          return !run_id.empty();
        },
        30s));
    seen.insert(run_id);
    ASSERT_TRUE(run.signal(sig));
    auto code = run.wait(10s);
    ASSERT_TRUE(code.has_value()) << "signal " << sig << " did not stop the command";
    EXPECT_EQ(*code, 128 + sig);
    EXPECT_NE(
        read_text(tree.dir() / (name + ".err"))
            .find("run " + run_id + " was not cancelled and goes on (pipelinectl runs cancel " +
                  run_id + " stops it)"),
        std::string::npos)
        << read_text(tree.dir() / (name + ".err"));
    auto shown = parse_json(tree.pipelinectl({"runs", "show", run_id, "--json"}).out);
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ(shown->get_string("state"), "running");
    EXPECT_EQ(tree.pipelinectl({"runs", "cancel", run_id}).exit_code, 0);
    // A cancel sent again (its reply lost, or a second operator) is done, not an error.
    auto again = tree.pipelinectl({"runs", "cancel", run_id});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.out, run_id + " cancelled\n");
  }
}

// A 12-iteration loop of 200 ms echoes, six at a time, started on `tree` by `pipelinectl run`:
// the command, and the run's id once items are in flight.
struct SlowLoop {
  Process command;
  std::string run_id;
};
SlowLoop start_slow_loop(Tree& tree) {
  const fs::path file = tree.dir() / "slow.yaml";
  std::ofstream(file)
      << "workflow:\n  name: slow\n  steps:\n"
         "    - name: each\n      type: for_loop\n      iterator: n\n"
         "      items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n"
         "      parallel: true\n      max_parallel: 6\n"
         "      steps: [{name: e, type: echo, value: \"{{loop.n}}\", delay_ms: 200}]\n";
  SlowLoop loop{tree.start_pipelinectl({"run", file.string(), "--progress", "none"}, "run"), ""};
  EXPECT_TRUE(wait_until([&] { return tree.broker_status().get_int("in_flight") > 0; }, 30s));
  EXPECT_TRUE(wait_until(
      [&] {
        auto runs =
            parse_json(tree.pipelinectl({"runs", "list", "--state", "running", "--json"}).out);
        if (runs.ok() && runs->size() == 1) loop.run_id = runs->as_array()[0].get_string("run");
        return !loop.run_id.empty();
      },
      30s));
  return loop;
}

void signal_all(const std::vector<int64_t>& pids, int sig) {
  for (int64_t pid : pids) ASSERT_EQ(::kill(static_cast<pid_t>(pid), sig), 0);
}

// The workers stall (a pause, a slow host) and the loop's run is cancelled: they will answer the
// cancelled attempts late, still holding them meanwhile. The workers' pids (none on a failure).
std::vector<int64_t> stall_workers_and_cancel(Tree& tree, const SlowLoop& loop) {
  const std::vector<int64_t> workers = tree.worker_pids();
  if (loop.run_id.empty() || workers.size() != 2) {
    ADD_FAILURE() << "no run in flight, or not two workers";
    return {};
  }
  signal_all(workers, SIGSTOP);
  EXPECT_EQ(tree.pipelinectl({"runs", "cancel", loop.run_id}).exit_code, 0);
  return workers;
}

// Waits for the run to leave `running`, and then checks that every slot is free again: no
// attempt was held twice, so none is left held. The run as `runs show` shows it.
Value finished_run_with_no_slot_held(Tree& tree, const std::string& run_id) {
  Value shown;
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = parse_json(tree.pipelinectl({"runs", "show", run_id, "--json"}).out);
        if (r.ok()) shown = *r;
        return r.ok() && r->get_string("state") != "running";
      },
      60s));
  auto held = [&] {
    size_t n = 0;
    const Value status = tree.broker_status();
    if (const Value* listed = status.find("workers")) {
      for (const auto& w : listed->as_array()) n += w.find("held") ? w.find("held")->size() : 0;
    }
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return held() == 0; }, 10s)) << held() << " attempt(s) still held";
  return shown;
}

TEST(RunningTree, ARunCancelledAndResumedAtOnceIsNotFailedByTheAnswersOfItsCancelledAttempts) {
  Tree tree(tree_config(2), 2);
  SlowLoop loop = start_slow_loop(tree);
  const std::vector<int64_t> workers = stall_workers_and_cancel(tree, loop);
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(tree.pipelinectl({"runs", "resume", loop.run_id}).exit_code, 0);
  signal_all(workers, SIGCONT);
  const Value shown = finished_run_with_no_slot_held(tree, loop.run_id);
  EXPECT_EQ(shown.get_string("state"), "succeeded") << to_json(shown);
  EXPECT_EQ(loop.command.wait(10s).value_or(-1), 1);  // the first command saw its run cancelled
}

// The same, with the broker killed while the workers still hold the cancelled attempts: the
// broker that follows learns of them only from the workers' hellos.
TEST(RunningTree, ARunCancelledThenResumedByTheNextBrokerIsNotFailedByItsCancelledAttempts) {
  Tree tree(tree_config(2), 2);
  SlowLoop loop = start_slow_loop(tree);
  const std::vector<int64_t> workers = stall_workers_and_cancel(tree, loop);
  ASSERT_EQ(workers.size(), 2u);
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGKILL), 0);
  // The next broker takes the resume before the workers, stalled, say hello to it.
  ASSERT_TRUE(wait_until(
      [&] {
        const int64_t now = tree.pid_of("pipeline-broker");
        return now > 0 && now != broker && !tree.broker_status().is_null();
      },
      30s))
      << tree.log();
  EXPECT_EQ(tree.pipelinectl({"runs", "resume", loop.run_id}).exit_code, 0);
  signal_all(workers, SIGCONT);
  const Value shown = finished_run_with_no_slot_held(tree, loop.run_id);
  EXPECT_EQ(shown.get_string("state"), "succeeded") << to_json(shown);
}

TEST(RunningTree, RunsAreListedByState) {
  Tree tree(tree_config(1), 1);
  const fs::path ok = tree.dir() / "ok.yaml";
  const fs::path bad = tree.dir() / "bad.yaml";
  std::ofstream(ok) << "workflow:\n  name: ok\n  steps:\n    - {name: e, type: echo, value: x}\n";
  std::ofstream(bad) << "workflow:\n  name: bad\n  steps:\n"
                        "    - {name: e, type: echo, value: x, fail: true}\n";
  ASSERT_EQ(tree.pipelinectl({"run", ok.string(), "--progress", "none"}).exit_code, 0);
  ASSERT_EQ(tree.pipelinectl({"run", bad.string(), "--progress", "none"}).exit_code, 1);
  ASSERT_EQ(tree.pipelinectl({"run", ok.string(), "--progress", "none"}).exit_code, 0);

  auto listed = [&](const std::string& state) {
    auto r = tree.pipelinectl({"runs", "list", "--state", state, "--limit", "1", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> pipelines;
    if (auto runs = parse_json(r.out); runs.ok()) {
      for (const auto& run : runs->as_array()) pipelines.push_back(run.get_string("pipeline"));
    }
    return pipelines;
  };
  // The newest run succeeded: with a limit of 1, the failed one is still found.
  EXPECT_EQ(listed("failed"), std::vector<std::string>{"bad"});
  EXPECT_EQ(listed("succeeded"), std::vector<std::string>{"ok"});
  EXPECT_TRUE(listed("cancelled").empty());

  auto typo = tree.pipelinectl({"runs", "list", "--state", "faild"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("faild"), std::string::npos) << typo.err;
  // Another client asking the broker for a state there is none of is told so.
  Value args;
  args["args"]["state"] = "faild";
  const Value refused = tree.broker_call(protocol::MessageType::kListRuns, args);
  EXPECT_NE(refused.get_string("message").find("no run state \"faild\" (running, succeeded, "
                                               "failed or cancelled)"),
            std::string::npos)
      << to_json(refused);
}

// A field of the wrong type is named, instead of being read as empty ("no run ").
TEST(RunningTree, AClientRequestWithAFieldOfTheWrongTypeIsToldWhichField) {
  Tree tree(tree_config(1), 1);
  auto message = [&](protocol::MessageType type, const Value& body) {
    return tree.broker_call(type, body).get_string("message");
  };
  Value numeric_run;
  numeric_run["run"] = 12;
  EXPECT_EQ(message(protocol::MessageType::kWatchRun, numeric_run),
            "watch_run: field \"run\" is an integer, expected a string");
  EXPECT_EQ(message(protocol::MessageType::kCancelRun, Value::object()),
            "cancel_run: field \"run\" is missing");
  Value empty_run;
  empty_run["run"] = "";
  EXPECT_EQ(message(protocol::MessageType::kResumeRun, empty_run),
            "resume_run: field \"run\" is empty, expected a run id");
  Value list;
  list["args"]["limit"] = "ten";
  EXPECT_EQ(message(protocol::MessageType::kListRuns, list),
            "list_runs: field \"limit\" is a string, expected an integer");
  list["args"] = 5;
  EXPECT_EQ(message(protocol::MessageType::kListRuns, list),
            "list_runs: field \"args\" is not a map");
}

TEST(RunningTree, ARunCommandWhoseTreeStopsSaysSoAtOnceAndTheRunIsKept) {
  Tree tree(tree_config(1), 1);
  const std::string slow = (tree.dir() / "slow.yaml").string();
  std::ofstream(slow) << "workflow:\n  name: slow\n  steps:\n"
                         "    - {name: wait, type: echo, value: x, delay_ms: 60000}\n";
  // A silence timeout far beyond the wait below: only the stopped tree can end the command.
  Process run = tree.start_pipelinectl(
      {"run", slow, "--progress", "none", "--silence-timeout", "600"}, "run");
  ASSERT_TRUE(wait_until(
      [&] { return read_text(tree.dir() / "run.err").find(" accepted") != std::string::npos; },
      30s))
      << read_text(tree.dir() / "run.err");
  EXPECT_EQ(tree.pipelinectl({"shutdown"}).exit_code, 0);
  auto code = run.wait(30s);
  ASSERT_TRUE(code.has_value()) << "the command still waits on a stopped tree";
  EXPECT_EQ(*code, 69);
  const std::string err = read_text(tree.dir() / "run.err");
  EXPECT_NE(err.find("the tree on " + tree.state_dir().string() + " has stopped"), std::string::npos)
      << err;
  EXPECT_NE(err.find("is stored and goes on when a tree is started there again"), std::string::npos)
      << err;
}

// `pipelinectl run` of a minute-long one-step pipeline in `dir`, where no tree runs: on a private
// tree whose processes carry `tag` in their environment. Returns once the run is accepted
// (the command's stderr is dir/run.err).
Process start_slow_run_on_a_private_tree(const TempDir& dir, const std::string& tag,
                                         std::vector<std::string> extra_arguments = {}) {
  const fs::path slow = dir.path() / "slow.yaml";
  std::ofstream(slow) << "workflow:\n  name: slow\n  steps:\n"
                         "    - {name: wait, type: echo, value: x, delay_ms: 60000}\n";
  SpawnOptions options;
  options.env = {tag};
  options.unset_env = {"PIPELINE_STATE_DIR"};
  options.cwd = dir.path();  // no ./var tree here: the command starts a private one
  options.stderr_file = dir.path() / "run.err";
  std::vector<std::string> argv{binary("pipelinectl"), "run", slow.string(), "--progress", "none"};
  argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
  Process run = Process::spawn(argv, options);
  EXPECT_TRUE(wait_until(
      [&] { return read_text(dir.path() / "run.err").find(" accepted") != std::string::npos; },
      60s))
      << read_text(dir.path() / "run.err");
  return run;
}

TEST(PipelineRun, APrivateTreeThatDiesEndsTheCommandAtOnceWithTheEndOfItsLog) {
  TempDir dir;
  const std::string tag = new_tag();
  Process run = start_slow_run_on_a_private_tree(dir, tag, {"--silence-timeout", "600"});
  pid_t supervisor = 0;
  for (pid_t pid : processes_with_env(tag)) {
    if (read_text("/proc/" + std::to_string(pid) + "/comm") == "pipeline-superv\n") supervisor = pid;
  }
  ASSERT_NE(supervisor, 0);
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  auto code = run.wait(30s);
  ASSERT_TRUE(code.has_value()) << "the command still waits on a dead tree";
  EXPECT_EQ(*code, 69);
  const std::string err = read_text(dir.path() / "run.err");
  EXPECT_NE(err.find("the private tree of this run stopped, and run "), std::string::npos) << err;
  // Written before the run was accepted, and followed by a handful of lines only.
  EXPECT_NE(err.find("supervisor info started root: all children started"), std::string::npos)
      << "no end of the log in: " << err;
  EXPECT_TRUE(wait_until([&] { return processes_with_env(tag).empty(); }, 10s))
      << "processes left behind: " << processes_with_env(tag).size();
}

TEST(PipelineRun, AnInterruptedRunOnAPrivateTreeSaysItStopsWithTheTreeAndLeavesNoProcess) {
  TempDir dir;
  const std::string tag = new_tag();
  Process run = start_slow_run_on_a_private_tree(dir, tag);
  ASSERT_TRUE(run.signal(SIGINT));
  auto code = run.wait(30s);
  ASSERT_TRUE(code.has_value()) << "Ctrl-C did not stop the command";
  EXPECT_EQ(*code, 128 + SIGINT);
  const std::string err = read_text(dir.path() / "run.err");
  EXPECT_NE(err.find("pipelinectl: interrupted; the private tree stops, and run "),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("was not cancelled"), std::string::npos) << err;
  EXPECT_TRUE(wait_until([&] { return processes_with_env(tag).empty(); }, 10s))
      << "processes left behind: " << processes_with_env(tag).size();
}

TEST(PipelineRun, APrivateTreeWhoseCommandIsKilledRemovesItsStateDirectoryAsItStops) {
  TempDir dir;
  const std::string tag = new_tag();
  Process run = start_slow_run_on_a_private_tree(dir, tag);
  std::string state_dir;
  for (pid_t pid : processes_with_env(tag)) {
    if (read_text("/proc/" + std::to_string(pid) + "/comm") != "pipeline-superv\n") continue;
    std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
    const std::string flag = std::string("--state-dir") + '\0';
    const size_t at = cmdline.find(flag);
    if (at != std::string::npos) state_dir = cmdline.substr(at + flag.size()).c_str();
  }
  ASSERT_FALSE(state_dir.empty());
  ASSERT_TRUE(fs::is_directory(state_dir));
  ASSERT_TRUE(run.signal(SIGKILL));  // nothing of pipelinectl runs after this
  ASSERT_TRUE(run.wait(30s).has_value());
  EXPECT_TRUE(wait_until([&] { return processes_with_env(tag).empty(); }, 30s))
      << "processes left behind: " << processes_with_env(tag).size();
  EXPECT_TRUE(wait_until([&] { return !fs::exists(state_dir); }, 10s)) << state_dir << " is left";
}

TEST(RunningTree, AnItemNoWorkerTakesFailsAtItsTimeoutInsteadOfWaitingForEver) {
  Tree tree(tree_config(0), 0);
  // With no worker to wait for, wait for the broker itself: a run needs it to answer.
  ASSERT_TRUE(wait_until([&] { return !tree.broker_status().is_null(); }, 30s)) << tree.log();
  const std::string file = (tree.dir() / "stuck.yaml").string();
  std::ofstream(file) << "workflow:\n  name: stuck\n  steps:\n"
                         "    - {name: e, type: echo, value: x, timeout: 1}\n";
  auto r = tree.pipelinectl({"run", file, "--progress", "none"}, 60s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto out = parse_json(r.out);
  ASSERT_TRUE(out.ok()) << r.out << r.err;
  EXPECT_EQ(out->get_string("state"), "failed");
  const std::string error = out->find("steps")->find("e")->get_string("error");
  EXPECT_NE(error.find("no worker took the item within 1000 ms: no worker is connected"),
            std::string::npos)
      << error;
  EXPECT_EQ(tree.counter("queue_timeouts"), 1);
}

}  // namespace
}  // namespace pl::test
