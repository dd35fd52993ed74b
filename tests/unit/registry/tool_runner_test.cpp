// run_tool with real child processes: literal arguments, timeouts, limits, output bounds,
// cancellation, descendants, and the example tools of configs/tools.
#include "worker/tool_runner.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "common/ids.h"
#include "common/json.h"
#include "common/registry/tool_file.h"
#include "tests/support/harness.h"
#include "worker/child_process.h"
#include "worker/tool_invocation.h"

namespace pl::worker {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

ToolDefinition tool(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  auto d = tool_definition_from_value(v.ok() ? *v : Value());
  EXPECT_TRUE(d.ok()) << d.error().message;
  return d.ok() ? *d : ToolDefinition{};
}

ToolDefinition example(const std::string& name) {
  auto d = load_tool_file(pl::test::source_dir() / "configs/tools" / (name + ".yaml"));
  EXPECT_TRUE(d.ok()) << d.error().message;
  return d.ok() ? *d : ToolDefinition{};
}

Value json(std::string_view text) { return *parse_json(text); }

class ToolRunnerTest : public ::testing::Test {
 protected:
  ToolRunnerTest() {
    context_.workspace_dir = dir_.path() / "workspace";
    context_.environment = current_environment();
  }

  // A tool whose processes carry a unique variable, so that the test can see them all.
  ToolDefinition tagged(std::string text) {
    ToolDefinition t = tool(text);
    t.env["PIPELINE_TEST_TAG"] = tag_;
    return t;
  }
  bool none_left() {
    return pl::test::wait_until([&] { return pl::test::processes_with_env("PIPELINE_TEST_TAG=" + tag_).empty(); },
                                10s);
  }

  pl::test::TempDir dir_;
  ToolRunContext context_;
  std::string tag_ = new_id("t");
};

TEST_F(ToolRunnerTest, ArgumentsFullOfShellMetacharactersReachTheToolLiterally) {
  const ToolDefinition t = tool(R"({"name": "args", "command": ["printf", "[%s]", "{{args.a}}", "{{args.b}}", "{{args.c}}"],
      "input_schema": {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}}})");
  Value args;
  args["a"] = "; rm -rf ~ && echo pwned | tee /tmp/x > /dev/null";
  args["b"] = "$(id) `id` ${HOME} $HOME 'single' \"double\" * ? [a-z] \\ !";
  args["c"] = "two words\tand a tab";
  auto r = run_tool(t, args, context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "[" + args["a"].as_string() + "][" + args["b"].as_string() + "][" +
                                       args["c"].as_string() + "]");
}

TEST_F(ToolRunnerTest, AHangingToolIsKilledAtItsTimeoutAndTheStepGetsAnError) {
  const ToolDefinition t = tagged(R"({"name": "hang", "command": ["sleep", "60"], "timeout_ms": 200})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_NE(r.error().message.find("tool hang did not finish within its timeout of 200 ms"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(none_left());
}

TEST_F(ToolRunnerTest, TheItemsDeadlineEndsATooLongToolEvenWithinItsOwnTimeout) {
  const ToolDefinition t = tool(R"({"name": "hang", "command": ["sleep", "60"], "timeout_ms": 60000})");
  context_.deadline = SteadyClock::now() + 200ms;
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_NE(r.error().message.find("the step's deadline"), std::string::npos) << r.error().message;
}

TEST_F(ToolRunnerTest, DescendantsDoNotOutliveTheTool) {
  const ToolDefinition t = tagged(R"({"name": "bg", "command": ["sh", "-c", "sleep 60 & echo started"]})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "started\n");
  EXPECT_TRUE(none_left());
}

// A shell with job control (`set -m`) puts each background job in a process group of its own:
// leaving the tool's group is not leaving the tool, whether it exits or is killed.
TEST_F(ToolRunnerTest, DescendantsInProcessGroupsOfTheirOwnDoNotOutliveTheTool) {
  const ToolDefinition exits =
      tagged(R"({"name": "jobs", "command": ["bash", "-c", "set -m; sleep 60 & echo started"]})");
  auto r = run_tool(exits, Value::object(), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "started\n");
  EXPECT_TRUE(none_left());

  const ToolDefinition hangs = tagged(
      R"({"name": "jobs", "command": ["bash", "-c", "set -m; sleep 60 & sleep 60"], "timeout_ms": 300})");
  auto killed = run_tool(hangs, Value::object(), context_);
  ASSERT_FALSE(killed.ok());
  EXPECT_EQ(killed.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(none_left());
}

TEST_F(ToolRunnerTest, ANonZeroExitIsAStepFailureNamingTheStatusAndStderr) {
  const ToolDefinition t = tool(R"({"name": "fails", "command": ["sh", "-c", "echo partial; echo 'no such thing' >&2; exit 3"]})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kStepFailed);
  EXPECT_EQ(r.error().message, "tool fails exited with status 3: no such thing");
}

TEST_F(ToolRunnerTest, JsonOnStdoutBecomesTheData) {
  const ToolDefinition t = tool(R"({"name": "j", "command": ["printf", "{\"n\": [1, 2]}\n"]})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->find("data"), json(R"({"n": [1, 2]})"));
  EXPECT_EQ(r->get_int("exit_code"), 0);
}

TEST_F(ToolRunnerTest, LimitsAreSetInTheToolsProcess) {
  const ToolDefinition t = tool(R"({"name": "limits", "command": ["sh", "-c", "ulimit -n; ulimit -t; ulimit -v"],
      "limits": {"cpu_seconds": 7, "memory_mb": 64, "open_files": 32}})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "32\n7\n65536\n");
}

TEST_F(ToolRunnerTest, ABusyLoopIsStoppedByItsCpuLimit) {
  const ToolDefinition t = tool(R"({"name": "spin", "command": ["sh", "-c", "while :; do :; done"],
      "timeout_ms": 60000, "limits": {"cpu_seconds": 1}})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kStepFailed);
  EXPECT_NE(r.error().message.find("CPU limit of 1 s"), std::string::npos) << r.error().message;
}

TEST_F(ToolRunnerTest, AToolThatWantsTooMuchMemoryFails) {
  const ToolDefinition t = tool(R"({"name": "hog", "command": ["awk", "BEGIN { s = \"x\"; while (1) s = s s }"],
      "limits": {"memory_mb": 64}})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kStepFailed) << r.error().message;
}

TEST_F(ToolRunnerTest, TooMuchOutputKillsTheTool) {
  const ToolDefinition t = tagged(R"({"name": "chatty", "command": ["yes"], "max_output_bytes": 10000})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  EXPECT_TRUE(none_left());
}

// The worker's peak resident size, in KiB.
int64_t peak_resident_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// A descendant that left the tool's session (setsid, the known limit) is not killed and goes on
// writing while the pipes drain after the tool: what passes the bound is dropped, not kept.
TEST_F(ToolRunnerTest, OutputPastTheBoundIsNotKeptWhileThePipesDrain) {
  std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM starts again from the current size
  const int64_t before = peak_resident_kib();
  ASSERT_GT(before, 0);
  // The tool ends once its `yes` has a session of its own.
  const ToolDefinition t = tagged(R"({"name": "chatty", "max_output_bytes": 1000, "timeout_ms": 10000,
      "command": ["sh", "-c", "setsid yes & until [ \"$(cut -d' ' -f6 /proc/$!/stat)\" = \"$!\" ]; do :; done"]})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge) << r.error().message;
  EXPECT_LT(peak_resident_kib() - before, 32 * 1024);
  EXPECT_TRUE(none_left());  // `yes` ends on the closed pipe
}

TEST_F(ToolRunnerTest, CancellingTheItemKillsTheTool) {
  const ToolDefinition t = tagged(R"({"name": "hang", "command": ["sleep", "60"]})");
  CancelToken cancel;
  context_.cancel = &cancel;
  std::thread canceller([&] {
    pl::test::wait_until([&] { return !pl::test::processes_with_env("PIPELINE_TEST_TAG=" + tag_).empty(); }, 10s);
    cancel.cancel("run cancelled");
  });
  auto r = run_tool(t, Value::object(), context_);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_NE(r.error().message.find("run cancelled"), std::string::npos);
  EXPECT_TRUE(none_left());
}

TEST_F(ToolRunnerTest, AToolThatIgnoresItsInputStillFinishes) {
  const ToolDefinition t = tool(R"({"name": "deaf", "command": ["true"], "stdin": "{{args.big}}",
      "input_schema": {"type": "object", "properties": {"big": {"type": "string"}}}})");
  Value args;
  args["big"] = std::string(1 << 20, 'x');
  auto r = run_tool(t, args, context_);
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST_F(ToolRunnerTest, AProgramThatCannotBeExecutedIsInvalidInput) {
  fs::create_directories(context_.workspace_dir);
  std::ofstream(context_.workspace_dir / "not-executable") << "#!/bin/sh\n";
  const ToolDefinition t = tool(R"({"name": "x", "command": ["./not-executable"]})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("Permission denied"), std::string::npos) << r.error().message;
}

// A child that SIGKILL does not end (one in uncertain sleep on a dead file system; here, one
// whose kill is left out) holds the item no longer than kill_grace after its deadline.
TEST_F(ToolRunnerTest, AChildThatOutlivesItsKillIsWaitedForNoLongerThanTheKillGrace) {
  ChildSpec spec;
  spec.program = "/bin/sleep";
  spec.argv = {"sleep", "60"};
  spec.env = {"PIPELINE_TEST_TAG=" + tag_};
  spec.cwd = dir_.path();
  spec.kill_grace = 200ms;
  int kills = 0;
  spec.kill_group = [&](pid_t) { ++kills; };
  auto outcome = run_child(spec, SteadyClock::now() + 100ms, {});
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->end, ChildEnd::kTimedOut);
  EXPECT_TRUE(outcome->left_running);
  EXPECT_EQ(kills, 1);
  const auto left = pl::test::processes_with_env("PIPELINE_TEST_TAG=" + tag_);
  ASSERT_EQ(left.size(), 1u);  // still there: the wait really ended without it
  ::kill(left.front(), SIGKILL);
  // Reaped by the thread that waits for it: not even a zombie stays.
  const fs::path proc = "/proc/" + std::to_string(left.front());
  EXPECT_TRUE(pl::test::wait_until([&] { return !fs::exists(proc); }, 10s));
}

// "." or "bin" in PATH would find a program in the worker's directory and then exec whatever
// has that name in the tool's: relative entries are skipped, as an empty one is.
TEST_F(ToolRunnerTest, RelativePathEntriesAreNotSearched) {
  const fs::path here = fs::current_path();
  fs::create_directories(dir_.path() / "bin");
  std::ofstream(dir_.path() / "bin" / "mytool") << "#!/bin/sh\n";
  fs::permissions(dir_.path() / "bin" / "mytool", fs::perms::owner_all);
  fs::current_path(dir_.path());
  const auto relative = find_program("mytool", "bin:.:/nonexistent");
  const auto absolute = find_program("mytool", "bin:" + (dir_.path() / "bin").string());
  fs::current_path(here);
  EXPECT_EQ(relative, std::nullopt);
  EXPECT_EQ(absolute, (dir_.path() / "bin" / "mytool").string());
}

// As execvp does: a directory that happens to carry the program's name is not the program.
TEST_F(ToolRunnerTest, ADirectoryInPathIsNotTheProgram) {
  fs::create_directories(dir_.path() / "bin" / "printf");
  context_.environment = {"PATH=" + (dir_.path() / "bin").string() + ":/usr/bin:/bin"};
  const ToolDefinition t = tool(R"({"name": "p", "command": ["printf", "found"]})");
  auto r = run_tool(t, Value::object(), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "found");
}

TEST(LaunchError, ALimitTheWorkerCannotGrantIsInvalidInputNamingTheLimit) {
  // Root may raise any hard limit, so the EPERM an unprivileged worker meets is built directly.
  ChildSpec spec;
  spec.program = "/bin/true";
  spec.open_files = 65536;
  const Error e = launch_error(spec, LaunchStage::kFilesLimit, EPERM);
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);  // not retried: the definition must change
  EXPECT_EQ(e.message,
            "cannot give tool /bin/true its limits.open_files of 65536 (above the worker's own "
            "hard limit?): Operation not permitted");
  EXPECT_EQ(launch_error(spec, LaunchStage::kExec, ENOENT).code, ErrorCode::kInvalidInput);
  EXPECT_EQ(launch_error(spec, LaunchStage::kSetup, EMFILE).code, ErrorCode::kIo);
  EXPECT_EQ(launch_error(spec, LaunchStage::kMemoryLimit, ENOMEM).code, ErrorCode::kIo);
}

// The audit's escape: a dangling link in the workspace to a file outside that does not exist
// yet. tee through it would create the file outside; the argument is refused before it runs.
TEST_F(ToolRunnerTest, AToolCannotWriteOutsideThroughADanglingLink) {
  const fs::path outside = dir_.path() / "outside";
  fs::create_directories(outside);
  fs::create_directories(context_.workspace_dir);
  fs::create_symlink(outside / "pwned.txt", context_.workspace_dir / "escape");
  const ToolDefinition writer =
      tool(R"({"name": "write_file", "command": ["tee", "--", "{{args.path}}"],
      "stdin": "{{args.text}}",
      "input_schema": {"type": "object", "required": ["path", "text"], "properties": {
          "path": {"type": "string", "format": "workspace_path"}, "text": {"type": "string"}}}})");
  auto r = run_tool(writer, json(R"({"path": "escape", "text": "written outside"})"), context_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("\"escape\" leaves the run's workspace through a symbolic link"),
            std::string::npos)
      << r.error().message;
  EXPECT_FALSE(fs::exists(outside / "pwned.txt"));
}

// YAML types `+2`, `1.10` and `0755` as numbers; `tail -n +2`, `sort -k 1.10` and `chmod 0755`
// mean what is written, not 2, 1.1 and 755. So do the tool's fixed variables.
TEST_F(ToolRunnerTest, UnquotedNumbersInAToolFileReachTheToolAsWritten) {
  const fs::path file = dir_.path() / "numbers.yaml";
  std::ofstream(file) << "name: numbers\n"
                         "command: [sh, -c, 'printf \"%s|\" \"$@\" \"$V\" \"$W\"', sh, +2, 1.10, 0755,\n"
                         "          0x1F, 1e3, -0, True, 12345678901234567890, -1, 7]\n"
                         "env:\n"
                         "  V: 1.10\n"
                         "  W: +7   # a comment\n";
  auto t = load_tool_file(file);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto r = run_tool(*t, Value::object(), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "+2|1.10|0755|0x1F|1e3|-0|True|12345678901234567890|-1|7|1.10|+7|");
}

TEST_F(ToolRunnerTest, ExampleWordCountCountsTheWordsOfItsInput) {
  Value args;
  args["text"] = "one two  three\nfour; rm -rf /";
  auto r = run_tool(example("word_count"), args, context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->find("data"), Value(7));  // "four;", "rm", "-rf" and "/" are words too
}

TEST_F(ToolRunnerTest, ExampleListFilesListsAWorkspaceDirectoryAndRefusesOthers) {
  fs::create_directories(context_.workspace_dir / "docs");
  std::ofstream(context_.workspace_dir / "docs/b.txt") << "b";
  std::ofstream(context_.workspace_dir / "docs/-l") << "a file named like an option";
  auto r = run_tool(example("list_files"), json(R"({"dir": "docs"})"), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "-l\nb.txt\n");
  auto root = run_tool(example("list_files"), Value::object(), context_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  EXPECT_EQ(root->get_string("text"), "docs\n");
  auto out = run_tool(example("list_files"), json(R"({"dir": "../.."})"), context_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(out.error().message.find("leaves the run's workspace"), std::string::npos);
}

TEST_F(ToolRunnerTest, ExampleFileSha256HashesAWorkspaceFile) {
  fs::create_directories(context_.workspace_dir);
  std::ofstream(context_.workspace_dir / "hello.txt") << "hello\n";
  auto r = run_tool(example("file_sha256"), json(R"({"path": "hello.txt"})"), context_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  hello.txt\n");
  auto abs = run_tool(example("file_sha256"), json(R"({"path": "/etc/passwd"})"), context_);
  ASSERT_FALSE(abs.ok());
  EXPECT_EQ(abs.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace pl::worker
