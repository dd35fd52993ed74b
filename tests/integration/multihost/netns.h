// Separate hosts on one machine for tests: Linux network namespaces joined by veth pairs.
//
// One hub namespace ("host A") and N spoke namespaces; spoke i (1-based) is linked to the hub by
// its own veth pair on subnet 10.77.i.0/24: the hub's end is 10.77.i.1, the spoke's 10.77.i.2.
// Spokes reach the hub, not each other (like worker hosts that only talk to the broker's host).
// Names are unique per process and instance, so tests may run in parallel.
//
// The destructor kills every process still inside the namespaces and deletes them (which deletes
// their veth ends), whatever happened before; so does a constructor that fails half way.
#pragma once

#include <string>
#include <vector>

namespace pl::test {

class NetworkNamespaces {
 public:
  // Why namespaces cannot be used here ("not root", "ip netns add failed: ..."); "" when they can.
  // Tries once per process, with a namespace of its own.
  static std::string unavailable_reason();

  // Creates the namespaces and links, all up. On failure, ok() is false and error() says why.
  explicit NetworkNamespaces(int spokes);
  ~NetworkNamespaces();
  NetworkNamespaces(const NetworkNamespaces&) = delete;
  NetworkNamespaces& operator=(const NetworkNamespaces&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  const std::string& hub() const { return hub_; }
  const std::string& spoke(int i) const { return spokes_.at(i - 1); }
  // The hub's address as spoke i sees it.
  static std::string hub_address(int i) { return "10.77." + std::to_string(i) + ".1"; }
  static std::string spoke_address(int i) { return "10.77." + std::to_string(i) + ".2"; }

  // Takes spoke i's end of its link down or up (as pulling and plugging its cable). True on
  // success.
  bool set_link(int i, bool up);

  // `argv` run inside namespace `ns` (through `ip netns exec`, which execs it: same pid).
  static std::vector<std::string> in(const std::string& ns, std::vector<std::string> argv);
  // The path of the ip(8) program.
  static std::string ip_program();

 private:
  bool ip(const std::vector<std::string>& args);
  void tear_down();

  std::string hub_;
  std::vector<std::string> spokes_;
  std::vector<std::string> spoke_links_;  // the spoke-side interface of each link
  std::vector<std::string> created_;      // namespaces to delete
  std::string error_;
};

}  // namespace pl::test
