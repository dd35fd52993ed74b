// The broker under fire, with real processes and real signals: a broker killed in the middle of
// a 10 000-item batch, an item that keeps killing its worker, a worker that freezes holding an
// item, a late answer from a stale attempt, a rogue peer sending garbage, and a full disk.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "common/fs.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"
#include "common/sqlite/database.h"
#include "common/state_paths.h"
#include "tests/integration/tree.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

std::filesystem::path write_pipeline(const Tree& tree, const std::string& name, const std::string& yaml) {
  const auto path = tree.dir() / name;
  EXPECT_TRUE(write_file_atomic(path, yaml).ok());
  return path;
}

// items.jsonl of 0 .. count - 1, and batch.yaml: a parallel for_loop echoing each, at most
// `max_parallel` at once, `delay_ms` each.
std::filesystem::path write_echo_batch(const Tree& tree, int count, int max_parallel, int delay_ms) {
  {
    std::ofstream items(tree.dir() / "items.jsonl");
    for (int i = 0; i < count; ++i) items << i << "\n";
  }
  return write_pipeline(
      tree, "batch.yaml",
      "workflow:\n  name: batch\n  steps:\n    - name: batch\n      type: for_loop\n"
      "      iterator: n\n      items_file: items.jsonl\n      parallel: true\n"
      "      max_parallel: " + std::to_string(max_parallel) + "\n      steps:\n"
      "        - {name: e, type: echo, value: \"{{loop.n}}\"" +
          (delay_ms > 0 ? ", delay_ms: " + std::to_string(delay_ms) : std::string()) + "}\n");
}

Value run_output(const Tree& tree, const std::string& name) {
  auto v = parse_json(read_text(tree.dir() / (name + ".out")));
  EXPECT_TRUE(v.ok()) << read_text(tree.dir() / (name + ".err"));
  return v.ok() ? *v : Value();
}

TEST(BrokerFaults, BrokerKilledInTheMiddleOfATenThousandItemBatchLosesAndRepeatsNothing) {
  Tree tree(tree_config(2, "  heartbeat_ms: 500\n", "  slots: 4\n"));
  const auto pipeline = write_echo_batch(tree, 10000, 16, 4);
  // 4 ms an item on 8 slots: the batch takes at least 5 s, so the kill below lands in its
  // middle however fast the machine is (without the delay a fast one finished it first).
  Process run = tree.start_pipelinectl({"run", pipeline.string()}, "run");
  ASSERT_TRUE(wait_until([&] { return tree.counter("completed") >= 2500; }, 60s)) << tree.log();
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  const int64_t completed_before_kill = tree.counter("completed");
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGKILL), 0);
  ASSERT_LT(completed_before_kill, 10000) << "the batch finished before the broker was killed";

  auto code = run.wait(180s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish\n" << tree.log();
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  EXPECT_NE(tree.pid_of("pipeline-broker"), broker) << "the supervisor restarted the broker";
  EXPECT_GE(tree.counter("runs_recovered"), 1) << tree.log();

  Value out = run_output(tree, "run");
  const Value* batch = out.find("steps")->find("batch");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->get_int("succeeded"), 10000);
  const auto& items = batch->find("items")->as_array();
  ASSERT_EQ(items.size(), 10000u);
  std::set<int64_t> seen;
  int64_t repeated = 0;
  for (const auto& item : items) {
    const Value* e = item.find("steps")->find("e");
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(seen.insert(e->get_int("data", -1)).second) << "value seen twice";
    if (e->get_int("attempts") > 1) ++repeated;
  }
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 9999);
  // Items in flight when the broker died are adopted from their workers, not run again.
  EXPECT_LE(repeated, 8) << "more items ran twice than were in flight\n" << tree.log();

  auto shown = tree.pipelinectl({"runs", "show", out.get_string("run"), "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  auto detail = parse_json(shown.out);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->get_int("items_recorded"), 10000);
}

TEST(BrokerFaults, ABrokerWhoseDiskIsFullWaitsForRoomAndItsRunThenFinishesWithEveryItemOnce) {
  TempDir base;
  SmallFileSystem disk(base.path() / "state", "4m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  // Clients over tcp:// too, whose CURVE handshakes the waiting broker must still answer.
  AllowedCurveClient curve;
  Tree tree(
      tree_config(
          2, "  heartbeat_ms: 1000\n  clients_endpoint: \"tcp://127.0.0.1:*\"\n" + curve.config(),
          "  slots: 4\n"),
      2, {}, base.path() / "state");
  std::string tcp_clients;
  ASSERT_TRUE(wait_until(
      [&] {
        tcp_clients = bound_tcp_endpoint(tree.pipelinectl({"status"}).out, "clients_endpoint");
        return !tcp_clients.empty();
      },
      30s));
  constexpr int kItems = 20000;  // ~300 bytes each: their results are several times 4 MiB
  {
    std::ofstream items(tree.dir() / "items.jsonl");
    for (int i = 0; i < kItems; ++i) {
      items << "{\"n\": " << i << ", \"pad\": \"" << std::string(300, 'x') << "\"}\n";
    }
  }
  const auto pipeline =
      write_pipeline(tree, "fill.yaml",
                     "workflow:\n  name: fill\n  steps:\n    - name: batch\n      type: for_loop\n"
                     "      iterator: it\n      items_file: items.jsonl\n      parallel: true\n"
                     "      max_parallel: 16\n      steps:\n        - {name: e, type: echo, value: "
                     "\"{{loop.it}}\"}\n");
  Process run = tree.start_pipelinectl({"run", pipeline.string()}, "run");

  // Every client is told why, by the broker that hit the full disk: it neither stops nor is
  // restarted into the same failure until the supervisor gives up on the tree.
  std::string refusal;
  ASSERT_TRUE(wait_until(
      [&] {
        refusal = tree.broker_status().get_string("message");
        return refusal.find("waits for free space") != std::string::npos;
      },
      120s))
      << tree.log();
  EXPECT_NE(refusal.find("database or disk is full"), std::string::npos) << refusal;
  const int64_t waiting = tree.pid_of("pipeline-broker");
  // A client that connects over tcp:// now is let in and told why, not left in its handshake.
  {
    net::Context context;
    net::SocketOptions options;
    options.curve_client = curve.keys();
    net::RequestClient remote(context, tcp_clients, options);
    auto told = remote.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 10s);
    ASSERT_TRUE(told.ok()) << told.error().message << "\n" << tree.log();
    ASSERT_EQ(told->type, protocol::MessageType::kClientError);
    auto error = protocol::client_error_from(told->body);
    ASSERT_TRUE(error.ok());
    EXPECT_EQ(error->code, ErrorCode::kUnavailable);
    EXPECT_NE(error->message.find("waits for free space"), std::string::npos) << error->message;
  }
  // pipelinectl run says why its run makes no progress, and waits on.
  ASSERT_TRUE(wait_until(
      [&] {
        return read_text(tree.dir() / "run.err").find("waits for free space") != std::string::npos;
      },
      30s))
      << read_text(tree.dir() / "run.err");
  // A new run is refused meanwhile, as something to try again later.
  auto refused = tree.pipelinectl({"run", pipeline.string()});
  EXPECT_EQ(refused.exit_code, 75) << refused.err;
  EXPECT_NE(refused.err.find("waits for free space"), std::string::npos) << refused.err;
  // So is any request: the broker is there (75, try again), not gone (69).
  auto listed = tree.pipelinectl({"runs", "list"});
  EXPECT_EQ(listed.exit_code, 75) << listed.err;
  EXPECT_NE(listed.err.find("waits for free space"), std::string::npos) << listed.err;

  ASSERT_TRUE(disk.grow("256m"));
  auto code = run.wait(180s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish\n" << tree.log();
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  EXPECT_NE(tree.pid_of("pipeline-broker"), waiting) << "it started again from its last commit";

  const std::string run_id = run_output(tree, "run").get_string("run");
  const auto exported = tree.dir() / "export.json";
  auto export_run = tree.pipelinectl({"runs", "export", run_id, "-o", exported.string()});
  ASSERT_EQ(export_run.exit_code, 0) << export_run.err;
  auto checkpoint = parse_json(read_text(exported));
  ASSERT_TRUE(checkpoint.ok());
  std::set<int64_t> seen;
  for (const auto& item : checkpoint->find("items")->as_array()) {
    const Value* data = item.find("result")->find("data");
    ASSERT_NE(data, nullptr) << item.get_string("id");
    EXPECT_TRUE(seen.insert(data->get_int("n", -1)).second) << "item recorded twice";
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kItems));
}

// Whether `pipelinectl status` comes to show a child of `tree` waiting for free space.
bool shows_waiting_for_room(Tree& tree) {
  return wait_until(
      [&] {
        return tree.pipelinectl({"status"}, 10s)
                   .out.find("waiting for free space in " + tree.state_dir().string()) !=
               std::string::npos;
      },
      60s);
}

TEST(BrokerFaults, ABrokerStartedOnAFullDiskWaitsForRoomInsteadOfFailingUntilTheTreeGivesUp) {
  TempDir base;
  SmallFileSystem disk(base.path() / "state", "8m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  Tree tree(tree_config(1), 1, {}, base.path() / "state");
  const auto filler = disk.fill();
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGKILL), 0);
  // Its successor cannot write broker.db: it says so to the supervisor, and waits.
  ASSERT_TRUE(shows_waiting_for_room(tree)) << tree.log();
  // A command meanwhile: the tree runs, its broker does not listen yet; try again (75), not 69.
  auto listed = tree.pipelinectl({"runs", "list"});
  EXPECT_EQ(listed.exit_code, 75) << listed.err;
  EXPECT_NE(listed.err.find("runs, but its broker does not listen now (starting)"),
            std::string::npos)
      << listed.err;
  std::filesystem::remove(filler);
  ASSERT_TRUE(wait_until([&] { return tree.worker_pids().size() == 1; }, 60s)) << tree.log();
  EXPECT_NE(tree.pid_of("pipeline-broker"), broker);
  EXPECT_NE(tree.log().find("has room again"), std::string::npos) << tree.log();
}

// The tree's first start, on a full disk: the registry (the first child) waits for room and
// then starts over in place, where exiting to be started again would stop the whole tree.
TEST(BrokerFaults, ATreeStartedOnAFullDiskComesUpOnceThereIsRoom) {
  TempDir base;
  SmallFileSystem disk(base.path() / "state", "8m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  const auto filler = disk.fill();
  Tree tree(tree_config(1), /*workers=*/0, {}, base.path() / "state");  // does not wait for one
  ASSERT_TRUE(shows_waiting_for_room(tree)) << tree.log();
  std::filesystem::remove(filler);
  ASSERT_TRUE(wait_until([&] { return tree.worker_pids().size() == 1; }, 60s)) << tree.log();
  EXPECT_NE(tree.log().find("has room again"), std::string::npos) << tree.log();
  EXPECT_EQ(tree.log().find("gave_up"), std::string::npos) << tree.log();
  auto run = tree.pipelinectl({"run", (source_dir() / "configs/pipelines/hello.yaml").string()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(BrokerFaults, ABrokerRecoveringARunOfHalfAMillionResultsIsNotTakenForAHungStart) {
  // A broker reads and replays every recorded result of a recovered run before it is ready:
  // here ~2 s (about 4 us a result on the development machine), twice its ready_timeout. Without
  // asking its supervisor for more time (EXTEND_TIMEOUT_USEC) it would be killed at the timeout
  // and restarted into the same recovery, forever.
  std::string config = tree_config(2, "  heartbeat_ms: 500\n", "  slots: 64\n");
  const std::string plain = "{name: broker, command: [pipeline-broker], ready: notify}";
  ASSERT_NE(config.find(plain), std::string::npos);
  config.replace(config.find(plain), plain.size(),
                 "{name: broker, command: [pipeline-broker], ready: notify, ready_timeout: 1000}");
  Tree tree(config);
  constexpr int kItems = 700000;
  const auto pipeline = write_echo_batch(tree, kItems, 512, 0);
  Process run = tree.start_pipelinectl({"run", pipeline.string(), "--progress", "none"}, "run");
  ASSERT_TRUE(wait_until([&] { return tree.counter("completed") >= 500000; }, 120s)) << tree.log();
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGKILL), 0);

  auto code = run.wait(180s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish\n" << tree.log();
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  EXPECT_EQ(tree.log().find("ready_timeout"), std::string::npos) << tree.log();
  EXPECT_GE(tree.counter("runs_recovered"), 1);
  Value out = run_output(tree, "run");
  EXPECT_EQ(out.find("steps")->find("batch")->get_int("succeeded"), kItems);
  auto shown = tree.pipelinectl({"runs", "show", out.get_string("run"), "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(parse_json(shown.out)->get_int("items_recorded"), kItems);
}

TEST(BrokerFaults, AnItemThatKeepsKillingItsWorkerIsDeadLetteredWhileTheOthersFinish) {
  Tree tree(tree_config(2, "  heartbeat_ms: 500\n  poison_threshold: 3\n"));
  const auto pipeline = write_pipeline(tree, "poison.yaml", R"(workflow:
  name: poison
  steps:
    - name: batch
      type: for_loop
      iterator: n
      items: [0, 1, 2, 3, 4, 5, 6, 7]
      parallel: true
      max_parallel: 2
      steps:
        - {name: e, type: echo, value: "{{loop.n}}", delay_ms: 300}
)");
  Process run = tree.start_pipelinectl({"run", pipeline.string()}, "run");
  // Item 3 "crashes" every worker that takes it: we kill each new holder.
  std::set<int64_t> killed;
  for (int kill = 0; kill < 3; ++kill) {
    int64_t holder = 0;
    ASSERT_TRUE(wait_until(
        [&] {
          holder = tree.worker_holding("/s0.i3.s0");
          return holder != 0 && !killed.count(holder);
        },
        60s))
        << "kill " << kill;
    ASSERT_EQ(::kill(static_cast<pid_t>(holder), SIGKILL), 0);
    killed.insert(holder);
  }
  auto code = run.wait(120s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1) << "the run fails, since one item failed";
  Value out = run_output(tree, "run");
  const Value* batch = out.find("steps")->find("batch");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->get_int("succeeded"), 7);
  EXPECT_EQ(batch->get_int("failed"), 1);
  const Value& poisoned = batch->find("items")->as_array()[3];
  EXPECT_FALSE(poisoned.get_bool("success"));
  EXPECT_NE(poisoned.get_string("error").find("poison"), std::string::npos) << poisoned.get_string("error");

  auto shown = tree.pipelinectl({"runs", "show", out.get_string("run"), "--json"});
  auto detail = parse_json(shown.out);
  ASSERT_TRUE(detail.ok()) << shown.err;
  ASSERT_EQ(detail->find("dead_letters")->size(), 1u);
  EXPECT_NE(detail->find("dead_letters")->as_array()[0].get_string("item").find("/s0.i3.s0"),
            std::string::npos);
}

// Starts a one-step run (300 ms, a 1 s timeout, retried once on timeout) and freezes the worker
// that takes it with SIGSTOP. Returns the run and the frozen worker's pid (0 when none took it).
std::pair<Process, int64_t> run_on_a_frozen_worker(Tree& tree) {
  const auto pipeline = write_pipeline(tree, "slow.yaml", R"(workflow:
  name: frozen
  steps:
    - name: slow
      type: echo
      value: done
      delay_ms: 300
      timeout: 1
      retry: {max_attempts: 2, base_delay_ms: 10, retry_on: [timeout]}
)");
  Process run = tree.start_pipelinectl({"run", pipeline.string()}, "run");
  int64_t frozen = 0;
  if (!wait_until([&] { return (frozen = tree.worker_holding("/s0")) != 0; }, 30s)) return {std::move(run), 0};
  EXPECT_EQ(::kill(static_cast<pid_t>(frozen), SIGSTOP), 0);
  return {std::move(run), frozen};
}

TEST(BrokerFaults, AFrozenWorkersItemTimesOutRunsElsewhereAndTheWorkerIsReplaced) {
  Tree tree(tree_config(2, "  heartbeat_ms: 5000\n  deadline_grace_ms: 200\n  cancel_grace_ms: 1500\n"));
  auto [run, frozen] = run_on_a_frozen_worker(tree);
  ASSERT_GT(frozen, 0);

  auto code = run.wait(60s);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  Value out = run_output(tree, "run");
  EXPECT_EQ(out.find("steps")->find("slow")->get_int("attempts"), 2);
  EXPECT_GE(tree.counter("timeouts"), 1);
  // It never let go of the cancelled attempt: the broker had the supervisor replace it.
  EXPECT_TRUE(wait_until([&] { return !process_alive(static_cast<pid_t>(frozen)); }, 30s));
  EXPECT_TRUE(wait_until([&] { return tree.worker_pids().size() == 2; }, 30s));
  EXPECT_GE(tree.counter("workers_killed"), 1);
}

TEST(BrokerFaults, ALateResultFromAStaleAttemptIsDiscarded) {
  Tree tree(tree_config(2, "  heartbeat_ms: 5000\n  deadline_grace_ms: 200\n  cancel_grace_ms: 60000\n"));
  auto [run, frozen] = run_on_a_frozen_worker(tree);
  ASSERT_GT(frozen, 0);
  auto code = run.wait(60s);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  EXPECT_EQ(run_output(tree, "run").find("steps")->find("slow")->get_int("attempts"), 2);

  const int64_t stale_before = tree.counter("stale_results");
  ASSERT_EQ(::kill(static_cast<pid_t>(frozen), SIGCONT), 0);  // attempt 1 answers, too late
  EXPECT_TRUE(wait_until([&] { return tree.counter("stale_results") > stale_before; }, 30s));
  auto shown = tree.pipelinectl({"runs", "list", "--json"});
  auto runs = parse_json(shown.out);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->as_array()[0].get_string("state"), "succeeded");
}

// How many times each item was started on a worker, from the workers' debug log lines
// "item ID attempt N (TYPE NAME)".
std::map<std::string, int> starts_per_item(const std::string& log) {
  static const std::regex start(R"(\[workers\.\d+\] item (\S+) attempt \d+ \()");
  std::map<std::string, int> starts;
  for (std::sregex_iterator it(log.begin(), log.end(), start), end; it != end; ++it) {
    ++starts[(*it)[1].str()];
  }
  return starts;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(BrokerFaults, ABrokerStoppedPastItsWorkersLivenessRunsNothingTwice) {
  // The broker stopped (SIGSTOP: a paused VM, a debugger, a starved host) longer than its
  // workers' liveness: they give it up and reconnect under new identities while it is stopped.
  // When it resumes, the items they still run stay with them, and nothing runs a second time.
  Tree tree(tree_config(2, "  heartbeat_ms: 200\n", "  slots: 4\n"), 2, {"PIPELINE_LOG_LEVEL=debug"});
  const auto pipeline = write_echo_batch(tree, 16, 8, 3000);
  Process run = tree.start_pipelinectl({"run", pipeline.string()}, "run");
  ASSERT_TRUE(wait_until([&] { return tree.counter("dispatched") >= 8; }, 60s)) << tree.log();
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGSTOP), 0);
  const bool both_reconnected = wait_until(
      [&] {
        const std::string log = tree.log();
        return occurrences(log, "[workers.1] no word from the broker within its liveness") >= 1 &&
               occurrences(log, "[workers.2] no word from the broker within its liveness") >= 1;
      },
      30s);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGCONT), 0);
  ASSERT_TRUE(both_reconnected) << tree.log();

  auto code = run.wait(60s);
  ASSERT_TRUE(code.has_value()) << "the run did not finish\n" << tree.log();
  ASSERT_EQ(*code, 0) << read_text(tree.dir() / "run.err");
  EXPECT_EQ(run_output(tree, "run").find("steps")->find("batch")->get_int("succeeded"), 16);
  const auto starts = starts_per_item(tree.log());
  EXPECT_EQ(starts.size(), 16u) << tree.log();
  for (const auto& [id, n] : starts) EXPECT_EQ(n, 1) << id << " ran " << n << " times";
  // The items running when the broker stopped (3 s each) were still running at the reconnect.
  EXPECT_GE(tree.counter("moved_to_new_connection"), 1) << tree.log();
  EXPECT_EQ(tree.counter("redelivered"), 0) << tree.log();
}

TEST(BrokerFaults, GarbageFromARogueDealerIsCountedAndIgnoredWhileWorkGoesOn) {
  Tree tree(tree_config(2));
  StatePaths paths(tree.state_dir());
  net::Context context;
  std::mt19937 rng(7);
  // Kept open until the broker has read everything: closing drops what is still queued.
  std::vector<std::unique_ptr<net::Socket>> rogues;
  for (auto endpoint : {paths.broker_workers_endpoint(), paths.broker_clients_endpoint()}) {
    ASSERT_TRUE(endpoint.ok());
    rogues.push_back(std::make_unique<net::Socket>(context, net::SocketKind::kDealer));
    net::Socket& rogue = *rogues.back();
    ASSERT_TRUE(rogue.connect(*endpoint).ok());
    for (int i = 0; i < 200; ++i) {
      std::string junk(rng() % 300, '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      ASSERT_TRUE(rogue.send({junk}).ok());
    }
    // Well-formed frames that still lie: a wrong version, a claimed 4 GiB string, three frames.
    ASSERT_TRUE(rogue.send({std::string("\x93\x07\x64\x80", 4)}).ok());
    ASSERT_TRUE(rogue.send({std::string("\x93\x01\x64\x81\xa1\x61\xdb\xff\xff\xff\xff", 11)}).ok());
    ASSERT_TRUE(rogue.send({"a", "b", "c"}).ok());
    // A result for an item nobody dispatched.
    ASSERT_TRUE(rogue.send({protocol::encode(protocol::MessageType::kWorkResult,
                                             protocol::to_body(protocol::WorkResult{"nope", 1, Value::object()}))})
                    .ok());
  }
  EXPECT_TRUE(wait_until(
      [&] { return tree.counter("bad_worker_frames") >= 200 && tree.counter("bad_client_frames") >= 200; },
      30s));
  auto r = tree.pipelinectl({"run", (source_dir() / "configs/pipelines/hello.yaml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree.worker_pids().size(), 2u);
}

TEST(BrokerFaults, ADamagedBrokerDbIsMarkedAndRefusedSoTheTreeGivesUpInsteadOfLooping) {
  // Damage that only a write reaches let the broker start, fail at that write a second later
  // and be restarted, for ever: one restart a second fits any restart intensity.
  TempDir dir;
  const fs::path state = dir.path() / "state";
  const std::string config = tree_config(1);
  {
    Tree tree(config, 1, {}, state);
    for (int i = 0; i < 3; ++i) {
      auto r = tree.pipelinectl({"run", (source_dir() / "configs/pipelines/hello.yaml").string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  {
    auto db = sqlite::Database::open(state / "broker.db");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    auto root = (*db)->query_text("SELECT rootpage FROM sqlite_master WHERE name = 'item_batches'");
    auto page_size = (*db)->query_text("PRAGMA page_size");
    ASSERT_TRUE(root.ok() && page_size.ok());
    std::fstream file(state / "broker.db", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp((std::stoll(*root) - 1) * std::stoll(*page_size));
    file << std::string(static_cast<size_t>(std::stoll(*page_size)), '\x5a');
  }
  ASSERT_TRUE(write_file_atomic(dir.path() / "config.yaml", config).ok());
  const std::string tag = new_tag();
  SpawnOptions options;
  options.env = {tag};
  options.unset_env = {"PIPELINE_STATE_DIR", "NOTIFY_SOCKET"};
  options.stderr_file = dir.path() / "supervisor.log";
  Process supervisor =
      Process::spawn({binary("pipeline-supervisor"), "--config",
                      (dir.path() / "config.yaml").string(), "--state-dir", state.string()},
                     options);
  // Whether the broker meets the damage as it starts or at its first write, a run reaches it
  // (sent once the tree runs: with no tree there, `run` would start a private one).
  ASSERT_TRUE(wait_until(
      [&] {
        return read_text(dir.path() / "supervisor.log").find("ready broker") != std::string::npos;
      },
      30s));
  (void)run_command(
      {binary("pipelinectl"), "--state-dir", state.string(), "run",
       (source_dir() / "configs/pipelines/hello.yaml").string(), "--progress", "none"},
      30s);
  auto code = supervisor.wait(60s);
  ASSERT_TRUE(code.has_value()) << "the tree still restarts its broker:\n"
                                << read_text(dir.path() / "supervisor.log");
  EXPECT_EQ(*code, 1);  // the root gave up
  EXPECT_TRUE(fs::exists(state / "broker.db.damaged")) << read_text(dir.path() / "supervisor.log");
  const std::string log = read_text(dir.path() / "supervisor.log");
  EXPECT_NE(log.find("was found damaged while in use"), std::string::npos) << log;
  EXPECT_TRUE(wait_until([&] { return processes_with_env(tag).empty(); }, 10s));
}

}  // namespace
}  // namespace pl::test
