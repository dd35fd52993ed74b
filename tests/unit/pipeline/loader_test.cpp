#include "common/pipeline/loader.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::count_errors;
using testing::has_error;
using testing::has_warning;
using testing::json;
using testing::load;

// ---- a pipeline that loads ----

TEST(Loader, AMinimalPipelineLoads) {
  auto r = load(R"(workflow:
  name: hello
  steps:
    - name: say
      type: echo
      value: hi
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty());
  const Pipeline& p = *r.pipeline;
  EXPECT_EQ(p.name, "hello");
  EXPECT_EQ(p.file, "p.yaml");
  EXPECT_EQ(p.workspace_dir, "./workspace");
  EXPECT_EQ(p.output_dir, "./outputs");
  ASSERT_EQ(p.steps.size(), 1u);
  const Step& s = p.steps[0];
  EXPECT_EQ(s.name, "say");
  EXPECT_EQ(s.type, StepType::kEcho);
  EXPECT_EQ(s.type_name, "echo");
  EXPECT_EQ(s.options, json(R"({"value": "hi"})"));
  EXPECT_TRUE(s.condition.is_null());
  EXPECT_EQ(s.on_error, OnError::kFail);
  EXPECT_FALSE(s.timeout_ms.has_value());
  EXPECT_FALSE(s.retry.has_value());
  EXPECT_EQ(s.location, (SourceLocation{"p.yaml", 4, 7}));
}

TEST(Loader, TopLevelFieldsAreRead) {
  auto r = load(R"(workflow:
  name: full
  description: does things
  workspace_dir: ./ws
  output_dir: ./out
  global_vars: {env: prod, limit: 3}
  gemini_functions:
    score: {description: scores, parameters: {type: object}}
  steps:
    - {name: a, type: echo}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const Pipeline& p = *r.pipeline;
  EXPECT_EQ(p.description, "does things");
  EXPECT_EQ(p.workspace_dir, "./ws");
  EXPECT_EQ(p.output_dir, "./out");
  EXPECT_EQ(p.global_vars, json(R"({"env": "prod", "limit": 3})"));
  EXPECT_EQ(p.gemini_functions,
            json(R"({"score": {"description": "scores", "parameters": {"type": "object"}}})"));
  EXPECT_FALSE(p.inputs_declared);
  EXPECT_EQ(p.location, (SourceLocation{"p.yaml", 2, 3}));
}

TEST(Loader, OptionsKeepEveryOtherKeyAsWrittenWithTemplatesUnrendered) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: ask
      type: claude
      description: asks
      prompt:
        - type: static
          content: "About {{inputs.topic}}"
      claude_options: {max_turns: 2, model: 7}
      output_to_file: "out_{{inputs.topic}}.json"
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const Step& s = r.pipeline->steps[0];
  EXPECT_EQ(s.options, json(R"({
    "description": "asks",
    "prompt": [{"type": "static", "content": "About {{inputs.topic}}"}],
    "claude_options": {"max_turns": 2, "model": "7"}
  })"));
  EXPECT_EQ(s.output_to_file, "out_{{inputs.topic}}.json");
}

TEST(Loader, StringKeysHoldTextEvenWhenWrittenAsNumbers) {
  auto r = load(R"(workflow:
  name: 2024
  steps:
    - {name: 1, type: tool, tool: 42}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->name, "2024");
  EXPECT_EQ(r.pipeline->steps[0].name, "1");
  EXPECT_EQ(r.pipeline->steps[0].options, json(R"({"tool": "42"})"));
}

TEST(Loader, TestEchoIsAnAliasOfEcho) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: test_echo, value: 1}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->steps[0].type, StepType::kEcho);
  EXPECT_EQ(r.pipeline->steps[0].type_name, "test_echo");
}

TEST(Loader, LocationOfFindsKeysAndNestedPathsAndFallsBack) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: ask
      type: claude
      prompt:
        - type: static
          content: hi
      claude_options:
        max_turns: 2
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const Step& s = r.pipeline->steps[0];
  EXPECT_EQ(s.location_of("type"), (SourceLocation{"p.yaml", 5, 7}));
  EXPECT_EQ(s.location_of("prompt.0"), (SourceLocation{"p.yaml", 7, 11}));
  EXPECT_EQ(s.location_of("prompt.0.content"), (SourceLocation{"p.yaml", 8, 11}));
  EXPECT_EQ(s.location_of("claude_options.max_turns"), (SourceLocation{"p.yaml", 10, 9}));
  EXPECT_EQ(s.location_of("claude_options.nope"), (SourceLocation{"p.yaml", 9, 7}));
  EXPECT_EQ(s.location_of("missing"), s.location);
  EXPECT_TRUE(s.has_key("claude_options.max_turns"));
  EXPECT_FALSE(s.has_key("condition"));
}

// ---- step fields every step has ----

TEST(Loader, TimeoutIsSecondsOrADurationStoredInMilliseconds) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo, timeout: 30}
    - {name: b, type: echo, timeout: 1.5}
    - {name: c, type: echo, timeout: "250ms"}
    - {name: d, type: echo, timeout: 2m}
    - {name: e, type: echo, timeout: 1h}
    - {name: f, type: echo, timeout_seconds: 9}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const auto& s = r.pipeline->steps;
  EXPECT_EQ(s[0].timeout_ms, 30000);
  EXPECT_EQ(s[1].timeout_ms, 1500);
  EXPECT_EQ(s[2].timeout_ms, 250);
  EXPECT_EQ(s[3].timeout_ms, 120000);
  EXPECT_EQ(s[4].timeout_ms, 3600000);
  EXPECT_EQ(s[5].timeout_ms, 9000);
}

TEST(Loader, BadTimeoutsAreErrorsAtTheirValue) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo, timeout: 0}
    - {name: b, type: echo, timeout: "5 parsecs"}
    - {name: c, type: echo, timeout: "{{inputs.t}}"}
    - {name: d, type: echo, timeout: 1, timeout_seconds: 2}
    - {name: e, type: echo, timeout: 30d}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 4, 38, "a duration must be positive"));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 38, "\"5 parsecs\" has an unknown unit"));
  EXPECT_TRUE(has_error(r.diagnostics, 6, 38,
                        "key \"timeout\" must be written as a literal, not a template"));
  EXPECT_TRUE(has_error(r.diagnostics, 7, 41, "sets both \"timeout\" and \"timeout_seconds\""));
  EXPECT_TRUE(has_error(r.diagnostics, 8, 38, "has an unknown unit \"d\""));
}

TEST(Loader, RetryIsReadIntoAPolicy) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: echo
      retry:
        max_attempts: 4
        backoff: linear
        base_delay_ms: 10
        max_delay_ms: 500
        retry_on: [timeout, rate_limit]
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const auto& retry = r.pipeline->steps[0].retry;
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->max_attempts, 4);
  EXPECT_EQ(retry->backoff, Backoff::kLinear);
  EXPECT_EQ(retry->base_delay_ms, 10);
  EXPECT_EQ(retry->max_delay_ms, 500);
  EXPECT_EQ(retry->retry_on, (std::vector<std::string>{"timeout", "rate_limit"}));
}

TEST(Loader, ASessionConflictCanBeRetried) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude_session
      prompt: hi
      session_config: {session_name: s}
      retry: {max_attempts: 3, retry_on: [conflict]}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->steps[0].retry->retry_on, (std::vector<std::string>{"conflict"}));
}

TEST(Loader, RetryMistakesAreErrors) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: echo
      retry:
        backoff: exponentail
        base_delay_ms: 100
        max_delay_ms: 10
        retry_on: [timeout, rate_limitt]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 6, 7, "retry is missing required key \"max_attempts\""));
  EXPECT_TRUE(has_error(r.diagnostics, 7, 18,
                        "key \"retry.backoff\" must be one of fixed, linear, exponential; got "
                        "\"exponentail\" (did you mean \"exponential\"?)"));
  EXPECT_TRUE(has_error(r.diagnostics, 9, 23, "must not be less than base_delay_ms (100)"));
  EXPECT_TRUE(has_error(r.diagnostics, 10, 29, "(did you mean \"rate_limit\"?)"));
}

TEST(Loader, RetryOnALoopOrAChildPipelineIsAWarningThatSaysWhereItBelongs) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: l
      type: for_loop
      iterator: i
      items: [1]
      retry: {max_attempts: 3}
      steps: [{name: e, type: echo, value: 1, retry: {max_attempts: 3}}]
    - {name: p, type: pipeline, pipeline_file: c.yaml, retry: {max_attempts: 2}}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(has_warning(r.diagnostics, 8, 7,
                          "\"retry\" is ignored on a for_loop step; set it on the steps inside"));
  EXPECT_TRUE(has_warning(r.diagnostics, 10, 56, "\"retry\" is ignored on a pipeline step"));
  EXPECT_EQ(r.diagnostics.size(), 2u) << all_messages(r.diagnostics);  // none for the echo
}

TEST(Loader, OnErrorAndContinueOnErrorSetTheFailurePolicy) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo, on_error: continue}
    - {name: b, type: echo, on_error: fail}
    - {name: c, type: echo, continue_on_error: true}
    - {name: d, type: echo, continue_on_error: false}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const auto& s = r.pipeline->steps;
  EXPECT_EQ(s[0].on_error, OnError::kContinue);
  EXPECT_EQ(s[1].on_error, OnError::kFail);
  EXPECT_EQ(s[2].on_error, OnError::kContinue);
  EXPECT_EQ(s[3].on_error, OnError::kFail);
}

TEST(Loader, OnErrorTakesOnlyFailOrContinue) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo, on_error: ignore}
    - {name: b, type: echo, on_error: fail, continue_on_error: true}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 4, 39, "must be one of fail, continue; got \"ignore\""));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 45, "sets both \"on_error\" and \"continue_on_error\""));
}

TEST(Loader, ANameThatMustNameSomethingIsNotEmpty) {
  // An empty session name, pipeline file or tool fails only when the step runs, after the steps
  // before it were paid for.
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: claude_session, session_config: {session_name: ""}, prompt: hi}
    - {name: b, type: pipeline, pipeline_file: ""}
    - {name: c, type: tool, tool: "", args: {}}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(
      has_error(r.diagnostics, 4, 70, "key \"session_config.session_name\" must not be empty"))
      << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 5, 48, "key \"pipeline_file\" must not be empty"))
      << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 6, 35, "key \"tool\" must not be empty"))
      << all_messages(r.diagnostics);
}

TEST(Loader, AnEmptyWorkflowNameIsSaidOnce) {
  auto r = load("workflow:\n  name: \"\"\n  steps:\n    - {name: a, type: echo}\n");
  EXPECT_TRUE(has_error(r.diagnostics, 2, 9, "key \"name\" must not be empty"));
  EXPECT_EQ(count_errors(r.diagnostics), 1u) << all_messages(r.diagnostics);
}

TEST(Loader, TimesInSecondsOrMillisecondsAreBoundedLikeDurations) {
  // Unbounded, 9223372036854775807 seconds overflowed into a timeout of -1000 ms, and a retry
  // delay of 9e18 ms into retries at once.
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo, timeout_seconds: 9223372036854775807}
    - {name: b, type: echo, retry: {max_attempts: 2, base_delay_ms: 9000000000000000000}}
    - {name: c, type: echo, timeout_seconds: 604800, retry: {max_attempts: 2, max_delay_ms: 604800000}}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 46,
                        "key \"timeout_seconds\" must be at most 604800, got 9223372036854775807"))
      << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 5, 69,
                        "key \"retry.base_delay_ms\" must be at most 604800000, got "
                        "9000000000000000000"))
      << all_messages(r.diagnostics);
  EXPECT_EQ(count_errors(r.diagnostics), 2u) << all_messages(r.diagnostics);
}

TEST(Loader, TextThatIsNotUtf8IsRefusedWhereItIsNotKeptAsReplacementCharacters) {
  auto r = load("workflow:\n  name: d\xff\xfe\n  steps:\n    - {name: e, type: echo}\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 2, 10, "the file is not UTF-8 text: byte 0xFF"))
      << all_messages(r.diagnostics);
}

TEST(Loader, AnIntegerTooLargeForSixtyFourBitsIsSaidToBeThatNotAString) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: f, type: for_loop, iterator: i, data_source: [1], max_parallel: 99999999999999999999, steps: [{name: e, type: echo}]}
    - {name: g, type: echo, timeout: .nan}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 78,
                        "key \"max_parallel\" must be an integer that fits 64 bits, got "
                        "99999999999999999999"))
      << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 5, 38, "a duration must be a finite number"))
      << all_messages(r.diagnostics);
}

TEST(Loader, ConditionIsKeptUnrenderedAsWritten) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo}
    - name: b
      type: echo
      condition:
        and:
          - "steps.a.success"
          - not: "{{steps.a.error}}"
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->steps[1].condition,
            json(R"({"and": ["steps.a.success", {"not": "{{steps.a.error}}"}]})"));
}

// ---- diagnostics with file:line:column ----

TEST(Loader, YamlSyntaxErrorIsAnErrorWithLineAndColumn) {
  auto r = load(R"(workflow:
  name: x
  steps: [a, b
)");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u) << all_messages(r.diagnostics);
  EXPECT_EQ(r.diagnostics[0].where.line, 4);
  EXPECT_NE(r.diagnostics[0].message.find("YAML syntax error"), std::string::npos);
}

TEST(Loader, UnknownStepTypeIsAnErrorWithLineAndColumn) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: ecko
)");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u) << all_messages(r.diagnostics);
  EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
            "p.yaml:5:13: error: unknown step type \"ecko\" (did you mean \"echo\"?)");
}

TEST(Loader, PipelineExStepTypesWeDoNotRunAreErrorsThatSaySo) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: switch}
    - {name: b, type: codebase_query}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(
      has_error(r.diagnostics, 4, 23, "step type \"switch\" (from pipeline_ex) is not supported"));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 23, "\"codebase_query\" (from pipeline_ex)"));
}

TEST(Loader, UnknownKeyIsAnErrorThatSuggestsTheNearestKey) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude
      promt: hi
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 6, 7,
                        "unknown key \"promt\" in claude step \"a\" (did you mean \"prompt\"?)"));
  EXPECT_TRUE(
      has_error(r.diagnostics, 4, 7, "claude step \"a\" is missing required key \"prompt\""));
}

TEST(Loader, UnknownKeyWithNothingCloseHasNoSuggestion) {
  auto r = load(R"(workflow:
  name: x
  zzzzzz: 1
  steps:
    - {name: a, type: echo}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 3, 3, "unknown key \"zzzzzz\" in workflow"));
  EXPECT_EQ(r.diagnostics[0].message.find("did you mean"), std::string::npos);
}

TEST(Loader, MissingRequiredKeysAreErrorsAtTheMap) {
  auto r = load(R"(workflow:
  description: nameless
  steps:
    - type: tool
    - name: b
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 2, 3, "workflow is missing required key \"name\""));
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7, "tool step is missing required key \"name\""));
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7, "tool step is missing required key \"tool\""));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 7, "step \"b\" is missing required key \"type\""));
}

TEST(Loader, KeysOfTheWrongKindAreErrorsAtTheValue) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: par
      type: parallel_claude
      max_parallel: "x"
      parallel_tasks: {id: a}
    - name: loop
      type: while_loop
      condition: "true"
      max_iterations: 3
      steps: not-a-list
    - name: e
      type: echo
      fail: maybe
      delay_ms: 1.5
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(
      has_error(r.diagnostics, 6, 21, "key \"max_parallel\" must be an integer, got string \"x\""));
  EXPECT_TRUE(has_error(r.diagnostics, 7, 23, "key \"parallel_tasks\" must be a list, got map"));
  EXPECT_TRUE(has_error(r.diagnostics, 12, 14,
                        "key \"steps\" must be a list of steps, got string \"not-a-list\""));
  EXPECT_TRUE(
      has_error(r.diagnostics, 15, 13, "key \"fail\" must be true or false, got string \"maybe\""));
  EXPECT_TRUE(
      has_error(r.diagnostics, 16, 17, "key \"delay_ms\" must be an integer, got number 1.5"));
}

TEST(Loader, AllProblemsAreReportedNotJustTheFirst) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: ecko}
    - {name: b, type: echo, valu: 1}
    - {name: c, type: claude}
    - {name: d, type: for_loop, iterator: i, steps: [{name: e, type: echo, fial: true}]}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(count_errors(r.diagnostics), 5u) << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 4, 23, "unknown step type \"ecko\""));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 29, "unknown key \"valu\""));
  EXPECT_TRUE(has_error(r.diagnostics, 6, 7, "missing required key \"prompt\""));
  EXPECT_TRUE(
      has_error(r.diagnostics, 7, 7, "needs one of \"data_source\", \"items\", \"items_file\""));
  EXPECT_TRUE(has_error(r.diagnostics, 7, 76, "unknown key \"fial\""));
}

TEST(Loader, DiagnosticsComeInFileOrder) {
  auto r = load(R"(workflow:
  name: x
  version: 2
  steps:
    - {name: a, type: ecko}
  claude_auth: {}
)");
  ASSERT_EQ(r.diagnostics.size(), 3u);
  EXPECT_EQ(r.diagnostics[0].where.line, 3);
  EXPECT_EQ(r.diagnostics[1].where.line, 5);
  EXPECT_EQ(r.diagnostics[2].where.line, 6);
}

TEST(Loader, DuplicateStepNamesAreErrorsThatNameBothLocations) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: echo
    - name: a
      type: echo
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 6, 13,
                        "duplicate step name \"a\" in workflow (first at p.yaml:4:13)"));
}

TEST(Loader, StepNamesNeedOnlyBeUniqueWithinTheirScope) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo}
    - name: l
      type: for_loop
      iterator: i
      items: [1]
      steps:
        - {name: a, type: echo}
        - {name: b, type: echo}
        - {name: b, type: echo}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(count_errors(r.diagnostics), 1u) << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 12, 18,
                        "duplicate step name \"b\" in loop \"l\" (first at p.yaml:11:18)"));
}

TEST(Loader, StepNamesThatAreTemplateRootsAreRefused) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: inputs, type: echo}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 14, "step name \"inputs\" is reserved"));
}

TEST(Loader, DuplicateYamlKeysAreErrors) {
  auto r = load(R"(workflow:
  name: x
  name: y
  steps:
    - {name: a, type: echo}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 3, 3, "duplicate key \"name\" (first at p.yaml:2:3)"));
}

TEST(Loader, EmptyStepsAreErrors) {
  auto r = load(R"(workflow:
  name: x
  steps: []
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 3, 10, "key \"steps\" must not be empty"));
}

TEST(Loader, AStepMustBeAMap) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - just a string
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7,
                        "a step must be a map with \"name\" and \"type\", got string"));
}

TEST(Loader, TheRootMustBeAMapWithWorkflow) {
  auto r = load("steps: []\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 1, 1, "unknown key \"steps\" in the file"));
  EXPECT_TRUE(has_error(r.diagnostics, 1, 1, "the file is missing required key \"workflow\""));
  auto wrong = load("workflow: 3\n");
  EXPECT_TRUE(has_error(wrong.diagnostics, 1, 11, "key \"workflow\" must be a map, got integer 3"));
}

TEST(Loader, UnquotedTemplatesAreCaughtAsYamlMaps) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: echo, value: {{inputs.x}}}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_messages(r.diagnostics).find("map keys must be plain names"), std::string::npos)
      << all_messages(r.diagnostics);
}

// ---- keys pipeline_ex defines that we ignore ----

TEST(Loader, IgnoredTopLevelPipelineExKeysAreWarningsNamingEachKey) {
  auto r = load(R"(workflow:
  name: x
  version: "2.0"
  checkpoint_enabled: true
  environment: {mode: production}
  claude_auth: {provider: anthropic}
  resource_limits: {max_memory_mb: 10}
  safety: {sandbox_mode: true}
  steps:
    - {name: a, type: echo}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(has_warning(r.diagnostics, 3, 3, "key \"version\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 4, 3,
                          "key \"checkpoint_enabled\" is ignored: run state is always durable"));
  EXPECT_TRUE(has_warning(r.diagnostics, 5, 3, "key \"environment\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 6, 3, "key \"claude_auth\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 7, 3, "key \"resource_limits\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 8, 3, "key \"safety\" is ignored"));
}

TEST(Loader, IgnoredClaudeAgentOptionsAreWarningsNamingEachKey) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude
      prompt: hi
      role: muscle
      claude_options:
        max_turns: 3
        mcp_servers: {fs: {}}
        hooks: []
        agents: {}
        permission_mode: plan
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(has_warning(r.diagnostics, 7, 7, "key \"role\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 10, 9,
                          "key \"claude_options.mcp_servers\" is ignored: "
                          "Claude agent options are not supported"));
  EXPECT_TRUE(has_warning(r.diagnostics, 11, 9, "key \"claude_options.hooks\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 12, 9, "key \"claude_options.agents\" is ignored"));
  EXPECT_TRUE(
      has_warning(r.diagnostics, 13, 9, "key \"claude_options.permission_mode\" is ignored"));
  EXPECT_EQ(
      r.pipeline->steps[0].options.find("claude_options")->find("permission_mode")->as_string(),
      "plan");
}

TEST(Loader, AppendSystemPromptIsAClaudeOptionNotAWarning) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: claude, prompt: hi, claude_options: {append_system_prompt: "Be brief."}}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << all_messages(r.diagnostics);
}

TEST(Loader, IgnoredKeysInNestedMapsAndPromptPartsAreWarnings) {
  auto r = load(R"(workflow:
  name: x
  defaults:
    claude_output_format: json
  steps:
    - name: s
      type: claude_session
      session_config: {session_name: s, checkpoint_frequency: 5}
      prompt:
        - type: file
          path: a.md
          encoding: utf-8
    - name: p
      type: pipeline
      pipeline_file: child.yaml
      config: {enable_tracing: true}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_TRUE(has_warning(r.diagnostics, 4, 5, "key \"defaults.claude_output_format\" is ignored"));
  EXPECT_TRUE(
      has_warning(r.diagnostics, 8, 41, "key \"session_config.checkpoint_frequency\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 12, 11, "key \"prompt.0.encoding\" is ignored"));
  EXPECT_TRUE(has_warning(r.diagnostics, 16, 16, "key \"config.enable_tracing\" is ignored"));
}

// ---- nested option maps are checked against their own tables ----

TEST(Loader, NestedOptionMapsAreCheckedAgainstTheirOwnTables) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: b
      type: claude_batch
      batch_config: {max_paralel: 2}
      tasks:
        - {task_id: t, prompt: p, claude_option: {}}
    - name: g
      type: gemini
      prompt: p
      token_budget: {top_kk: 3}
    - name: e
      type: claude_extract
      prompt: p
      extraction_config: {format: yaml}
    - name: r
      type: claude_robust
      prompt: p
      retry_config: {max_retries: -1}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(
      has_error(r.diagnostics, 6, 22,
                "unknown key \"max_paralel\" in batch_config (did you mean \"max_parallel\"?)"));
  EXPECT_TRUE(has_error(r.diagnostics, 8, 35, "unknown key \"claude_option\" in tasks.0"));
  EXPECT_TRUE(has_error(r.diagnostics, 12, 22, "unknown key \"top_kk\" in token_budget"));
  EXPECT_TRUE(has_error(r.diagnostics, 16, 35,
                        "key \"extraction_config.format\" must be one of "
                        "text, json, markdown, summary; got \"yaml\""));
  EXPECT_TRUE(has_error(r.diagnostics, 20, 35,
                        "key \"retry_config.max_retries\" must be at least 0, got -1"));
}

TEST(Loader, ParallelTasksAreCheckedAndTheirIdsMustBeUnique) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: p
      type: parallel_claude
      parallel_tasks:
        - {id: a, prompt: one}
        - {id: a, prompt: two}
        - {prompt: three}
        - nope
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 8, 16, "duplicate task id \"a\" (first at p.yaml:7:16)"));
  EXPECT_TRUE(has_error(r.diagnostics, 9, 11, "parallel_tasks.2 is missing required key \"id\""));
  EXPECT_TRUE(has_error(r.diagnostics, 10, 11, "each entry of \"parallel_tasks\" must be a map"));
}

TEST(Loader, AStaticPartsContentMayBeAnyValueWrittenAsJson) {
  // docs/providers.md: "a non-string content is written as pretty JSON".
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude
      prompt:
        - {type: static, content: {k: 1, from: "{{inputs.n}}"}}
        - {type: static, content: [1, 2]}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->steps[0].options.find("prompt")->as_array()[0].find("content")->get_string(
                "from"),
            "{{inputs.n}}");
}

TEST(Loader, PromptPartsAreCheckedByTheirType) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude
      prompt:
        - {type: static}
        - {type: statik, content: x}
        - {type: claude_continue, new_prompt: x}
        - {content: no type}
        - {type: previous_response, step: s, extrct: a}
        - {type: session_context, turns: 2}
        - just text
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 7, 11,
                        "prompt part \"prompt.0\" is missing required key \"content\""));
  EXPECT_TRUE(has_error(r.diagnostics, 8, 18,
                        "unknown prompt part type \"statik\" (did you mean \"static\"?)"));
  EXPECT_TRUE(
      has_error(r.diagnostics, 9, 18, "prompt part type \"claude_continue\" is not supported"));
  EXPECT_TRUE(has_error(r.diagnostics, 10, 11,
                        "prompt part \"prompt.3\" is missing required key \"type\""));
  EXPECT_TRUE(has_error(r.diagnostics, 11, 46, "unknown key \"extrct\""));
  EXPECT_TRUE(has_error(r.diagnostics, 12, 11, "missing required key \"session_name\""));
  EXPECT_TRUE(
      has_error(r.diagnostics, 13, 11, "a prompt part must be a map with a \"type\", got string"));
}

TEST(Loader, InlinePipelinesAreCheckedLikeWorkflows) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: child
      type: pipeline
      pipeline:
        name: inner
        steps:
          - {name: a, type: echoo}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 9, 29, "unknown step type \"echoo\""));
}

TEST(Loader, AnInlinePipelineIsLoadedIntoTheStep) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: child
      type: pipeline
      inputs: {v: 1}
      pipeline:
        name: inner
        steps:
          - {name: a, type: echo, value: "{{inputs.v}}"}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const Step& s = r.pipeline->steps[0];
  ASSERT_NE(s.inline_pipeline, nullptr);
  EXPECT_EQ(s.inline_pipeline->name, "inner");
  ASSERT_EQ(s.inline_pipeline->steps.size(), 1u);
  EXPECT_EQ(s.inline_pipeline->steps[0].location, (SourceLocation{"p.yaml", 10, 13}));
  EXPECT_TRUE(s.options.find("pipeline")->is_object());
}

// ---- rules between keys ----

TEST(Loader, WhileLoopWithoutMaxIterationsIsAnError) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: w
      type: while_loop
      condition: "true"
      steps: [{name: a, type: echo}]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7,
                        "while_loop step \"w\" is missing required key \"max_iterations\""));
}

TEST(Loader, WhileLoopMaxIterationsMustBeAtLeastOneAndLiteral) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: w, type: while_loop, condition: "true", max_iterations: 0, steps: [{name: a, type: echo}]}
    - {name: v, type: while_loop, condition: "true", max_iterations: "{{inputs.n}}", steps: [{name: b, type: echo}]}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 4, 70, "key \"max_iterations\" must be at least 1, got 0"));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 70, "must be written as a literal, not a template"));
}

TEST(Loader, SortByAndFieldTakeOneStringOrAList) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: t
      type: data_transform
      input_source: steps.a.data
      operations:
        - {operation: sort, by: [team, score], order: desc}
        - {operation: sort, field: [team]}
        - {operation: sort, by: "team, score"}
        - {operation: sort, by: {team: 1}}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 11, 33, "by\" must be a string or a list"))
      << all_messages(r.diagnostics);
  EXPECT_EQ(count_errors(r.diagnostics), 1u) << all_messages(r.diagnostics);
}

TEST(Loader, WhileLoopNeedsACondition) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: w, type: while_loop, max_iterations: 2, steps: [{name: a, type: echo}]}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7, "missing required key \"condition\""));
}

TEST(Loader, ForLoopNeedsExactlyOneSource) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: none
      type: for_loop
      iterator: i
      steps: [{name: a, type: echo}]
    - name: two
      type: for_loop
      iterator: i
      items: [1]
      items_file: items.jsonl
      steps: [{name: b, type: echo}]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7,
                        "for_loop step \"none\" needs one of \"data_source\", "
                        "\"items\", \"items_file\""));
  EXPECT_TRUE(has_error(r.diagnostics, 12, 7,
                        "for_loop step \"two\" takes only one of \"data_source\", "
                        "\"items\", \"items_file\", got \"items\" and "
                        "\"items_file\""));
}

TEST(Loader, ForLoopBodyIsReadIntoStepsNotOptions) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: l
      type: for_loop
      iterator: file
      data_source: steps.find.files
      parallel: true
      max_parallel: 4
      steps:
        - {name: a, type: echo, value: "{{loop.file}}"}
        - name: inner
          type: while_loop
          condition: "false"
          max_iterations: 1
          steps: [{name: b, type: echo}]
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const Step& loop = r.pipeline->steps[0];
  EXPECT_EQ(loop.options, json(R"({"iterator": "file", "data_source": "steps.find.files",
                                   "parallel": true, "max_parallel": 4})"));
  ASSERT_EQ(loop.steps.size(), 2u);
  EXPECT_EQ(loop.steps[1].type, StepType::kWhileLoop);
  EXPECT_EQ(loop.steps[1].condition, Value("false"));
  ASSERT_EQ(loop.steps[1].steps.size(), 1u);
  EXPECT_EQ(loop.steps[1].steps[0].name, "b");
}

TEST(Loader, IteratorMustBeANameThatIsNotALoopField) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: for_loop, iterator: index, items: [1], steps: [{name: b, type: echo}]}
    - {name: c, type: for_loop, iterator: "my item", items: [1], steps: [{name: d, type: echo}]}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 43, "cannot be \"index\""));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 43, "must be a name"));
}

TEST(Loader, EmptyLoopBodiesAreErrors) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: for_loop, iterator: i, items: [1], steps: []}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 65,
                        "the body of for_loop step \"a\" (\"steps\") must not be empty"));
}

TEST(Loader, PipelineStepNeedsExactlyOneSource) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: pipeline}
    - {name: b, type: pipeline, pipeline_file: c.yaml, pipeline: {name: n, steps: [{name: z, type: echo}]}}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7, "needs one of \"pipeline_file\", \"pipeline\""));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 56, "takes only one of \"pipeline_file\", \"pipeline\""));
}

TEST(Loader, ClaudeBatchNeedsTasksOrTasksFileAndATaskIdPerTask) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: claude_batch}
    - name: b
      type: claude_batch
      tasks:
        - {prompt: p}
        - {task_id: x, id: y, prompt: p}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7, "needs one of \"tasks\", \"tasks_file\""));
  EXPECT_TRUE(has_error(r.diagnostics, 8, 11,
                        "tasks entry 0 of claude_batch step \"b\" needs a \"task_id\""));
  EXPECT_TRUE(has_error(r.diagnostics, 9, 11, "takes only one of \"task_id\" and \"id\""));
}

TEST(Loader, FileOpsArgumentsDependOnTheOperation) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - {name: a, type: file_ops, operation: copy, source: x}
    - {name: b, type: file_ops, operation: delete}
    - {name: c, type: file_ops, operation: convert, source: a, destination: b, format: yaml_to_json}
    - {name: d, type: file_ops, operation: list, path: ., pattern: "*.py"}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 4, 7,
                        "(operation \"copy\") is missing required key \"destination\""));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 7,
                        "(operation \"delete\") needs one of \"path\", \"files\", \"source\""));
  EXPECT_TRUE(has_error(r.diagnostics, 6, 88, "must be one of csv_to_json, json_to_csv"));
  EXPECT_EQ(count_errors(r.diagnostics), 3u) << all_messages(r.diagnostics);
}

TEST(Loader, ClaudeRobustDerivesItsRetryPolicyFromRetryConfig) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude_robust
      prompt: p
      retry_config:
        max_retries: 2
        backoff_strategy: linear
        retry_conditions: [timeout, api_error, network_error]
        fallback_action: skip
    - {name: b, type: claude_robust, prompt: p, retry_config: {}}
    - {name: c, type: claude_robust, prompt: p, retry_config: {max_retries: 5}, retry: {max_attempts: 1}}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const auto& s = r.pipeline->steps;
  ASSERT_TRUE(s[0].retry.has_value());
  EXPECT_EQ(s[0].retry->max_attempts, 3);
  EXPECT_EQ(s[0].retry->backoff, Backoff::kLinear);
  EXPECT_EQ(s[0].retry->retry_on,
            (std::vector<std::string>{"timeout", "server_error", "unavailable"}));
  EXPECT_EQ(s[1].retry->max_attempts, 4);
  EXPECT_EQ(s[2].retry->max_attempts, 1);
}

TEST(Loader, ARetryOnAClaudeRobustStepOverridesRetryConfigAndSaysSo) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - name: a
      type: claude_robust
      prompt: p
      retry: {max_attempts: 2}
      retry_config: {max_retries: 5, fallback_action: skip}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->steps[0].retry->max_attempts, 2);
  EXPECT_TRUE(has_warning(r.diagnostics, 8, 22,
                          "\"retry_config.max_retries\" is ignored: the step's \"retry\" decides"));
  EXPECT_TRUE(testing::matching(r.diagnostics, "retry_config.fallback_action").empty());
}

TEST(Loader, InputsAreDeclaredWithTypeDefaultRequiredAndEnum) {
  auto r = load(R"(workflow:
  name: x
  inputs:
    topic: {type: string, required: true, description: what}
    count: {type: integer, default: 3}
    mode: {type: string, enum: [fast, slow], default: fast}
    anything:
    flag: {type: boolean}
  steps:
    - {name: a, type: echo}
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  const Pipeline& p = *r.pipeline;
  EXPECT_TRUE(p.inputs_declared);
  ASSERT_EQ(p.inputs.size(), 5u);
  EXPECT_EQ(p.inputs[0].name, "topic");
  EXPECT_EQ(p.inputs[0].type, "string");
  EXPECT_TRUE(p.inputs[0].required);
  EXPECT_EQ(p.inputs[0].where, (SourceLocation{"p.yaml", 4, 5}));
  EXPECT_EQ(p.inputs[1].default_value, Value(3));
  EXPECT_EQ(p.inputs[2].allowed.size(), 2u);
  EXPECT_EQ(p.inputs[3].type, "");
  EXPECT_EQ(p.inputs[4].type, "bool");
}

TEST(Loader, InputDefaultsMustMatchTheirTypeAndEnum) {
  auto r = load(R"(workflow:
  name: x
  inputs:
    count: {type: integer, default: "three"}
    mode: {type: string, enum: [fast, slow], default: medium}
    kind: {type: strng}
  steps:
    - {name: a, type: echo}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(
      has_error(r.diagnostics, 4, 37, "the default of input \"count\" must be of type integer"));
  EXPECT_TRUE(has_error(r.diagnostics, 5, 55, "must be one of \"fast\", \"slow\""));
  EXPECT_TRUE(has_error(r.diagnostics, 6, 18, "(did you mean \"string\"?)"));
}

TEST(Loader, AnInputWithoutATypeTakesTheTypeOfItsDefault) {
  auto r = load(R"(workflow:
  name: x
  inputs:
    deploy: {default: false}
    count: {default: 3}
    ratio: {default: 0.5}
    tags: {default: [a]}
    options: {default: {k: 1}}
    topic: {default: cats}
    anything: {type: any, default: false}
    enumerated: {default: 1, enum: [1, two]}
  steps:
    - {name: a, type: echo}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 11, 40,
                        "a value in the enum of input \"enumerated\" must be of type integer"));
  std::map<std::string, std::string> types;
  auto without_enum = load(R"(workflow:
  name: x
  inputs:
    deploy: {default: false}
    count: {default: 3}
    ratio: {default: 0.5}
    tags: {default: [a]}
    options: {default: {k: 1}}
    topic: {default: cats}
    anything: {type: any, default: false}
  steps:
    - {name: a, type: echo}
)");
  ASSERT_TRUE(without_enum.ok()) << all_messages(without_enum.diagnostics);
  for (const InputSpec& input : without_enum.pipeline->inputs) types[input.name] = input.type;
  EXPECT_EQ(types, (std::map<std::string, std::string>{{"deploy", "bool"},
                                                       {"count", "integer"},
                                                       {"ratio", "number"},
                                                       {"tags", "list"},
                                                       {"options", "map"},
                                                       {"topic", ""},
                                                       {"anything", ""}}));
}

TEST(Loader, GlobalVarsHoldingATemplateAreRefusedAtEachTemplateSayingTheyAreNeverRendered) {
  auto r = load(R"(workflow:
  name: x
  inputs:
    who: {default: world}
  global_vars:
    plain: "no braces"
    greeting: "Hello {{inputs.who}}"
    nested: {list: [ok, "{{nonexistent.ref}}"]}
  steps:
    - {name: a, type: echo, value: "{{global_vars.greeting}}"}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(count_errors(r.diagnostics), 2u) << all_messages(r.diagnostics);
  const std::string why =
      "must be written as a literal, not a template: global_vars are never rendered; compute a "
      "value from inputs or steps with a set_variable step and read it as state.NAME";
  EXPECT_TRUE(has_error(r.diagnostics, 7, 15, "key \"global_vars.greeting\" " + why));
  EXPECT_TRUE(has_error(r.diagnostics, 8, 25, "key \"global_vars.nested.list.1\" " + why));
}

TEST(Loader, AnInputsDefaultAndEnumRefuseTemplates) {
  auto r = load(R"(workflow:
  name: x
  global_vars: {region: eu}
  inputs:
    region: {default: "{{global_vars.region}}"}
    mode: {type: string, enum: [fast, "{{inputs.region}}"]}
  steps:
    - {name: a, type: echo}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.diagnostics, 5, 23,
                        "key \"inputs.region.default\" must be written as a literal, not a "
                        "template: an input's default and enum are used as written"));
  EXPECT_TRUE(
      has_error(r.diagnostics, 6, 39, "key \"inputs.mode.enum.1\" must be written as a literal"));
}

TEST(Loader, YamlMergeKeysAreHonoured) {
  auto r = load(R"(workflow:
  name: x
  steps:
    - &base {name: a, type: echo, value: 1}
    - <<: *base
      name: b
)");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  EXPECT_EQ(r.pipeline->steps[1].name, "b");
  EXPECT_EQ(r.pipeline->steps[1].options, json(R"({"value": 1})"));
}

// ---- files ----

TEST(Loader, AMissingFileIsADiagnosticNotACrash) {
  auto r = load_pipeline_file("/nonexistent/dir/p.yaml");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(format_diagnostic(r.diagnostics[0]), "/nonexistent/dir/p.yaml: error: no such file");
}

TEST(Loader, ADirectoryIsADiagnosticNotACrash) {
  auto r = load_pipeline_file(::testing::TempDir());
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace pl::pipeline
