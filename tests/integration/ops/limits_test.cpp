// Resource limits on real processes: a child over its max_memory is killed and restarted, and
// rlimits are what /proc says.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/integration/supervisor/tree_fixture.h"

namespace pl::test {
namespace {

// The soft and hard values of one line of /proc/PID/limits ("Max open files  123  123  files").
std::pair<std::string, std::string> limit_of(int64_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    std::istringstream rest(line.substr(name.size()));
    std::string soft, hard;
    rest >> soft >> hard;
    return {soft, hard};
  }
  return {"", ""};
}

TEST(MaxMemory, AChildOverItsMaxMemoryIsKilledWithTheReadingAndRestarted) {
  TempDir marker_dir;
  const std::string marker = (marker_dir.path() / "allocated").string();
  Tree tree(
      "supervisor: {intensity: 5, period: 10}\n"
      "children:\n"
      "  - name: hog\n"
      // ready at exec: the allocation comes after the start (over the bound before
      // READY=1 would be a failed start instead)
      "    command: " +
      child_command("--allocate-mb, \"96\", --allocate-once, " + marker) +
      "\n"
      "    max_memory: 48MiB\n"
      "    memory_check: 50\n");
  tree.start_and_wait();
  auto exceeded = tree.wait_event("memory_exceeded", "hog");
  ASSERT_TRUE(exceeded.has_value()) << tree.log();
  // RSS watch ("resident set 96 MiB ... over max_memory 48 MiB") or, with a delegated cgroup,
  // the kernel's OOM killer ("... reached memory.max").
  EXPECT_TRUE(exceeded->detail.find("over max_memory 48 MiB") != std::string::npos ||
              exceeded->detail.find("memory.max") != std::string::npos)
      << exceeded->detail;
  auto exited = tree.wait_event([](const protocol::ChildEvent& e) {
    return e.kind == "exited" && e.child == "hog" && e.signal == 9;
  });
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->pid, exceeded->pid);
  const int64_t fresh = tree.wait_new_pid("hog", exceeded->pid);
  ASSERT_NE(fresh, 0) << tree.log();
  auto child = tree.child("hog");
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(child->get_int("restarts"), 1);
  EXPECT_EQ(child->get_int("max_memory"), 48 << 20);
  // The replacement did not allocate (the marker exists): it stays, and its RSS is reported.
  EXPECT_GT(child->get_int("rss_bytes"), 0);
  EXPECT_LT(child->get_int("rss_bytes"), 48 << 20);
}

TEST(Rlimits, AreSetInTheChildBeforeExec) {
  Tree tree(
      "children:\n"
      "  - name: limited\n"
      "    command: " +
      child_command("--ready") +
      "\n"
      "    ready: notify\n"
      "    rlimits: {open_files: 123, cpu_seconds: 3600, core_size: 0, address_space: 1GiB}\n"
      "  - name: workers\n"
      "    type: pool\n"
      "    count: 2\n"
      "    command: " +
      child_command("--ready") +
      "\n"
      "    ready: notify\n"
      "    rlimits: {open_files: 77}\n");
  tree.start_and_wait();
  const int64_t pid = tree.pid_of("limited");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(limit_of(pid, "Max open files"), (std::pair<std::string, std::string>{"123", "123"}));
  EXPECT_EQ(limit_of(pid, "Max cpu time"), (std::pair<std::string, std::string>{"3600", "3600"}));
  EXPECT_EQ(limit_of(pid, "Max core file size"), (std::pair<std::string, std::string>{"0", "0"}));
  EXPECT_EQ(limit_of(pid, "Max address space"),
            (std::pair<std::string, std::string>{"1073741824", "1073741824"}));
  for (const char* member : {"workers.1", "workers.2"}) {
    EXPECT_EQ(limit_of(tree.pid_of(member), "Max open files"),
              (std::pair<std::string, std::string>{"77", "77"}));
  }
}

// Our processes raise their soft limit of open files to the hard one (libzmq aborts when it runs
// out); the programs they start get back the limit they were given.
TEST(Rlimits, TheSupervisorRaisesItsOpenFilesAndItsChildrenStartWithTheLimitGiven) {
  rlimit given{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &given), 0);
  if (given.rlim_max < 1024) GTEST_SKIP() << "a hard limit of open files below 1024";
  const rlimit lowered{512, given.rlim_max};  // inherited by the supervisor we start
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  Tree tree(
      "children:\n"
      "  - name: plain\n"
      "    command: " +
      child_command("--ready") +
      "\n"
      "    ready: notify\n");
  tree.start_and_wait();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &given), 0);
  const std::string hard =
      given.rlim_max == RLIM_INFINITY ? "unlimited" : std::to_string(given.rlim_max);
  EXPECT_EQ(limit_of(tree.process().pid(), "Max open files"),
            (std::pair<std::string, std::string>{hard, hard}));
  EXPECT_EQ(limit_of(tree.pid_of("plain"), "Max open files"),
            (std::pair<std::string, std::string>{"512", hard}));
}

TEST(Rlimits, ALimitTheKernelRefusesFailsTheStartNamingTheLimit) {
  // Over fs.nr_open: refused even to root.
  Tree tree(
      "children:\n"
      "  - name: greedy\n"
      "    command: " +
      child_command("--ready") +
      "\n"
      "    ready: notify\n"
      "    rlimits: {open_files: 2000000000}\n");
  tree.start();
  auto code = tree.wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(tree.log().find("setrlimit open_files"), std::string::npos) << tree.log();
}

}  // namespace
}  // namespace pl::test
