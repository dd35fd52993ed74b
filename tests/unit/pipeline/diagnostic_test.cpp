#include "common/pipeline/diagnostic.h"

#include <gtest/gtest.h>

#include "common/pipeline/suggest.h"

namespace pl::pipeline {
namespace {

Diagnostic make(Severity severity, std::string file, int line, int column, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.where.file = std::move(file);
  d.where.line = line;
  d.where.column = column;
  d.message = std::move(message);
  return d;
}

TEST(Diagnostic, LocationsPrintAsFileLineColumn) {
  EXPECT_EQ(to_string(SourceLocation{"a.yaml", 3, 5}), "a.yaml:3:5");
  EXPECT_EQ(to_string(SourceLocation{"a.yaml", 3, 0}), "a.yaml:3");
  EXPECT_EQ(to_string(SourceLocation{"a.yaml", 0, 0}), "a.yaml");
}

TEST(Diagnostic, FormatReadsLikeACompilerMessage) {
  EXPECT_EQ(format_diagnostic(make(Severity::kError, "hello.yaml", 3, 5,
                                   "unknown step type \"ecko\" (did you mean \"echo\"?)")),
            "hello.yaml:3:5: error: unknown step type \"ecko\" (did you mean \"echo\"?)");
  EXPECT_EQ(format_diagnostic(make(Severity::kWarning, "x.yaml", 1, 1, "careful")),
            "x.yaml:1:1: warning: careful");
}

TEST(Diagnostic, WarningsAloneAreNotErrors) {
  std::vector<Diagnostic> d{make(Severity::kWarning, "", 0, 0, "w")};
  EXPECT_FALSE(has_errors(d));
  d.push_back(make(Severity::kError, "", 0, 0, "e"));
  EXPECT_TRUE(has_errors(d));
  EXPECT_FALSE(has_errors({}));
}

TEST(Diagnostic, SortingIsByFileLineColumnAndStable) {
  std::vector<Diagnostic> d{
      make(Severity::kError, "b", 1, 1, "4"), make(Severity::kError, "a", 2, 1, "3"),
      make(Severity::kError, "a", 1, 9, "1"), make(Severity::kWarning, "a", 1, 9, "2")};
  sort_in_file_order(d);
  EXPECT_EQ(d[0].message, "1");
  EXPECT_EQ(d[1].message, "2");
  EXPECT_EQ(d[2].message, "3");
  EXPECT_EQ(d[3].message, "4");
}

TEST(Diagnostic, QuoteWrapsInDoubleQuotes) { EXPECT_EQ(quote("x y"), "\"x y\""); }

TEST(Suggest, NearestNameFindsPlausibleTypos) {
  std::vector<std::string_view> names{"echo", "claude", "for_loop", "while_loop"};
  EXPECT_EQ(nearest_name("ecko", names), "echo");
  EXPECT_EQ(nearest_name("cluade", names), "claude");
  EXPECT_EQ(nearest_name("FOR_LOOP", names), "for_loop");
  EXPECT_EQ(nearest_name("whileloop", names), "while_loop");
  EXPECT_EQ(nearest_name("zzz", names), std::nullopt);
  EXPECT_EQ(nearest_name("echo", names), std::nullopt);
}

TEST(Suggest, DidYouMeanIsEmptyWithoutACandidate) {
  std::vector<std::string> names{"prompt"};
  EXPECT_EQ(did_you_mean("promt", names), " (did you mean \"prompt\"?)");
  EXPECT_EQ(did_you_mean("xyz", names), "");
}

TEST(Suggest, EditDistanceCountsSwapsAsOneEdit) {
  EXPECT_EQ(edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(edit_distance("abc", "acb"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace pl::pipeline
