// max_memory and rlimits: how the config reads them, and the core's RSS watch.
#include <gtest/gtest.h>

#include "common/config/yaml_document.h"
#include "common/byte_size.h"
#include "supervisor/config_loader.h"
#include "supervisor/listen_address.h"
#include "tests/unit/supervisor/core_driver.h"

namespace pl::supervisor {
namespace {

using testing::CoreDriver;
using testing::supervisor;
using testing::worker;
using Names = std::vector<std::string>;

Result<TreeSpec> load(std::string_view text) {
  auto doc = parse_yaml(text, "t.yaml");
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().message);
  CommandLookup lookup{"/bin", "/usr/bin"};
  return read_tree_spec(*doc, lookup, "/tmp");
}

std::string error_of(std::string_view text) {
  auto tree = load(text);
  return tree.ok() ? std::string("(loaded)") : tree.error().message;
}

// ---- Sizes and addresses ----------------------------------------------------------------------

TEST(ByteSize, ReadsBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_byte_size("512MiB"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("2 GiB"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("1gb"), 1'000'000'000ull);
  EXPECT_EQ(parse_byte_size("10KB"), 10'000ull);
  EXPECT_EQ(parse_byte_size("10k"), 10'240ull);
  EXPECT_EQ(parse_byte_size("4096"), 4096ull);
  EXPECT_EQ(parse_byte_size("4096 B"), 4096ull);
  EXPECT_EQ(parse_byte_size("1TiB"), 1ull << 40);
}

TEST(ByteSize, RefusesWhatIsNotASize) {
  for (const char* bad :
       {"", "MiB", "1.5GiB", "-1", "12 parsecs", "1 MiBs", "99999999999999999999"}) {
    EXPECT_FALSE(parse_byte_size(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_byte_size("20000000TiB").has_value());  // over 64 bits
}

TEST(ByteSize, FormatsForPeople) {
  EXPECT_EQ(format_bytes(900), "900 B");
  EXPECT_EQ(format_bytes(64ull << 20), "64 MiB");
  EXPECT_EQ(format_bytes(3ull << 29), "1.5 GiB");
}

TEST(ListenAddress, APortAloneMeansLoopback) {
  auto a = parse_listen_address("9464");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  EXPECT_TRUE(a->loopback);
}

TEST(ListenAddress, ReadsIpv4Ipv6AndLocalhost) {
  auto v6 = parse_listen_address("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->ipv6);
  EXPECT_TRUE(v6->loopback);
  EXPECT_EQ(v6->display(), "[::1]:0");
  auto any = parse_listen_address("0.0.0.0:9464");
  ASSERT_TRUE(any.ok());
  EXPECT_FALSE(any->loopback);
  auto local = parse_listen_address("localhost:80");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->display(), "127.0.0.1:80");
  EXPECT_TRUE(parse_listen_address("127.3.2.1:1")->loopback);
}

TEST(ListenAddress, RefusesNamesAndBadPorts) {
  for (const char* bad :
       {"example.com:80", ":9464", "127.0.0.1:70000", "127.0.0.1:", "::1:80", "[::1]80"}) {
    EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
  }
}

// ---- Config ------------------------------------------------------------------------------------

TEST(LimitsConfig, ReadsMaxMemoryAndRlimitsForWorkersAndPools) {
  auto tree = load(R"(
children:
  - name: a
    command: [sh]
    max_memory: 512MiB
    memory_check: 250
    rlimits: {cpu_seconds: 600, open_files: 4096, address_space: 2GiB, core_size: 0, stack: unlimited}
  - name: w
    type: pool
    command: [sh]
    max_memory: 1073741824
)");
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  const ProcessSpec& a = tree->root.children[0].process;
  EXPECT_EQ(a.max_memory_bytes, 512ull << 20);
  EXPECT_EQ(a.memory_check_ms, 250);
  ASSERT_EQ(a.rlimits.size(), 5u);
  EXPECT_EQ(a.rlimits[0], (ResourceLimit{Resource::kCpuSeconds, 600}));
  EXPECT_EQ(a.rlimits[1], (ResourceLimit{Resource::kOpenFiles, 4096}));
  EXPECT_EQ(a.rlimits[2], (ResourceLimit{Resource::kAddressSpace, 2ull << 30}));
  EXPECT_EQ(a.rlimits[3], (ResourceLimit{Resource::kCoreSize, 0}));
  EXPECT_EQ(a.rlimits[4], (ResourceLimit{Resource::kStack, kUnlimited}));
  EXPECT_EQ(tree->root.children[1].process.max_memory_bytes, 1ull << 30);
  EXPECT_EQ(tree->root.children[1].process.memory_check_ms, 1000);
}

TEST(LimitsConfig, ReportsBadLimitsWithTheirPlace) {
  const std::string e = error_of(R"(
children:
  - name: a
    command: [sh]
    max_memory: 512
    rlimits: {open_files: many, cpu_seconds: 0, file_size: 1 lightyear, nice: 3}
)");
  EXPECT_NE(e.find("t.yaml:5:17: children.0.max_memory: 512 bytes is under 1MiB"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("rlimits.open_files: expected a non-negative integer"), std::string::npos) << e;
  EXPECT_NE(e.find("rlimits.cpu_seconds: 0 would stop the process"), std::string::npos) << e;
  EXPECT_NE(e.find("rlimits.file_size: expected a size"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key \"children.0.rlimits.nice\""), std::string::npos) << e;
}

TEST(LimitsConfig, AStackOrAddressSpaceWithoutAUnitIsAnErrorButSmallCoreAndFileSizesAreNot) {
  const std::string e = error_of(R"(
children:
  - name: a
    command: [sh]
    rlimits: {stack: 8, address_space: 4096, core_size: 0, file_size: 100}
)");
  EXPECT_NE(e.find("t.yaml:5:22: children.0.rlimits.stack: 8 bytes is under 1MiB: did you forget "
                   "a unit (8MiB)?"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("rlimits.address_space: 4096 bytes is under 1MiB"), std::string::npos) << e;
  EXPECT_EQ(e.find("core_size"), std::string::npos) << e;
  EXPECT_EQ(e.find("file_size"), std::string::npos) << e;
}

TEST(LimitsConfig, AChangedLimitRestartsTheProcessOnReload) {
  ProcessSpec a;
  ProcessSpec b = a;
  b.max_memory_bytes = 1 << 30;
  EXPECT_TRUE(a.launch_differs(b));
  b = a;
  b.rlimits.push_back({Resource::kOpenFiles, 10});
  EXPECT_TRUE(a.launch_differs(b));
  b = a;
  b.memory_check_ms = 5;
  EXPECT_FALSE(a.launch_differs(b));
}

TEST(MetricsConfig, IsOffUnlessListenIsSet) {
  auto tree = load("children: []\n");
  ASSERT_TRUE(tree.ok());
  EXPECT_TRUE(tree->metrics.listen.empty());
  EXPECT_EQ(tree->cgroup, CgroupMode::kAuto);
}

TEST(MetricsConfig, ReadsTheEndpointSettings) {
  auto tree = load(R"(
supervisor:
  cgroup: off
  metrics: {listen: "127.0.0.1:0", broker_timeout_ms: 200, max_connections: 4}
children: []
)");
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_EQ(tree->metrics.listen, "127.0.0.1:0");
  EXPECT_EQ(tree->metrics.broker_timeout_ms, 200);
  EXPECT_EQ(tree->metrics.max_connections, 4);
  EXPECT_EQ(tree->cgroup, CgroupMode::kOff);
}

TEST(MetricsConfig, RefusesANonLoopbackAddressUnlessAllowed) {
  const std::string e =
      error_of("supervisor:\n  metrics: {listen: \"0.0.0.0:9464\"}\nchildren: []\n");
  EXPECT_NE(e.find("supervisor.metrics.listen: 0.0.0.0:9464 is not a loopback address"),
            std::string::npos)
      << e;
  auto allowed = load(
      "supervisor:\n  metrics: {listen: \"0.0.0.0:9464\", allow_remote: true}\nchildren: []\n");
  EXPECT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_NE(error_of("supervisor:\n  metrics: {listen: \"nowhere:1\"}\nchildren: []\n")
                .find("not an IP address"),
            std::string::npos);
}

// ---- The core's RSS watch
// ------------------------------------------------------------------------

ChildSpec bounded(std::string name, uint64_t max_bytes, int64_t check_ms = 1000) {
  ChildSpec c = worker(std::move(name));
  c.process.max_memory_bytes = max_bytes;
  c.process.memory_check_ms = check_ms;
  return c;
}

// The measurements the core asked for, by pid.
std::vector<int64_t> measured(const std::vector<CoreCommand>& commands) {
  std::vector<int64_t> pids;
  for (const auto& c : commands) {
    if (auto* m = std::get_if<MeasureMemory>(&c)) pids.push_back(m->pid);
  }
  return pids;
}

TEST(MemoryWatch, AnIdleTreeWithoutMaxMemoryHasNoDeadline) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 1, {worker("a")}));
  d.start();
  EXPECT_FALSE(d.core().next_deadline().has_value());
}

TEST(MemoryWatch, MeasuresEveryMemoryCheckOnlyTheBoundedChildren) {
  CoreDriver d(
      supervisor("root", Strategy::kOneForOne, 1, {worker("a"), bounded("b", 64 << 20, 500)}));
  d.start();
  ASSERT_TRUE(d.core().next_deadline().has_value());
  EXPECT_EQ(*d.core().next_deadline() - d.clock().now(), milliseconds(500));
  d.clock().advance(milliseconds(500));
  auto commands = d.core().handle(TimerFired{}, d.clock().now());
  EXPECT_EQ(measured(commands), (std::vector<int64_t>{d.pid("b")}));
  // The next one is a period later, whether or not the reading comes back.
  EXPECT_EQ(*d.core().next_deadline() - d.clock().now(), milliseconds(500));
}

TEST(MemoryWatch, AChildOverItsBoundIsKilledAndRestartedWithTheReadingInTheEvent) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {bounded("b", 64 << 20)}));
  d.start();
  const int64_t pid = d.pid("b");
  d.send(MemoryMeasured{pid, 100ull << 20, ""});
  ASSERT_EQ(d.events("memory_exceeded"), (Names{"b"}));
  bool found = false;
  for (const auto& ev : d.published()) {
    if (ev.kind == "memory_exceeded") {
      found = true;
      EXPECT_NE(ev.detail.find("100 MiB (104857600 bytes) is over max_memory 64 MiB"),
                std::string::npos)
          << ev.detail;
      EXPECT_EQ(ev.pid, pid);
    }
    if (ev.kind == "exited") {
      EXPECT_NE(ev.detail.find("(max_memory)"), std::string::npos) << ev.detail;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(d.signals(), (std::vector<std::pair<std::string, int>>{{"b", SIGKILL}}));
  EXPECT_TRUE(d.running("b"));
  EXPECT_NE(d.pid("b"), pid);
  EXPECT_EQ(d.status().find("children")->as_array()[0].get_int("restarts"), 1);
}

TEST(MemoryWatch, AChildUnderItsBoundIsLeftAlone) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {bounded("b", 64 << 20)}));
  d.start();
  d.send(MemoryMeasured{d.pid("b"), 64ull << 20, ""});
  EXPECT_TRUE(d.events("memory_exceeded").empty());
  EXPECT_TRUE(d.signals().empty());
}

TEST(MemoryWatch, AFailedReadingIsAnEventOncePerRunOfFailuresNeverAZero) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {bounded("b", 64 << 20)}));
  d.start();
  const int64_t pid = d.pid("b");
  d.send(MemoryMeasured{pid, std::nullopt, "open /proc/1/status: Permission denied"});
  d.send(MemoryMeasured{pid, std::nullopt, "open /proc/1/status: Permission denied"});
  ASSERT_EQ(d.events("measure_failed"), (Names{"b"}));
  EXPECT_NE(d.published().back().detail.find("Permission denied"), std::string::npos);
  EXPECT_TRUE(d.signals().empty());
  d.send(MemoryMeasured{pid, 1ull << 20, ""});
  d.send(MemoryMeasured{pid, std::nullopt, "gone again"});
  EXPECT_EQ(d.events("measure_failed"), (Names{"b", "b"}));
}

TEST(MemoryWatch, ACgroupBoundChildIsNotWatched) {
  // A spawn answered with memory_in_cgroup: the kernel bounds it.
  ChildSpec spec = supervisor("root", Strategy::kOneForOne, 5, {bounded("b", 64 << 20)});
  SupervisorCore core(spec, [] { return 0.0; });
  FakeClock clock;
  ChildId id = 0;
  for (const auto& c : core.handle(StartTree{}, clock.now())) {
    if (auto* s = std::get_if<SpawnProcess>(&c)) id = s->child;
  }
  ASSERT_NE(id, 0u);
  core.handle(ProcessSpawned{id, 4242, true}, clock.now());
  EXPECT_FALSE(core.next_deadline().has_value());
  const Value child = core.status(clock.now()).find("children")->as_array()[0];
  EXPECT_EQ(child.get_string("memory_enforcement"), "cgroup");
  EXPECT_EQ(child.get_int("max_memory"), 64 << 20);
}

TEST(MemoryWatch, AReadingAfterAStopChangesNothing) {
  CoreDriver d(supervisor("root", Strategy::kOneForOne, 5, {bounded("b", 64 << 20)}));
  d.ignore_sigterm = {"b"};
  d.start();
  const int64_t pid = d.pid("b");
  AdminRequested stop;
  stop.token = 1;
  stop.verb = AdminVerb::kStop;
  stop.name = "b";
  d.send(stop);
  d.send(MemoryMeasured{pid, 1ull << 40, ""});
  EXPECT_TRUE(d.events("memory_exceeded").empty());
}

}  // namespace
}  // namespace pl::supervisor
