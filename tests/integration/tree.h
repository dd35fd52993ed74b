// A whole tree (supervisor, registry, broker, workers) started for a test, as an operator would
// start it, with a config the test writes, and ways to look inside it through the broker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/net/curve_keys.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/message_type.h"
#include "common/value.h"
#include "tests/support/harness.h"

namespace pl::test {

// "PIPELINE_TEST_TAG=<new id>": an environment entry that marks every process a test starts, so
// that processes_with_env finds what it left behind.
std::string new_tag();

// The default tree's config with a few settings changed: `broker` and `worker` are YAML
// mapping bodies (indented by two spaces) for those sections.
std::string tree_config(int workers, const std::string& broker = "",
                        const std::string& worker = "");

// The endpoint in the first "KEY=tcp://127.0.0.1:PORT" of `text` (`pipelinectl status`, a log):
// where a process bound "tcp://127.0.0.1:*". "" when there is none yet.
std::string bound_tcp_endpoint(const std::string& text, const std::string& key);

// A server key pair and one client key pair the server allows, in a directory of their own: for
// a tree whose tcp:// endpoints a test reaches as an allowed CURVE client.
struct AllowedCurveClient {
  AllowedCurveClient();
  // The `curve:` lines of a broker or registry section (indented by two spaces).
  std::string config() const;
  // What a client socket needs to connect with the client's key.
  net::CurveClientKeys keys() const;

  TempDir dir;
  net::CurveKeyPair server;
  net::CurveKeyPair client;
};

class Tree {
 public:
  // Starts the tree and waits until `workers` workers have joined the broker. `env` entries
  // ("KEY=VALUE") reach every process of the tree. `state`: where the tree keeps its state
  // (a file system of the test's own, say); empty: dir()/state.
  explicit Tree(const std::string& config_text, int workers = 2,
                const std::vector<std::string>& env = {}, std::filesystem::path state = {});
  ~Tree();  // SIGTERM, wait, and check nothing is left behind

  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& state_dir() const { return state_dir_; }
  const std::string& tag() const { return tag_; }
  std::string log() const { return read_text(dir_.path() / "supervisor.log"); }

  // What the broker says about itself (broker_status); null when it does not answer.
  Value broker_status();
  // The body of the broker's reply to a `type` request with `body`, as a client sends it; null
  // when it does not answer. A refusal is a client_error's body: {code, message}.
  Value broker_call(protocol::MessageType type, const Value& body);
  std::vector<int64_t> worker_pids();
  // The pid of a worker holding an item whose id ends with `suffix` ("" = any item); 0 if none.
  int64_t worker_holding(const std::string& suffix = "");
  int64_t counter(const std::string& name);
  // The pid of the tree's process running `program` (by /proc/PID/comm), or 0.
  int64_t pid_of(const std::string& program) const;
  // The port of the supervisor's metrics endpoint as `status --json` reports it; 0 when none.
  int metrics_port();

  // pipelinectl with --state-dir set, in the background, its output in files.
  Process start_pipelinectl(const std::vector<std::string>& args, const std::string& name);
  CommandResult pipelinectl(const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout = 60s);

 private:
  TempDir dir_;
  std::filesystem::path state_dir_;
  std::string tag_;
  net::Context context_;
  std::unique_ptr<Process> supervisor_;
};

}  // namespace pl::test
