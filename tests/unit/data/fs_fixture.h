// A workspace and an output directory in a fresh temporary directory, with helpers to lay out
// files and links, for the file_ops tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/fs.h"
#include "tests/support/harness.h"
#include "worker/data/workspace.h"

namespace pl::worker::data::testing {

namespace fs = std::filesystem;

class FsTest : public ::testing::Test {
 protected:
  FsTest() : ws_(tmp_.path() / "ws"), out_(tmp_.path() / "out"), outside_(tmp_.path() / "outside") {
    fs::create_directories(ws_);
    fs::create_directories(out_);
    fs::create_directories(outside_);
    write(outside_ / "secret.txt", "secret");
  }

  Workspace workspace() const { return Workspace(ws_, out_); }

  // Writes a file (parents created) under the workspace unless `path` is absolute.
  void write(const fs::path& path, const std::string& text) const {
    const fs::path p = path.is_absolute() ? path : ws_ / path;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);  // no fsync: the tests need speed, not durability
    out << text;
    ASSERT_TRUE(out.good()) << p;
  }
  void mkdir(const fs::path& path) const { fs::create_directories(ws_ / path); }
  // A symbolic link at `link` (under the workspace) whose text is `target`.
  void link(const std::string& target, const fs::path& link) const {
    fs::create_directories((ws_ / link).parent_path());
    ASSERT_EQ(::symlink(target.c_str(), (ws_ / link).c_str()), 0) << link;
  }
  std::string read(const fs::path& path) const {
    return pl::test::read_text(path.is_absolute() ? path : ws_ / path);
  }
  bool exists(const fs::path& path) const {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path.is_absolute() ? path : ws_ / path, ec));
  }
  // Every entry under `dir`, relative, sorted: what a test expects the disk to hold.
  std::vector<std::string> tree(const fs::path& dir) const {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
      out.push_back(fs::relative(it->path(), dir).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  pl::test::TempDir tmp_;
  fs::path ws_;
  fs::path out_;
  fs::path outside_;
};

}  // namespace pl::worker::data::testing
