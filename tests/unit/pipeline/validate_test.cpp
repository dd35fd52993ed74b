#include "common/pipeline/validate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace pl::pipeline {
namespace {

using testing::all_messages;
using testing::count_errors;
using testing::has_error;
using testing::load;
using testing::matching;

// A scratch directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            (std::string("pl_validate_") + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& relative, const std::string& text) const {
    auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

 private:
  std::filesystem::path path_;
};

std::vector<Diagnostic> validate_text(std::string_view yaml,
                                      const std::filesystem::path& base = {}) {
  auto r = load(yaml);
  EXPECT_TRUE(r.ok()) << all_messages(r.diagnostics);
  if (!r.ok()) return r.diagnostics;
  return validate_pipeline(*r.pipeline, ValidateOptions{base, true});
}

// ---- a pipeline that validates ----

TEST(Validate, APipelineWhoseReferencesAllResolveHasNoDiagnostics) {
  auto d = validate_text(R"(workflow:
  name: ok
  inputs:
    topic: {type: string, default: cats}
  global_vars: {env: prod}
  steps:
    - {name: init, type: set_variable, variables: {count: 0}}
    - {name: fetch, type: echo, value: "{{inputs.topic}} {{global_vars.env}} {{state.count}}"}
    - name: each
      type: for_loop
      iterator: item
      data_source: steps.fetch.data
      break_condition: "steps.inner.done"
      steps:
        - {name: inner, type: echo, value: "{{loop.item}} {{loop.index}} {{steps.fetch.text}}"}
        - {name: second, type: echo, value: "{{inner.text}} {{loop.is_last}}",
           condition: "steps.inner.success"}
    - {name: after, type: echo, value: "{{steps.each.items}}", condition: "fetch.success"}
)");
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

// ---- references to steps ----

TEST(Validate, AReferenceToALaterStepIsAnError) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: first
      type: echo
      value: "{{steps.second.text}}"
    - name: second
      type: echo
)");
  EXPECT_TRUE(has_error(d, 6, 7,
                        "reference \"steps.second.text\": step \"second\" runs later "
                        "(at p.yaml:7:7)"));
}

TEST(Validate, ABareStepNameIsCheckedLikeStepsDotName) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: first, type: echo, condition: "second.success"}
    - {name: second, type: echo}
)");
  EXPECT_TRUE(has_error(d, 4, 33, "reference \"second.success\": step \"second\" runs later"));
}

TEST(Validate, AStepCannotReferToItsOwnResult) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: echo, value: "{{steps.a.text}}"}
)");
  EXPECT_TRUE(has_error(d, 4, 29, "step \"a\" cannot refer to its own result"));
}

TEST(Validate, AReferenceToNoStepIsAnErrorWithASuggestion) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: fetch, type: echo}
    - {name: use, type: echo, value: "{{steps.fecth.text}} {{nothing.x}}"}
)");
  EXPECT_TRUE(has_error(d, 5, 31,
                        "reference \"steps.fecth.text\": there is no step \"fecth\" "
                        "(did you mean \"fetch\"?)"));
  EXPECT_TRUE(has_error(d, 5, 31, "reference \"nothing.x\": there is no step \"nothing\""));
}

TEST(Validate, ReferencesUnderDefaultOrExistsMayBeAbsent) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: echo, value: "{{default(steps.later.x, 0)}}", condition: "steps.later exists"}
    - {name: later, type: echo}
)");
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

// ---- loop bodies ----

TEST(Validate, ALoopBodySeesItsEarlierStepsAndOuterEarlierSteps) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: before, type: echo}
    - name: loop_a
      type: for_loop
      iterator: x
      items: [1]
      steps:
        - {name: one, type: echo, value: "{{steps.before.text}}"}
        - {name: two, type: echo, value: "{{steps.one.text}}"}
)");
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

TEST(Validate, ALoopBodyDoesNotSeeLaterBodyStepsOrTheLoopItself) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: loop_a
      type: for_loop
      iterator: x
      items: [1]
      steps:
        - {name: one, type: echo, value: "{{steps.two.text}} {{steps.loop_a.items}}"}
        - {name: two, type: echo}
    - {name: after, type: echo}
)");
  EXPECT_TRUE(has_error(d, 9, 35, "step \"two\" runs later"));
  EXPECT_TRUE(has_error(d, 9, 35, "loop \"loop_a\" is not visible inside its own body"));
  EXPECT_EQ(count_errors(d), 2u) << all_messages(d);
}

TEST(Validate, StepsInsideALoopAreNotVisibleOutsideIt) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: loop_a
      type: for_loop
      iterator: x
      items: [1]
      steps:
        - {name: inner, type: echo}
    - {name: after, type: echo, value: "{{steps.inner.text}}"}
)");
  EXPECT_TRUE(
      has_error(d, 10, 33, "step \"inner\" is inside loop \"loop_a\" and not visible here"));
}

TEST(Validate, AWhileConditionIsCheckedBeforeTheBodyRuns) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: w
      type: while_loop
      condition: "steps.check.score < 90"
      max_iterations: 3
      steps:
        - {name: check, type: echo}
    - name: guarded
      type: while_loop
      condition: "default(steps.again.score, 0) < 90"
      max_iterations: 3
      steps:
        - {name: again, type: echo}
)");
  EXPECT_TRUE(has_error(d, 6, 7, "step \"check\" is inside loop \"w\" and not visible here"));
  EXPECT_EQ(count_errors(d), 1u) << all_messages(d);
}

// All of a file's problems in one round: what the loader refused, then what validation finds in
// the rest (validate_partial), without what the loader's errors explain.
std::vector<Diagnostic> load_and_validate(std::string_view yaml) {
  auto loaded = load(yaml);
  std::vector<Diagnostic> all = loaded.diagnostics;
  auto more = loaded.ok() ? validate_pipeline(*loaded.pipeline, {}) : validate_partial(loaded, {});
  all.insert(all.end(), more.begin(), more.end());
  sort_in_file_order(all);
  return all;
}

TEST(ValidatePartial, ALoaderErrorDoesNotHideTheProblemsOfTheOtherSteps) {
  auto d = load_and_validate(R"(workflow:
  name: v
  steps:
    - {name: a, type: echo, bogus_key: 1}
    - {name: b, type: echo, value: "{{ 1 + }}"}
    - {name: c, type: echo, value: "{{steps.nope.text}}"}
)");
  EXPECT_TRUE(has_error(d, 4, 29, "unknown key \"bogus_key\""));
  EXPECT_TRUE(has_error(d, 5, 29, "bad template in \"value\""));
  EXPECT_TRUE(has_error(d, 6, 29, "there is no step \"nope\""));
  EXPECT_EQ(count_errors(d), 3u) << all_messages(d);
}

TEST(ValidatePartial, WhatTheLoadersErrorsExplainIsNotSaidAgain) {
  auto d = load_and_validate(R"(workflow:
  name: v
  steps:
    - {name: d, type: ecko, value: x}
    - {name: e, type: echo, value: "{{steps.d.text}}"}
    - name: l
      type: for_loop
      data_source: [1, 2]
      steps:
        - {name: i, type: echo, value: "{{loop.x}} {{steps.zzz.text}}"}
    - name: w
      type: for_loop
      iterator: x
      data_source: [1]
      steps:
        - {name: bad, type: echo, nonsense: 1}
        - {name: good, type: echo, value: "{{steps.yyy.text}}"}
)");
  EXPECT_TRUE(has_error(d, 4, 23, "unknown step type \"ecko\""));
  // "d" could not be read: a reference to it says nothing the error above does not.
  EXPECT_TRUE(matching(d, "steps.d.text").empty()) << all_messages(d);
  // A loop without its iterator: nothing in its body is judged against it.
  EXPECT_TRUE(has_error(d, 6, 7, "missing required key \"iterator\""));
  EXPECT_TRUE(matching(d, "zzz").empty()) << all_messages(d);
  // An error in one step of a body leaves the others of that body checked.
  EXPECT_TRUE(has_error(d, 16, 35, "unknown key \"nonsense\""));
  EXPECT_TRUE(has_error(d, 17, 36, "there is no step \"yyy\""));
  EXPECT_EQ(count_errors(d), 4u) << all_messages(d);
}

TEST(ValidatePartial, AChildFilesProblemsAreItsOwnWhateverTheParentsErrors) {
  // Neither the parent's error lines nor the names of its unread steps say anything of them.
  TempDir dir;
  dir.write("child.yaml", R"(workflow:
  name: c
  steps:
    - {name: x, type: echo, value: "{{steps.nope.text}}"}
)");
  dir.write("parent.yaml", R"(workflow:
  name: p
  steps:
    - {name: a, type: echo, bogus_key: 1}
    - {name: c, type: pipeline, pipeline_file: child.yaml}
    - {name: nope, type: ecko}
)");
  auto loaded = load_pipeline_file(dir.path() / "parent.yaml");
  ASSERT_FALSE(loaded.ok());
  auto found = validate_partial(loaded, ValidateOptions{dir.path(), true});
  ASSERT_EQ(found.size(), 1u) << all_messages(found);
  EXPECT_EQ(format_diagnostic(found[0]),
            (dir.path() / "child.yaml").string() +
                ":4:29: error: reference \"steps.nope.text\": there is no step \"nope\"");
}

TEST(Validate, AStepNameSeveralLoopsUseNamesEachOfThemWhenNoneIsVisible) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: for_loop, iterator: x, data_source: [1], steps: [{name: s, type: echo}]}
    - name: b
      type: while_loop
      condition: "steps.s.data < 3"
      max_iterations: 3
      steps: [{name: s, type: echo}]
)");
  EXPECT_TRUE(
      has_error(d, 7, 7, "step \"s\" is inside loop \"a\" and loop \"b\" and not visible here"))
      << all_messages(d);
}

TEST(Validate, ABreakConditionSeesTheWholeBody) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: l
      type: for_loop
      iterator: x
      items: [1]
      break_condition: "steps.last.done and not steps.nope"
      steps:
        - {name: last, type: echo}
)");
  EXPECT_TRUE(has_error(d, 8, 7, "there is no step \"nope\""));
  EXPECT_EQ(count_errors(d), 1u) << all_messages(d);
}

TEST(Validate, LoopFieldsAreCheckedAgainstTheEnclosingLoops) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: outside, type: echo, value: "{{loop.index}}"}
    - name: outer
      type: for_loop
      iterator: file
      items: [1]
      steps:
        - name: inner
          type: while_loop
          condition: "loop.file"
          max_iterations: 2
          steps:
            - {name: a, type: echo, value: "{{loop.index}} {{loop.parent.file}} {{loop.parent.total}}"}
            - {name: b, type: echo, value: "{{loop.total}}"}
            - {name: c, type: echo, value: "{{loop.parent.fiel}} {{loop.parent.parent.index}}"}
)");
  EXPECT_TRUE(has_error(d, 4, 35, "\"loop\" is only defined inside a loop body"));
  EXPECT_TRUE(has_error(d, 16, 37, "loop \"inner\" has no field \"total\""));
  EXPECT_TRUE(
      has_error(d, 17, 37, "loop \"outer\" has no field \"fiel\" (did you mean \"file\"?)"));
  EXPECT_TRUE(has_error(d, 17, 37, "loop \"outer\" has no enclosing loop"));
  EXPECT_EQ(count_errors(d), 4u) << all_messages(d);
}

// ---- other roots ----

TEST(Validate, InputsMustBeDeclaredWhenThePipelineDeclaresInputs) {
  auto d = validate_text(R"(workflow:
  name: v
  inputs:
    topic: {type: string}
  steps:
    - {name: a, type: echo, value: "{{inputs.topic}} {{inputs.topc}}"}
)");
  EXPECT_TRUE(has_error(d, 6, 29,
                        "reference \"inputs.topc\": the pipeline declares no input "
                        "\"topc\" (did you mean \"topic\"?)"));
  EXPECT_EQ(count_errors(d), 1u);
}

TEST(Validate, InputsAreFreeWhenThePipelineDeclaresNone) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: echo, value: "{{inputs.anything}}"}
)");
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

TEST(Validate, GlobalVarsAndStateMustExist) {
  auto d = validate_text(R"(workflow:
  name: v
  global_vars: {env: prod}
  steps:
    - {name: s, type: set_variable, variables: {counter: 1}}
    - {name: a, type: echo, value: "{{global_vars.envv}} {{state.countr}} {{state.counter}}"}
)");
  EXPECT_TRUE(has_error(d, 6, 29, "global_vars has no \"envv\" (did you mean \"env\"?)"));
  EXPECT_TRUE(
      has_error(d, 6, 29, "no set_variable step sets \"countr\" (did you mean \"counter\"?)"));
  EXPECT_EQ(count_errors(d), 2u);
}

TEST(Validate, StateReadBeforeAnySetVariableSetsItIsAnError) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: early, type: echo, value: "{{state.count}} {{default(state.count, 0)}}"}
    - name: repeat
      type: while_loop
      condition: "state.done != true"
      max_iterations: 3
      steps:
        - {name: inc, type: set_variable, variables: {count: "{{default(state.count, 0) + 1}}", done: true}}
    - {name: later, type: echo, value: "{{state.count}} {{state.done}}"}
)");
  EXPECT_TRUE(has_error(d, 4, 33,
                        "reference \"state.count\": set_variable step \"inc\" sets \"count\" only later "
                        "(at p.yaml:10:11); write default(state.count, ...) if it may be unset"));
  EXPECT_TRUE(has_error(d, 7, 7, "reference \"state.done\": set_variable step \"inc\" sets \"done\" only later"))
      << "a while_loop's condition is read before its body first runs";
  EXPECT_EQ(count_errors(d), 2u) << "the step after the loop reads what the loop set: " << all_messages(d);
}

TEST(Validate, StateSetLaterInTheSameLoopBodyOrReadAfterTheBodyIsAllowed) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: each
      type: for_loop
      iterator: n
      items: [1, 2, 3]
      break_condition: "state.last == 2"
      steps:
        - {name: prev, type: echo, condition: "loop.index > 0", value: "{{state.last}}"}
        - {name: keep, type: set_variable, variables: {last: "{{loop.n}}"}}
)");
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

// ---- syntax ----

TEST(Validate, TemplatesAndConditionsMustParseAndErrorsPointAtThem) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: a
      type: echo
      value: "{{ 1 + }}"
      output_to_file: "out_{{"
    - name: b
      type: echo
      condition: "{{steps.a.n}} > 3"
    - name: c
      type: echo
      condition: {and: ["steps.a.ok", {nor: "x"}]}
)");
  EXPECT_TRUE(has_error(d, 6, 7, "bad template in \"value\": bad expression"));
  EXPECT_TRUE(has_error(d, 7, 7, "bad template in \"output_to_file\": unterminated \"{{\""));
  EXPECT_TRUE(has_error(d, 10, 7, "bad condition: a condition is an expression or a single"));
  EXPECT_TRUE(has_error(d, 13, 7, "unknown condition key \"nor\" (did you mean \"or\"?)"));
}

// A pattern written out in a condition or a template is checked before any run; a computed one
// only when it runs.
TEST(Validate, ABadOrRefusedRegexWrittenInAnExpressionIsAnError) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: echo, value: x}
    - {name: b, type: echo, value: y, condition: "steps.a.text matches '(['"}
    - {name: c, type: echo, value: "{{ steps.a.text matches '(a+)+' }}"}
    - {name: d, type: echo, value: y, condition: "steps.a.text matches '^x$'"}
)");
  EXPECT_TRUE(has_error(d, 5, 39, "steps.a.text matches '([': bad regex \"([\""));
  EXPECT_TRUE(has_error(d, 6, 29, "can take exponential time"));
  EXPECT_EQ(count_errors(d), 2u) << all_messages(d);
}

TEST(Validate, TemplatesDeepInsideOptionsPointAtTheirOwnLine) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: a
      type: claude
      prompt:
        - type: static
          content: ok
        - type: static
          content: "{{steps.nope.text}}"
)");
  EXPECT_TRUE(has_error(d, 10, 11, "there is no step \"nope\""));
}

TEST(Validate, DataSourceIsABareReferenceOrOneTemplate) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: for_loop, iterator: i, data_source: steps.nope.list, steps: [{name: x, type: echo}]}
    - {name: b, type: for_loop, iterator: i, data_source: "{{steps.a.items}} and more", steps: [{name: y, type: echo}]}
    - {name: c, type: data_transform, input_source: "steps.a.items +", operations: [{operation: sort}]}
)");
  EXPECT_TRUE(has_error(d, 4, 46, "reference \"steps.nope.list\": there is no step \"nope\""));
  EXPECT_TRUE(has_error(d, 5, 46, "\"data_source\" must be a reference or one {{ }} template"));
  EXPECT_TRUE(has_error(d, 6, 39, "bad \"input_source\""));
}

TEST(Validate, FilterConditionsAreCheckedForSyntaxButReadTheItem) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: t
      type: data_transform
      input_source: "[1, 2]"
      operations:
        - {operation: filter, condition: "score > 80 and category == 'x'"}
        - {operation: filter, condition: "score >"}
)");
  EXPECT_TRUE(has_error(d, 9, 31, "bad filter condition"));
  EXPECT_EQ(count_errors(d), 1u) << all_messages(d);
}

TEST(Validate, TemplatedTransformConditionsAndExpressionsReadTheItemNotTheRun) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: t
      type: data_transform
      input_source: "[1, 2]"
      operations:
        - {operation: filter, condition: "{{ score > 80 }}"}
        - {operation: map, as: total, expression: "{{ price * quantity }}"}
        - {operation: filter, condition: "{{ score > }}"}
        - {operation: map, expression: "name +"}
)");
  EXPECT_TRUE(has_error(d, 10, 31, "bad filter condition"));
  EXPECT_TRUE(has_error(d, 11, 28, "bad map expression"));
  EXPECT_EQ(count_errors(d), 2u) << all_messages(d);
}

TEST(Validate, ABareRightSourceIsCheckedLikeInputSource) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: users, type: echo, value: []}
    - name: t
      type: data_transform
      input_source: steps.users.data
      operations:
        - {operation: join, right_source: steps.nope.data, join_key: id}
        - {operation: join, right_source: "{{ steps.users.data }}", join_key: id}
        - {operation: join, right_source: "{{ steps.users.data }} and more", join_key: id}
        - {operation: join, right_source: [{id: "{{ steps.gone.id }}"}], join_key: id}
)");
  EXPECT_TRUE(has_error(d, 9, 29, "reference \"steps.nope.data\": there is no step \"nope\""));
  EXPECT_TRUE(has_error(d, 11, 29, "\"right_source\" must be a reference or one {{ }} template"));
  EXPECT_TRUE(has_error(d, 12, 45, "there is no step \"gone\""));
  EXPECT_EQ(count_errors(d), 3u) << all_messages(d);
}

TEST(Validate, TemplatesInOtherOperationKeysAreRefusedSinceTheWorkerNeverRendersThem) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: t
      type: data_transform
      input_source: "[1, 2]"
      operations:
        - {operation: map, field: "{{ inputs.f }}", mapping: {a: "{{ inputs.x }}"}}
        - {operation: group_by, by: "{{ inputs.k }}"}
)");
  EXPECT_TRUE(has_error(d, 8, 28, "\"operations.0.field\" cannot hold a template"));
  EXPECT_TRUE(has_error(d, 8, 63, "\"operations.0.mapping.a\" cannot hold a template"));
  EXPECT_TRUE(has_error(d, 9, 33, "\"operations.1.by\" cannot hold a template"));
  EXPECT_EQ(count_errors(d), 3u) << all_messages(d);
}

TEST(Validate, OnlySortTakesSeveralFields) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: t
      type: data_transform
      input_source: "[1, 2]"
      operations:
        - {operation: sort, by: [team, score]}
        - {operation: group_by, field: [team, score]}
)");
  EXPECT_TRUE(has_error(d, 9, 33, "\"operations.1.field\" is a list, but only sort takes"));
  EXPECT_EQ(count_errors(d), 1u) << all_messages(d);
}

// ---- step-specific checks ----

TEST(Validate, PreviousResponsePartsNameVisibleSteps) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - name: a
      type: claude
      prompt:
        - {type: previous_response, step: b}
    - {name: b, type: echo}
    - name: c
      type: parallel_claude
      parallel_tasks:
        - id: t
          prompt: [{type: previous_response, step: zz}]
)");
  EXPECT_TRUE(has_error(d, 7, 37, "previous_response step \"b\": step \"b\" runs later"));
  EXPECT_TRUE(has_error(d, 13, 46, "previous_response step \"zz\": there is no step \"zz\""));
}

TEST(Validate, APreviousResponseOfAStepWhoseResultHasNoTextNorDataMustSayWhatToExtract) {
  // Only a run would find these (after paying for the loop or the batch before them); their
  // results have neither text nor data, whatever the run does.
  TempDir dir;
  dir.write("child.yaml", "workflow:\n  name: child\n  steps:\n    - {name: s, type: echo}\n");
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: each, type: for_loop, iterator: i, items: [1], steps: [{name: x, type: echo}]}
    - {name: again, type: while_loop, condition: "false", max_iterations: 1, steps: [{name: y, type: echo}]}
    - {name: fan, type: parallel_claude, parallel_tasks: [{id: t, prompt: p}]}
    - {name: batch, type: claude_batch, tasks: [{id: t, prompt: p}]}
    - {name: merged, type: claude_batch, tasks: [{id: t, prompt: p}], batch_config: {consolidate_results: true}}
    - {name: child, type: pipeline, pipeline_file: child.yaml}
    - {name: kept, type: pipeline, pipeline_file: child.yaml, outputs: [s]}
    - {name: plain, type: echo, value: hi}
    - name: ask
      type: claude
      prompt:
        - {type: previous_response, step: each}
        - {type: previous_response, step: again}
        - {type: previous_response, step: fan}
        - {type: previous_response, step: batch}
        - {type: previous_response, step: child}
        - {type: previous_response, step: each, extract: total}
        - {type: previous_response, step: fan, extract: t}
        - {type: previous_response, step: merged}
        - {type: previous_response, step: kept}
        - {type: previous_response, step: plain}
)",
                         dir.path());
  EXPECT_TRUE(has_error(d, 15, 37, "previous_response step \"each\": a for_loop step's result "
                                   "has neither text nor data to use as a response; name the "
                                   "field to use with \"extract\" (\"items\", \"total\""));
  EXPECT_TRUE(has_error(d, 16, 37,
                        "a while_loop step's result has neither text nor data to use "
                        "as a response; name the field to use with \"extract\" "
                        "(\"items\", \"iterations\", ...)"));
  EXPECT_TRUE(has_error(d, 17, 37, "a parallel_claude step's result has neither text nor data"));
  EXPECT_TRUE(has_error(d, 18, 37, "a claude_batch step's result has no text unless its "
                                   "batch_config sets consolidate_results: true"));
  EXPECT_TRUE(has_error(d, 19, 37, "a pipeline step's result has data only when the step lists "
                                   "\"outputs\""));
  EXPECT_EQ(count_errors(d), 5u) << all_messages(d);
}

TEST(Validate, AnExtractFromALoopOrFanOutMustNameAMemberOrOneOfItsTasks) {
  TempDir dir;
  dir.write("tasks.jsonl", "{\"id\": \"t\", \"prompt\": \"p\"}\n");
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: fan, type: parallel_claude, parallel_tasks: [{id: security, prompt: p}, {id: cost, prompt: q}]}
    - {name: each, type: for_loop, iterator: i, items: [1], steps: [{name: x, type: echo}]}
    - {name: batch, type: claude_batch, tasks_file: tasks.jsonl}
    - {name: listed, type: claude_batch, tasks: [{task_id: t1, prompt: p}, {id: t3, prompt: q}]}
    - name: ask
      type: claude
      prompt:
        - {type: previous_response, step: fan, extract: securty}
        - {type: previous_response, step: each, extract: totals.x}
        - {type: previous_response, step: listed, extract: t2}
        - {type: previous_response, step: fan, extract: security.text}
        - {type: previous_response, step: fan, extract: failed}
        - {type: previous_response, step: each, extract: items.0.steps.x.text}
        - {type: previous_response, step: batch, extract: any_id_of_the_file}
        - {type: previous_response, step: listed, extract: t1}
        - {type: previous_response, step: listed, extract: "1"}
)",
                         dir.path());
  EXPECT_TRUE(has_error(d, 11, 48,
                        "previous_response step \"fan\": extract \"securty\": a "
                        "parallel_claude step's result has no \"securty\", and no task "
                        "has that id (did you mean \"security\"?)"));
  EXPECT_TRUE(has_error(d, 12, 49,
                        "extract \"totals.x\": a for_loop step's result has no "
                        "\"totals\" (did you mean \"total\"?)"));
  EXPECT_TRUE(has_error(d, 13, 51,
                        "extract \"t2\": a claude_batch step's result has no \"t2\", "
                        "and no task has that id (did you mean \"t1\"?)"));
  EXPECT_EQ(count_errors(d), 3u) << all_messages(d);
}

TEST(Validate, AReferenceToALoopsOrFanOutsResultMustNameAMemberItCanHave) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: each, type: for_loop, iterator: i, items: [1], steps: [{name: x, type: echo}]}
    - {name: again, type: while_loop, condition: "false", max_iterations: 1, steps: [{name: y, type: echo}]}
    - {name: batch, type: claude_batch, tasks: [{id: t, prompt: p}]}
    - {name: merged, type: claude_batch, tasks: [{id: t, prompt: p}], batch_config: {consolidate_results: true}}
    - name: fine
      type: echo
      value: "{{each.total}} {{steps.each.items[0].success}} {{again.iterations}} {{merged.text}} {{default(steps.each.text, '')}} {{batch.succeeded}}"
    - {name: text, type: echo, value: "{{steps.each.text}}"}
    - {name: total, type: echo, value: "{{again.total}}"}
    - {name: unmerged, type: echo, value: "{{steps.batch.text}}"}
    - {name: typo, type: echo, value: "{{each.totl}}"}
)");
  EXPECT_TRUE(has_error(d, 11, 32, "reference \"steps.each.text\": a for_loop step's result has "
                                  "no \"text\" (it has total, succeeded, not_run, success"));
  EXPECT_TRUE(has_error(d, 12, 33, "reference \"again.total\": a while_loop step's result has "
                                  "no \"total\" (it has iterations, success"));
  EXPECT_TRUE(has_error(d, 13, 36, "a claude_batch step's result has no \"text\" unless its "
                                   "batch_config sets consolidate_results: true"));
  EXPECT_TRUE(has_error(d, 14, 32, "has no \"totl\" (did you mean \"total\"?)"));
  EXPECT_EQ(count_errors(d), 4u) << all_messages(d);
}

TEST(Validate, AnOutputPathThatLeavesTheOutputDirectoryIsRefusedBeforeTheStepRuns) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: up, type: echo, value: 1, output_to_file: "a/../../x.md"}
    - {name: abs, type: echo, value: 1, output_to_file: /tmp/x.md}
    - {name: fine, type: echo, value: 1, output_to_file: "a/../b/x.md"}
    - {name: later, type: echo, value: 1, output_to_file: "{{inputs.dir}}/x.md"}
    - name: fan
      type: parallel_claude
      parallel_tasks:
        - {id: a, prompt: p, output_to_file: ok.md}
        - {id: b, prompt: p, output_to_file: ../b.md}
    - {name: batch, type: claude_batch, tasks: [{id: a, prompt: p, output_to_file: /b.md}]}
)");
  EXPECT_TRUE(has_error(d, 4, 40, "output_to_file: \"a/../../x.md\" leaves the output directory"));
  EXPECT_TRUE(has_error(d, 5, 41, "output_to_file: \"/tmp/x.md\" is absolute; give a path "
                                  "relative to the output directory"));
  EXPECT_TRUE(has_error(d, 12, 30, "output_to_file: \"../b.md\" leaves the output directory"));
  EXPECT_TRUE(has_error(d, 13, 68, "output_to_file: \"/b.md\" is absolute"));
  EXPECT_EQ(count_errors(d), 4u) << all_messages(d);
}

TEST(Validate, AnOutputPathThatIsEmptyOrNamesADirectoryIsRefused) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: empty, type: echo, value: 1, output_to_file: ""}
    - {name: here, type: echo, value: 1, output_to_file: "."}
    - {name: dir, type: echo, value: 1, output_to_file: "sub/dir/"}
    - {name: none, type: echo, value: 1}
)");
  EXPECT_TRUE(has_error(d, 4, 43, "output_to_file: the path is empty; give a file name"));
  EXPECT_TRUE(has_error(d, 5, 42, "output_to_file: \".\" names a directory; give a file name"));
  EXPECT_TRUE(has_error(d, 6, 41, "output_to_file: \"sub/dir/\" names a directory"));
  EXPECT_EQ(count_errors(d), 3u) << all_messages(d);
}

TEST(Validate, GeminiFunctionsMustBeDefined) {
  auto d = validate_text(R"(workflow:
  name: v
  gemini_functions:
    score_code: {description: d, parameters: {type: object}}
  steps:
    - {name: g, type: gemini, prompt: p, functions: [score_code, scor_code]}
)");
  EXPECT_TRUE(has_error(d, 6, 66,
                        "function \"scor_code\" is not defined in gemini_functions "
                        "(did you mean \"score_code\"?)"));
  EXPECT_EQ(count_errors(d), 1u);
}

TEST(Validate, LlmStepsMayLeaveTheProviderAndClaudeSmartStepsThePresetToTheirDefaults) {
  // An llm step without provider calls providers.default_provider; claude_smart's preset is
  // "development" (docs/providers.md).
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: llm, prompt: p}
    - {name: b, type: claude_smart, prompt: p}
)");
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

TEST(Validate, AnLlmProviderThatIsNoneOfTheFourIsRefused) {
  auto r = load(R"(workflow:
  name: v
  defaults: {provider: opanai}
  steps:
    - {name: a, type: llm, prompt: p, provider: llama}
    - {name: b, type: llm, prompt: p, provider: "{{inputs.which}}"}
)");
  EXPECT_TRUE(has_error(r.diagnostics, 3, 24,
                        "key \"defaults.provider\" must be one of anthropic, gemini, openai, mock; "
                        "got \"opanai\" (did you mean \"openai\"?)"))
      << all_messages(r.diagnostics);
  EXPECT_TRUE(has_error(r.diagnostics, 5, 49, "got \"llama\""));
  EXPECT_EQ(count_errors(r.diagnostics), 2u) << all_messages(r.diagnostics);
}

TEST(Validate, LoopScopedVariablesMustBeSetInsideALoop) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: set_variable, scope: loop, variables: {x: 1}}
)");
  EXPECT_TRUE(has_error(d, 4, 37, "has scope \"loop\" but is not inside a loop"));
}

// ---- files ----

TEST(Validate, NamedFilesMustExistRelativeToTheBaseDirectory) {
  TempDir dir;
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: a, type: for_loop, iterator: i, items_file: items.jsonl, steps: [{name: x, type: echo}]}
    - {name: b, type: claude_batch, tasks_file: tasks.jsonl}
    - {name: c, type: pipeline, pipeline_file: child.yaml}
    - {name: d, type: claude, prompt: [{type: file, path: prompts/p.md}]}
    - {name: e, type: claude_batch, tasks: [{task_id: t, prompt: p, file: data.txt}]}
)",
                         dir.path());
  EXPECT_TRUE(has_error(
      d, 4, 46,
      "items_file \"items.jsonl\" does not exist (looked in " + dir.path().string() + ")"));
  EXPECT_TRUE(has_error(d, 5, 37, "tasks_file \"tasks.jsonl\" does not exist"));
  EXPECT_TRUE(has_error(d, 6, 33, "pipeline_file \"child.yaml\" does not exist"));
  EXPECT_TRUE(has_error(d, 7, 53,
                        "prompt file \"prompts/p.md\" does not exist (looked in " +
                            dir.path().string() + " and the workspace " +
                            (dir.path() / "workspace").string() + ")"));
  EXPECT_TRUE(has_error(d, 8, 69, "task file \"data.txt\" does not exist"));
  EXPECT_EQ(count_errors(d), 5u) << all_messages(d);
}

TEST(Validate, ExistingFilesAndTemplatedPathsPass) {
  TempDir dir;
  dir.write("items.jsonl", "1\n");
  dir.write("tasks.jsonl", "{}\n");
  dir.write("prompts/p.md", "hi\n");
  dir.write("ws/made_by_a_step.md", "hi\n");
  dir.write("child.yaml", "workflow:\n  name: child\n  steps: [{name: c, type: echo}]\n");
  auto d = validate_text(R"(workflow:
  name: v
  workspace_dir: ws
  steps:
    - {name: a, type: for_loop, iterator: i, items_file: items.jsonl, steps: [{name: x, type: echo}]}
    - {name: b, type: claude_batch, tasks_file: tasks.jsonl}
    - {name: c, type: pipeline, pipeline_file: child.yaml}
    - {name: d, type: claude, prompt: [{type: file, path: prompts/p.md}, {type: file, path: made_by_a_step.md}]}
    - {name: e, type: claude, prompt: [{type: file, path: "{{inputs.which}}.md"}]}
)",
                         dir.path());
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

TEST(Validate, ChildPipelineFilesAreValidatedWithTheirOwnNames) {
  TempDir dir;
  dir.write("child.yaml",
            "workflow:\n  name: child\n  steps:\n    - {name: c, type: echo, value: "
            "\"{{steps.zz.x}}\"}\n");
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: c, type: pipeline, pipeline_file: child.yaml}
)",
                         dir.path());
  ASSERT_EQ(d.size(), 1u) << all_messages(d);
  EXPECT_EQ(d[0].where.file, (dir.path() / "child.yaml").string());
  EXPECT_EQ(d[0].where.line, 4);
  EXPECT_NE(d[0].message.find("there is no step \"zz\""), std::string::npos);
}

// What a step gives its child and takes from it is checked against the child's declarations:
// the broker would refuse it only when the step runs, after the steps before it were paid for.
TEST(Validate, AChildsInputsAndOutputsAreCheckedAgainstWhatItDeclares) {
  TempDir dir;
  dir.write("child.yaml",
            "workflow:\n  name: child\n  inputs:\n    n: {type: integer, required: true}\n"
            "    label: {type: string, default: x}\n"
            "  steps:\n    - {name: e, type: echo, value: \"{{inputs.n}}\"}\n");
  auto d = validate_text(R"(workflow:
  name: v
  inputs: {k: {type: integer, default: 1}}
  steps:
    - {name: a, type: pipeline, pipeline_file: child.yaml, inputs: {m: 1}, outputs: [nostep, e]}
    - {name: b, type: pipeline, pipeline_file: child.yaml, inputs: {n: abc}}
    - {name: c, type: pipeline, pipeline_file: child.yaml, inputs: {n: "{{inputs.k}}"}, outputs: [e.text]}
    - name: d
      type: pipeline
      pipeline: {name: inline, inputs: {q: {type: string, required: true}}, steps: [{name: s, type: echo}]}
)",
                         dir.path());
  EXPECT_TRUE(has_error(d, 5, 60, "the child pipeline's required input \"n\" is not given"));
  EXPECT_TRUE(has_error(d, 5, 69,
                        "the child pipeline has no input \"m\" (did you mean \"n\"?); "
                        "it declares inputs n, label"));
  EXPECT_TRUE(has_error(d, 5, 86, "output \"nostep\": the child pipeline has no step \"nostep\""));
  EXPECT_TRUE(has_error(d, 6, 69, "input \"n\" must be an integer"));
  EXPECT_TRUE(has_error(d, 8, 7, "the child pipeline's required input \"q\" is not given"));
  EXPECT_EQ(count_errors(d), 5u) << all_messages(d);
}

TEST(Validate, PipelineFilesThatIncludeEachOtherAreAnError) {
  TempDir dir;
  dir.write("a.yaml",
            "workflow:\n  name: a\n  steps:\n    - {name: to_b, type: pipeline, pipeline_file: "
            "b.yaml}\n");
  dir.write("b.yaml",
            "workflow:\n  name: b\n  steps:\n    - {name: to_a, type: pipeline, pipeline_file: "
            "a.yaml}\n");
  auto r = load_pipeline_file(dir.path() / "a.yaml");
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  auto d = validate_pipeline(*r.pipeline, ValidateOptions{dir.path(), true});
  auto cycle = matching(d, "pipeline files include each other: a.yaml -> b.yaml -> a.yaml");
  ASSERT_EQ(cycle.size(), 1u) << all_messages(d);
  EXPECT_EQ(cycle[0].where.file, (dir.path() / "b.yaml").string());
  EXPECT_EQ(cycle[0].where.line, 4);
}

TEST(Validate, FollowingPipelineFilesCanBeTurnedOff) {
  TempDir dir;
  dir.write("child.yaml", "workflow:\n  name: child\n  steps: [{name: c, type: ecko}]\n");
  auto r = load(
      "workflow:\n  name: v\n  steps: [{name: c, type: pipeline, pipeline_file: child.yaml}]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(validate_pipeline(*r.pipeline, ValidateOptions{dir.path(), false}).empty());
  EXPECT_FALSE(validate_pipeline(*r.pipeline, ValidateOptions{dir.path(), true}).empty());
}

TEST(Validate, InlineChildPipelinesHaveTheirOwnScope) {
  auto d = validate_text(R"(workflow:
  name: v
  steps:
    - {name: parent_step, type: echo}
    - name: child
      type: pipeline
      inputs: {v: "{{steps.parent_step.text}}"}
      pipeline:
        name: inner
        inputs: {v: {type: string}}
        steps:
          - {name: a, type: echo, value: "{{inputs.v}} {{steps.parent_step.text}}"}
)");
  EXPECT_TRUE(has_error(d, 12, 35, "there is no step \"parent_step\""));
  EXPECT_EQ(count_errors(d), 1u) << all_messages(d);
}

// ---- children that inherit their parent's context ----

constexpr const char* kInheritingChild = R"(workflow:
  name: child
  steps:
    - {name: say, type: echo, value: "{{global_vars.audience}} {{state.mood}}"}
)";

// A parent that sets what kInheritingChild reads, running it as a file and inline; CONFIG is
// the pipeline steps' `config:`.
std::string inheriting_parent(const std::string& config) {
  std::string text = R"(workflow:
  name: parent
  global_vars: {audience: operators}
  steps:
    - {name: init, type: set_variable, variables: {mood: calm}}
    - {name: file, type: pipeline, pipeline_file: child.yaml, config: CONFIG}
    - name: inline
      type: pipeline
      config: CONFIG
      pipeline:
        name: inner
        steps:
          - {name: say, type: echo, value: "{{global_vars.audience}} {{state.mood}}"}
          - name: deeper
            type: pipeline
            config: CONFIG
            pipeline:
              name: innermost
              steps: [{name: say, type: echo, value: "{{global_vars.audience}} {{state.mood}}"}]
)";
  for (size_t at = text.find("CONFIG"); at != std::string::npos; at = text.find("CONFIG")) {
    text.replace(at, 6, config);
  }
  return text;
}

TEST(Validate, AChildThatInheritsContextMayNameItsParentsGlobalVarsAndState) {
  TempDir dir;
  dir.write("child.yaml", kInheritingChild);
  auto inherits = validate_text(inheriting_parent("{inherit_context: true}"), dir.path());
  EXPECT_TRUE(inherits.empty()) << all_messages(inherits);
  // Without inheriting, each of the three children is alone: two errors each.
  auto alone = validate_text(inheriting_parent("{inherit_context: false}"), dir.path());
  EXPECT_EQ(matching(alone, "global_vars has no \"audience\"").size(), 3u) << all_messages(alone);
  EXPECT_EQ(matching(alone, "no set_variable step sets \"mood\"").size(), 3u)
      << all_messages(alone);
}

TEST(Validate, AnInheritingChildsReferencesAreStillCheckedAgainstItsParents) {
  TempDir dir;
  dir.write("child.yaml", R"(workflow:
  name: child
  steps:
    - {name: say, type: echo, value: "{{global_vars.audiance}} {{state.moood}}"}
)");
  auto d = validate_text(inheriting_parent("{inherit_context: true}"), dir.path());
  auto global = matching(d,
                         "reference \"global_vars.audiance\": global_vars has no \"audiance\" "
                         "here or in the pipelines it inherits from (did you mean \"audience\"?)");
  auto state = matching(d,
                        "reference \"state.moood\": no set_variable step sets \"moood\" "
                        "here or in the pipelines it inherits from (did you mean \"mood\"?)");
  EXPECT_EQ(global.size(), 1u) << all_messages(d);
  EXPECT_EQ(state.size(), 1u) << all_messages(d);
  EXPECT_EQ(count_errors(d), 2u) << all_messages(d);
}

TEST(Validate, AChildValidatedAsInheritingAnUnknownContextLeavesGlobalVarsAndStateUnchecked) {
  // What the broker does when it loads a child whose step sets inherit_context: true.
  auto r = load(kInheritingChild);
  ASSERT_TRUE(r.ok()) << all_messages(r.diagnostics);
  ValidateOptions options{{}, true};
  EXPECT_EQ(count_errors(validate_pipeline(*r.pipeline, options)), 2u);
  options.inherits_context = true;
  auto d = validate_pipeline(*r.pipeline, options);
  EXPECT_TRUE(d.empty()) << all_messages(d);
}

// ---- robustness ----

TEST(Validate, APipelineBuiltInCodeWithOddOptionsDoesNotCrash) {
  Pipeline p;
  p.name = "code";
  Step a;
  a.name = "a";
  a.type = StepType::kForLoop;
  a.options = Value("not an object");
  a.condition = Value(5);
  p.steps.push_back(a);
  Step b;
  b.name = "b";
  b.type = StepType::kClaude;
  b.options = testing::json(R"({"prompt": [1, {"type": "file", "path": 3}], "functions": 7})");
  p.steps.push_back(b);
  auto d = validate_pipeline(p, ValidateOptions{});
  EXPECT_FALSE(has_errors(d)) << all_messages(d);
}

}  // namespace
}  // namespace pl::pipeline
