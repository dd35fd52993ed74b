// Observability and recycling on a whole tree (registry, broker, workers): /metrics and
// /health, pipelinectl top, progress lines of pipelinectl run, worker.max_items.
#include <gtest/gtest.h>

#include <cmath>

#include "common/fs.h"
#include "common/json.h"
#include "tests/integration/ops/http_get.h"
#include "tests/integration/tree.h"

namespace pl::test {
namespace {

std::string config(const std::string& worker_extra = "", int workers = 2) {
  return "supervisor:\n"
         "  name: root\n"
         "  intensity: 50\n"
         "  period: 10\n"
         "  metrics: {listen: \"127.0.0.1:0\", broker_timeout_ms: 2000}\n"
         "children:\n"
         "  - {name: registry, command: [pipeline-registry], ready: notify}\n"
         "  - {name: broker, command: [pipeline-broker], ready: notify}\n"
         "  - {name: workers, type: pool, count: " +
         std::to_string(workers) +
         ", command: [pipeline-worker], ready: notify, shutdown: 2000}\n"
         "broker:\n  heartbeat_ms: 1000\n"
         "worker:\n  slots: 1\n" +
         worker_extra;
}

// A loop of `n` items of `delay_ms` each, written into the tree's directory.
std::string batch_pipeline(Tree& tree, int n, int delay_ms) {
  std::string items;
  for (int i = 0; i < n; ++i) items += (i ? ", " : "") + std::to_string(i);
  const auto path = tree.dir() / "batch.yaml";
  EXPECT_TRUE(write_file_atomic(path,
                                "workflow:\n"
                                "  name: batch\n"
                                "  steps:\n"
                                "    - name: work\n"
                                "      type: for_loop\n"
                                "      iterator: n\n"
                                "      items: [" +
                                    items +
                                    "]\n"
                                    "      parallel: true\n"
                                    "      max_parallel: 4\n"
                                    "      steps:\n"
                                    "        - name: echo_n\n"
                                    "          type: echo\n"
                                    "          value: \"{{loop.n}}\"\n"
                                    "          delay_ms: " +
                                    std::to_string(delay_ms) + "\n")
                  .ok());
  return path.string();
}

// The backups in the state directory, for an alert on their age and for the operator's eye: none
// at first, then the one `pipelinectl backup` made, dated by its name, in /metrics and in status.
TEST(TreeMetrics, CountTheBackupsOfTheStateDirectoryAndDateTheNewestAsStatusDoes) {
  Tree tree(config("", 1), 1);
  const int port = tree.metrics_port();
  ASSERT_GT(port, 0) << tree.log();
  HttpReply before = http_get(port, "/metrics");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(metric(before.body, "pipeline_backups_complete"), 0) << before.body;
  EXPECT_EQ(before.body.find("pipeline_backup_newest_timestamp_seconds"), std::string::npos);
  auto status_before = tree.pipelinectl({"status"});
  EXPECT_NE(status_before.out.find("\nbackups: none in the state directory yet"), std::string::npos)
      << status_before.out;

  auto unix_seconds = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const double started = unix_seconds();
  auto backup = tree.pipelinectl({"backup"});
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  const double ended = unix_seconds();
  HttpReply after = http_get(port, "/metrics");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(metric(after.body, "pipeline_backups_complete"), 1) << after.body;
  const double newest = metric(after.body, "pipeline_backup_newest_timestamp_seconds");
  EXPECT_GE(newest, started - 0.001) << after.body;  // the name keeps milliseconds
  EXPECT_LE(newest, ended) << after.body;

  auto status = parse_json(tree.pipelinectl({"status", "--json"}).out);
  ASSERT_TRUE(status.ok());
  const Value* backups = status->find("backups");
  ASSERT_NE(backups, nullptr);
  EXPECT_EQ(backups->get_int("complete"), 1);
  EXPECT_EQ(backups->get_int("newest_ms"), std::llround(newest * 1000));
  auto human = tree.pipelinectl({"status"});
  EXPECT_NE(human.out.find("\nbackups: 1 complete, newest "), std::string::npos) << human.out;
}

TEST(TreeMetrics, ServeTheBrokerAndTheTreeAndMoveWithARun) {
  Tree tree(config());
  const int port = tree.metrics_port();
  ASSERT_GT(port, 0) << tree.log();

  HttpReply health = http_get(port, "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  auto body = parse_json(health.body);
  ASSERT_TRUE(body.ok()) << health.body;
  EXPECT_EQ(body->get_string("status"), "ok");
  EXPECT_EQ(body->get_int("workers"), 2);

  HttpReply before = http_get(port, "/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(metric(before.body, "pipeline_broker_up"), 1) << before.body;
  EXPECT_EQ(metric(before.body, "pipeline_workers_connected"), 2) << before.body;
  EXPECT_EQ(metric(before.body, "pipeline_items_queued"), 0) << before.body;
  EXPECT_GT(metric(before.body, "pipeline_child_resident_memory_bytes{child=\"broker\"}"), 0)
      << before.body;
  EXPECT_GT(metric(before.body, "pipeline_child_resident_memory_bytes{child=\"workers.1\"}"), 0);
  EXPECT_EQ(metric(before.body, "pipeline_item_latency_seconds_count"), 0) << before.body;

  auto run = tree.pipelinectl(
      {"run", (source_dir() / "configs/pipelines/hello.yaml").string(), "--progress", "none"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  HttpReply after = http_get(port, "/metrics");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(metric(after.body, "pipeline_runs_finished_total{state=\"succeeded\"}"), 1)
      << after.body;
  EXPECT_EQ(metric(after.body, "pipeline_runs_accepted_total"), 1);
  const double items = metric(after.body, "pipeline_items_succeeded_total");
  EXPECT_GE(items, 5) << after.body;
  EXPECT_EQ(metric(after.body, "pipeline_item_latency_seconds_count"), items);
  EXPECT_EQ(metric(after.body, "pipeline_item_latency_seconds_bucket{le=\"+Inf\"}"), items);
  EXPECT_EQ(metric(after.body, "pipeline_items_in_flight"), 0);
  EXPECT_EQ(metric(after.body, "pipeline_http_requests_total{path=\"/metrics\",code=\"200\"}"), 1)
      << after.body;
}

TEST(TreeMetrics, ABrokerThatIsDownMakesHealth503AndItsMetricsAbsent) {
  Tree tree(config());
  const int port = tree.metrics_port();
  ASSERT_GT(port, 0);
  auto stop = tree.pipelinectl({"stop", "broker"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  HttpReply health = http_get(port, "/health");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_NE(health.body.find("the broker did not answer"), std::string::npos) << health.body;
  HttpReply metrics = http_get(port, "/metrics");
  EXPECT_EQ(metric(metrics.body, "pipeline_broker_up"), 0) << metrics.body;
  EXPECT_EQ(metric(metrics.body, "pipeline_child_up{child=\"broker\",type=\"worker\"}"), 0);
  EXPECT_EQ(metrics.body.find("pipeline_items_queued"), std::string::npos);
  auto start = tree.pipelinectl({"start", "broker"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_TRUE(wait_until([&] { return http_get(port, "/health").status == 200; }, 30s));
}

TEST(Top, OnceJsonIsOneObjectWithTheTreeAndTheBroker) {
  Tree tree(config());
  auto r = tree.pipelinectl({"top", "--once", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  auto frame = parse_json(r.out);
  ASSERT_TRUE(frame.ok()) << r.out;
  const Value* sup = frame->find("supervisor");
  ASSERT_TRUE(sup && sup->is_object());
  EXPECT_EQ(sup->get_string("state"), "running");
  bool broker_seen = false;
  for (const Value& c : sup->find("children")->as_array()) {
    if (c.get_string("name") != "broker") continue;
    broker_seen = true;
    EXPECT_GT(c.get_int("rss_bytes"), 0);
    EXPECT_GT(c.get_int("pid"), 0);
  }
  EXPECT_TRUE(broker_seen);
  const Value* broker = frame->find("broker");
  ASSERT_TRUE(broker && broker->is_object());
  EXPECT_EQ(broker->find("workers")->size(), 2u);
  EXPECT_TRUE(frame->find("rates")->is_null());  // one frame: no rate yet
}

TEST(Top, OnceTextShowsChildrenQueuesAndLatency) {
  Tree tree(config());
  auto r = tree.pipelinectl({"top", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"tree root running", "registry", "broker", "workers.2", "2 connected",
                           "queued 0", "latency"}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no terminal escapes off a terminal";
}

TEST(Top, FramesPrintsThatManyFramesWithThroughputAfterTheFirst) {
  Tree tree(config());
  auto r = tree.pipelinectl({"top", "--json", "--frames", "2", "--interval", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  // The last frame has rates (computed against the one before).
  const std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  auto frame = parse_json(last);
  ASSERT_TRUE(frame.ok()) << last;
  EXPECT_TRUE(frame->find("rates")->is_object()) << last;
}

TEST(Top, ExitsSixtyNineWhenNoSupervisorAnswers) {
  TempDir empty;
  auto r =
      run_command({binary("pipelinectl"), "--state-dir", empty.path().string(), "top", "--once"});
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_NE(r.err.find("no supervisor"), std::string::npos) << r.err;
}

TEST(RunProgress, PlainLinesGoToStderrAndOnlyTheResultToStdout) {
  Tree tree(config());
  const std::string file = batch_pipeline(tree, 16, 300);
  // stderr is a file here: plain lines, no escapes.
  auto r = tree.pipelinectl({"run", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto out = parse_json(r.out);
  ASSERT_TRUE(out.ok()) << "stdout is the result JSON only: " << r.out;
  EXPECT_TRUE(out->get_bool("success"));
  EXPECT_NE(r.err.find("progress: work "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/16 done"), std::string::npos) << r.err;
  // The last line says the loop completed (from the run's final status).
  EXPECT_NE(r.err.find("progress: work 16/16 done (100%)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
}

TEST(RunProgress, NoneKeepsStderrToTheRunsOwnMessages) {
  Tree tree(config());
  const std::string file = batch_pipeline(tree, 4, 50);
  auto r = tree.pipelinectl({"run", file, "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("progress:"), std::string::npos) << r.err;
}

TEST(Recycling, AWorkerWithMaxItems3IsReplacedAfter3ItemsAndTheRunCompletes) {
  Tree tree(config("  max_items: 3\n"));
  const std::string file = batch_pipeline(tree, 12, 50);
  auto r = tree.pipelinectl({"run", file, "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err << tree.log();
  auto out = parse_json(r.out);
  ASSERT_TRUE(out.ok()) << r.out;
  const Value* loop = out->find("steps")->find("work");
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->get_int("succeeded"), 12);
  for (const Value& item : loop->find("items")->as_array()) {
    // Recycling is planned: nothing is lost, nothing runs twice.
    EXPECT_EQ(item.find("steps")->find("echo_n")->get_int("attempts"), 1);
  }
  EXPECT_EQ(tree.counter("redelivered"), 0);
  EXPECT_EQ(tree.counter("failed"), 0);

  // Workers said goodbye after their third item and exited 0; the pool replaced them. However
  // the 12 items fell, at least 3 workers end that way (the last ones after the run).
  EXPECT_TRUE(wait_until(
      [&] { return tree.log().find("recycling after 3 item(s)") != std::string::npos; }, 30s))
      << tree.log();
  auto clean_exits = [&] {
    auto events = tree.pipelinectl({"events", "--json"});
    auto list = parse_json(events.out);
    int n = 0;
    if (!list.ok()) return n;
    for (const Value& e : list->find("events")->as_array()) {
      if (e.get_string("kind") == "exited" && e.get_string("child").rfind("workers.", 0) == 0 &&
          e.get_int("exit_status") == 0) {
        ++n;
      }
    }
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return clean_exits() >= 3; }, 30s)) << clean_exits();
  // The pool is whole again.
  EXPECT_TRUE(wait_until([&] { return tree.worker_pids().size() == 2; }, 30s));
}

}  // namespace
}  // namespace pl::test
