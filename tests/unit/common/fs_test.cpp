#include "common/fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace pl {
namespace {
namespace fs = std::filesystem;

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pl-fs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FsTest, AtomicWriteCreatesParentsAndReplacesContent) {
  const auto path = dir_ / "a" / "b" / "out.json";
  ASSERT_TRUE(write_file_atomic(path, "first").ok());
  ASSERT_TRUE(write_file_atomic(path, "second").ok());
  auto content = read_file(path);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "second");
}

TEST_F(FsTest, AtomicWriteLeavesNoTemporaryFiles) {
  ASSERT_TRUE(write_file_atomic(dir_ / "x", "data").ok());
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(FsTest, AtomicWriteIntoAFileAsDirectoryFailsAndSaysWhere) {
  ASSERT_TRUE(write_file_atomic(dir_ / "plain", "x").ok());
  auto st = write_file_atomic(dir_ / "plain" / "child", "y");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("plain"), std::string::npos);
}

TEST_F(FsTest, AnAtomicFileWrittenInPartsReplacesTheOldOneOnlyWhenCommitted) {
  const auto path = dir_ / "export.json";
  ASSERT_TRUE(write_file_atomic(path, "old").ok());
  auto file = AtomicFile::create(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_TRUE(file->write("new, ").ok());
  ASSERT_TRUE(file->write("in parts").ok());
  EXPECT_EQ(*read_file(path), "old");  // readers still see the old file
  ASSERT_TRUE(file->commit().ok());
  EXPECT_EQ(*read_file(path), "new, in parts");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(FsTest, AnAtomicFileLeftUncommittedLeavesTheOldFileAndNoTemporary) {
  const auto path = dir_ / "export.json";
  ASSERT_TRUE(write_file_atomic(path, "old").ok());
  {
    auto file = AtomicFile::create(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file->write("half").ok());
    AtomicFile moved = std::move(*file);  // the moved-from one must not remove anything
  }
  EXPECT_EQ(*read_file(path), "old");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(FsTest, ReadMissingFileIsNotFound) {
  auto r = read_file(dir_ / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(FsTest, ReadOverTheLimitIsTooLarge) {
  ASSERT_TRUE(write_file_atomic(dir_ / "big", std::string(100, 'x')).ok());
  auto r = read_file(dir_ / "big", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

TEST_F(FsTest, PrivateDirIsMode0700) {
  const auto d = dir_ / "state";
  ASSERT_TRUE(ensure_private_dir(d).ok());
  struct stat st {};
  ASSERT_EQ(::stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(FsTest, PrivateDirRefusesAFile) {
  ASSERT_TRUE(write_file_atomic(dir_ / "f", "x").ok());
  EXPECT_FALSE(ensure_private_dir(dir_ / "f").ok());
}

}  // namespace
}  // namespace pl
