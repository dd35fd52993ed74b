// Confinement of paths to the run's workspace.
#include "worker/workspace_path.h"

#include <gtest/gtest.h>

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

TEST(WorkspacePath, APrefixOfTheNameIsNotInside) {
  EXPECT_FALSE(is_within("/tmp/ws", "/tmp/ws2/file"));
  EXPECT_TRUE(is_within("/tmp/ws", "/tmp/ws/file"));
  EXPECT_TRUE(is_within("/tmp/ws", "/tmp/ws"));
  EXPECT_FALSE(is_within("/tmp/ws", "/tmp"));
}

}  // namespace
}  // namespace pl::worker
