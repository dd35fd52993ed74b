// The gemini, gemini_instructor and llm executors, in process.
#include <gtest/gtest.h>

#include "tests/unit/providers/executor_harness.h"
#include "worker/executors/gemini_executor.h"
#include "worker/executors/gemini_instructor_executor.h"
#include "worker/executors/llm_executor.h"

namespace pl::worker {
namespace {

using testing::Harness;
using testing::json;

// ---- gemini, gemini_instructor, llm

const char* kFunctions = R"("functions": ["rate"], "function_definitions": {"rate": {"description": "rate it",
    "parameters": {"type": "object", "required": ["score"], "properties": {"score": {"type": "integer"}}}}})";

TEST(GeminiExecutor, FunctionCallsAreReturnedNotRun) {
  Harness h;
  h.gemini->push_tool_call("rate", json(R"({"score": 7})"));
  GeminiExecutor e(h.services);
  auto r = h.run(e, "gemini", json((std::string(R"({"prompt": "rate this", "model": "gemini-2.5-pro",
      "token_budget": {"max_output_tokens": 300}, )") + kFunctions + "}").c_str()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("function_calls")->as_array().at(0).find("args")->get_int("score"), 7);
  const auto& req = h.gemini->requests.at(0);
  EXPECT_EQ(req.model, "gemini-2.5-pro");
  EXPECT_EQ(req.max_tokens, 300);
  EXPECT_EQ(req.tools.at(0).name, "rate");
  EXPECT_TRUE(h.tools->calls.empty());
}

TEST(GeminiInstructorExecutor, TheFunctionsArgumentsAreTheData) {
  Harness h;
  h.gemini->push_tool_call("rate", json(R"({"score": 9})"));
  GeminiInstructorExecutor e(h.services);
  auto r = h.run(e, "gemini_instructor", json((std::string(R"({"prompt": "rate", )") + kFunctions + "}").c_str()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_int("score"), 9);
  EXPECT_EQ(r->get_string("function"), "rate");
  EXPECT_EQ(h.gemini->requests.at(0).tool_choice, providers::ToolChoice::kAny);
}

TEST(GeminiInstructorExecutor, ArgumentsThatBreakTheSchemaFailTheStep) {
  Harness h;
  h.gemini->push_tool_call("rate", json(R"({"score": "high"})"));
  GeminiInstructorExecutor e(h.services);
  auto r = h.run(e, "gemini_instructor", json((std::string(R"({"prompt": "rate", )") + kFunctions + "}").c_str()));
  // A failure that keeps what the call paid for.
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "step_failed");
  EXPECT_NE(r->find("usage"), nullptr);
  EXPECT_EQ(r->get_string("error"),
            "gemini_instructor: the output does not match the schema: $.score: expected integer, "
            "got a string");
}

TEST(GeminiInstructorExecutor, ASchemaAloneBecomesTheStructuredOutputFunction) {
  Harness h(Harness::Providers::kMock);
  GeminiInstructorExecutor e(h.services);
  auto r = h.run(e, "gemini_instructor", json(R"({"prompt": "spec", "schema": {"type": "object",
      "required": ["endpoints"], "properties": {"endpoints": {"type": "array", "items": {"type": "string"}}}}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("function"), "structured_output");
  EXPECT_EQ(to_json(*r->find("data")), R"({"endpoints":["mock"]})");
  EXPECT_TRUE(r->get_bool("mock"));
}

TEST(GeminiInstructorExecutor, JsonInTheTextIsAcceptedWhenNoFunctionWasCalled) {
  Harness h;
  h.gemini->push_text(R"({"score": 4})");
  GeminiInstructorExecutor e(h.services);
  auto r = h.run(e, "gemini_instructor", json((std::string(R"({"prompt": "rate", )") + kFunctions + "}").c_str()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find("data")->get_int("score"), 4);
}

TEST(GeminiInstructorExecutor, TextCutAtTheTokenLimitSaysSoAndWhatToRaise) {
  Harness h;
  h.gemini->push_cut_text(R"({"sco)");
  GeminiInstructorExecutor e(h.services);
  auto r = h.run(e, "gemini_instructor",
                 json((std::string(R"({"prompt": "rate", )") + kFunctions + "}").c_str()));
  // A failure that keeps what the call paid for.
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(is_failed_result(*r));
  EXPECT_EQ(r->get_string("error_code"), "step_failed");
  EXPECT_NE(r->find("usage"), nullptr);
  EXPECT_NE(r->get_string("error").find("its text holds no JSON object"), std::string::npos);
  EXPECT_NE(
      r->get_string("error").find("; the answer was cut at the output-token limit (no max_tokens "
                                  "set: the provider's default), which is likely why: raise"),
      std::string::npos)
      << r->get_string("error");
}

TEST(GeminiInstructorExecutor, NeitherFunctionsNorSchemaIsInvalid) {
  Harness h;
  GeminiInstructorExecutor e(h.services);
  auto r = h.run(e, "gemini_instructor", json(R"({"prompt": "x"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
}

TEST(LlmExecutor, AnyProviderByNameWithItsToolLoop) {
  Harness h;
  h.openai->push_tool_call("search", json(R"({"query": "q"})"));
  h.openai->push_text("done");
  LlmExecutor e(h.services);
  auto r = h.run(e, "llm", json(R"({"provider": "openai", "model": "llama3", "prompt": "x",
                                    "system_prompt": "sys", "allowed_tools": ["search"], "max_turns": 3})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get_string("text"), "done");
  EXPECT_EQ(h.openai->requests.at(0).model, "llama3");
  EXPECT_EQ(h.openai->requests.at(0).system, "sys");
}

TEST(LlmExecutor, TheMockProviderByNameIsMarked) {
  Harness h;
  LlmExecutor e(h.services);
  auto r = h.run(e, "llm", json(R"({"provider": "mock", "prompt": "x"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->get_bool("mock"));
  EXPECT_FALSE(r->find("stands_in_for"));
}

TEST(LlmExecutor, AnUnknownProviderIsInvalidInput) {
  Harness h;
  LlmExecutor e(h.services);
  auto r = h.run(e, "llm", json(R"({"provider": "mistral", "prompt": "x"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace pl::worker
