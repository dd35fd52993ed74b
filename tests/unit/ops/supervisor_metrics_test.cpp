// What /metrics and /health say, and the readings behind them (RSS, cgroups).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/json.h"
#include "supervisor/child_cgroups.h"
#include "supervisor/metrics_text.h"
#include "supervisor/process_memory.h"
#include "supervisor/prometheus_text.h"

namespace pl::supervisor {
namespace {

namespace fs = std::filesystem;

Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// ---- The text format
// -----------------------------------------------------------------------------

TEST(PrometheusText, WritesHelpAndTypeOncePerFamilyAndLeavesOutEmptyOnes) {
  PrometheusText p;
  p.family("a_total", "counter", "A counter.");
  p.sample({{"x", "1"}}, 3);
  p.sample({{"x", "2"}}, 4);
  p.family("empty", "gauge", "Nothing here.");
  p.family("b", "gauge", "A gauge.");
  p.sample({}, 0.25);
  EXPECT_EQ(
      p.take(),
      "# HELP a_total A counter.\n# TYPE a_total counter\na_total{x=\"1\"} 3\na_total{x=\"2\"} 4\n"
      "# HELP b A gauge.\n# TYPE b gauge\nb 0.25\n");
}

TEST(PrometheusText, EscapesLabelValuesAndWritesNumbersExactly) {
  EXPECT_EQ(PrometheusText::escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(PrometheusText::number(12), "12");
  EXPECT_EQ(PrometheusText::number(1.916), "1.916");
  EXPECT_EQ(PrometheusText::number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PrometheusText::number(1e300), "1e+300");
  EXPECT_EQ(PrometheusText::number(1.0 / 3), "0.3333333333333333");
}

// ---- /metrics
// ------------------------------------------------------------------------------------

SupervisorFacts facts() {
  SupervisorFacts f;
  f.tree = json(R"({"name": "root", "state": "running", "uptime_ms": 83125, "children": [
      {"name": "broker", "type": "worker", "pid": 10, "state": "running", "uptime_ms": 2100,
       "restarts": 1, "max_memory": 536870912},
      {"name": "workers", "type": "pool", "pid": 0, "state": "running", "uptime_ms": 83100,
       "restarts": 0, "count": 2, "children": [
         {"name": "workers.1", "type": "worker", "pid": 11, "state": "running", "uptime_ms": 5, "restarts": 0},
         {"name": "workers.2", "type": "worker", "pid": 0, "state": "restarting", "uptime_ms": 0, "restarts": 3}]}]})");
  f.memory["broker"] = ChildReading{12345678, ""};
  f.memory["workers.1"] = ChildReading{std::nullopt, "open /proc/11/status: Permission denied"};
  f.measure_errors["workers.1"] = 2;
  f.memory_exceeded["workers.2"] = 3;
  f.events["exited"] = 4;
  f.memory_enforcement = "rss";
  f.http_requests[{"/metrics", 200}] = 7;
  return f;
}

Value broker_status() {
  return json(
      R"({"workers": [{"name": "workers.1", "pid": 11, "host": "a", "slots": 2, "held": ["a"], "draining": false},
                              {"name": "workers.3", "pid": 13, "host": "b", "slots": 0, "held": [], "draining": true},
                              {"name": "workers.1", "pid": 11, "host": "b", "slots": 1, "held": [], "draining": false}],
      "queued": 5, "in_flight": 1, "waiting_retry": 2, "outstanding": 8, "runs_running": 1,
      "counters": {"dispatched": 100, "completed": 90, "failed": 3, "retried": 4, "dead_letters": 1,
                   "queue_timeouts": 2,
                   "redelivered": 2, "runs_accepted": 3, "runs_succeeded": 2, "bad_worker_frames": 1,
                   "curve_allowed": 6, "curve_refused": 2, "curve_handshake_failures": 1},
      "item_latency": {"count": 3, "sum_us": 2200, "buckets": [[511, 1], [1023, 1], [1151, 1]]},
      "providers": {"anthropic": {"state": "open", "in_flight": 0, "max_concurrency": 8,
                                   "consecutive_failures": 5, "times_opened": 1, "results": 9,
                                   "errors_by_code": {"timeout": 4, "rate_limited": 1},
                                   "latency": {"count": 9, "sum_us": 9000000, "buckets": [[1048575, 9]]}}}})");
}

TEST(MetricsText, ExportsTheTreeChildrenAndTheirMemory) {
  const std::string text = render_metrics(facts(), BrokerFacts{});
  EXPECT_TRUE(has_line(text, "pipeline_tree_up 1")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_supervisor_uptime_seconds 83.125")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_child_up{child=\"workers.2\",type=\"worker\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_child_restarts_total{child=\"broker\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_child_resident_memory_bytes{child=\"broker\"} 12345678"))
      << text;
  EXPECT_TRUE(has_line(text, "pipeline_child_memory_limit_bytes{child=\"broker\"} 536870912"))
      << text;
  EXPECT_TRUE(has_line(text, "pipeline_memory_measure_errors_total{child=\"workers.1\"} 2"))
      << text;
  EXPECT_TRUE(has_line(text, "pipeline_child_memory_exceeded_total{child=\"workers.2\"} 3"))
      << text;
  EXPECT_TRUE(has_line(text, "pipeline_pool_members{pool=\"workers\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_http_requests_total{path=\"/metrics\",code=\"200\"} 7"))
      << text;
  EXPECT_TRUE(has_line(text, "# TYPE pipeline_child_restarts_total counter")) << text;
}

TEST(MetricsText, AnUnreadableMemoryIsAbsentNeverZero) {
  const std::string text = render_metrics(facts(), BrokerFacts{});
  EXPECT_EQ(text.find("pipeline_child_resident_memory_bytes{child=\"workers.1\"}"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("pipeline_child_resident_memory_bytes{child=\"workers.2\"}"),
            std::string::npos)
      << text;
}

TEST(MetricsText, ASilentBrokerIsDownAndItsMetricsAreAbsent) {
  BrokerFacts down;
  down.error = "no answer within 500 ms";
  const std::string text = render_metrics(facts(), down);
  EXPECT_TRUE(has_line(text, "pipeline_broker_up 0")) << text;
  EXPECT_EQ(text.find("pipeline_items_queued"), std::string::npos) << text;
  EXPECT_EQ(text.find("pipeline_runs_running"), std::string::npos) << text;
}

TEST(MetricsText, BackupsAreCountedWithTheNewestOnesTimeWhereABrokerRunsWhetherItAnswersOrNot) {
  SupervisorFacts f = facts();
  f.backups = BackupSummary{2, parse_backup_stamp("20261124T030012.345Z")};
  BrokerFacts down;
  down.error = "no answer within 500 ms";
  const std::string text = render_metrics(f, down);
  EXPECT_TRUE(has_line(text, "pipeline_backups_complete 2")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_backup_newest_timestamp_seconds 1795489212.345")) << text;

  // None yet: counted as none, and no time at all rather than 1970.
  f.backups = BackupSummary{};
  const std::string none = render_metrics(f, down);
  EXPECT_TRUE(has_line(none, "pipeline_backups_complete 0")) << none;
  EXPECT_EQ(none.find("pipeline_backup_newest_timestamp_seconds"), std::string::npos) << none;

  // A directory that could not be listed says nothing; a worker host has no backups to report.
  f.backups.reset();
  EXPECT_EQ(render_metrics(f, down).find("pipeline_backups"), std::string::npos);
  f.backups = BackupSummary{2, parse_backup_stamp("20261124T030012.345Z")};
  BrokerFacts worker_host;
  worker_host.probed = false;
  EXPECT_EQ(render_metrics(f, worker_host).find("pipeline_backup"), std::string::npos);
}

TEST(MetricsText, ExportsTheBrokersQueuesCountersWorkersAndProviders) {
  BrokerFacts up;
  up.status = broker_status();
  up.seconds = 0.002;
  const std::string text = render_metrics(facts(), up);
  for (const char* line :
       {"pipeline_broker_up 1",
        "pipeline_items_queued 5",
        "pipeline_items_in_flight 1",
        "pipeline_items_waiting_retry 2",
        "pipeline_items_outstanding 8",
        "pipeline_runs_running 1",
        "pipeline_items_succeeded_total 90",
        "pipeline_items_failed_total 3",
        "pipeline_items_retried_total 4",
        "pipeline_items_dead_lettered_total 1",
        "pipeline_items_queue_timed_out_total 2",
        "pipeline_runs_finished_total{state=\"succeeded\"} 2",
        "pipeline_workers_connected 3",
        "pipeline_host_workers_connected{host=\"a\"} 1",
        "pipeline_host_workers_connected{host=\"b\"} 2",
        "pipeline_workers_draining 1",
        "pipeline_worker_slots 3",
        "pipeline_worker_slots_busy 1",
        "pipeline_broker_bad_frames_total{socket=\"workers\"} 1",
        "pipeline_broker_curve_clients_total{outcome=\"allowed\"} 6",
        "pipeline_broker_curve_clients_total{outcome=\"refused\"} 2",
        "pipeline_broker_curve_clients_total{outcome=\"handshake_failed\"} 1",
        "pipeline_provider_circuit_state{provider=\"anthropic\",state=\"open\"} 1",
        "pipeline_provider_circuit_state{provider=\"anthropic\",state=\"closed\"} 0",
        "pipeline_provider_errors_total{provider=\"anthropic\",code=\"timeout\"} 4",
        "pipeline_provider_results_total{provider=\"anthropic\"} 9",
        "pipeline_provider_latency_seconds_count{provider=\"anthropic\"} 9",
        "pipeline_provider_latency_seconds_sum{provider=\"anthropic\"} 9"}) {
    EXPECT_TRUE(has_line(text, line)) << line << "\n" << text;
  }
  // A counter the broker did not send is absent, not zero.
  EXPECT_EQ(text.find("pipeline_items_poisoned_total 0"), std::string::npos);
}

TEST(MetricsText, AHostThatLostEveryWorkerReadsZeroUntilTheSupervisorRestarts) {
  std::set<std::string> seen;
  remember_worker_hosts(broker_status(), seen);
  BrokerFacts now;
  now.status = json(R"({"workers": [{"name": "workers.1", "pid": 11, "host": "a", "slots": 1,
                                      "held": []}]})");
  remember_worker_hosts(*now.status, seen);
  now.hosts_seen = seen;
  const std::string text = render_metrics(facts(), now);
  EXPECT_TRUE(has_line(text, "pipeline_host_workers_connected{host=\"a\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "pipeline_host_workers_connected{host=\"b\"} 0")) << text;

  // With no worker at all, the hosts seen still read 0.
  now.status = json(R"({"workers": []})");
  const std::string none = render_metrics(facts(), now);
  EXPECT_TRUE(has_line(none, "pipeline_host_workers_connected{host=\"a\"} 0")) << none;
  EXPECT_TRUE(has_line(none, "pipeline_host_workers_connected{host=\"b\"} 0")) << none;
}

TEST(MetricsText, ABrokerWithoutTcpEndpointsHasNoCurveOrHostFamilies) {
  BrokerFacts up;
  up.status = json(R"({"workers": [{"name": "workers.1", "pid": 11, "slots": 1, "held": []}],
                       "counters": {"dispatched": 1}})");
  const std::string text = render_metrics(facts(), up);
  EXPECT_TRUE(has_line(text, "pipeline_workers_connected 1")) << text;
  EXPECT_EQ(text.find("pipeline_broker_curve_clients_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("pipeline_host_workers_connected"), std::string::npos) << text;
}

TEST(MetricsText, FoldsFineLatencyBucketsIntoCumulativeBounds) {
  PrometheusText p;
  p.family("lat_seconds", "histogram", "h");
  const Value status = broker_status();
  write_latency_histogram(p, {}, *status.find("item_latency"));
  const std::string text = p.take();
  // A fine bucket counts under the first bound at or above its upper end: 511 us under 1 ms,
  // 1023 us and 1151 us under 2.5 ms.
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{le=\"0.0005\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{le=\"0.001\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{le=\"0.0025\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{le=\"600\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{le=\"+Inf\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "lat_seconds_sum 0.0022")) << text;
  EXPECT_TRUE(has_line(text, "lat_seconds_count 3")) << text;
}

TEST(MetricsText, EveryFamilyHasHelpAndTypeBeforeItsSamples) {
  BrokerFacts up;
  up.status = broker_status();
  const std::string text = render_metrics(facts(), up);
  std::set<std::string> typed;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(name).second) << "family twice: " << name;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::string name = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (!typed.count(name) && name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        name.resize(name.size() - s.size());
      }
    }
    EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
  }
}

// ---- /health
// -------------------------------------------------------------------------------------

TEST(Health, IsOkWhenTheTreeRunsAndTheBrokerAnswers) {
  BrokerFacts up;
  up.status = broker_status();
  HealthReport r = health_report(facts().tree, up);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body.get_string("status"), "ok");
  EXPECT_EQ(r.body.find("not_running")->as_array(), (Value::Array{"workers.2"}));
  EXPECT_EQ(r.body.get_int("workers"), 3);
}

TEST(Health, Is503SayingWhyWhenTheBrokerIsSilentOrTheTreeIsNotRunning) {
  BrokerFacts down;
  down.error = "no answer within 500 ms";
  HealthReport r = health_report(facts().tree, down);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(to_json(*r.body.find("problems")),
            "[\"the broker did not answer: no answer within 500 ms\"]");
  Value stopping = facts().tree;
  stopping["state"] = "stopping";
  BrokerFacts up;
  up.status = broker_status();
  r = health_report(stopping, up);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(to_json(*r.body.find("problems")), "[\"the tree is stopping\"]");
}

TEST(Health, ATreeWithoutABrokerIsHealthyByItselfAndReportsNoBrokerMetrics) {
  BrokerFacts none;
  none.probed = false;
  HealthReport r = health_report(facts().tree, none);
  EXPECT_EQ(r.http_status, 200) << to_json(r.body);
  EXPECT_EQ(r.body.get_string("broker"), "none");
  EXPECT_EQ(r.body.find("problems")->size(), 0u);
  const std::string text = render_metrics(facts(), none);
  EXPECT_EQ(text.find("pipeline_broker_up"), std::string::npos) << text;
  EXPECT_NE(text.find("pipeline_tree_up"), std::string::npos) << text;
}

// ---- Readings
// ------------------------------------------------------------------------------------

TEST(ProcessMemory, ReadsVmRssInKib) {
  EXPECT_EQ(parse_status_rss("Name:\tx\nVmPeak:\t  1 kB\nVmRSS:\t    2048 kB\nThreads: 1\n"),
            2048u * 1024);
  EXPECT_FALSE(parse_status_rss("Name:\tzombie\nState:\tZ (zombie)\n").has_value());
  EXPECT_FALSE(parse_status_rss("VmRSS:\t lots kB\n").has_value());
}

TEST(ProcessMemory, ReadsOurOwnResidentSetAndFailsForAMissingProcess) {
  auto ours = read_rss_bytes(::getpid());
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  EXPECT_GT(*ours, 0u);
  auto none = read_rss_bytes(999'999'999);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

TEST(Cgroups, FindTheUnifiedPathAndTheCgroup2Mount) {
  EXPECT_EQ(unified_cgroup_path("12:memory:/x\n0::/system.slice/pipeline.service\n"),
            "/system.slice/pipeline.service");
  EXPECT_FALSE(unified_cgroup_path("4:memory:/x\n").has_value());
  EXPECT_EQ(
      cgroup2_mount_point("25 1 0:22 / /sys rw - sysfs sysfs rw\n"
                          "36 25 0:31 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"),
      "/sys/fs/cgroup");
  EXPECT_FALSE(cgroup2_mount_point("25 1 0:22 / /sys rw - sysfs sysfs rw\n").has_value());
}

class FakeCgroupFs : public ::testing::Test {
 protected:
  FakeCgroupFs() {
    char tmpl[] = "/tmp/pl-cg-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    dir_ = root_ / "system.slice" / "pipeline.service";
    fs::create_directories(dir_);
    write(root_ / "self_cgroup", "0::/system.slice/pipeline.service\n");
    write(root_ / "mountinfo", "36 25 0:31 / " + root_.string() + " rw - cgroup2 cgroup2 rw\n");
    write(dir_ / "cgroup.controllers", "cpu io memory pids\n");
    write(dir_ / "cgroup.subtree_control", "");
    write(dir_ / "cgroup.procs", "4711\n4712\n");
  }
  ~FakeCgroupFs() override { fs::remove_all(root_); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path root_, dir_;
};

TEST_F(FakeCgroupFs, ADelegatedCgroupWithTheMemoryControllerIsFound) {
  auto found = ChildCgroups::find_delegated(root_ / "self_cgroup", root_ / "mountinfo");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, dir_);
}

TEST_F(FakeCgroupFs, ACgroupWithoutTheMemoryControllerIsRefusedSayingWhy) {
  write(dir_ / "cgroup.controllers", "cpu pids\n");
  auto found = ChildCgroups::find_delegated(root_ / "self_cgroup", root_ / "mountinfo");
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().message.find("no memory controller"), std::string::npos);
  write(root_ / "self_cgroup", "0::/\n");
  found = ChildCgroups::find_delegated(root_ / "self_cgroup", root_ / "mountinfo");
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().message.find("root cgroup"), std::string::npos);
}

TEST_F(FakeCgroupFs, TakingOverEnablesMemoryAndAChildGetsItsOwnMemoryMax) {
  auto cgroups = ChildCgroups::take_over(dir_);
  ASSERT_TRUE(cgroups.ok()) << cgroups.error().message;
  EXPECT_TRUE(fs::is_directory(dir_ / "supervisor"));
  EXPECT_EQ(read(dir_ / "cgroup.subtree_control"), "+memory");
  auto fd = cgroups->prepare("workers.2", 64ull << 20);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_TRUE(static_cast<bool>(*fd));
  EXPECT_EQ(read(dir_ / "child_workers.2" / "memory.max"), std::to_string(64ull << 20));
  EXPECT_EQ(read(dir_ / "child_workers.2" / "memory.oom.group"), "1");
  write(dir_ / "child_workers.2" / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
  EXPECT_EQ(cgroups->oom_kills("workers.2"), 2u);
  EXPECT_FALSE(cgroups->oom_kills("nobody").has_value());
}

}  // namespace
}  // namespace pl::supervisor
