#include "tests/integration/multihost/netns.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <sstream>

#include "tests/support/harness.h"

namespace pl::test {
namespace {

std::atomic<int> instances{0};

std::string join_args(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

std::string NetworkNamespaces::ip_program() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

namespace {

// Namespaces of ours left behind by a test process that died (named "plmh-PID-..." with a PID
// that no longer runs): what runs inside is killed and they are deleted.
void remove_stale_namespaces() {
  auto listed =
      run_command({NetworkNamespaces::ip_program(), "netns", "list"}, std::chrono::seconds(20));
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind("plmh-", 0) != 0) continue;
    const pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + 5));
    if (owner <= 0 || process_alive(owner)) continue;
    auto pids = run_command({NetworkNamespaces::ip_program(), "netns", "pids", name},
                            std::chrono::seconds(20));
    std::istringstream in(pids.out);
    for (pid_t pid; in >> pid;) ::kill(pid, SIGKILL);
    run_command({NetworkNamespaces::ip_program(), "netns", "delete", name},
                std::chrono::seconds(20));
  }
}

}  // namespace

std::string NetworkNamespaces::unavailable_reason() {
  static const std::string reason = [] {
    if (::geteuid() != 0) return std::string("network namespaces need root (euid is not 0)");
    if (ip_program().empty()) return std::string("no ip(8) program (iproute2) found");
    remove_stale_namespaces();
    const std::string probe = "plmh-probe-" + std::to_string(::getpid());
    auto added = run_command({ip_program(), "netns", "add", probe}, std::chrono::seconds(20));
    if (added.exit_code != 0) return "ip netns add failed: " + added.err;
    auto veth = run_command({ip_program(), "-n", probe, "link", "add", "plprobe0", "type", "veth",
                             "peer", "name", "plprobe1"},
                            std::chrono::seconds(20));
    run_command({ip_program(), "netns", "delete", probe}, std::chrono::seconds(20));
    if (veth.exit_code != 0) return "cannot create a veth pair: " + veth.err;
    return std::string();
  }();
  return reason;
}

bool NetworkNamespaces::ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ip_program()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv, std::chrono::seconds(20));
  if (result.exit_code == 0) return true;
  if (error_.empty()) error_ = "ip " + join_args(args) + ": " + result.err;
  return false;
}

NetworkNamespaces::NetworkNamespaces(int spokes) {
  const int n = instances.fetch_add(1);
  const std::string prefix = "plmh-" + std::to_string(::getpid()) + "-" + std::to_string(n);
  // Interface names have at most 15 characters: "p" + 7 + "i" + 2 + "h" + 1 at most.
  const std::string short_prefix =
      "p" + std::to_string(::getpid() % 10000000) + "i" + std::to_string(n % 100);
  hub_ = prefix + "-a";
  if (!ip({"netns", "add", hub_})) return;
  created_.push_back(hub_);
  ip({"-n", hub_, "link", "set", "lo", "up"});
  for (int i = 1; i <= spokes && ok(); ++i) {
    const std::string ns = prefix + "-" + static_cast<char>('a' + i);
    if (!ip({"netns", "add", ns})) break;
    created_.push_back(ns);
    spokes_.push_back(ns);
    const std::string hub_end = short_prefix + "h" + std::to_string(i);
    const std::string spoke_end = short_prefix + "s" + std::to_string(i);
    spoke_links_.push_back(spoke_end);
    ip({"-n", ns, "link", "set", "lo", "up"}) &&
        ip({"link", "add", hub_end, "netns", hub_, "type", "veth", "peer", "name", spoke_end,
            "netns", ns}) &&
        ip({"-n", hub_, "addr", "add", hub_address(i) + "/24", "dev", hub_end}) &&
        ip({"-n", ns, "addr", "add", spoke_address(i) + "/24", "dev", spoke_end}) &&
        ip({"-n", hub_, "link", "set", hub_end, "up"}) &&
        ip({"-n", ns, "link", "set", spoke_end, "up"});
  }
  if (!ok()) tear_down();
}

NetworkNamespaces::~NetworkNamespaces() { tear_down(); }

void NetworkNamespaces::tear_down() {
  for (const auto& ns : created_) {
    // Whatever still runs in there (a test that failed half way) goes first.
    auto pids = run_command({ip_program(), "netns", "pids", ns}, std::chrono::seconds(20));
    std::istringstream in(pids.out);
    for (pid_t pid; in >> pid;) ::kill(pid, SIGKILL);
    run_command({ip_program(), "netns", "delete", ns}, std::chrono::seconds(20));
  }
  created_.clear();
}

bool NetworkNamespaces::set_link(int i, bool up) {
  return ip({"-n", spoke(i), "link", "set", spoke_links_.at(i - 1), up ? "up" : "down"});
}

std::vector<std::string> NetworkNamespaces::in(const std::string& ns,
                                               std::vector<std::string> argv) {
  std::vector<std::string> out{ip_program(), "netns", "exec", ns};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace pl::test
