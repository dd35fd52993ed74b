// restart_latency: how fast does the supervisor replace a child killed with SIGKILL?
//
//   restart_latency [--rounds N] [--pool M] [--bin DIR]
//
// Runs pipeline-supervisor on a temporary state dir with one notify child (pipeline-test-child
// --ready --report SOCK) and a pool of M more children (default 63: 64 in all). Each round
// SIGKILLs the child and measures, from just before the kill:
//   exec:  until the replacement's main() runs (it reports CLOCK_MONOTONIC on a datagram socket)
//   ready: until the supervisor's `ready` event for it arrives on the event PUB socket
// and prints median and p90 of each, the same child's start time with a bare posix_spawn (the
// floor this machine allows), and the supervisor's RSS with all children running.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/net/request_client.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/control.h"
#include "common/protocol/envelope.h"
#include "common/state_paths.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace pl;

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Report {
  pid_t pid;
  int64_t born_ns;
};

// Waits up to timeout_ms for a report datagram.
std::optional<Report> next_report(int fd, int timeout_ms) {
  std::vector<net::PollEntry> e{{nullptr, fd, false}};
  auto polled = net::poll(e, timeout_ms);
  if (!polled.ok() || *polled == 0) return std::nullopt;
  char buf[128];
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  Report r{};
  long long born = 0;
  int pid = 0;
  if (std::sscanf(buf, "%d %lld", &pid, &born) != 2) return std::nullopt;
  r.pid = pid;
  r.born_ns = born;
  return r;
}

// Waits up to timeout_ms for a `ready` event of `child` with `pid`; returns the arrival time.
std::optional<int64_t> next_ready(net::Socket& sub, const std::string& child, pid_t pid, int timeout_ms) {
  const int64_t deadline = now_ns() + int64_t{timeout_ms} * 1'000'000;
  std::vector<net::PollEntry> e{{sub.raw(), -1, false}};
  for (;;) {
    for (;;) {
      auto frames = sub.receive();
      if (!frames.ok() || !frames->has_value()) break;
      const int64_t at = now_ns();
      if ((*frames)->size() != 2) continue;
      auto m = protocol::decode((**frames)[1]);
      if (!m.ok()) continue;
      auto ev = protocol::child_event_from(m->body);
      if (ev.ok() && ev->kind == "ready" && ev->child == child && ev->pid == pid) return at;
    }
    const int64_t left_ms = (deadline - now_ns()) / 1'000'000;
    if (left_ms <= 0) return std::nullopt;
    auto polled = net::poll(e, left_ms);
    if (!polled.ok()) return std::nullopt;
  }
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 100;
  int pool = 63;
  fs::path bin = fs::read_symlink("/proc/self/exe").parent_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (a == "--pool" && i + 1 < argc) pool = std::atoi(argv[++i]);
    else if (a == "--bin" && i + 1 < argc) bin = argv[++i];
    else {
      std::fprintf(stderr, "usage: restart_latency [--rounds N] [--pool M] [--bin DIR]\n");
      return 2;
    }
  }
  char tmpl[] = "/tmp/pl-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 70;
  const fs::path dir = tmpl;
  const fs::path state = dir / "s";
  const fs::path report = dir / "report.sock";

  const int rfd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, report.c_str(), sizeof addr.sun_path - 1);
  if (::bind(rfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 70;

  const fs::path config = dir / "tree.yaml";
  {
    std::ofstream out(config);
    out << "supervisor: {intensity: 1000000, period: 1}\n"
           "children:\n"
           "  - {name: victim, ready: notify, command: [pipeline-test-child, --ready, --report, "
        << report.string() << "]}\n";
    if (pool > 0) {
      out << "  - {name: others, type: pool, count: " << pool
          << ", max_children: 1000, command: [pipeline-test-child]}\n";
    }
  }

  net::Context context;
  net::Socket sub(context, net::SocketKind::kSub);
  auto endpoint = StatePaths(state).events_endpoint();
  if (!endpoint.ok() || !sub.connect(*endpoint).ok() || !sub.subscribe("child.ready").ok()) return 70;

  const std::string exe = (bin / "pipeline-supervisor").string();
  std::vector<std::string> args{exe, "--config", config.string(), "--state-dir", state.string()};
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  const std::string log = (dir / "supervisor.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::setenv("PIPELINE_LOG_LEVEL", "warn", 1);  // a log line per restart is not what we measure
  pid_t supervisor = 0;
  if (posix_spawn(&supervisor, exe.c_str(), &actions, nullptr, cargs.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", exe.c_str());
    return 70;
  }

  auto first = next_report(rfd, 30000);
  if (!first) {
    std::fprintf(stderr, "the victim never started; see %s\n", log.c_str());
    ::kill(supervisor, SIGKILL);
    return 70;
  }
  pid_t victim = first->pid;
  // Wait for the whole tree to run before the first kill (a child that dies during the initial
  // start fails the start).
  {
    net::RequestClient client(context, *StatePaths(state).control_endpoint());
    const int64_t deadline = now_ns() + 30'000'000'000;
    for (;;) {
      protocol::ControlRequest q;
      q.command = "status";
      auto reply = client.call(protocol::MessageType::kControlRequest, protocol::to_body(q),
                               std::chrono::milliseconds(5000));
      if (reply.ok() && reply->body.find("result") &&
          reply->body.find("result")->get_string("state") == "running") {
        break;
      }
      if (now_ns() > deadline) {
        std::fprintf(stderr, "the tree never ran; see %s\n", log.c_str());
        ::kill(supervisor, SIGKILL);
        return 70;
      }
      ::usleep(10'000);
    }
  }
  // Warm up, and make sure the event subscription is live.
  for (int i = 0; i < 5; ++i) {
    ::kill(victim, SIGKILL);
    auto r = next_report(rfd, 10000);
    if (!r) {
      std::fprintf(stderr, "warm-up: no replacement; see %s\n", log.c_str());
      return 70;
    }
    victim = r->pid;
    next_ready(sub, "victim", victim, 2000);
  }
  const long rss = rss_kib(supervisor);

  std::vector<double> exec_ms, ready_ms;
  for (int i = 0; i < rounds; ++i) {
    const int64_t t0 = now_ns();
    ::kill(victim, SIGKILL);
    auto r = next_report(rfd, 10000);
    if (!r) {
      std::fprintf(stderr, "round %d: no replacement\n", i);
      break;
    }
    victim = r->pid;
    exec_ms.push_back(static_cast<double>(r->born_ns - t0) / 1e6);
    auto ready = next_ready(sub, "victim", victim, 10000);
    if (!ready) {
      std::fprintf(stderr, "round %d: no ready event\n", i);
      break;
    }
    ready_ms.push_back(static_cast<double>(*ready - t0) / 1e6);
  }

  // The floor on this machine: the same child started directly with posix_spawn (no
  // supervisor, no kill, no reaping), from the call to its main().
  std::vector<double> bare_ms;
  {
    const std::string child = (bin / "pipeline-test-child").string();
    std::vector<std::string> cargs_s{child, "--report", report.string()};
    std::vector<char*> cargs2;
    for (auto& a : cargs_s) cargs2.push_back(a.data());
    cargs2.push_back(nullptr);
    for (int i = 0; i < rounds; ++i) {
      pid_t p = 0;
      const int64_t t0 = now_ns();
      if (posix_spawn(&p, child.c_str(), nullptr, nullptr, cargs2.data(), environ) != 0) break;
      auto r = next_report(rfd, 10000);
      if (r) bare_ms.push_back(static_cast<double>(r->born_ns - t0) / 1e6);
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  }

  ::kill(supervisor, SIGTERM);
  int status = 0;
  ::waitpid(supervisor, &status, 0);
  std::error_code ec;
  fs::remove_all(dir, ec);

  std::printf("restart_latency: %zu rounds, %d children in the tree\n", exec_ms.size(), pool + 1);
  std::printf("  SIGKILL -> replacement exec'd: median %.3f ms, p90 %.3f ms\n",
              percentile(exec_ms, 0.5), percentile(exec_ms, 0.9));
  std::printf("  SIGKILL -> replacement READY:  median %.3f ms, p90 %.3f ms (%zu seen)\n",
              percentile(ready_ms, 0.5), percentile(ready_ms, 0.9), ready_ms.size());
  std::printf("  baseline, posix_spawn -> main() of the same child without a supervisor: "
              "median %.3f ms, p90 %.3f ms\n",
              percentile(bare_ms, 0.5), percentile(bare_ms, 0.9));
  std::printf("  supervisor RSS with %d children: %.1f MB\n", pool + 1, static_cast<double>(rss) / 1024.0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
