// The names of backup directories, and what a state directory's backups/ holds.
#include "common/backup_dirs.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/harness.h"

namespace pl {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(BackupStamp, NamesTheUtcTimeToTheMillisecondAndReadsBack) {
  const WallTime t = std::chrono::system_clock::from_time_t(1795489212) + 345ms;
  EXPECT_EQ(backup_stamp(t), "20261124T030012.345Z");
  EXPECT_EQ(parse_backup_stamp("20261124T030012.345Z"), t);
  EXPECT_EQ(backup_stamp(std::chrono::system_clock::from_time_t(0)), "19700101T000000.000Z");
}

TEST(BackupStamp, AnyOtherNameIsNotOne) {
  for (const char* name :
       {"", "latest", "20261124T030012.345", "20261124T030012Z", "20261124 030012.345Z",
        "2026112aT030012.345Z", "20261324T030012.345Z", "20260230T030012.345Z",
        "20261124T250012.345Z", "20261124T030012.345Z~"}) {
    EXPECT_FALSE(parse_backup_stamp(name).has_value()) << name;
  }
}

void touch(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x";
}

TEST(Backups, OnlyDirectoriesHoldingBothCopiesAreWholeAndTheNewestIsTheLastByName) {
  test::TempDir dir;
  const fs::path backups = dir.path() / "backups";
  touch(backups / "20261122T030000.000Z" / "broker.db");
  touch(backups / "20261122T030000.000Z" / "registry.db");
  touch(backups / "20261123T030000.000Z" / "broker.db");
  touch(backups / "20261123T030000.000Z" / "registry.db");
  // The registry's copy failed: half a backup.
  touch(backups / "20261124T030000.000Z" / "broker.db");
  touch(backups / "20261124T030000.000Z" / "registry.db.partial");
  // Not ours: an operator's directory, and a file named as a backup.
  touch(backups / "before-upgrade" / "broker.db");
  touch(backups / "before-upgrade" / "registry.db");
  touch(backups / "20261125T030000.000Z");

  auto listed = list_backup_dirs(backups);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(*listed, (std::vector<std::string>{"20261122T030000.000Z", "20261123T030000.000Z",
                                               "20261124T030000.000Z"}));
  auto summary = summarize_backups(backups);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 2u);
  EXPECT_EQ(summary->newest, parse_backup_stamp("20261123T030000.000Z"));
}

TEST(Backups, NoDirectoryYetIsNoBackupAndAFileInItsPlaceIsAnError) {
  test::TempDir dir;
  auto none = summarize_backups(dir.path() / "backups");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(none->complete, 0u);
  EXPECT_FALSE(none->newest.has_value());

  touch(dir.path() / "backups");
  auto blocked = summarize_backups(dir.path() / "backups");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, ErrorCode::kIo);
  EXPECT_NE(blocked.error().message.find("list " + (dir.path() / "backups").string()),
            std::string::npos)
      << blocked.error().message;
}

}  // namespace
}  // namespace pl
