// Confinement of paths to the run's workspace.
#include "worker/workspace_path.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/harness.h"

namespace pl::worker {
namespace {

namespace fs = std::filesystem;

TEST(WorkspacePath, AMissingWorkspaceIsCreatedAndARelativeOneRefused) {
  pl::test::TempDir dir;
  auto ws = open_workspace(dir.path() / "a/b");
  ASSERT_TRUE(ws.ok()) << ws.error().message;
  EXPECT_TRUE(fs::is_directory(*ws));
  EXPECT_EQ(open_workspace("relative").error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(open_workspace("").error().code, ErrorCode::kInvalidInput);
}

TEST(WorkspacePath, PathsInsideResolveAndPathsOutsideAreRefused) {
  pl::test::TempDir dir;
  const fs::path ws = *open_workspace(dir.path() / "ws");
  fs::create_directories(ws / "a");
  fs::create_directory_symlink("/", ws / "root");
  fs::create_symlink("a", ws / "alias");
  EXPECT_EQ(*resolve_in_workspace(ws, ws, "a/new.txt"), ws / "a/new.txt");
  EXPECT_EQ(*resolve_in_workspace(ws, ws, "alias/x"), ws / "a/x");
  EXPECT_EQ(*resolve_in_workspace(ws, ws, "."), ws);
  EXPECT_EQ(*resolve_in_workspace(ws, ws / "a", ".."), ws);
  for (const char* bad : {"..", "../ws2", "a/../../x", "/etc", "root/etc/passwd", "root"}) {
    auto r = resolve_in_workspace(ws, ws, bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_FALSE(resolve_in_workspace(ws, ws, "").ok());
  EXPECT_FALSE(resolve_in_workspace(ws, ws, std::string("a\0b", 3)).ok());
}

// A link whose target does not exist yet still names a place: outside is refused, inside is
// fine (a tool may create it).
TEST(WorkspacePath, ADanglingLinkIsResolvedAgainstItsDirectory) {
  pl::test::TempDir dir;
  const fs::path ws = *open_workspace(dir.path() / "ws");
  fs::create_directories(ws / "sub");
  fs::create_symlink(dir.path() / "outside/new.txt", ws / "escape");      // absolute, dangling
  fs::create_symlink("../../outside/new.txt", ws / "sub/up");             // relative, dangling
  fs::create_directory_symlink(dir.path() / "nowhere", ws / "gone_dir");  // a directory link
  fs::create_symlink("later.txt", ws / "sub/inside");                     // dangling, inside
  fs::create_symlink("../sub/deeper/x", ws / "sub/chain");                // inside, twice missing
  for (const char* bad : {"escape", "sub/up", "gone_dir/x", "./escape", "sub/../escape"}) {
    auto r = resolve_in_workspace(ws, ws, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message, "path \"" + std::string(bad) +
                                     "\" leaves the run's workspace through a symbolic link");
  }
  EXPECT_EQ(*resolve_in_workspace(ws, ws, "sub/inside"), ws / "sub/later.txt");
  EXPECT_EQ(*resolve_in_workspace(ws, ws / "sub", "chain"), ws / "sub/deeper/x");
}

// A link that points back inside, reached through a directory link that points out, would have
// `rm` act outside: the path to the link itself must be inside too.
TEST(WorkspacePath, TheLinkItselfMustBeInsideToo) {
  pl::test::TempDir dir;
  const fs::path ws = *open_workspace(dir.path() / "ws");
  fs::create_directories(dir.path() / "outside");
  std::ofstream(ws / "file") << "x";
  fs::create_symlink(ws / "file", dir.path() / "outside/back_in");
  fs::create_directory_symlink(dir.path() / "outside", ws / "out");
  EXPECT_FALSE(resolve_in_workspace(ws, ws, "out/back_in").ok());
}

TEST(WorkspacePath, ALinkLoopIsRefusedAsALoop) {
  pl::test::TempDir dir;
  const fs::path ws = *open_workspace(dir.path() / "ws");
  fs::create_symlink("b", ws / "a");
  fs::create_symlink("a", ws / "b");
  auto r = resolve_in_workspace(ws, ws, "a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too many levels of symbolic links"), std::string::npos)
      << r.error().message;
}

TEST(WorkspacePath, APrefixOfTheNameIsNotInside) {
  EXPECT_FALSE(is_within("/tmp/ws", "/tmp/ws2/file"));
  EXPECT_TRUE(is_within("/tmp/ws", "/tmp/ws/file"));
  EXPECT_TRUE(is_within("/tmp/ws", "/tmp/ws"));
  EXPECT_FALSE(is_within("/tmp/ws", "/tmp"));
}

}  // namespace
}  // namespace pl::worker
