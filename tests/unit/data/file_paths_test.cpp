#include "worker/data/file_paths.h"

#include <gtest/gtest.h>

namespace pl::worker::data {
namespace {

UserPath parse(std::string_view text) {
  auto r = parse_user_path(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : UserPath{};
}

std::string refusal(std::string_view text) {
  auto r = parse_user_path(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error().message;
}

bool match(std::string_view pattern, std::string_view path) {
  return glob_match(split_segments(pattern), split_segments(path));
}

TEST(UserPath, IsRelativeToTheWorkspaceByDefault) {
  const UserPath p = parse("a/b.txt");
  EXPECT_EQ(p.root, Root::kWorkspace);
  EXPECT_EQ(p.segments, (std::vector<std::string>{"a", "b.txt"}));
  EXPECT_EQ(p.text(), "a/b.txt");
}

TEST(UserPath, DotSegmentsAndRepeatedSlashesAreDropped) {
  EXPECT_EQ(parse("./a//./b/").text(), "a/b");
  EXPECT_TRUE(parse("a/").trailing_slash);
  EXPECT_EQ(parse(".").text(), ".");
  EXPECT_TRUE(parse(".").segments.empty());
}

TEST(UserPath, TheOutputPrefixSelectsTheOutputDirectory) {
  const UserPath p = parse("output:reports/x.json");
  EXPECT_EQ(p.root, Root::kOutput);
  EXPECT_EQ(p.text(), "output:reports/x.json");
  EXPECT_EQ(parse("output:").text(), "output:");
}

TEST(UserPath, AbsolutePathsAreRefused) {
  EXPECT_EQ(refusal("/etc/passwd"),
            "path \"/etc/passwd\" is absolute; file_ops paths are relative to the workspace");
  EXPECT_EQ(refusal("output:/etc"),
            "path \"output:/etc\" is absolute; file_ops paths are relative to the output "
            "directory");
}

TEST(UserPath, DotDotIsRefusedWhereverItIs) {
  EXPECT_EQ(refusal("../x"),
            "path \"../x\" has a \"..\" segment; file_ops paths cannot leave the workspace");
  EXPECT_FALSE(parse_user_path("a/../b").ok());
  EXPECT_FALSE(parse_user_path("a/..").ok());
  EXPECT_FALSE(parse_user_path("output:../x").ok());
  EXPECT_TRUE(parse_user_path("a..b/..c").ok());
}

TEST(UserPath, EmptyNulHomeAndOverlongPathsAreRefused) {
  EXPECT_FALSE(parse_user_path("").ok());
  EXPECT_FALSE(parse_user_path(std::string_view("a\0b", 3)).ok());
  EXPECT_FALSE(parse_user_path("~/x").ok());
  EXPECT_FALSE(parse_user_path(std::string(kMaxPathBytes + 1, 'a')).ok());
}

TEST(UserPath, WildcardsAreNoticed) {
  EXPECT_TRUE(parse("src/*.py").has_wildcards);
  EXPECT_TRUE(parse("a?/b").has_wildcards);
  EXPECT_TRUE(parse("[ab]").has_wildcards);
  EXPECT_FALSE(parse("a/b").has_wildcards);
}

TEST(Glob, StarMatchesWithinOneSegment) {
  EXPECT_TRUE(match("*.py", "a.py"));
  EXPECT_FALSE(match("*.py", "d/a.py"));
  EXPECT_TRUE(match("*/*.py", "d/a.py"));
  EXPECT_FALSE(match("*.py", "a.pyc"));
}

TEST(Glob, QuestionMarksAndSets) {
  EXPECT_TRUE(match("a?.txt", "ab.txt"));
  EXPECT_FALSE(match("a?.txt", "a.txt"));
  EXPECT_TRUE(match("[ab]*", "bz"));
  EXPECT_FALSE(match("[!ab]*", "bz"));
}

TEST(Glob, DoubleStarMatchesAnyNumberOfSegments) {
  EXPECT_TRUE(match("**/*.py", "a.py"));
  EXPECT_TRUE(match("**/*.py", "x/y/z/a.py"));
  EXPECT_TRUE(match("src/**", "src/a/b"));
  EXPECT_TRUE(match("src/**/t/*.c", "src/t/x.c"));
  EXPECT_TRUE(match("src/**/t/*.c", "src/a/b/t/x.c"));
  EXPECT_FALSE(match("src/**/t/*.c", "lib/t/x.c"));
  EXPECT_TRUE(match("**/**/x", "a/x"));
}

TEST(Glob, HiddenNamesNeedADotInThePattern) {
  EXPECT_FALSE(match("*", ".env"));
  EXPECT_TRUE(match(".*", ".env"));
  EXPECT_FALSE(match("**/*.py", ".git/a.py"));
  EXPECT_TRUE(match(".git/*.py", ".git/a.py"));
  EXPECT_FALSE(match("**", ".git"));
}

TEST(Pattern, IsRelativeAndStaysInside) {
  EXPECT_TRUE(parse_pattern("**/*.py").ok());
  EXPECT_FALSE(parse_pattern("").ok());
  EXPECT_FALSE(parse_pattern("/x").ok());
  EXPECT_FALSE(parse_pattern("../*").ok());
  EXPECT_FALSE(parse_pattern("./").ok());
}

}  // namespace
}  // namespace pl::worker::data
