// The SQLite layer: statements, the deferred WAL sync and the syncer thread.
#include <gtest/gtest.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "common/sqlite/commit_deadline.h"
#include "common/sqlite/database.h"
#include "common/sqlite/deferred_wal_sync.h"
#include "common/sqlite/durability_syncer.h"
#include "tests/support/harness.h"
#include "tests/support/sync_gate.h"

namespace pl::sqlite {
namespace {

namespace fs = std::filesystem;

// A database as the stores open one for a deferred sync: WAL, exclusive, synchronous=OFF.
std::unique_ptr<Database> open_deferred(const fs::path& path) {
  auto db = Database::open(path);
  EXPECT_TRUE(db.ok());
  for (const char* pragma : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA synchronous=OFF",
                             "PRAGMA journal_mode=WAL",
                             "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)"}) {
    EXPECT_TRUE((*db)->exec(pragma).ok()) << pragma;
  }
  return std::move(*db);
}

bool readable_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(Statement, StepResetsWhenDoneSoTheStatementCanBeBoundAgain) {
  test::TempDir dir;
  auto db = Database::open(dir.path() / "a.db");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("CREATE TABLE t(k INTEGER, v TEXT)").ok());
  auto insert = (*db)->prepare("INSERT INTO t VALUES (?, ?)");
  ASSERT_TRUE(insert.ok());
  for (int64_t k = 0; k < 3; ++k) ASSERT_TRUE(insert->bind(1, k).bind(2, "v").run().ok());
  auto select = (*db)->prepare("SELECT v FROM t WHERE k=?");
  ASSERT_TRUE(select.ok());
  EXPECT_FALSE(*select->bind(1, int64_t{7}).step());  // no row: done, and reset
  ASSERT_TRUE(*select->bind(1, int64_t{2}).step());
  EXPECT_EQ(select->column_text(0), "v");
  select->reset();
  EXPECT_EQ(*(*db)->query_text("SELECT COUNT(*) FROM t"), "3");
}

TEST(Statement, AFailedStepNamesTheStatementAndLeavesItUsable) {
  test::TempDir dir;
  auto db = Database::open(dir.path() / "a.db");
  ASSERT_TRUE((*db)->exec("CREATE TABLE t(k INTEGER PRIMARY KEY)").ok());
  auto insert = (*db)->prepare("INSERT INTO t VALUES (?)");
  ASSERT_TRUE(insert->bind(1, int64_t{1}).run().ok());
  auto again = insert->bind(1, int64_t{1}).run();
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("INSERT INTO t"), std::string::npos) << again.error().message;
  EXPECT_TRUE(insert->bind(1, int64_t{2}).run().ok());
}

TEST(Database, SqliteKeepsNoMemoryStatisticsOnceADatabaseIsOpen) {
  test::TempDir dir;
  auto db = Database::open(dir.path() / "a.db");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("CREATE TABLE t(x); INSERT INTO t VALUES(randomblob(100000));").ok());
  // With the statistics on, SQLite would count the cache and the blob it just allocated.
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

TEST(Database, OpeningAFileThatIsNotADatabaseFailsWithItsName) {
  test::TempDir dir;
  const fs::path bogus = dir.path() / "bogus.db";
  std::ofstream(bogus) << std::string(4096, 'x');
  auto db = Database::open(bogus);
  ASSERT_TRUE(db.ok());  // SQLite reads the header lazily
  auto st = (*db)->exec("CREATE TABLE t(k)");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find(bogus.string() + " is damaged or not an SQLite database: "
                                                      "restore it from a backup, or move it aside"),
            std::string::npos)
      << st.error().message;
}

TEST(Database, AFileThisProcessMayNotWriteIsRefusedSayingSoNotLaterAsADiskError) {
  test::TempDir dir;
  const fs::path file = dir.path() / "kept.db";
  {
    auto db = Database::open(file);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("CREATE TABLE t(k)").ok());
  }
  fs::permissions(dir.path(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(file, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  // Root writes whatever the mode says: the open is then tried as nobody, in a child.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    auto db = Database::open(file);
    if (db.ok()) ::_exit(11);
    const bool named =
        db.error().message.find(file.string() + " cannot be written by this process") !=
        std::string::npos;
    ::_exit(db.error().code == ErrorCode::kInvalidInput && named ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: could not become nobody; 11: opened; 12: another error";
}

TEST(Database, AFullDatabaseSaysHowMuchRoomItsFileSystemHasLeft) {
  test::TempDir dir;
  auto db = Database::open(dir.path() / "a.db");
  ASSERT_TRUE(db.ok());
  // SQLite's page limit gives the same SQLITE_FULL as a full disk, without filling one.
  ASSERT_TRUE((*db)->exec("CREATE TABLE t(v TEXT); PRAGMA max_page_count = 3").ok());
  auto insert = (*db)->prepare("INSERT INTO t VALUES (?)");
  ASSERT_TRUE(insert.ok());
  Status st = ok_status();
  for (int i = 0; i < 100 && st.ok(); ++i) st = insert->bind(1, std::string(1000, 'x')).run();
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_NE(m.find("database or disk is full"), std::string::npos) << m;
  EXPECT_NE(m.find("(" + dir.path().string() + ": "), std::string::npos) << m;
  EXPECT_NE(m.find(" free of "), std::string::npos) << m;
  EXPECT_NE(m.find(" inodes free)"), std::string::npos) << m;

  auto exec = (*db)->exec("INSERT INTO t VALUES (randomblob(100000))");
  ASSERT_FALSE(exec.ok());
  EXPECT_NE(exec.error().message.find(" free of "), std::string::npos) << exec.error().message;
}

TEST(Database, OtherErrorsSayNothingOfTheDisk) {
  test::TempDir dir;
  auto db = Database::open(dir.path() / "a.db");
  auto st = (*db)->exec("SELECT * FROM missing");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message.find("free of"), std::string::npos) << st.error().message;
}

TEST(OneLine, JoinsAStatementOfManyLinesAndCutsItWhereAsked) {
  EXPECT_EQ(one_line("BEGIN IMMEDIATE;\nCREATE TABLE runs (\n  id   TEXT\n)", 200),
            "BEGIN IMMEDIATE; CREATE TABLE runs ( id TEXT )");
  EXPECT_EQ(one_line("  SELECT 1  ", 200), "SELECT 1");
  EXPECT_EQ(one_line("SELECT a, b FROM t", 8), "SELECT a...");
  EXPECT_EQ(one_line("SELECT   a", 7), "SELECT...");
  EXPECT_EQ(one_line("", 10), "");
}

TEST(DeferredWalSync, CheckpointsIntoTheDatabaseOnceTheWalPassesTheThreshold) {
  test::TempDir dir;
  const fs::path path = dir.path() / "a.db";
  auto db = open_deferred(path);
  auto sync = DeferredWalSync::attach(*db, path, 4);
  ASSERT_TRUE(sync.ok()) << sync.error().message;
  const auto size_before = fs::file_size(path);
  ASSERT_TRUE(db->exec("BEGIN").ok());
  auto insert = db->prepare("INSERT INTO t(v) VALUES (?)");
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(insert->bind(1, std::string(200, 'a' + i % 26)).run().ok());
  ASSERT_TRUE(db->exec("COMMIT").ok());
  EXPECT_EQ(fs::file_size(path), size_before);  // everything still in the WAL
  ASSERT_TRUE((*sync)->after_commit().ok());
  EXPECT_GT(fs::file_size(path), size_before);  // copied into the database
  EXPECT_TRUE((*sync)->sync().ok());
  EXPECT_EQ(*db->query_text("PRAGMA synchronous"), "0");  // back to OFF after the checkpoint
}

TEST(DeferredWalSync, RefusesToSyncAWalThatIsNoLongerTheFileItOpened) {
  const std::vector<std::pair<std::string, std::function<void(const fs::path& wal)>>> changes = {
      {"replaced",
       [](const fs::path& wal) {
         fs::rename(wal, wal.parent_path() / "moved-wal");
         std::ofstream(wal) << "";
       }},
      {"removed", [](const fs::path& wal) { fs::remove(wal); }},
  };
  for (const auto& [what, change] : changes) {
    test::TempDir dir;
    const fs::path path = dir.path() / "a.db";
    auto db = open_deferred(path);
    auto sync = DeferredWalSync::attach(*db, path, 1000);
    ASSERT_TRUE(sync.ok());
    EXPECT_TRUE((*sync)->sync().ok());
    change(path.string() + "-wal");
    auto st = (*sync)->sync();
    ASSERT_FALSE(st.ok()) << what;
    EXPECT_NE(st.error().message.find("is not the file opened at start"), std::string::npos)
        << what;
  }
}

// A process that died between a commit and its sync left that commit in the page cache: the
// next one reads it, and may answer from it (a submission made again), so it syncs the WAL
// before anything else.
TEST(DeferredWalSync, AttachingSyncsWhatAnEarlierProcessLeftInTheWal) {
  test::TempDir dir;
  const fs::path path = dir.path() / "a.db";
  auto db = open_deferred(path);
  auto sync = DeferredWalSync::attach(*db, path, 1000);
  ASSERT_TRUE(sync.ok()) << sync.error().message;
  EXPECT_EQ((*sync)->syncs(), 1u);
  ASSERT_TRUE((*sync)->sync().ok());
  EXPECT_EQ((*sync)->syncs(), 2u);
}

TEST(DeferredWalSync, AttachingWithoutAWalFailsWithItsPath) {
  test::TempDir dir;
  const fs::path path = dir.path() / "a.db";
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok());
  auto sync = DeferredWalSync::attach(**db, path, 1000);
  ASSERT_FALSE(sync.ok());
  EXPECT_NE(sync.error().message.find("a.db-wal"), std::string::npos) << sync.error().message;
}

TEST(DurabilitySyncer, ReportsTheNewestGenerationASyncCovered) {
  std::atomic<int> syncs{0};
  DurabilitySyncer syncer([&] {
    ++syncs;
    return ok_status();
  });
  syncer.request(3);
  uint64_t durable = 0;
  for (int turn = 0; turn < 100 && durable < 3; ++turn) {
    ASSERT_TRUE(readable_within(syncer.notify_fd(), 5000));
    auto d = syncer.durable();
    ASSERT_TRUE(d.ok());
    durable = *d;
  }
  EXPECT_EQ(durable, 3u);
  EXPECT_GE(syncs.load(), 1);
  syncer.request(2);  // older than what is durable: nothing to do
  EXPECT_FALSE(readable_within(syncer.notify_fd(), 0));
}

TEST(DurabilitySyncer, AFailedSyncIsReportedAndNothingMoreIsDeclaredDurable) {
  DurabilitySyncer syncer([] { return make_error(ErrorCode::kIo, "disk gone"); });
  syncer.request(1);
  ASSERT_TRUE(readable_within(syncer.notify_fd(), 5000));
  auto d = syncer.durable();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "disk gone");
  syncer.request(2);
  EXPECT_FALSE(syncer.durable().ok());
}

TEST(DurabilitySyncer, ASyncPastItsDeadlineIsStuckUntilItReturns) {
  using namespace std::chrono_literals;
  pl::test::SyncGate gate("unused");
  DurabilitySyncer syncer([&] { return gate.wait(); }, 20ms);
  EXPECT_FALSE(syncer.busy());
  syncer.request(1);
  ASSERT_TRUE(pl::test::wait_until([&] { return syncer.stuck(); }, 10s));
  EXPECT_TRUE(syncer.busy());
  gate.open();
  ASSERT_TRUE(readable_within(syncer.notify_fd(), 5000));
  EXPECT_EQ(*syncer.durable(), 1u);
  EXPECT_FALSE(syncer.busy());
  EXPECT_FALSE(syncer.stuck());
}

TEST(DurabilitySyncerDeathTest, AStuckSyncEndsTheProcessWithTheGivenCode) {
  // (The message goes to the process's log, stdout here, which a death test does not see.)
  EXPECT_EXIT(exit_for_stuck_sync("broker.db", 70), ::testing::ExitedWithCode(70), "");
}

TEST(CommitDeadline, ACommitPastItsDeadlineIsReportedOnce) {
  using namespace std::chrono_literals;
  std::atomic<int> reported{0};
  {
    CommitDeadline deadline("a.db", 75, 20ms, [&] { ++reported; });
    deadline.begin();  // and never ends, as a commit stuck in fdatasync
    ASSERT_TRUE(pl::test::wait_until([&] { return reported > 0; }, 10s));
  }
  EXPECT_EQ(reported, 1);
}

TEST(CommitDeadline, CommitsThatReturnInTimeAreNeverReported) {
  using namespace std::chrono_literals;
  std::atomic<int> reported{0};
  CommitDeadline deadline("a.db", 75, 20ms, [&] { ++reported; });
  for (int i = 0; i < 1000; ++i) {
    deadline.begin();
    deadline.end();
  }
  // Eight looks at 5 ms apart: twice the deadline has passed since the last commit ended. Had
  // end() not counted, the watcher would have reported and stopped looking, and this would time out.
  ASSERT_TRUE(pl::test::wait_until([&] { return deadline.checks() >= 8; }, 10s));
  EXPECT_EQ(reported, 0);
}

TEST(CommitDeadlineDeathTest, AStuckCommitEndsTheProcessWithTheGivenCode) {
  using namespace std::chrono_literals;
  EXPECT_EXIT(
      {
        CommitDeadline deadline("registry.db", 75, 20ms);
        deadline.begin();
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        std::_Exit(0);  // the watcher did not end the process: fails the expectation
      },
      ::testing::ExitedWithCode(75), "");
}

}  // namespace
}  // namespace pl::sqlite
