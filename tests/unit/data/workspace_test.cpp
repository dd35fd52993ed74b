#include "worker/data/workspace.h"

#include <gtest/gtest.h>

#include "fs_fixture.h"
#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;
namespace fs = std::filesystem;

class WorkspaceTest : public testing::FsTest {
 protected:
  Result<ResolvedPath> resolve(std::string_view text, FollowLast follow = FollowLast::kYes) {
    auto p = parse_user_path(text);
    EXPECT_TRUE(p.ok()) << text;
    if (!p.ok()) return p.error();
    return workspace().resolve(*p, follow);
  }
  fs::path real(std::string_view text, FollowLast follow = FollowLast::kYes) {
    auto r = resolve(text, follow);
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->real : fs::path();
  }
  std::string refusal(std::string_view text, FollowLast follow = FollowLast::kYes) {
    auto r = resolve(text, follow);
    EXPECT_FALSE(r.ok()) << text << " resolved to " << (r.ok() ? r->real.string() : "");
    return r.ok() ? "" : r.error().message;
  }
  fs::path ws_real() const { return fs::canonical(ws_); }
};

TEST_F(WorkspaceTest, APlainPathResolvesUnderTheWorkspace) {
  write("a/b.txt", "x");
  EXPECT_EQ(real("a/b.txt"), ws_real() / "a" / "b.txt");
  EXPECT_EQ(real("."), ws_real());
  EXPECT_TRUE(resolve(".")->is_root());
}

TEST_F(WorkspaceTest, AMissingTailIsAppendedAsWritten) {
  mkdir("a");
  EXPECT_EQ(real("a/new/deeper.txt"), ws_real() / "a" / "new" / "deeper.txt");
}

TEST_F(WorkspaceTest, ALinkThatStaysInsideIsFollowed) {
  write("real/f.txt", "x");
  link("real", "alias");
  link("../real/f.txt", "sub/rel");
  EXPECT_EQ(real("alias/f.txt"), ws_real() / "real" / "f.txt");
  EXPECT_EQ(real("sub/rel"), ws_real() / "real" / "f.txt");
}

TEST_F(WorkspaceTest, AnAbsoluteLinkBackIntoTheWorkspaceIsFollowed) {
  write("real/f.txt", "x");
  link((ws_ / "real").string(), "abs");
  EXPECT_EQ(real("abs/f.txt"), ws_real() / "real" / "f.txt");
}

TEST_F(WorkspaceTest, ALinkToEtcIsRefused) {
  link("/etc", "etc");
  EXPECT_EQ(refusal("etc/passwd"),
            "path \"etc/passwd\" leads outside the workspace through a symbolic link");
  EXPECT_FALSE(resolve("etc").ok());
  EXPECT_FALSE(resolve("etc/new-file").ok());
}

TEST_F(WorkspaceTest, ALinkWhoseDotDotsClimbOutIsRefused) {
  link("../outside", "up");
  link("../../../../../../../../tmp", "sub/way-up");
  EXPECT_FALSE(resolve("up/secret.txt").ok());
  EXPECT_FALSE(resolve("sub/way-up").ok());
}

TEST_F(WorkspaceTest, ALinkToTheParentOfTheWorkspaceIsRefusedEvenToComeBack) {
  link("..", "parent");
  // parent/ws/x lands inside again: allowed, the final place is what counts.
  EXPECT_EQ(real("parent/ws/x"), ws_real() / "x");
  EXPECT_FALSE(resolve("parent/outside/secret.txt").ok());
  EXPECT_FALSE(resolve("parent").ok());
}

TEST_F(WorkspaceTest, SymlinkLoopsAreRefused) {
  link("b", "a");
  link("a", "b");
  link("self", "self");
  EXPECT_EQ(refusal("a"), "path \"a\" has too many levels of symbolic links (a loop?)");
  EXPECT_FALSE(resolve("self/x").ok());
  EXPECT_FALSE(resolve("a", FollowLast::kNo).ok());
}

TEST_F(WorkspaceTest, ADanglingLinkToOutsideIsRefusedAndOneInsideResolvesToItsTarget) {
  link("/nonexistent-pipeline-test/x", "dangling-out");
  link("not-yet", "dangling-in");
  EXPECT_FALSE(resolve("dangling-out").ok());
  // The link itself, not followed, is in the workspace (deleting it touches nothing outside).
  EXPECT_EQ(real("dangling-out", FollowLast::kNo), ws_real() / "dangling-out");
  EXPECT_EQ(real("dangling-in"), ws_real() / "not-yet");
}

TEST_F(WorkspaceTest, NotFollowingTheLastLinkKeepsTheLinkButStillChecksTheWayToIt) {
  write("t.txt", "x");
  link("t.txt", "l");
  link("/etc/passwd", "bad");
  link("/etc", "etc");
  EXPECT_EQ(real("l", FollowLast::kNo), ws_real() / "l");
  EXPECT_EQ(real("bad", FollowLast::kNo), ws_real() / "bad");  // the link, where it is
  EXPECT_FALSE(resolve("bad").ok());                           // what it points to: outside
  EXPECT_FALSE(resolve("etc/passwd", FollowLast::kNo).ok());   // reached through a link out
}

TEST_F(WorkspaceTest, OutputPathsResolveUnderTheOutputDirectory) {
  EXPECT_EQ(real("output:r/x.json"), fs::canonical(out_) / "r" / "x.json");
  EXPECT_EQ(resolve("output:")->user.root, Root::kOutput);
}

TEST_F(WorkspaceTest, OutputLinksCannotLeaveTheOutputDirectory) {
  ASSERT_EQ(::symlink(ws_.c_str(), (out_ / "to-ws").c_str()), 0);
  auto p = parse_user_path("output:to-ws/x");
  auto r = workspace().resolve(*p, FollowLast::kYes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "path \"output:to-ws/x\" leads outside the output directory through a symbolic link");
}

TEST_F(WorkspaceTest, OutputPathsNeedAnOutputDirectory) {
  Workspace no_output(ws_, "");
  auto r = no_output.resolve(*parse_user_path("output:x"), FollowLast::kYes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "this run has no output directory, so \"output:\" paths cannot be used");
}

TEST_F(WorkspaceTest, AMissingRootIsNotFoundUnlessItMayBeCreated) {
  Workspace missing(tmp_.path() / "nope", out_);
  auto r = missing.resolve(*parse_user_path("x"), FollowLast::kYes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto created = missing.resolve(*parse_user_path("x"), FollowLast::kYes, CreateRoot::kYes);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(fs::is_directory(tmp_.path() / "nope"));
}

TEST_F(WorkspaceTest, AWorkspaceReachedThroughALinkIsItsRealPath) {
  ASSERT_EQ(::symlink(ws_.c_str(), (tmp_.path() / "ws-link").c_str()), 0);
  Workspace via_link(tmp_.path() / "ws-link", out_);
  auto r = via_link.resolve(*parse_user_path("a"), FollowLast::kYes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->real, ws_real() / "a");
}

TEST_F(WorkspaceTest, FromContextNeedsAnAbsoluteWorkspaceDir) {
  EXPECT_TRUE(Workspace::from_context(json(R"({"workspace_dir": "/w", "output_dir": "/o"})")).ok());
  EXPECT_TRUE(Workspace::from_context(json(R"({"workspace_dir": "/w"})")).ok());
  EXPECT_FALSE(Workspace::from_context(json(R"({"output_dir": "/o"})")).ok());
  EXPECT_FALSE(Workspace::from_context(json(R"({"workspace_dir": "rel"})")).ok());
  EXPECT_FALSE(Workspace::from_context(json(R"({"workspace_dir": "/w", "output_dir": "o"})")).ok());
  EXPECT_FALSE(Workspace::from_context(json(R"({"workspace_dir": 3})")).ok());
  EXPECT_FALSE(Workspace::from_context(Value()).ok());
}

TEST(WorkspacePaths, WithinComparesWholeSegments) {
  EXPECT_TRUE(Workspace::is_within("/a/b", "/a/b"));
  EXPECT_TRUE(Workspace::is_within("/a/b/c", "/a/b"));
  EXPECT_FALSE(Workspace::is_within("/a/bc", "/a/b"));
  EXPECT_FALSE(Workspace::is_within("/a", "/a/b"));
}

TEST(WorkspacePaths, DisplayWritesRealPathsBackAsUserPaths) {
  EXPECT_EQ(display_path(Root::kWorkspace, "/w", "/w/a/b"), "a/b");
  EXPECT_EQ(display_path(Root::kOutput, "/o", "/o/x"), "output:x");
  EXPECT_EQ(display_path(Root::kWorkspace, "/w", "/w"), ".");
}

}  // namespace
}  // namespace pl::worker::data
