#include "worker/data/file_operations.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>

#include "fs_fixture.h"
#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;
namespace fs = std::filesystem;
using Names = std::vector<std::string>;

class FileOpsTest : public testing::FsTest {
 protected:
  Result<Value> run(std::string_view input) {
    auto request = parse_file_ops_request(json(input));
    if (!request.ok()) return request.error();
    return run_file_operation(*request, workspace(), limits_);
  }
  Value ok(std::string_view input) {
    auto r = run(input);
    EXPECT_TRUE(r.ok()) << input << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Value();
  }
  Error fails(std::string_view input) {
    auto r = run(input);
    EXPECT_FALSE(r.ok()) << input << " gave " << (r.ok() ? to_json(*r) : "");
    return r.ok() ? Error{} : r.error();
  }
  FileOpsLimits limits_;
};

// ---- copy ----

TEST_F(FileOpsTest, CopyCopiesAFileToANewName) {
  write("a.txt", "hello");
  Value r = ok(R"({"operation": "copy", "source": "a.txt", "destination": "b/c.txt"})");
  EXPECT_EQ(read("b/c.txt"), "hello");
  EXPECT_EQ(read("a.txt"), "hello");
  EXPECT_EQ(r, json(R"({"operation": "copy", "copied": [{"source": "a.txt",
                        "destination": "b/c.txt"}], "files": 1, "bytes": 5})"));
}

TEST_F(FileOpsTest, CopyKeepsTheFileMode) {
  write("run.sh", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((ws_ / "run.sh").c_str(), 0755), 0);
  ok(R"({"operation": "copy", "source": "run.sh", "destination": "bin/run.sh"})");
  struct stat st {};
  ASSERT_EQ(::stat((ws_ / "bin/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0111u);
}

// "File modes are kept" holds under any umask: a group-writable file stays group-writable
// under the common 022, and an executable stays executable for all under 077.
TEST_F(FileOpsTest, CopyKeepsTheFileModeWhateverTheUmask) {
  write("shared.sh", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((ws_ / "shared.sh").c_str(), 0775), 0);
  const mode_t before = ::umask(077);
  ok(R"({"operation": "copy", "source": "shared.sh", "destination": "copy.sh"})");
  ::umask(before);
  struct stat st {};
  ASSERT_EQ(::stat((ws_ / "copy.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0775u);
}

TEST_F(FileOpsTest, CopyGoesIntoAnExistingDirectoryOrOneNamedWithASlash) {
  write("a.txt", "x");
  mkdir("d");
  ok(R"({"operation": "copy", "source": "a.txt", "destination": "d"})");
  ok(R"({"operation": "copy", "source": "a.txt", "destination": "new/"})");
  EXPECT_EQ(read("d/a.txt"), "x");
  EXPECT_EQ(read("new/a.txt"), "x");
}

TEST_F(FileOpsTest, CopyReplacesAnExistingFile) {
  write("a.txt", "new");
  write("b.txt", "old");
  ok(R"({"operation": "copy", "source": "a.txt", "destination": "b.txt"})");
  EXPECT_EQ(read("b.txt"), "new");
}

TEST_F(FileOpsTest, CopyOfSeveralSourcesAndGlobsFillsADirectory) {
  write("src/a.py", "a");
  write("src/b.py", "b");
  write("src/c.txt", "c");
  write("tests/t.py", "t");
  Value r = ok(R"({"operation": "copy", "source": ["src/*.py", "tests/t.py"],
                   "destination": "out"})");
  EXPECT_EQ(tree(ws_ / "out"), (Names{"a.py", "b.py", "t.py"}));
  EXPECT_EQ(r.get_int("files"), 3);
}

// A list of one (a template rendered from data, say) still means "into this directory".
TEST_F(FileOpsTest, CopyOfAListOfOneSourceGoesIntoTheDestinationDirectory) {
  write("in/one.txt", "1");
  Value r = ok(R"({"operation": "copy", "source": ["in/one.txt"], "destination": "backup"})");
  EXPECT_EQ(tree(ws_ / "backup"), (Names{"one.txt"}));
  EXPECT_EQ(r.find("copied")->as_array().front().get_string("destination"), "backup/one.txt");
}

TEST_F(FileOpsTest, MoveOfAListOfOneSourceGoesIntoTheDestinationDirectory) {
  write("in/one.txt", "1");
  ok(R"({"operation": "move", "source": ["in/one.txt"], "destination": "backup"})");
  EXPECT_EQ(tree(ws_ / "backup"), (Names{"one.txt"}));
  EXPECT_FALSE(exists("in/one.txt"));
}

TEST_F(FileOpsTest, CopyOfAListOfOneSourceRefusesAFileAsTheDestination) {
  write("in/one.txt", "1");
  write("backup", "a file");
  EXPECT_EQ(
      fails(R"({"operation": "copy", "source": ["in/one.txt"], "destination": "backup"})").message,
      "file_ops (copy): destination \"backup\" is not a directory");
}

TEST_F(FileOpsTest, CopyWithAPatternKeepsRelativePaths) {
  write("src/a.py", "a");
  write("src/pkg/b.py", "b");
  write("src/pkg/c.txt", "c");
  write("src/.hidden/d.py", "d");
  ok(R"({"operation": "copy", "source": "src", "pattern": "*.py", "recursive": true,
         "destination": "py"})");
  EXPECT_EQ(tree(ws_ / "py"), (Names{"a.py", "pkg", "pkg/b.py"}));
  ok(R"({"operation": "copy", "source": "src", "pattern": "*.py", "destination": "top"})");
  EXPECT_EQ(tree(ws_ / "top"), (Names{"a.py"}));
}

TEST_F(FileOpsTest, CopyOfADirectoryNeedsRecursive) {
  write("d/x.txt", "x");
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "d", "destination": "e"})").message,
            "file_ops (copy): \"d\" is a directory; copying one needs recursive: true");
  EXPECT_FALSE(exists("e"));
  ok(R"({"operation": "copy", "source": "d", "destination": "e", "recursive": true})");
  EXPECT_EQ(tree(ws_ / "e"), (Names{"x.txt"}));
}

TEST_F(FileOpsTest, CopyOfATreeCopiesEverythingInIt) {
  write("d/x.txt", "x");
  write("d/s/y.txt", "y");
  mkdir("d/empty");
  Value r = ok(R"({"operation": "copy", "source": "d", "destination": "output:backup",
                   "recursive": true})");
  EXPECT_EQ(tree(out_ / "backup"), (Names{"empty", "s", "s/y.txt", "x.txt"}));
  EXPECT_EQ(r.get_int("files"), 2);
  EXPECT_EQ(r.get_int("bytes"), 2);
}

TEST_F(FileOpsTest, ACopyOrMoveIntoTheOutputDirectoryMakesItWhenNothingWasWrittenThereYet) {
  // docs/data-steps.md's example: the run's output directory exists only once written to.
  write("d/x.txt", "x");
  write("m.txt", "m");
  fs::remove_all(out_);
  ok(R"({"operation": "copy", "source": "d", "destination": "output:backup", "recursive": true})");
  EXPECT_EQ(tree(out_ / "backup"), (Names{"x.txt"}));
  fs::remove_all(out_);
  ok(R"({"operation": "move", "source": ["m.txt"], "destination": "output:moved"})");
  EXPECT_EQ(tree(out_ / "moved"), (Names{"m.txt"}));
}

TEST_F(FileOpsTest, CopyFollowsLinksInsideAndRefusesLinksOutside) {
  write("d/x.txt", "x");
  write("target.txt", "through a link");
  link("../target.txt", "d/inside");
  ok(R"({"operation": "copy", "source": "d", "destination": "e", "recursive": true})");
  EXPECT_EQ(read("e/inside"), "through a link");
  EXPECT_FALSE(fs::is_symlink(ws_ / "e/inside"));

  link((outside_ / "secret.txt").string(), "d/leak");
  Error e = fails(R"({"operation": "copy", "source": "d", "destination": "f", "recursive": true})");
  EXPECT_EQ(e.message,
            "file_ops (copy): path \"d/leak\" leads outside the workspace through a symbolic link");
  EXPECT_FALSE(exists("f"));
}

TEST_F(FileOpsTest, CopySkipsADanglingLinkInsideADirectoryAndSaysSo) {
  write("d/x.txt", "x");
  link("not-yet.txt", "d/later");
  Value r = ok(R"({"operation": "copy", "source": "d", "destination": "e", "recursive": true})");
  EXPECT_EQ(tree(ws_ / "e"), (Names{"x.txt"}));
  EXPECT_EQ(r.get_int("files"), 1);
  EXPECT_EQ(*r.find("skipped"), json(R"([{"path": "d/later",
                                          "reason": "a dangling symbolic link"}])"));
  // Named as the source itself, it is a missing source.
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "d/later", "destination": "f"})").code,
            ErrorCode::kNotFound);
}

TEST_F(FileOpsTest, CopyOfALinkLoopIsBounded) {
  mkdir("d");
  link(".", "d/again");
  limits_.max_depth = 5;
  Error e = fails(R"({"operation": "copy", "source": "d", "destination": "e", "recursive": true})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.message;
  EXPECT_FALSE(exists("e"));
}

TEST_F(FileOpsTest, CopyIntoItselfIsRefused) {
  write("d/x.txt", "x");
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "d", "destination": "d/sub",
                      "recursive": true})")
                .message,
            "file_ops (copy): cannot copy \"d\" into itself (\"d/sub\")");
  EXPECT_FALSE(fails(R"({"operation": "copy", "source": "d/x.txt", "destination": "d/x.txt"})")
                   .message.empty());
}

TEST_F(FileOpsTest, CopyWithNothingToCopyIsNotFound) {
  Error e = fails(R"({"operation": "copy", "source": "*.none", "destination": "d"})");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "file_ops (copy): source \"*.none\" matches nothing");
  e = fails(R"({"operation": "copy", "source": "missing.txt", "destination": "d"})");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "file_ops (copy): \"missing.txt\" does not exist");
}

TEST_F(FileOpsTest, CopyRefusesTwoSourcesWithOneDestination) {
  write("a/x.txt", "1");
  write("b/x.txt", "2");
  EXPECT_EQ(fails(R"({"operation": "copy", "source": ["a/x.txt", "b/x.txt"],
                      "destination": "d"})")
                .message,
            "file_ops (copy): two sources would both go to \"d/x.txt\"");
  EXPECT_FALSE(exists("d"));
}

TEST_F(FileOpsTest, CopyThroughADestinationLinkToOutsideIsRefused) {
  write("a.txt", "x");
  link(outside_.string(), "d");
  EXPECT_FALSE(fails(R"({"operation": "copy", "source": "a.txt", "destination": "d/a.txt"})")
                   .message.empty());
  EXPECT_FALSE(exists(outside_ / "a.txt"));
}

TEST_F(FileOpsTest, CopyRefusesEscapesInTheRequest) {
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "../outside/secret.txt",
                      "destination": "s"})")
                .code,
            ErrorCode::kInvalidInput);
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "/etc/hostname", "destination": "s"})").code,
            ErrorCode::kInvalidInput);
  link("/etc", "etc");
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "etc/hostname", "destination": "s"})").code,
            ErrorCode::kInvalidInput);
  EXPECT_FALSE(exists("s"));
}

TEST_F(FileOpsTest, CopyRefusesFilesOverTheSizeLimitBeforeWritingAnything) {
  write("small.txt", "12");
  write("big.txt", std::string(100, 'x'));
  limits_.max_file_bytes = 50;
  Error e = fails(R"({"operation": "copy", "source": ["small.txt", "big.txt"],
                      "destination": "d"})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message,
            "file_ops (copy): \"big.txt\" is 100 bytes, over the limit of 50 bytes per file");
  EXPECT_FALSE(exists("d"));
}

TEST_F(FileOpsTest, CopyRefusesMoreEntriesThanTheLimit) {
  for (int i = 0; i < 5; ++i) write("d/f" + std::to_string(i), "x");
  limits_.max_entries = 4;
  Error e = fails(R"({"operation": "copy", "source": "d", "destination": "e", "recursive": true})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_FALSE(exists("e"));
}

TEST_F(FileOpsTest, CopyRefusesSpecialFiles) {
  ASSERT_EQ(::mkfifo((ws_ / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(fails(R"({"operation": "copy", "source": "fifo", "destination": "x"})").message,
            "file_ops (copy): \"fifo\" is not a regular file or a directory");
}

// ---- move ----

TEST_F(FileOpsTest, MoveRenamesAFile) {
  write("a.txt", "x");
  Value r = ok(R"({"operation": "move", "source": "a.txt", "destination": "b/a2.txt"})");
  EXPECT_FALSE(exists("a.txt"));
  EXPECT_EQ(read("b/a2.txt"), "x");
  EXPECT_EQ(r, json(R"({"operation": "move", "moved": [{"source": "a.txt",
                        "destination": "b/a2.txt"}], "count": 1})"));
}

TEST_F(FileOpsTest, MoveMovesADirectoryWholeAndGlobsIntoADirectory) {
  write("d/x.txt", "x");
  ok(R"({"operation": "move", "source": "d", "destination": "e"})");
  EXPECT_EQ(tree(ws_ / "e"), (Names{"x.txt"}));
  write("t/a.tmp", "1");
  write("t/b.tmp", "2");
  ok(R"({"operation": "move", "source": "t/*.tmp", "destination": "output:tmp"})");
  EXPECT_EQ(tree(out_ / "tmp"), (Names{"a.tmp", "b.tmp"}));
  EXPECT_EQ(tree(ws_ / "t"), Names{});
}

// A rename that always fails as it does between two file systems.
int cross_device_rename(const fs::path&, const fs::path&) {
  errno = EXDEV;
  return -1;
}

TEST_F(FileOpsTest, AMoveAcrossFileSystemsCopiesAWholeDirectoryThenDeletesIt) {
  write("d/x.txt", "x");
  write("d/s/y.txt", "y");
  auto request = parse_file_ops_request(
      json(R"({"operation": "move", "source": "d", "destination": "output:d"})"));
  ASSERT_TRUE(request.ok());
  auto r = run_file_operation(*request, workspace(), limits_, {}, cross_device_rename);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(tree(out_ / "d"), (Names{"s", "s/y.txt", "x.txt"}));
  EXPECT_FALSE(exists("d"));
}

TEST_F(FileOpsTest, AMoveAcrossFileSystemsChecksTheLimitsBeforeCopying) {
  write("d/small.txt", "x");
  write("d/big.txt", "12345");
  limits_.max_file_bytes = 4;
  auto request = parse_file_ops_request(
      json(R"({"operation": "move", "source": "d", "destination": "output:d"})"));
  ASSERT_TRUE(request.ok());
  auto r = run_file_operation(*request, workspace(), limits_, {}, cross_device_rename);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge) << r.error().message;
  EXPECT_FALSE(exists(out_ / "d"));
  EXPECT_EQ(tree(ws_ / "d"), (Names{"big.txt", "small.txt"}));
}

TEST_F(FileOpsTest, MoveRefusesLinksAndDirectoriesHoldingThem) {
  write("a.txt", "x");
  link("a.txt", "l");
  EXPECT_EQ(fails(R"({"operation": "move", "source": "l", "destination": "m"})").message,
            "file_ops (move): \"l\" is a symbolic link; move does not move links (a relative link "
            "would point elsewhere); copy it instead");
  write("d/x.txt", "x");
  link("x.txt", "d/ln");
  EXPECT_EQ(fails(R"({"operation": "move", "source": "d", "destination": "e"})").message,
            "file_ops (move): \"d\" holds the symbolic link \"d/ln\"; move refuses directories "
            "with links (copy instead)");
  EXPECT_TRUE(exists("d/x.txt"));
}

TEST_F(FileOpsTest, MoveRefusesTheWorkspaceAndMovesIntoItself) {
  EXPECT_EQ(fails(R"({"operation": "move", "source": ".", "destination": "output:ws"})").message,
            "file_ops (move): refusing to move \".\": it is the workspace");
  write("d/x", "x");
  EXPECT_EQ(fails(R"({"operation": "move", "source": "d", "destination": "d/e"})").message,
            "file_ops (move): cannot move \"d\" into itself");
}

TEST_F(FileOpsTest, MoveRefusesALinkToOutside) {
  link((outside_ / "secret.txt").string(), "s");
  EXPECT_EQ(fails(R"({"operation": "move", "source": "s", "destination": "t"})").code,
            ErrorCode::kInvalidInput);
  EXPECT_TRUE(exists(outside_ / "secret.txt"));
}

// ---- delete ----

TEST_F(FileOpsTest, DeleteRemovesFilesAndEmptyDirectories) {
  write("a.txt", "x");
  mkdir("empty");
  Value r = ok(R"({"operation": "delete", "files": ["a.txt", "empty"]})");
  EXPECT_FALSE(exists("a.txt"));
  EXPECT_FALSE(exists("empty"));
  EXPECT_EQ(r, json(R"({"operation": "delete", "deleted": ["a.txt", "empty"], "count": 2})"));
}

TEST_F(FileOpsTest, DeleteOfANonEmptyDirectoryNeedsRecursive) {
  write("d/x/y.txt", "x");
  EXPECT_EQ(fails(R"({"operation": "delete", "path": "d"})").message,
            "file_ops (delete): \"d\" is a directory that is not empty; deleting it needs "
            "recursive: true");
  EXPECT_TRUE(exists("d/x/y.txt"));
  ok(R"({"operation": "delete", "path": "d", "recursive": true})");
  EXPECT_FALSE(exists("d"));
}

TEST_F(FileOpsTest, DeleteNeverRemovesTheWorkspaceOrTheOutputDirectory) {
  write("keep.txt", "x");
  EXPECT_EQ(fails(R"({"operation": "delete", "path": ".", "recursive": true})").message,
            "file_ops (delete): refusing to delete \".\": it is the workspace");
  EXPECT_EQ(fails(R"({"operation": "delete", "path": "output:", "recursive": true})").message,
            "file_ops (delete): refusing to delete \"output:\": it is the output directory");
  EXPECT_TRUE(exists("keep.txt"));
  EXPECT_TRUE(exists(out_));
}

TEST_F(FileOpsTest, DeleteNeverRemovesADirectoryHoldingTheOutputDirectory) {
  mkdir("nested/out");
  Workspace inside(ws_, ws_ / "nested/out");
  auto request = parse_file_ops_request(json(R"({"operation": "delete", "path": "nested",
                                                 "recursive": true})"));
  ASSERT_TRUE(request.ok());
  auto r = run_file_operation(*request, inside);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "file_ops (delete): refusing to delete \"nested\": it holds the workspace or the "
            "output directory");
  EXPECT_TRUE(exists("nested/out"));
}

TEST_F(FileOpsTest, DeleteRemovesALinkNotItsTarget) {
  write("t.txt", "x");
  link("t.txt", "l");
  write("dir/in.txt", "y");
  link("dir", "dl");
  ok(R"({"operation": "delete", "files": ["l", "dl"]})");
  EXPECT_FALSE(exists("l"));
  EXPECT_FALSE(exists("dl"));
  EXPECT_EQ(read("t.txt"), "x");
  EXPECT_EQ(read("dir/in.txt"), "y");
}

TEST_F(FileOpsTest, DeleteInsideATreeDoesNotFollowLinksOut) {
  write("d/x.txt", "x");
  link(outside_.string(), "d/out");
  // Given by name, or inside a recursive delete, the link is only unlinked.
  link(outside_.string(), "d/out2");
  ok(R"({"operation": "delete", "path": "d/out2"})");
  EXPECT_FALSE(fs::exists(fs::symlink_status(ws_ / "d" / "out2")));
  ok(R"({"operation": "delete", "path": "d", "recursive": true})");
  EXPECT_FALSE(exists("d"));
  EXPECT_EQ(pl::test::read_text(outside_ / "secret.txt"), "secret");
}

TEST_F(FileOpsTest, DeleteRefusesEscapes) {
  link("/etc", "etc");
  link("../outside", "up");
  for (const char* input : {R"({"operation": "delete", "path": "etc/passwd"})",
                            R"({"operation": "delete", "path": "up/secret.txt"})",
                            R"({"operation": "delete", "path": "../outside/secret.txt"})",
                            R"({"operation": "delete", "path": "/tmp"})"}) {
    EXPECT_EQ(fails(input).code, ErrorCode::kInvalidInput) << input;
  }
  ok(R"({"operation": "delete", "path": "up"})");  // the link only
  EXPECT_EQ(pl::test::read_text(outside_ / "secret.txt"), "secret");
}

TEST_F(FileOpsTest, DeleteOfAGlobThatMatchesNothingDeletesNothing) {
  Value r = ok(R"({"operation": "delete", "files": ["tmp/*.tmp"]})");
  EXPECT_EQ(r.get_int("count"), 0);
  EXPECT_EQ(fails(R"({"operation": "delete", "path": "nope.txt"})").code, ErrorCode::kNotFound);
}

TEST_F(FileOpsTest, DeleteWithAPatternRemovesMatchingFiles) {
  write("c/a.tmp", "1");
  write("c/s/b.tmp", "2");
  write("c/keep.txt", "3");
  Value r = ok(R"({"operation": "delete", "path": "c", "pattern": "*.tmp", "recursive": true})");
  EXPECT_EQ(tree(ws_ / "c"), (Names{"keep.txt", "s"}));
  EXPECT_EQ(r.get_int("count"), 2);
}

// ---- list ----

TEST_F(FileOpsTest, ListGivesPathSizeAndTypeSorted) {
  write("d/b.txt", "12345");
  write("d/a.txt", "1");
  mkdir("d/sub");
  write("d/sub/deep.txt", "x");
  link("a.txt", "d/ln");
  Value r = ok(R"({"operation": "list", "path": "d"})");
  EXPECT_EQ(r.get_string("path"), "d");
  EXPECT_EQ(r.get_int("count"), 4);
  const Value& files = *r.find("files");
  EXPECT_EQ(files.as_array()[0], json(R"({"path": "d/a.txt", "size": 1, "type": "file"})"));
  EXPECT_EQ(files.as_array()[1], json(R"({"path": "d/b.txt", "size": 5, "type": "file"})"));
  EXPECT_EQ(files.as_array()[2].get_string("type"), "symlink");
  EXPECT_EQ(files.as_array()[3], json(R"({"path": "d/sub", "size": 0, "type": "directory"})"));
}

std::vector<std::string> paths_of(const Value& listing) {
  std::vector<std::string> out;
  for (const Value& f : listing.find("files")->as_array()) out.push_back(f.get_string("path"));
  return out;
}

TEST_F(FileOpsTest, ListRecursesAndFiltersWithAPattern) {
  write("a.py", "");
  write("pkg/b.py", "");
  write("pkg/c.txt", "");
  write(".git/d.py", "");
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": ".", "recursive": true})")),
            (Names{".git", ".git/d.py", "a.py", "pkg", "pkg/b.py", "pkg/c.txt"}));
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": ".", "pattern": "*.py",
                            "recursive": true})")),
            (Names{"a.py", "pkg/b.py"}));
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": ".", "pattern": "*.py"})")),
            (Names{"a.py"}));
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": ".", "pattern": "pkg/*",
                            "recursive": true})")),
            (Names{"pkg/b.py", "pkg/c.txt"}));
}

TEST_F(FileOpsTest, APatternWithASlashReachesAsDeepAsItsSegmentsWithoutRecursive) {
  write("a.py", "");
  write("pkg/b.py", "");
  write("pkg/sub/c.py", "");
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": ".", "pattern": "pkg/*.py"})")),
            (Names{"pkg/b.py"}));
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": ".", "pattern": "*/*/*.py"})")),
            (Names{"pkg/sub/c.py"}));
  Value r = ok(R"({"operation": "delete", "path": ".", "pattern": "pkg/*.py"})");
  EXPECT_EQ(r.get_int("count"), 1);
  EXPECT_FALSE(exists("pkg/b.py"));
  EXPECT_TRUE(exists("pkg/sub/c.py"));
}

TEST_F(FileOpsTest, ListDoesNotFollowLinksIntoOtherPlaces) {
  link(outside_.string(), "out-link");
  Value r = ok(R"({"operation": "list", "path": ".", "recursive": true})");
  EXPECT_EQ(paths_of(r), (Names{"out-link"}));
  EXPECT_EQ(fails(R"({"operation": "list", "path": "out-link"})").code, ErrorCode::kInvalidInput);
}

TEST_F(FileOpsTest, ListOfTheOutputDirectory) {
  write(out_ / "r.json", "{}");
  EXPECT_EQ(paths_of(ok(R"({"operation": "list", "path": "output:"})")), (Names{"output:r.json"}));
}

TEST_F(FileOpsTest, ListNeedsAnExistingDirectory) {
  write("f.txt", "x");
  EXPECT_EQ(fails(R"({"operation": "list", "path": "f.txt"})").message,
            "file_ops (list): \"f.txt\" is not a directory");
  EXPECT_EQ(fails(R"({"operation": "list", "path": "nope"})").code, ErrorCode::kNotFound);
}

TEST_F(FileOpsTest, ListIsBoundedAndSaysSo) {
  for (int i = 0; i < 6; ++i) write("d/f" + std::to_string(i), "");
  limits_.max_entries = 5;
  Error e = fails(R"({"operation": "list", "path": "d"})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message,
            "file_ops (list): more than 5 entries match (the limit); narrow the listing with "
            "\"pattern\"");
  EXPECT_EQ(ok(R"({"operation": "list", "path": "d", "pattern": "f[0-2]"})").get_int("count"), 3);
}

TEST_F(FileOpsTest, ListRefusesTreesDeeperThanTheLimit) {
  write("a/b/c/d/e.txt", "");
  limits_.max_depth = 3;
  EXPECT_EQ(fails(R"({"operation": "list", "path": ".", "recursive": true})").code,
            ErrorCode::kTooLarge);
}

// ---- validate ----

TEST_F(FileOpsTest, ValidatePassesWhenEveryCheckHolds) {
  write("config/app.yaml", std::string(120, 'x'));
  mkdir("out");
  Value r = ok(R"({"operation": "validate", "files": [
      "config/app.yaml",
      {"path": "config/app.yaml", "must_exist": true, "min_size": 100, "max_size": 200},
      {"path": "out", "must_be_dir": true},
      {"path": "gone", "must_exist": false}]})");
  EXPECT_EQ(*r.find("valid"), Value(true));
  EXPECT_EQ(r.find("results")->as_array()[0],
            json(R"({"path": "config/app.yaml", "exists": true, "type": "file", "size": 120,
                     "valid": true})"));
}

TEST_F(FileOpsTest, ValidateFailsTheStepListingEveryProblem) {
  write("small.txt", "12");
  write("file.txt", "x");
  Error e = fails(R"({"operation": "validate", "files": [
      "missing.txt",
      {"path": "small.txt", "min_size": 10},
      {"path": "file.txt", "must_be_dir": true},
      {"path": "file.txt", "must_exist": false},
      {"path": "small.txt", "max_size": 1}]})");
  EXPECT_EQ(e.code, ErrorCode::kStepFailed);
  EXPECT_EQ(e.message,
            "file_ops (validate): 5 problems in 5 checks: \"missing.txt\" does not exist; "
            "\"small.txt\" is 2 bytes, under min_size 10; \"file.txt\" is not a directory; "
            "\"file.txt\" exists but must not; \"small.txt\" is 2 bytes, over max_size 1");
}

TEST_F(FileOpsTest, ValidateSizeChecksNeedARegularFile) {
  mkdir("d");
  EXPECT_EQ(fails(R"({"operation": "validate", "files": [{"path": "d", "min_size": 0}]})").message,
            "file_ops (validate): 1 problem in 1 check: \"d\" is not a regular file (min_size and "
            "max_size are for files)");
}

TEST_F(FileOpsTest, ValidateRefusesEscapesRatherThanReportingThem) {
  link("/etc", "etc");
  Error e = fails(R"({"operation": "validate", "files": ["etc/passwd"]})");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.message,
            "file_ops (validate): files entry 0: path \"etc/passwd\" leads outside the workspace "
            "through a symbolic link");
}

// ---- convert ----

TEST_F(FileOpsTest, ConvertCsvToJson) {
  write("data.csv", "id,name\r\n1,\"Smith, J\"\r\n2,\"multi\nline\"\r\n");
  Value r = ok(R"({"operation": "convert", "source": "data.csv", "destination": "output:data.json",
                   "format": "csv_to_json"})");
  EXPECT_EQ(r, json(R"({"operation": "convert", "format": "csv_to_json", "source": "data.csv",
                        "destination": "output:data.json", "records": 2})"));
  EXPECT_EQ(json(pl::test::read_text(out_ / "data.json")),
            json(R"([{"id": "1", "name": "Smith, J"}, {"id": "2", "name": "multi\nline"}])"));
  EXPECT_EQ(tree(out_), (Names{"data.json"}));  // no temporary file left behind
}

TEST_F(FileOpsTest, ConvertJsonToCsv) {
  write("in.json", R"([{"a": 1, "b": "x,y"}, {"a": 2}])");
  ok(R"({"operation": "convert", "source": "in.json", "destination": "out.csv",
         "format": "json_to_csv"})");
  EXPECT_EQ(read("out.csv"), "a,b\r\n1,\"x,y\"\r\n2,\r\n");
}

TEST_F(FileOpsTest, ConvertNamesTheFileLineAndColumnOfBadCsv) {
  write("bad.csv", "a,b\n1,\"x\"y\n");
  Error e = fails(R"({"operation": "convert", "source": "bad.csv", "destination": "o.json",
                      "format": "csv_to_json"})");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.message,
            "file_ops (convert): csv_to_json \"bad.csv\": line 2, column 6: \"y\" after a closing "
            "quote; expected a comma or the end of the line");
  EXPECT_FALSE(exists("o.json"));
  write("ragged.csv", "a,b\n1\n");
  EXPECT_EQ(fails(R"({"operation": "convert", "source": "ragged.csv", "destination": "o.json",
                      "format": "csv_to_json"})")
                .message,
            "file_ops (convert): csv_to_json \"ragged.csv\": line 2: record 1 has 1 field, the "
            "header has 2");
}

TEST_F(FileOpsTest, ConvertNamesBadJson) {
  write("bad.json", "[{\"a\": 1},");
  Error e = fails(R"({"operation": "convert", "source": "bad.json", "destination": "o.csv",
                      "format": "json_to_csv"})");
  EXPECT_EQ(e.message.rfind("file_ops (convert): json_to_csv \"bad.json\": ", 0), 0u) << e.message;
  EXPECT_NE(e.message.find("line 1, column 11"), std::string::npos) << e.message;
  write("obj.json", R"({"a": 1})");
  EXPECT_EQ(fails(R"({"operation": "convert", "source": "obj.json", "destination": "o.csv",
                      "format": "json_to_csv"})")
                .message,
            "file_ops (convert): json_to_csv \"obj.json\": json_to_csv needs a list of maps, not a "
            "map");
}

TEST_F(FileOpsTest, ConvertIsBoundedBySize) {
  write("big.csv", "a\n" + std::string(200, 'x') + "\n");
  limits_.max_file_bytes = 100;
  Error e = fails(R"({"operation": "convert", "source": "big.csv", "destination": "o.json",
                      "format": "csv_to_json"})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message,
            "file_ops (convert): \"big.csv\" is 203 bytes, over the limit of 100 bytes per file");
}

// A wide header over empty rows: every record repeats every column name, so the JSON is many
// times the CSV. The output is bounded like the input, and nothing is left behind.
TEST_F(FileOpsTest, ConvertRefusesAnOutputOverTheLimitAndLeavesNoFile) {
  std::string csv = "a_long_column_name,another_long_column_name\n";
  for (int i = 0; i < 20; ++i) csv += ",\n";
  write("wide.csv", csv);
  limits_.max_file_bytes = 1000;
  ASSERT_LT(csv.size(), 1000u);
  Error e = fails(R"({"operation": "convert", "source": "wide.csv", "destination": "out/w.json",
                      "format": "csv_to_json"})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message,
            "file_ops (convert): csv_to_json \"wide.csv\": the output \"out/w.json\" would be "
            "over the limit of 1000 bytes per file; nothing was written");
  EXPECT_EQ(tree(ws_ / "out"), Names{});  // no temporary file either
}

TEST_F(FileOpsTest, ConvertJsonToCsvIsBoundedToo) {
  // Each map adds a column that every other row then writes empty.
  std::string json_text = "[";
  for (int i = 0; i < 30; ++i)
    json_text += std::string(i ? "," : "") + "{\"k" + std::to_string(i) + "\": 1}";
  write("sparse.json", json_text + "]");
  limits_.max_file_bytes = 600;
  Error e = fails(R"({"operation": "convert", "source": "sparse.json", "destination": "s.csv",
                      "format": "json_to_csv"})");
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_FALSE(exists("s.csv"));
}

TEST_F(FileOpsTest, ConvertReplacesAnExistingDestinationOnlyWhenItSucceeds) {
  std::string csv = "a_long_column_name\n";
  for (int i = 0; i < 20; ++i) csv += "x\n";
  write("wide.csv", csv);
  write("keep.json", "old");
  limits_.max_file_bytes = 100;
  fails(R"({"operation": "convert", "source": "wide.csv", "destination": "keep.json",
            "format": "csv_to_json"})");
  EXPECT_EQ(read("keep.json"), "old");
}

TEST_F(FileOpsTest, ConvertRefusesMissingSourcesDirectoriesAndOutsideLinks) {
  EXPECT_EQ(fails(R"({"operation": "convert", "source": "none.csv", "destination": "o.json",
                      "format": "csv_to_json"})")
                .code,
            ErrorCode::kNotFound);
  write("a.csv", "a\n1\n");
  mkdir("dir");
  EXPECT_EQ(fails(R"({"operation": "convert", "source": "a.csv", "destination": "dir",
                      "format": "csv_to_json"})")
                .message,
            "file_ops (convert): destination \"dir\" is a directory");
  link((outside_ / "secret.txt").string(), "s.csv");
  EXPECT_EQ(fails(R"({"operation": "convert", "source": "s.csv", "destination": "o.json",
                      "format": "csv_to_json"})")
                .code,
            ErrorCode::kInvalidInput);
  link(outside_.string(), "od");
  EXPECT_EQ(fails(R"({"operation": "convert", "source": "a.csv", "destination": "od/x.json",
                      "format": "csv_to_json"})")
                .code,
            ErrorCode::kInvalidInput);
  EXPECT_FALSE(exists(outside_ / "x.json"));
}

TEST_F(FileOpsTest, AStopRequestEndsAWalkWithCancelled) {
  for (int i = 0; i < 3; ++i) write("d/f" + std::to_string(i), "");
  auto request = parse_file_ops_request(json(R"({"operation": "list", "path": "d"})"));
  ASSERT_TRUE(request.ok());
  auto r = run_file_operation(*request, workspace(), {}, [] { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace pl::worker::data
