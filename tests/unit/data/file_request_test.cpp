#include "worker/data/file_request.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;

FileOpsRequest parse(std::string_view input) {
  auto r = parse_file_ops_request(json(input));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : FileOpsRequest{};
}

std::string refusal(std::string_view input) {
  auto r = parse_file_ops_request(json(input));
  EXPECT_FALSE(r.ok()) << input;
  return r.ok() ? "" : r.error().message;
}

TEST(FileRequest, CopyTakesOneOrManySourcesAndADestination) {
  FileOpsRequest r =
      parse(R"({"operation": "copy", "source": ["a", "b/*.py"], "destination": "d/"})");
  EXPECT_EQ(r.operation, FileOperation::kCopy);
  ASSERT_EQ(r.sources.size(), 2u);
  EXPECT_TRUE(r.sources[1].has_wildcards);
  EXPECT_TRUE(r.destination->trailing_slash);
  EXPECT_FALSE(r.recursive);
}

TEST(FileRequest, RequiredKeysAreNamed) {
  EXPECT_EQ(refusal(R"({"operation": "copy", "destination": "d"})"),
            "file_ops (copy): needs \"source\"");
  EXPECT_EQ(refusal(R"({"operation": "move", "source": "a"})"),
            "file_ops (move): needs \"destination\"");
  EXPECT_EQ(refusal(R"({"operation": "list"})"), "file_ops (list): needs \"path\"");
  EXPECT_EQ(refusal(R"({"operation": "validate"})"), "file_ops (validate): needs \"files\"");
  EXPECT_EQ(refusal(R"({"operation": "delete"})"),
            "file_ops (delete): needs one of \"path\", \"files\", \"source\"");
  EXPECT_EQ(refusal(R"({"operation": "convert", "source": "a", "destination": "b"})"),
            "file_ops (convert): needs \"format\" (csv_to_json or json_to_csv)");
}

TEST(FileRequest, TheOperationMustBeKnown) {
  EXPECT_EQ(refusal(R"({"operation": "cpy"})"),
            "file_ops: unknown operation \"cpy\" (did you mean \"copy\"?)");
  EXPECT_EQ(refusal(R"({"source": "a"})"),
            "file_ops needs \"operation\" (copy, move, delete, list, validate, convert)");
  EXPECT_FALSE(parse_file_ops_request(json("[1]")).ok());
}

TEST(FileRequest, KeysOfOtherOperationsAreRefused) {
  EXPECT_EQ(refusal(R"({"operation": "list", "path": ".", "destination": "x"})"),
            "file_ops (list): key \"destination\" does not apply to list");
  EXPECT_EQ(refusal(R"({"operation": "validate", "files": ["a"], "recursive": true})"),
            "file_ops (validate): key \"recursive\" does not apply to validate");
}

TEST(FileRequest, KeysOutsideTheFileOpsVocabularyAreLeftAlone) {
  EXPECT_EQ(parse(R"({"operation": "list", "path": ".", "timeout": 5})").operation,
            FileOperation::kList);
}

TEST(FileRequest, BadPathsAreRefusedWithTheKey) {
  EXPECT_EQ(refusal(R"({"operation": "list", "path": "/etc"})"),
            "file_ops (list): \"path\": path \"/etc\" is absolute; file_ops paths are relative "
            "to the workspace");
  EXPECT_EQ(refusal(R"({"operation": "copy", "source": ["a", "../b"], "destination": "d"})"),
            "file_ops (copy): \"source\": path \"../b\" has a \"..\" segment; file_ops paths "
            "cannot leave the workspace");
  EXPECT_EQ(refusal(R"({"operation": "copy", "source": "a", "destination": 3})"),
            "file_ops (copy): \"destination\" must be a path (a string), not an integer");
}

TEST(FileRequest, GlobsAreRefusedWhereOnePathIsMeant) {
  EXPECT_FALSE(
      parse_file_ops_request(json(R"({"operation": "copy", "source": "a", "destination": "d/*"})"))
          .ok());
  EXPECT_FALSE(parse_file_ops_request(json(R"({"operation": "list", "path": "*"})")).ok());
  EXPECT_FALSE(parse_file_ops_request(json(R"({"operation": "convert", "source": "*.csv",
                                              "destination": "x", "format": "csv_to_json"})"))
                   .ok());
}

TEST(FileRequest, APatternNeedsOneSourceDirectory) {
  EXPECT_EQ(refusal(R"({"operation": "copy", "source": ["a", "b"], "destination": "d",
                        "pattern": "*.py"})"),
            "file_ops (copy): with \"pattern\", \"source\" must be one directory (not a list or "
            "glob)");
  EXPECT_FALSE(parse_file_ops_request(json(R"({"operation": "list", "path": ".",
                                              "pattern": "../*"})"))
                   .ok());
  EXPECT_EQ(parse(R"({"operation": "list", "path": ".", "pattern": "**/*.py"})").pattern_text,
            "**/*.py");
}

TEST(FileRequest, DeleteGathersPathFilesAndSource) {
  FileOpsRequest r = parse(R"({"operation": "delete", "path": "a", "source": ["b", "c"],
                               "files": ["d", {"path": "e"}]})");
  std::vector<std::string> names;
  for (const UserPath& p : r.sources) names.push_back(p.text());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST(FileRequest, ValidateEntriesAreStringsOrChecks) {
  FileOpsRequest r = parse(R"({"operation": "validate", "files": ["a",
      {"path": "b", "must_be_dir": true},
      {"path": "c", "min_size": 1, "max_size": 10},
      {"path": "d", "must_exist": false}]})");
  ASSERT_EQ(r.checks.size(), 4u);
  EXPECT_TRUE(r.checks[0].must_exist);
  EXPECT_EQ(r.checks[1].must_be_dir, std::optional<bool>(true));
  EXPECT_EQ(r.checks[2].min_size, std::optional<int64_t>(1));
  EXPECT_EQ(r.checks[2].max_size, std::optional<int64_t>(10));
  EXPECT_FALSE(r.checks[3].must_exist);
}

TEST(FileRequest, BadValidateEntriesAreNamed) {
  EXPECT_EQ(refusal(R"({"operation": "validate", "files": [{"path": "a", "min_size": -1}]})"),
            "file_ops (validate): files entry 0: \"min_size\" must be a whole number of bytes, 0 "
            "or more");
  EXPECT_EQ(refusal(R"({"operation": "validate", "files": ["a", {"pth": "b"}]})"),
            "file_ops (validate): files entry 1: unknown key \"pth\" (did you mean \"path\"?)");
  EXPECT_EQ(refusal(R"({"operation": "validate", "files": [{"path": "a", "must_exist": false,
                        "must_be_dir": true}]})"),
            "file_ops (validate): files entry 0: must_exist: false cannot be combined with other "
            "checks");
  EXPECT_EQ(refusal(R"({"operation": "validate", "files": [3]})"),
            "file_ops (validate): files entry 0: must be a path or a map, not an integer");
  EXPECT_FALSE(parse_file_ops_request(json(R"({"operation": "validate", "files": []})")).ok());
  EXPECT_FALSE(
      parse_file_ops_request(json(R"({"operation": "validate", "files": ["*.txt"]})")).ok());
}

TEST(FileRequest, ConvertFormatsAreTheTwoWeSupport) {
  EXPECT_EQ(parse(R"({"operation": "convert", "source": "a.json", "destination": "b.csv",
                      "format": "json_to_csv"})")
                .format,
            Conversion::kJsonToCsv);
  EXPECT_EQ(refusal(R"({"operation": "convert", "source": "a", "destination": "b",
                        "format": "yaml_to_json"})"),
            "file_ops (convert): \"format\" must be csv_to_json or json_to_csv");
}

TEST(FileRequest, RecursiveAndPatternHaveKinds) {
  EXPECT_FALSE(
      parse_file_ops_request(json(R"({"operation": "list", "path": ".", "recursive": 1})")).ok());
  EXPECT_FALSE(
      parse_file_ops_request(json(R"({"operation": "list", "path": ".", "pattern": 1})")).ok());
}

TEST(FileRequest, TooManyPathsAreRefused) {
  Value input = json(R"({"operation": "delete"})");
  Value::Array many;
  for (size_t i = 0; i <= kMaxPathsPerStep; ++i) many.emplace_back("f" + std::to_string(i));
  input["source"] = Value(std::move(many));
  auto r = parse_file_ops_request(input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace pl::worker::data
