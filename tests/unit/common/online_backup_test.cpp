// OnlineBackup and BackupJob: a copy of a live database, made a few pages at a time while its
// connection goes on writing.
#include "common/sqlite/online_backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/sqlite/database.h"
#include "tests/support/harness.h"

namespace pl::sqlite {
namespace {

namespace fs = std::filesystem;

// A database as the stores open theirs: WAL, exclusive locking, a table of rows of ~1 KiB.
std::unique_ptr<Database> open_store(const fs::path& path, int rows) {
  auto db = Database::open(path);
  EXPECT_TRUE(db.ok());
  for (const char* pragma : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL",
                             "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)"}) {
    EXPECT_TRUE((*db)->exec(pragma).ok()) << pragma;
  }
  EXPECT_TRUE((*db)->exec("BEGIN").ok());
  auto insert = (*db)->prepare("INSERT INTO t VALUES (?, ?)");
  EXPECT_TRUE(insert.ok());
  for (int64_t k = 0; k < rows; ++k) {
    EXPECT_TRUE(insert->bind(1, k).bind(2, std::string(1000, 'a' + k % 26)).run().ok());
  }
  EXPECT_TRUE((*db)->exec("COMMIT").ok());
  return std::move(*db);
}

std::string query(const fs::path& path, const std::string& sql) {
  auto db = Database::open(path);
  EXPECT_TRUE(db.ok());
  auto text = (*db)->query_text(sql);
  EXPECT_TRUE(text.ok()) << (text.ok() ? "" : text.error().message);
  return text.ok() ? *text : "";
}

TEST(OnlineBackup, ACopyMadeWhileItsConnectionWritesHoldsEveryCommitUpToItsLastStep) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 2000);
  const fs::path target = dir.path() / "backups" / "copy.db";
  auto backup = OnlineBackup::start(*db, target);
  ASSERT_TRUE(backup.ok()) << backup.error().message;
  int steps = 0;
  for (;;) {
    auto done = (*backup)->step(16);
    ASSERT_TRUE(done.ok()) << done.error().message;
    if (*done) break;
    EXPECT_FALSE(fs::exists(target)) << "the copy takes its name only when complete";
    // Between steps the owner goes on: new rows, changed rows (in pages copied already), and
    // rows removed.
    ASSERT_TRUE(db->exec("BEGIN; INSERT INTO t(v) VALUES ('added during the copy');"
                         "UPDATE t SET v='changed' WHERE k=" +
                         std::to_string(steps) +
                         ";"
                         "DELETE FROM t WHERE k=" +
                         std::to_string(1999 - steps) + "; COMMIT")
                    .ok());
    ++steps;
  }
  EXPECT_GT(steps, 10) << "the copy took several steps";
  EXPECT_EQ((*backup)->pages_copied(), (*backup)->pages_total());
  EXPECT_FALSE(fs::exists(fs::path(target.string() + ".partial")));
  EXPECT_EQ(query(target, "PRAGMA integrity_check"), "ok");
  // The copy is the live database as it stood after the last step.
  for (const char* sql : {"SELECT COUNT(*) FROM t", "SELECT COUNT(*) FROM t WHERE v='changed'",
                          "SELECT SUM(length(v)) FROM t", "SELECT MAX(k) FROM t"}) {
    EXPECT_EQ(query(target, sql), *db->query_text(sql)) << sql;
  }
  EXPECT_EQ(query(target, "SELECT COUNT(*) FROM t WHERE v='added during the copy'"),
            std::to_string(steps));
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(target.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(OnlineBackup, NeverReplacesAnExistingFile) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 10);
  const fs::path target = dir.path() / "copy.db";
  std::ofstream(target) << "an earlier backup";
  auto backup = OnlineBackup::start(*db, target);
  ASSERT_FALSE(backup.ok());
  EXPECT_EQ(backup.error().code, ErrorCode::kConflict);
  EXPECT_NE(backup.error().message.find("exists already"), std::string::npos)
      << backup.error().message;
  std::ifstream in(target);
  std::string kept;
  std::getline(in, kept);
  EXPECT_EQ(kept, "an earlier backup");
}

TEST(OnlineBackup, AnUnfinishedCopyLeavesNothingBehind) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 500);
  const fs::path target = dir.path() / "copy.db";
  {
    auto backup = OnlineBackup::start(*db, target);
    ASSERT_TRUE(backup.ok());
    ASSERT_FALSE(*(*backup)->step(4));
    EXPECT_TRUE(fs::exists(fs::path(target.string() + ".partial")));
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists(fs::path(target.string() + ".partial")));
  // The live database is as it was, and writable.
  EXPECT_EQ(*db->query_text("SELECT COUNT(*) FROM t"), "500");
  EXPECT_TRUE(db->exec("INSERT INTO t(v) VALUES ('after')").ok());
}

TEST(OnlineBackup, ADirectoryThatCannotBeMadeIsAnErrorThatNamesIt) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 10);
  std::ofstream(dir.path() / "a-file") << "x";
  auto backup = OnlineBackup::start(*db, dir.path() / "a-file" / "copy.db");
  ASSERT_FALSE(backup.ok());
  EXPECT_NE(backup.error().message.find("a-file"), std::string::npos) << backup.error().message;
  // A place where no directory can be made is the caller's mistake, not one to try again.
  auto nowhere = OnlineBackup::start(*db, "/proc/pipeline-no-such-dir/copy.db");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().code, ErrorCode::kInvalidInput) << nowhere.error().message;
  EXPECT_NE(nowhere.error().message.find("create directory /proc/pipeline-no-such-dir"),
            std::string::npos)
      << nowhere.error().message;
}

TEST(BackupJob, RunsOneCopyAtATimeAndReportsHowItEnded) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 3000);
  BackupJob job("live.db");
  EXPECT_EQ(job.status().get_string("state"), "idle");
  auto relative = job.start(*db, "backups/today");
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().code, ErrorCode::kInvalidInput);

  auto started = job.start(*db, dir.path() / "one");
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->get_string("state"), "copying");
  EXPECT_EQ(started->get_string("path"), (dir.path() / "one" / "live.db").string());
  auto retried = job.start(*db, dir.path() / "one");
  ASSERT_TRUE(retried.ok()) << "a retried request gets the copy it started";
  EXPECT_EQ(retried->get_string("path"), started->get_string("path"));
  auto second = job.start(*db, dir.path() / "two");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_NE(second.error().message.find("one/live.db"), std::string::npos)
      << second.error().message;

  for (int n = 0; job.busy() && n < 10000; ++n) job.step();
  ASSERT_FALSE(job.busy());
  const Value done = job.status();
  EXPECT_EQ(done.get_string("state"), "done") << done.get_string("error");
  EXPECT_GT(done.get_int("pages_total"), 700);  // 3000 rows of 1 KiB in 4 KiB pages
  EXPECT_EQ(done.get_int("pages_copied"), done.get_int("pages_total"));
  EXPECT_EQ(done.get_int("bytes"),
            static_cast<int64_t>(fs::file_size(dir.path() / "one" / "live.db")));
  EXPECT_EQ(query(dir.path() / "one" / "live.db", "SELECT COUNT(*) FROM t"), "3000");

  // The same directory again right after: the copy just made (a retry); once another copy
  // has started, the directory holds a copy and is refused.
  auto same = job.start(*db, dir.path() / "one");
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->get_string("state"), "done");
  EXPECT_TRUE(job.start(*db, dir.path() / "three").ok());
  for (int n = 0; job.busy() && n < 10000; ++n) job.step();
  auto refused = job.start(*db, dir.path() / "one");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("exists already"), std::string::npos);
}

TEST(BackupJob, AnAbandonedCopyLeavesNoFileAndSaysWhy) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 3000);  // more pages than one step copies
  BackupJob job("live.db");
  ASSERT_TRUE(job.start(*db, dir.path() / "out").ok());
  job.step();
  ASSERT_TRUE(job.busy());
  ASSERT_TRUE(fs::exists(dir.path() / "out" / "live.db.partial"));
  job.abandon("the disk is full");
  EXPECT_FALSE(job.busy());
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "live.db.partial"));
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "live.db"));
  EXPECT_EQ(job.status().get_string("state"), "failed");
  EXPECT_EQ(job.status().get_string("error"), "the disk is full");
}

TEST(BackupJob, AFailedCopySaysWhy) {
  test::TempDir dir;
  auto db = open_store(dir.path() / "live.db", 200);
  BackupJob job("live.db");
  ASSERT_TRUE(job.start(*db, dir.path() / "out").ok());
  // The copy's directory disappears under it: the rename at the end fails.
  fs::remove_all(dir.path() / "out");
  for (int n = 0; job.busy() && n < 1000; ++n) job.step();
  const Value failed = job.status();
  EXPECT_EQ(failed.get_string("state"), "failed");
  EXPECT_FALSE(failed.get_string("error").empty());
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "live.db"));
}

TEST(BackupAllowedOver, OnlyLocalSocketsAndNeverTheNetwork) {
  EXPECT_TRUE(backup_allowed_over("ipc:///var/lib/pipeline/run/broker-clients.sock").ok());
  EXPECT_TRUE(backup_allowed_over("inproc://registry").ok());
  Status remote = backup_allowed_over("tcp://10.0.0.5:7301");
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(remote.error().message,
            "backup writes files on this host: it is taken only over the state directory's local "
            "socket (pipelinectl backup on this host), not over tcp://10.0.0.5:7301");
  // What a socket reports when it cannot tell is refused too, as is any other transport.
  EXPECT_FALSE(backup_allowed_over("").ok());
  EXPECT_FALSE(backup_allowed_over("ws://127.0.0.1:80").ok());
}

}  // namespace
}  // namespace pl::sqlite
