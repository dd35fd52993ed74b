#include "common/sqlite/damage_mark.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/fs.h"
#include "common/sqlite/database.h"

namespace pl::sqlite {
namespace {

namespace fs = std::filesystem;

class DamageMarkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("pl_damage_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(db_path()) << "pages";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path db_path() const { return dir_ / "broker.db"; }
  fs::path mark_path() const { return dir_ / "broker.db.damaged"; }

  fs::path dir_;
};

TEST_F(DamageMarkTest, OnlyTheErrorsOfADamagedFileReportDamage) {
  auto db = Database::open(db_path());  // "pages" is no SQLite header
  ASSERT_TRUE(db.ok()) << db.error().message;
  Status read = (*db)->exec("SELECT * FROM sqlite_master");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(reports_damage(read.error().message)) << read.error().message;
  EXPECT_FALSE(reports_damage("sqlite: database or disk is full"));
}

TEST_F(DamageMarkTest, AMarkedFileIsRefusedWithWhatWasSaidAndWhatToDo) {
  EXPECT_TRUE(refuse_if_marked_damaged(db_path()).ok());  // no mark
  mark_damaged(db_path(), "INSERT INTO item_batches: database disk image is malformed (restore it)");
  ASSERT_TRUE(fs::exists(mark_path()));
  Status refused = refuse_if_marked_damaged(db_path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(refused.error().message.find("database disk image is malformed (restore it)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("was found damaged while in use"), std::string::npos);
  EXPECT_FALSE(refuse_if_marked_damaged(db_path()).ok());  // every start, not just the next
}

TEST_F(DamageMarkTest, ARestoredOrReplacedFileIsAnotherFileAndItsStaleMarkGoes) {
  mark_damaged(db_path(), "malformed");
  ASSERT_TRUE(write_file_atomic(db_path(), "restored").ok());  // a new inode, as a restore makes
  EXPECT_TRUE(refuse_if_marked_damaged(db_path()).ok());
  EXPECT_FALSE(fs::exists(mark_path()));
  mark_damaged(db_path(), "malformed");
  fs::remove(db_path());  // moved aside: a new database will be made
  EXPECT_TRUE(refuse_if_marked_damaged(db_path()).ok());
  EXPECT_FALSE(fs::exists(mark_path()));
}

}  // namespace
}  // namespace pl::sqlite
