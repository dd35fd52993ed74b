// What a tool run will exec, before anything runs: argv, environment, cwd, path confinement.
#include "worker/tool_invocation.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/json.h"
#include "tests/support/harness.h"
#include "worker/workspace_path.h"

namespace pl::worker {
namespace {

namespace fs = std::filesystem;

Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

ToolDefinition tool(std::string_view text) {
  auto d = tool_definition_from_value(json(text));
  EXPECT_TRUE(d.ok()) << d.error().message;
  return d.ok() ? *d : ToolDefinition{};
}

const std::vector<std::string> kEnvironment = {"PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8",
                                               "SECRET_TOKEN=hunter2"};

class ToolInvocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ws = open_workspace(dir_.path() / "ws");
    ASSERT_TRUE(ws.ok());
    workspace_ = *ws;
    fs::create_directories(workspace_ / "sub");
    std::ofstream(workspace_ / "sub/file.txt") << "x";
    fs::create_directories(dir_.path() / "outside");
    fs::create_directory_symlink(dir_.path() / "outside", workspace_ / "escape");
    fs::create_directory_symlink(workspace_ / "sub", workspace_ / "inner");
  }

  Result<ChildSpec> prepare(const ToolDefinition& t, std::string_view args) {
    return prepare_tool_run(t, json(args), workspace_, kEnvironment);
  }

  pl::test::TempDir dir_;
  fs::path workspace_;
};

const char* kPathTool = R"({"name": "cat_file", "command": ["cat", "--", "{{args.path}}"],
    "input_schema": {"type": "object", "required": ["path"],
                     "properties": {"path": {"type": "string", "format": "workspace_path"}}}})";

TEST_F(ToolInvocationTest, ArgumentsFullOfShellMetacharactersStayOneArgvElementEach) {
  const ToolDefinition t = tool(R"({"name": "p", "command": ["printf", "%s\n", "{{args.a}}", "x={{args.b}}"],
      "input_schema": {"type": "object", "properties": {"a": {"type": "string"}, "b": {}}}})");
  const std::string nasty = "a b; rm -rf / && $(reboot) `id` | cat > /etc/passwd 'q' \"d\" * ~ $HOME\n";
  Value args;
  args["a"] = nasty;
  args["b"] = json(R"({"k": [1, "two"]})");
  auto spec = prepare_tool_run(t, args, workspace_, kEnvironment);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_EQ(spec->argv.size(), 4u);
  EXPECT_EQ(spec->argv[2], nasty);
  EXPECT_EQ(spec->argv[3], R"(x={"k":[1,"two"]})");
  EXPECT_EQ(spec->program, "/usr/bin/printf");
}

// The schema accepts 3.0 as an integer; the tool must then see "3" (head -n 3.0 fails).
TEST_F(ToolInvocationTest, AWholeNumberForAnIntegerPropertyReachesArgvAsAnInteger) {
  const ToolDefinition t =
      tool(R"({"name": "h", "command": ["head", "-n", "{{args.n}}", "{{args.mode}}"],
      "stdin": "{{args.n}}",
      "input_schema": {"type": "object", "properties": {
          "n": {"type": "integer", "minimum": 1}, "mode": {"enum": [1, 2]}}}})");
  auto spec = prepare(t, R"({"n": 3.0, "mode": 2.0})");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"head", "-n", "3", "2"}));
  EXPECT_EQ(spec->stdin_data, "3");
}

// JSON Schema calls 1e30 an integer, but no argv spelling of it is one ("1e+30").
TEST_F(ToolInvocationTest, AnIntegerArgumentOutsideInt64IsRefusedNamingTheArgument) {
  const ToolDefinition t = tool(R"({"name": "h", "command": ["head", "-n", "{{args.n}}"],
      "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}})");
  auto spec = prepare(t, R"({"n": 1e30})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(spec.error().message, "args.n: 1e+30 is outside the 64-bit range of an integer");
}

TEST_F(ToolInvocationTest, OnlyAllowListedAndFixedVariablesReachTheTool) {
  const ToolDefinition t = tool(R"({"name": "e", "command": ["env"], "env_allow": ["LANG", "NOT_SET"],
                                    "env": {"LANG": "C", "MODE": "test"}})");
  auto spec = prepare(t, "{}");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->env, (std::vector<std::string>{"LANG=C", "MODE=test"}));
  const ToolDefinition allow = tool(R"({"name": "e", "command": ["env"], "env_allow": ["HOME"]})");
  EXPECT_EQ(prepare(allow, "{}")->env, (std::vector<std::string>{"HOME=/root"}));
}

TEST_F(ToolInvocationTest, TheWorkingDirectoryIsResolvedInsideTheWorkspace) {
  const ToolDefinition t = tool(R"({"name": "l", "command": ["ls"], "cwd": "{{args.dir}}",
      "input_schema": {"type": "object", "properties": {"dir": {"type": "string"}}}})");
  EXPECT_EQ(prepare(t, R"({"dir": "sub"})")->cwd, workspace_ / "sub");
  EXPECT_EQ(prepare(t, R"({"dir": "inner"})")->cwd, workspace_ / "sub");
  for (const char* bad : {R"({"dir": "../"})", R"({"dir": "/tmp"})", R"({"dir": "escape"})",
                          R"({"dir": "sub/../../ws/../.."})", R"({"dir": "missing"})"}) {
    auto spec = prepare(t, bad);
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(spec.error().message.find("cwd"), std::string::npos) << spec.error().message;
  }
}

TEST_F(ToolInvocationTest, PathArgumentsThatLeaveTheWorkspaceAreRefused) {
  const ToolDefinition t = tool(kPathTool);
  EXPECT_TRUE(prepare(t, R"({"path": "sub/file.txt"})").ok());
  EXPECT_TRUE(prepare(t, R"({"path": "inner/file.txt"})").ok());
  EXPECT_TRUE(prepare(t, R"({"path": "sub/../sub/new.txt"})").ok());
  const std::pair<const char*, const char*> refused[] = {
      {R"({"path": "../outside"})", "leaves the run's workspace"},
      {R"({"path": "sub/../../outside/x"})", "leaves the run's workspace"},
      {R"({"path": "/etc/passwd"})", "is absolute"},
      {R"({"path": "escape/secret"})", "leaves the run's workspace"},
      {R"({"path": "escape"})", "leaves the run's workspace"},
  };
  for (const auto& [args, why] : refused) {
    auto spec = prepare(t, args);
    ASSERT_FALSE(spec.ok()) << args;
    EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(spec.error().message.find("args.path: path"), std::string::npos) << spec.error().message;
    EXPECT_NE(spec.error().message.find(why), std::string::npos) << spec.error().message;
  }
}

TEST_F(ToolInvocationTest, PathArgumentsResolveAgainstTheToolsWorkingDirectory) {
  ToolDefinition t = tool(kPathTool);
  t.cwd = "sub";
  EXPECT_TRUE(prepare(t, R"({"path": "file.txt"})").ok());
  EXPECT_TRUE(prepare(t, R"({"path": "../sub/file.txt"})").ok());
  EXPECT_FALSE(prepare(t, R"({"path": "../../outside"})").ok());
}

TEST_F(ToolInvocationTest, ArgumentsAreValidatedAgainstTheSchemaFirst) {
  auto spec = prepare(tool(kPathTool), R"({"path": 42})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message, "args.path: expected a string, got a number");
  auto missing = prepare(tool(kPathTool), "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "args: missing required property \"path\"");
}

TEST_F(ToolInvocationTest, ANulByteCannotBeSmuggledIntoArgv) {
  Value args;
  args["path"] = std::string("sub/file.txt\0--help", 19);
  auto spec = prepare_tool_run(tool(kPathTool), args, workspace_, kEnvironment);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("NUL"), std::string::npos) << spec.error().message;
}

TEST_F(ToolInvocationTest, AProgramMissingFromPathIsInvalidInput) {
  auto spec = prepare(tool(R"({"name": "x", "command": ["no-such-program-here"]})"), "{}");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
}

TEST_F(ToolInvocationTest, LimitsAndStdinAreCarriedOver) {
  auto spec = prepare(tool(R"({"name": "wc", "command": ["wc", "-w"], "stdin": "{{args.text}}",
      "timeout_ms": 1500, "limits": {"memory_mb": 64, "open_files": 32}, "max_output_bytes": 100,
      "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}})"),
                      R"({"text": "one two"})");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->stdin_data, "one two");
  EXPECT_EQ(spec->cpu_seconds, 3);  // the timeout rounded up, plus one
  EXPECT_EQ(spec->memory_bytes, 64 << 20);
  EXPECT_EQ(spec->open_files, 32);
  EXPECT_EQ(spec->max_stdout, 100u);
}

}  // namespace
}  // namespace pl::worker
