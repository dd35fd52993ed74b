#include "worker/llm/extraction.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace pl::worker::llm {
namespace {

Value list(std::initializer_list<const char*> items) {
  Value v = Value::array();
  for (const char* i : items) v.push_back(i);
  return v;
}

const char* kAnswer = R"(# Review

The Parser in Acme Corp's repo has issues. See https://example.com/docs, and (https://example.com/a).

- Null check missing in `parse_header`
- Loop bound off by one
1. You should add tests.

We recommend rewriting it.

```python
def f():
    raise ValueError("boom")
```

## Errors
Traceback: ValueError raised in f
)";

TEST(Extraction, JsonFormatTakesTheWholeTextWhenItIsJson) {
  auto v = find_json(R"(  {"a": [1, 2]}  )");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->find("a")->size(), 2u);
}

TEST(Extraction, JsonFormatFindsAFencedBlock) {
  auto v = find_json("Here you go:\n```json\n{\"ok\": true}\n```\nAnything else?");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->get_bool("ok"));
}

TEST(Extraction, JsonFormatFindsTheOutermostObjectInProse) {
  auto v = find_json("The answer is {\"n\": {\"m\": 1}} as requested.");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->find("n")->get_int("m"), 1);
  auto l = find_json("Items: [1, 2, 3].");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), 3u);
}

TEST(Extraction, TextWithoutJsonFailsTheStep) {
  ExtractionConfig c;
  c.format = ExtractFormat::kJson;
  auto e = extract("I cannot do that.", c);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kStepFailed);
}

TEST(Extraction, CodeBlocksKeepTheirLanguage) {
  const Value blocks = code_blocks(kAnswer);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks.as_array()[0].get_string("language"), "python");
  EXPECT_EQ(blocks.as_array()[0].get_string("code"), "def f():\n    raise ValueError(\"boom\")\n");
}

TEST(Extraction, LinksLoseTrailingPunctuationAndRepeats) {
  EXPECT_EQ(links(kAnswer), list({"https://example.com/docs", "https://example.com/a"}));
  EXPECT_EQ(links("see http://a.io/x. and http://a.io/x"), list({"http://a.io/x"}));
}

TEST(Extraction, KeyPointsAreListItemsOutsideCode) {
  EXPECT_EQ(key_points(kAnswer),
            list({"Null check missing in `parse_header`", "Loop bound off by one", "You should add tests."}));
}

TEST(Extraction, RecommendationsAreLinesThatAdvise) {
  EXPECT_EQ(recommendations(kAnswer), list({"You should add tests.", "We recommend rewriting it."}));
}

TEST(Extraction, EntitiesAreCapitalisedRunsAndCodeSpans) {
  const Value e = entities(kAnswer);
  auto has = [&](const char* s) {
    for (const Value& v : e.as_array()) {
      if (v.as_string() == s) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("Parser"));
  EXPECT_TRUE(has("Acme Corp's"));
  EXPECT_TRUE(has("parse_header"));
  EXPECT_FALSE(has("The"));
  EXPECT_FALSE(has("We"));
}

TEST(Extraction, ErrorLinesMentionFailures) {
  EXPECT_EQ(error_lines(kAnswer),
            list({"raise ValueError(\"boom\")", "## Errors", "Traceback: ValueError raised in f"}));
}

TEST(Extraction, MarkdownSectionsFollowHeadings) {
  const Value s = markdown_sections("intro\n# A\nalpha\n## B\nbeta\n```\n# not a heading\n```\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.as_array()[0].get_string("heading"), "");
  EXPECT_EQ(s.as_array()[0].get_int("level"), 0);
  EXPECT_EQ(s.as_array()[1].get_string("heading"), "A");
  EXPECT_EQ(s.as_array()[1].get_string("content"), "alpha");
  EXPECT_EQ(s.as_array()[2].get_int("level"), 2);
  EXPECT_EQ(s.as_array()[2].get_string("content"), "beta\n```\n# not a heading\n```");
}

TEST(Extraction, SummariesAreCutAtAWordWithinTheLimit) {
  EXPECT_EQ(summary_of("short", 100), "short");
  const std::string s = summary_of("the quick brown fox jumps over the lazy dog", 20);
  EXPECT_EQ(s, "the quick brown...");
  EXPECT_LE(s.size(), 20u);
}

TEST(Extraction, SummariesCountCharactersNotBytes) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "é";
  const std::string s = summary_of(text, 10);
  EXPECT_EQ(s, "ééééééé...");
}

TEST(Extraction, ConfigIsReadAndCheckedAndPostProcessingFillsExtracted) {
  auto c = read_extraction_config(*parse_json(
      R"({"format": "markdown", "post_processing": ["extract_links", "extract_code_blocks"], "include_metadata": true})"));
  ASSERT_TRUE(c.ok());
  auto e = extract(kAnswer, *c);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->extracted.find("links")->size(), 2u);
  EXPECT_EQ(e->extracted.find("code_blocks")->size(), 1u);
  EXPECT_TRUE(e->extracted.find("sections"));
  EXPECT_EQ(e->metadata.get_string("format"), "markdown");
  EXPECT_EQ(e->metadata.find("post_processing")->size(), 2u);
  EXPECT_FALSE(read_extraction_config(*parse_json(R"({"format": "xml"})")).ok());
  EXPECT_FALSE(read_extraction_config(*parse_json(R"({"post_processing": ["extract_magic"]})")).ok());
}

TEST(Extraction, FormatInstructionsTellTheModelWhatToWrite) {
  ExtractionConfig c;
  EXPECT_EQ(format_instruction(c), "");
  c.format = ExtractFormat::kJson;
  EXPECT_NE(format_instruction(c).find("JSON"), std::string::npos);
  c.format = ExtractFormat::kSummary;
  c.max_summary_length = 300;
  EXPECT_NE(format_instruction(c).find("300 characters"), std::string::npos);
}

}  // namespace
}  // namespace pl::worker::llm
