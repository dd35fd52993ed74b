// pipelinectl backup and restore: copies of broker.db and registry.db taken while a batch runs,
// restored to another state directory, from which a tree starts with the runs and sessions of
// the first and finishes the run that was under way.
#include <gtest/gtest.h>

#include <fstream>

#include "common/fs.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"
#include "common/registry/registry_client.h"
#include "common/sqlite/database.h"
#include "tests/integration/tree.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

// Eight items of 1.5 s, two at a time: a run still going several seconds after its first items
// are recorded.
constexpr const char* kSlowBatch = R"(workflow:
  name: slow_for_backup
  steps:
    - name: work
      type: for_loop
      iterator: n
      items: [0, 1, 2, 3, 4, 5, 6, 7]
      parallel: true
      max_parallel: 2
      steps:
        - name: echo_n
          type: echo
          value: "{{loop.n}}"
          delay_ms: 1500
)";

// The run's state as `runs show --json` reports it on `tree`; "" when it cannot tell.
std::string run_state(Tree& tree, const std::string& run) {
  auto shown = tree.pipelinectl({"runs", "show", run, "--json"});
  if (shown.exit_code != 0) return "";
  auto v = parse_json(shown.out);
  return v.ok() ? v->get_string("state") : "";
}

TEST(Backup, CopiesTakenWhileABatchRunsStartAnotherTreeWithItsRunsAndSessions) {
  Tree tree(tree_config(2), 2);
  const std::string session_pipeline =
      (source_dir() / "configs/pipelines/claude_session.yaml").string();
  auto conversation = tree.pipelinectl({"run", session_pipeline});
  ASSERT_EQ(conversation.exit_code, 0) << conversation.err;
  const int64_t completed_before = tree.counter("completed");
  const fs::path batch_file = tree.dir() / "slow_for_backup.yaml";
  std::ofstream(batch_file) << kSlowBatch;
  Process batch = tree.start_pipelinectl({"run", batch_file.string()}, "batch");
  ASSERT_TRUE(wait_until([&] { return tree.counter("completed") >= completed_before + 2; }, 30s))
      << "two items of the batch recorded";

  const fs::path copies = tree.dir() / "copies";
  auto backup = tree.pipelinectl({"backup", "--to", copies.string()});
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  EXPECT_NE(backup.out.find("broker.db"), std::string::npos) << backup.out;
  EXPECT_NE(backup.out.find("registry.db"), std::string::npos) << backup.out;
  EXPECT_NE(backup.out.find("backup in " + copies.string()), std::string::npos) << backup.out;
  ASSERT_TRUE(fs::exists(copies / "broker.db"));
  ASSERT_TRUE(fs::exists(copies / "registry.db"));
  EXPECT_FALSE(fs::exists(copies / "broker.db.partial"));
  auto runs = tree.pipelinectl({"runs", "list", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  auto listed = parse_json(runs.out);
  ASSERT_TRUE(listed.ok() && listed->is_array() && listed->as_array().size() == 2) << runs.out;
  std::string batch_run;
  for (const Value& r : listed->as_array()) {
    if (r.get_string("pipeline") == "slow_for_backup") batch_run = r.get_string("run");
  }
  ASSERT_FALSE(batch_run.empty()) << runs.out;

  // A copy never replaces a file: the same directory again is refused, the copies kept.
  const auto size_before = fs::file_size(copies / "broker.db");
  auto again = tree.pipelinectl({"backup", "--to", copies.string()});
  EXPECT_EQ(again.exit_code, 2) << again.out << again.err;
  EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.err;
  EXPECT_EQ(fs::file_size(copies / "broker.db"), size_before);

  // Restoring is for a stopped tree: refused on this one, which keeps its files.
  auto refused = tree.pipelinectl({"restore", copies.string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("a tree runs on"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(tree.state_dir() / "replaced"));

  // Another tree on a state directory the copies were restored to: the first tree's runs and
  // session, and the batch, which that tree finishes (the first one still runs its own)
  // without running again the items the copy holds.
  const fs::path restored = tree.dir() / "restored";
  auto restore = run_command(
      {binary("pipelinectl"), "--state-dir", restored.string(), "restore", copies.string()});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_NE(restore.out.find("restored broker.db"), std::string::npos) << restore.out;
  EXPECT_NE(restore.out.find("restored registry.db"), std::string::npos) << restore.out;
  EXPECT_FALSE(fs::exists(copies / "broker.db-wal"))
      << "the copies are read, not opened for writing";
  Tree second(tree_config(2), 2, {}, restored);
  auto sessions = second.pipelinectl({"sessions", "show", "support-chat", "--json"});
  ASSERT_EQ(sessions.exit_code, 0) << sessions.err;
  auto session = parse_json(sessions.out);
  ASSERT_TRUE(session.ok()) << sessions.out;
  EXPECT_EQ(session->get_int("version"), 2) << sessions.out;
  EXPECT_EQ(second.counter("runs_recovered"), 1) << "the copy holds the batch as running";
  std::string state;
  EXPECT_TRUE(
      wait_until([&] { return (state = run_state(second, batch_run)) == "succeeded"; }, 60s))
      << "the batch on the restored tree: " << state;
  EXPECT_LE(second.counter("completed"), 8 - 2) << "items recorded in the copy ran again";
  auto original = batch.wait(60s);
  ASSERT_TRUE(original.has_value());
  EXPECT_EQ(*original, 0) << read_text(tree.dir() / "batch.err");
}

TEST(Restore, MovesTheFilesItReplacesAsideWithTheirWriteAheadLog) {
  TempDir dir;
  const fs::path copies = dir.path() / "copies";
  fs::create_directories(copies);
  {
    auto db = sqlite::Database::open(copies / "registry.db");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->exec("PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES ('copy')")
            .ok());
  }
  const fs::path state = dir.path() / "state";
  fs::create_directories(state);
  for (const char* name :
       {"registry.db", "registry.db-wal", "registry.db-shm", "registry.db.damaged", "broker.db"}) {
    std::ofstream(state / name) << "the old " << name;
  }
  auto r = run_command(
      {binary("pipelinectl"), "--state-dir", state.string(), "restore", copies.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(state / "registry.db.damaged")) << "goes with the file it marks";
  // A -wal left beside the restored copy would be replayed into it.
  EXPECT_FALSE(fs::exists(state / "registry.db-wal"));
  EXPECT_FALSE(fs::exists(state / "registry.db-shm"));
  EXPECT_EQ(read_text(state / "broker.db"), "the old broker.db") << "not in the copies: kept";
  ASSERT_TRUE(fs::is_directory(state / "replaced"));
  EXPECT_EQ(fs::status(state / "replaced").permissions() & fs::perms::all, fs::perms::owner_all);
  const fs::path aside = fs::directory_iterator(state / "replaced")->path();
  EXPECT_NE(r.out.find("what it replaced is in " + aside.string()), std::string::npos) << r.out;
  EXPECT_EQ(read_text(aside / "registry.db-wal"), "the old registry.db-wal");
  EXPECT_EQ(read_text(aside / "registry.db"), "the old registry.db");
  auto restored = sqlite::Database::open(state / "registry.db");
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*(*restored)->query_text("SELECT v FROM t"), "copy");
}

TEST(Restore, ACopyThatIsNotADatabaseOrTheStateDirectoryItselfChangesNothing) {
  TempDir dir;
  fs::create_directories(dir.path() / "copies");
  fs::create_directories(dir.path() / "state");
  std::ofstream(dir.path() / "copies" / "broker.db") << "not a database";
  std::ofstream(dir.path() / "state" / "broker.db") << "the old one";
  auto r = run_command({binary("pipelinectl"), "--state-dir", (dir.path() / "state").string(),
                        "restore", (dir.path() / "copies").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find((dir.path() / "copies" / "broker.db").string() +
                       " is not a sound SQLite database"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_text(dir.path() / "state" / "broker.db"), "the old one");
  EXPECT_FALSE(fs::exists(dir.path() / "state" / "replaced"));

  // A directory that is not there is said to be missing.
  auto missing = run_command({binary("pipelinectl"), "--state-dir", (dir.path() / "state").string(),
                              "restore", (dir.path() / "nope").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find((dir.path() / "nope").string() + " does not exist"), std::string::npos)
      << missing.err;

  // The state directory named as the backup (it would move its own files aside).
  auto itself = run_command({binary("pipelinectl"), "--state-dir", (dir.path() / "state").string(),
                             "restore", (dir.path() / "state").string() + "/"});
  EXPECT_EQ(itself.exit_code, 2) << itself.out << itself.err;
  EXPECT_NE(itself.err.find("is the state directory itself"), std::string::npos) << itself.err;
  EXPECT_EQ(read_text(dir.path() / "state" / "broker.db"), "the old one");
}

// Writes a file in `dir` that leaves about `bytes` free on its file system; returns its path.
fs::path leave_free(const fs::path& dir, uint64_t bytes) {
  const fs::path filler = dir / "filler";
  const auto room = file_system_room(dir);
  EXPECT_TRUE(room.has_value());
  if (!room || room->free_bytes <= bytes) return filler;
  std::ofstream out(filler, std::ios::binary);
  const std::string block(1 << 16, 'f');
  for (uint64_t left = room->free_bytes - bytes; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, block.size());
    out.write(block.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
  return filler;
}

TEST(Backup, ACopyThatFillsTheDiskFailsAloneAndTheTreeGoesOn) {
  TempDir base;
  SmallFileSystem disk(base.path() / "state", "16m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  Tree tree(tree_config(2), 2, {}, base.path() / "state");
  // A broker.db of a few MiB: 4 000 results of ~300 bytes.
  {
    std::ofstream items(tree.dir() / "items.jsonl");
    for (int i = 0; i < 4000; ++i)
      items << "{\"n\": " << i << ", \"pad\": \"" << std::string(300, 'x') << "\"}\n";
  }
  std::ofstream(tree.dir() / "batch.yaml")
      << "workflow:\n  name: batch\n  steps:\n    - name: work\n      type: for_loop\n"
         "      iterator: it\n      items_file: "
      << (tree.dir() / "items.jsonl").string()
      << "\n      parallel: true\n      max_parallel: 32\n      steps:\n        - name: e\n"
         "          type: echo\n          value: \"{{loop.it}}\"\n";
  auto run = tree.pipelinectl({"run", (tree.dir() / "batch.yaml").string(), "--progress", "none"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const int64_t broker = tree.pid_of("pipeline-broker");
  const auto filler = leave_free(tree.state_dir(), 512 * 1024);

  const fs::path copies = tree.state_dir() / "copies";
  auto backup = tree.pipelinectl({"backup", "--to", copies.string()});
  EXPECT_EQ(backup.exit_code, 1) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("broker.db: backup to " + (copies / "broker.db").string()),
            std::string::npos)
      << backup.err;
  EXPECT_NE(backup.err.find("database or disk is full (" + copies.string() + ": "),
            std::string::npos)
      << backup.err;
  EXPECT_FALSE(fs::exists(copies / "broker.db"));
  EXPECT_FALSE(fs::exists(copies / "broker.db.partial")) << "the failed copy gave its space back";
  // The broker went on as it was: same process, answering.
  EXPECT_EQ(tree.pid_of("pipeline-broker"), broker);
  EXPECT_EQ(tree.pipelinectl({"runs", "list"}).exit_code, 0);

  fs::remove(filler);
  auto again = tree.pipelinectl({"backup", "--to", (tree.state_dir() / "copies2").string()});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(fs::exists(tree.state_dir() / "copies2" / "broker.db"));
}

TEST(Backup, KeepRemovesTheOldestBackupsOfTheStateDirectoryAndNothingElse) {
  Tree tree(tree_config(1), 1);
  const fs::path backups = tree.state_dir() / "backups";
  for (const char* old : {"20200101T000000.000Z", "20210101T000000.000Z"}) {
    fs::create_directories(backups / old);
    std::ofstream(backups / old / "broker.db") << "an old copy";
  }
  fs::create_directories(backups / "kept by hand");
  auto first = tree.pipelinectl({"backup", "--keep", "2"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("removed the older backup " + (backups / "20200101T000000.000Z").string()),
            std::string::npos)
      << first.out;
  EXPECT_FALSE(fs::exists(backups / "20200101T000000.000Z"));
  EXPECT_TRUE(fs::exists(backups / "20210101T000000.000Z"));
  // A second one at once gets a directory of its own, and the oldest goes.
  auto second = tree.pipelinectl({"backup", "--keep", "2"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_FALSE(fs::exists(backups / "20210101T000000.000Z"));
  EXPECT_TRUE(fs::exists(backups / "kept by hand"));
  int copies = 0;
  for (const auto& entry : fs::directory_iterator(backups)) {
    if (entry.path().filename() == "kept by hand") continue;
    EXPECT_TRUE(fs::exists(entry.path() / "broker.db")) << entry.path();
    EXPECT_TRUE(fs::exists(entry.path() / "registry.db")) << entry.path();
    ++copies;
  }
  EXPECT_EQ(copies, 2);

  auto mixed = tree.pipelinectl({"backup", "--keep", "2", "--to", (tree.dir() / "elsewhere").string()});
  EXPECT_EQ(mixed.exit_code, 2) << mixed.out << mixed.err;
  EXPECT_NE(mixed.err.find("it does not go with --to"), std::string::npos) << mixed.err;
}

// A backup writes files on the tree's host: a client that reaches the broker or the registry over
// tcp://, even with a CURVE key both let in, cannot ask for one. The same client is served
// otherwise, and a pipelinectl on the host still backs up.
TEST(Backup, IsRefusedOverTcpEvenToAnAllowedKeyAndWritesNothing) {
  AllowedCurveClient curve;
  Tree tree(tree_config(1, "  heartbeat_ms: 1000\n  clients_endpoint: \"tcp://127.0.0.1:*\"\n" +
                               curve.config()) +
                "registry:\n  tcp_endpoint: \"tcp://127.0.0.1:*\"\n" + curve.config(),
            1);
  std::string broker_tcp, registry_tcp;
  ASSERT_TRUE(wait_until(
      [&] {
        broker_tcp = bound_tcp_endpoint(tree.pipelinectl({"status"}).out, "clients_endpoint");
        registry_tcp = bound_tcp_endpoint(tree.log(), "tcp_endpoint");
        return !broker_tcp.empty() && !registry_tcp.empty();
      },
      30s))
      << tree.log();
  const net::CurveClientKeys client_keys = curve.keys();
  const fs::path target = tree.dir() / "from-afar";
  net::Context context;

  net::SocketOptions options;
  options.curve_client = client_keys;
  net::RequestClient broker(context, broker_tcp, options);
  Value asked = Value::object();
  asked["dir"] = target.string();
  auto refused = broker.call(protocol::MessageType::kBackupRequest, asked, 10s);
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  ASSERT_EQ(refused->type, protocol::MessageType::kClientError);
  auto error = protocol::client_error_from(refused->body);
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, ErrorCode::kInvalidInput);
  EXPECT_EQ(error->message,
            "backup writes files on this host: it is taken only over the state "
            "directory's local socket (pipelinectl backup on this host), not over " +
                broker_tcp);
  auto status = broker.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 10s);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->type, protocol::MessageType::kBrokerStatus);

  RegistryClientOptions registry_options;
  registry_options.endpoint = registry_tcp;
  registry_options.context = &context;
  registry_options.curve = client_keys;
  RegistryClient registry(registry_options);
  auto registry_refused = registry.backup(target.string());
  ASSERT_FALSE(registry_refused.ok());
  EXPECT_EQ(registry_refused.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(registry_refused.error().message.find("not over " + registry_tcp), std::string::npos)
      << registry_refused.error().message;
  EXPECT_TRUE(registry.ping().ok());
  EXPECT_FALSE(fs::exists(target)) << "a refused backup wrote something";

  auto local = tree.pipelinectl({"backup", "--to", (tree.dir() / "local").string()});
  EXPECT_EQ(local.exit_code, 0) << local.out << local.err;
  EXPECT_TRUE(fs::exists(tree.dir() / "local" / "registry.db"));
}

TEST(Backup, WithNoTreeOnTheStateDirectoryExitsSixtyNine) {
  TempDir empty;
  auto r = run_command({binary("pipelinectl"), "--state-dir", empty.path().string(), "backup"});
  EXPECT_EQ(r.exit_code, 69) << r.out << r.err;
  EXPECT_NE(r.err.find("no broker runs on"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(empty.path() / "backups"));
}

}  // namespace
}  // namespace pl::test
