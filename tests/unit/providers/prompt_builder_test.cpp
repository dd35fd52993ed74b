#include "worker/llm/prompt_builder.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/json.h"
#include "tests/fakes/llm_doubles.h"
#include "tests/support/harness.h"

namespace pl::worker::llm {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

struct Dirs {
  test::TempDir tmp;
  fs::path pipeline = tmp.path() / "pipe";
  fs::path workspace = tmp.path() / "ws";
  fakes::MemorySessionStore sessions;
  PromptContext context;

  Dirs() {
    fs::create_directories(pipeline);
    fs::create_directories(workspace);
    context.pipeline_dir = pipeline;
    context.workspace_dir = workspace;
    context.sessions = &sessions;
    context.call = fakes::call_within();
  }
};

Value parts(const char* json) { return *parse_json(json); }

TEST(PromptBuilder, AStringIsThePrompt) {
  Dirs d;
  EXPECT_EQ(*build_prompt(Value("hello"), d.context), "hello");
}

TEST(PromptBuilder, PartsAreJoinedWithNewlines) {
  Dirs d;
  write(d.pipeline / "prompts" / "intro.md", "You review code.");
  auto p = build_prompt(parts(R"([{"type": "file", "path": "prompts/intro.md"},
                                  {"type": "static", "content": "Be brief."},
                                  "plain string part"])"),
                        d.context);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, "You review code.\nBe brief.\nplain string part");
}

TEST(PromptBuilder, NonStringContentBecomesPrettyJson) {
  Dirs d;
  auto p = build_prompt(parts(R"([{"type": "static", "content": {"a": 1}}])"), d.context);
  EXPECT_EQ(*p, "{\n  \"a\": 1\n}");
}

TEST(PromptBuilder, FilesAreFoundInTheWorkspaceWhenNotBesideThePipeline) {
  Dirs d;
  write(d.workspace / "data.txt", "from the workspace");
  EXPECT_EQ(*build_prompt(parts(R"([{"type": "file", "path": "data.txt"}])"), d.context), "from the workspace");
}

TEST(PromptBuilder, ThePipelineDirectoryIsSearchedFirst) {
  Dirs d;
  write(d.pipeline / "x.txt", "pipeline");
  write(d.workspace / "x.txt", "workspace");
  EXPECT_EQ(*build_prompt(parts(R"([{"type": "file", "path": "x.txt"}])"), d.context), "pipeline");
}

TEST(PromptBuilder, PathsThatLeaveBothDirectoriesAreRefused) {
  Dirs d;
  write(d.tmp.path() / "secret.txt", "no");
  for (const char* path : {"../secret.txt", "../../etc/passwd", "/etc/passwd"}) {
    auto p = build_prompt(Value(Value::Array{parts(("{\"type\": \"file\", \"path\": \"" + std::string(path) + "\"}").c_str())}),
                          d.context);
    ASSERT_FALSE(p.ok()) << path;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidInput) << path;
    EXPECT_NE(p.error().message.find("is outside the pipeline directory and the workspace"), std::string::npos);
  }
}

TEST(PromptBuilder, ASymlinkOutOfTheWorkspaceIsRefused) {
  Dirs d;
  write(d.tmp.path() / "secret.txt", "no");
  fs::create_symlink(d.tmp.path() / "secret.txt", d.workspace / "link.txt");
  auto p = build_prompt(parts(R"([{"type": "file", "path": "link.txt"}])"), d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidInput);
}

TEST(PromptBuilder, AnAbsolutePathInsideTheWorkspaceIsAllowed) {
  Dirs d;
  write(d.workspace / "in.txt", "inside");
  const std::string json = "[{\"type\": \"file\", \"path\": \"" + (d.workspace / "in.txt").string() + "\"}]";
  EXPECT_EQ(*build_prompt(parts(json.c_str()), d.context), "inside");
}

TEST(PromptBuilder, AMissingFileIsNotFoundAndNamesThePart) {
  Dirs d;
  auto p = build_prompt(parts(R"(["intro", {"type": "file", "path": "nope.md"}])"), d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(p.error().message.rfind("prompt part 2 (file \"nope.md\"): \"nope.md\" does not exist in ", 0), 0u)
      << p.error().message;
}

TEST(PromptBuilder, AFileOverTheLimitIsTooLarge) {
  Dirs d;
  write(d.workspace / "big.txt", std::string(2000, 'x'));
  d.context.max_file_bytes = 1000;
  auto p = build_prompt(parts(R"([{"type": "file", "path": "big.txt"}])"), d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kTooLarge);
}

TEST(PromptBuilder, ADirectoryIsNotAFile) {
  Dirs d;
  fs::create_directories(d.workspace / "src");
  auto p = build_prompt(parts(R"([{"type": "file", "path": "src/"}])"), d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("is a directory"), std::string::npos);
}

TEST(PromptBuilder, PreviousResponseContentIsUsedLikeStatic) {
  Dirs d;
  auto p = build_prompt(parts(R"([{"type": "previous_response", "step": "plan", "extract": "steps",
                                   "content": ["a", "b"]}])"),
                        d.context);
  EXPECT_EQ(*p, "[\n  \"a\",\n  \"b\"\n]");
}

TEST(PromptBuilder, AnUnresolvedPreviousResponseIsAnError) {
  Dirs d;
  auto p = build_prompt(parts(R"([{"type": "previous_response", "step": "plan"}])"), d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message,
            "prompt part 1 (previous_response of step \"plan\"): not resolved: the broker puts the extracted "
            "value in `content`");
}

TEST(PromptBuilder, SessionContextRendersTheLastTurns) {
  Dirs d;
  d.sessions.seed("tutor", {{"user", "q1"}, {"assistant", "a1"}});
  d.sessions.seed("tutor", {{"user", "q2"}, {"assistant", "a2"}});
  auto p = build_prompt(parts(R"([{"type": "session_context", "session_id": "tutor", "include_last_n": 1}])"),
                        d.context);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, "Conversation so far (session \"tutor\"):\nuser: q2\nassistant: a2");
}

TEST(PromptBuilder, ASessionContextNamingNoSessionIsNotFoundNotAnEmptyConversation) {
  Dirs d;
  auto p = build_prompt(parts(R"([{"type": "session_context", "session_name": "support-chta"}])"),
                        d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kNotFound);
  EXPECT_NE(p.error().message.find("no session \"support-chta\""), std::string::npos)
      << p.error().message;
}

TEST(PromptBuilder, SessionErrorsAreNotBlamedOnTheProvider) {
  Dirs d;
  struct DownStore final : SessionStore {
    Result<Session> load(const std::string&, const HistoryWindow&,
                         const providers::CallContext&) override {
      return make_error(ErrorCode::kUnavailable, "registry down");
    }
    Result<int64_t> append(const TurnAppend&, const providers::CallContext&) override {
      return make_error(ErrorCode::kUnavailable, "registry down");
    }
    Result<int64_t> max_turn_bytes(const providers::CallContext&) override {
      return make_error(ErrorCode::kUnavailable, "registry down");
    }
  } down;
  d.context.sessions = &down;
  auto p = build_prompt(parts(R"([{"type": "session_context", "session_name": "s"}])"), d.context);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kRetryLater);
  EXPECT_NE(p.error().message.find("registry down [unavailable]"), std::string::npos);
}

TEST(PromptBuilder, EmptyAndMistypedPromptsAreInvalid) {
  Dirs d;
  EXPECT_EQ(build_prompt(Value("  \n"), d.context).error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(build_prompt(Value(5), d.context).error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(build_prompt(parts(R"([{"type": "telepathy"}])"), d.context).error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(build_prompt(parts("[3]"), d.context).error().code, ErrorCode::kInvalidInput);
}

TEST(PromptBuilder, APromptOverTheLimitIsTooLarge) {
  Dirs d;
  d.context.max_prompt_bytes = 10;
  EXPECT_EQ(build_prompt(Value(std::string(11, 'x')), d.context).error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace pl::worker::llm
