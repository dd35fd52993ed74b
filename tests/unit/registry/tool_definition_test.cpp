// Tool definitions: reading, checking, the file form with file:line:column, the examples.
#include "common/registry/tool_definition.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/json.h"
#include "common/registry/tool_file.h"
#include "tests/support/harness.h"

namespace pl {
namespace {

Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

std::string problems(std::string_view text) {
  auto d = tool_definition_from_value(json(text));
  return d.ok() ? "" : d.error().message;
}

TEST(ToolDefinition, AMinimalDefinitionGetsItsDefaults) {
  auto d = tool_definition_from_value(json(R"({"name": "hello", "command": ["echo", "hi"]})"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->timeout_ms, 30000);
  EXPECT_EQ(d->cwd, ".");
  EXPECT_EQ(d->input_schema, json(R"({"type": "object"})"));
  EXPECT_EQ(d->effective_cpu_seconds(), 31);
  auto again = tool_definition_from_value(to_value(*d));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_value(*again), to_value(*d));
}

TEST(ToolDefinition, TheProgramMustBeFixed) {
  EXPECT_NE(problems(R"({"name": "t", "command": ["{{args.prog}}"]})").find("the program to run must be fixed"),
            std::string::npos);
  EXPECT_NE(problems(R"({"name": "t", "command": []})").find("expected at least the program"), std::string::npos);
}

// Input inside code an interpreter runs would run as code ("; rm -rf ~"): refused at
// registration, with the way to pass it as an argument instead, which is accepted.
TEST(ToolDefinition, InputNeverBecomesCodeForAShellOrAnInterpreter) {
  for (const char* command : {R"x(["sh", "-c", "cat {{args.f}} | wc -l"])x",
                              R"x(["/bin/bash", "-ec", "echo {{args.f}}"])x",
                              R"x(["python3", "-c", "print('{{args.f}}')"])x",
                              R"x(["perl", "-e", "print '{{args.f}}'"])x"}) {
    const std::string p = problems(std::string(R"({"name": "t", "command": )") + command + "}");
    EXPECT_NE(p.find("definition.command[2]: {{args...}} inside code that"), std::string::npos)
        << command << ": " << p;
    EXPECT_NE(p.find("would run input as code"), std::string::npos) << p;
  }
  EXPECT_EQ(
      problems(R"({"name": "t", "command": ["sh", "-c", "wc -l \"$1\"", "sh", "{{args.f}}"]})"),
      "");
  EXPECT_EQ(problems(R"({"name": "t", "command": ["grep", "-c", "{{args.f}}"]})"), "")
      << "-c of a program that runs no code";
}

TEST(ToolDefinition, TemplatesMustNameDeclaredProperties) {
  const std::string p = problems(R"({"name": "t", "command": ["cat", "{{args.pth}}"],
      "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}})");
  EXPECT_NE(p.find("definition.command[1]: {{args.pth}} names no property of input_schema (did you mean \"path\"?)"),
            std::string::npos)
      << p;
}

TEST(ToolDefinition, TheWorkingDirectoryMustStayInTheWorkspace) {
  EXPECT_NE(problems(R"({"name": "t", "command": ["ls"], "cwd": "/etc"})").find("not absolute"), std::string::npos);
  EXPECT_NE(problems(R"({"name": "t", "command": ["ls"], "cwd": "a/../../b"})").find("leaves the run's workspace"),
            std::string::npos);
}

TEST(ToolDefinition, BadNamesKindsAndRangesAreAllReported) {
  const std::string p = problems(R"({"name": "bad name", "command": ["ls"], "timeout_ms": 0,
      "limits": {"memory_mb": 1, "cpus": 2}, "env": {"1X": "y"}, "env_allow": ["OK", "NOT-OK"]})");
  for (const char* expected : {"definition.name: \"bad name\" is not a valid tool name",
                               "definition.timeout_ms: 0 is out of range",
                               "definition.limits.memory_mb: 1 is out of range",
                               "definition.limits.cpus: unknown key",
                               "definition.env.1X: \"1X\" is not a variable name",
                               "definition.env_allow[1]: \"NOT-OK\" is not a variable name"}) {
    EXPECT_NE(p.find(expected), std::string::npos) << expected << "\nin:\n" << p;
  }
}

TEST(ToolDefinition, TheInputSchemaMustBeAnObjectSchemaOfTheSubset) {
  EXPECT_NE(problems(R"({"name": "t", "command": ["ls"], "input_schema": {"type": "string"}})").find("type: object"),
            std::string::npos);
  EXPECT_NE(problems(R"({"name": "t", "command": ["ls"], "input_schema": {"type": "object", "anyOf": []}})")
                .find("unsupported keyword \"anyOf\""),
            std::string::npos);
}

TEST(ToolFile, ErrorsPointAtFileLineAndColumn) {
  pl::test::TempDir dir;
  const auto path = dir.path() / "tool.yaml";
  std::ofstream(path) << "name: t\ncommand: [ls, -1]\ntimeout_ms: soon\nwhat: 1\n";
  auto d = load_tool_file(path);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find(path.string() + ":3:13: timeout_ms: expected an integer, got a string"),
            std::string::npos)
      << d.error().message;
  EXPECT_NE(d.error().message.find(path.string() + ":4:1: what: unknown key"), std::string::npos)
      << d.error().message;
}

TEST(ToolFile, JsonFilesAreReadToo) {
  pl::test::TempDir dir;
  const auto path = dir.path() / "tool.json";
  std::ofstream(path) << R"({"name": "t", "command": ["ls", "-1"], "timeout_ms": 100})";
  auto d = load_tool_file(path);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->command[1], "-1");
  EXPECT_EQ(d->timeout_ms, 100);
}

TEST(ToolFile, EveryExampleToolLoads) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(pl::test::source_dir() / "configs/tools")) {
    auto d = load_tool_file(entry.path());
    EXPECT_TRUE(d.ok()) << entry.path() << ": " << d.error().message;
    ++seen;
  }
  EXPECT_GE(seen, 3);
}

}  // namespace
}  // namespace pl
