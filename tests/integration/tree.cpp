#include "tests/integration/tree.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "common/fs.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/envelope.h"
#include "common/state_paths.h"
#include "tests/integration/ops/http_get.h"

namespace pl::test {

std::string new_tag() { return "PIPELINE_TEST_TAG=" + new_id("t"); }

std::string tree_config(int workers, const std::string& broker, const std::string& worker) {
  return "supervisor:\n"
         "  name: root\n"
         "  strategy: one_for_one\n"
         "  intensity: 50\n"
         "  period: 10\n"
         "children:\n"
         "  - {name: registry, command: [pipeline-registry], ready: notify}\n"
         "  - {name: broker, command: [pipeline-broker], ready: notify}\n"
         "  - {name: workers, type: pool, count: " + std::to_string(workers) +
         ", command: [pipeline-worker], ready: notify, shutdown: 2000}\n"
         "broker:\n" + (broker.empty() ? "  heartbeat_ms: 1000\n" : broker) +
         "worker:\n" + (worker.empty() ? "  slots: 1\n" : worker);
}

std::string bound_tcp_endpoint(const std::string& text, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(key + "=(tcp://127\\.0\\.0\\.1:[0-9]+)"))) return "";
  return m[1];
}

AllowedCurveClient::AllowedCurveClient() {
  auto made_server = net::write_keypair_files(dir.path(), "server", false, "test");
  auto made_client = net::write_keypair_files(dir.path(), "client", false, "test");
  EXPECT_TRUE(made_server.ok() && made_client.ok());
  if (made_server.ok()) server = *made_server;
  if (made_client.ok()) client = *made_client;
  EXPECT_TRUE(
      write_file_atomic(dir.path() / "allowed", client.public_key.z85() + " # client\n").ok());
}

std::string AllowedCurveClient::config() const {
  return "  curve:\n    secret_key: " + (dir.path() / "server.key").string() +
         "\n    allow_list: " + (dir.path() / "allowed").string() + "\n";
}

net::CurveClientKeys AllowedCurveClient::keys() const {
  return {server.public_key.raw(), client.public_key.raw(), client.secret_key.raw()};
}

Tree::Tree(const std::string& config_text, int workers, const std::vector<std::string>& env,
           std::filesystem::path state)
    : state_dir_(state.empty() ? dir_.path() / "state" : std::move(state)), tag_(new_tag()) {
  const auto config = dir_.path() / "config.yaml";
  EXPECT_TRUE(write_file_atomic(config, config_text).ok());
  SpawnOptions options;
  options.env = env;
  options.env.push_back(tag_);
  options.unset_env = {"PIPELINE_STATE_DIR", "NOTIFY_SOCKET"};
  options.stderr_file = dir_.path() / "supervisor.log";
  supervisor_ = std::make_unique<Process>(Process::spawn(
      {binary("pipeline-supervisor"), "--config", config.string(), "--state-dir",
       state_dir().string()},
      options));
  EXPECT_TRUE(wait_until([&] { return static_cast<int>(worker_pids().size()) == workers; }, 30s))
      << log();
}

Tree::~Tree() {
  supervisor_->signal(SIGTERM);
  EXPECT_TRUE(supervisor_->wait(30s).has_value());
  EXPECT_TRUE(wait_until([&] { return processes_with_env(tag_).empty(); }, 10s))
      << processes_with_env(tag_).size() << " process(es) left behind";
}

Value Tree::broker_status() {
  return broker_call(protocol::MessageType::kBrokerStatusRequest, Value::object());
}

Value Tree::broker_call(protocol::MessageType type, const Value& body) {
  auto endpoint = StatePaths(state_dir()).broker_clients_endpoint();
  if (!endpoint.ok()) return Value();
  net::RequestClient client(context_, *endpoint);
  auto reply = client.call(type, body, 2s);
  return reply.ok() ? reply->body : Value();
}

int Tree::metrics_port() {
  auto status = parse_json(pipelinectl({"status", "--json"}).out);
  if (!status.ok()) return 0;
  const Value* metrics = status->find("metrics");
  if (!metrics) return 0;
  return port_of(metrics->get_string("listen"));
}

std::vector<int64_t> Tree::worker_pids() {
  std::vector<int64_t> pids;
  const Value status = broker_status();
  if (const Value* workers = status.find("workers")) {
    for (const auto& w : workers->as_array()) pids.push_back(w.get_int("pid"));
  }
  return pids;
}

int64_t Tree::worker_holding(const std::string& suffix) {
  const Value status = broker_status();
  if (const Value* workers = status.find("workers")) {
    for (const auto& w : workers->as_array()) {
      const Value* held = w.find("held");
      if (!held) continue;
      for (const auto& id : held->as_array()) {
        const std::string& s = id.as_string();
        if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
          return w.get_int("pid");
        }
      }
    }
  }
  return 0;
}

int64_t Tree::counter(const std::string& name) {
  const Value status = broker_status();
  const Value* counters = status.find("counters");
  return counters ? counters->get_int(name, -1) : -1;
}

int64_t Tree::pid_of(const std::string& program) const {
  for (pid_t pid : processes_with_env(tag_)) {
    std::string comm = read_text("/proc/" + std::to_string(pid) + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm == program.substr(0, 15)) return pid;
  }
  return 0;
}

Process Tree::start_pipelinectl(const std::vector<std::string>& args, const std::string& name) {
  std::vector<std::string> argv{binary("pipelinectl"), "--state-dir", state_dir().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  options.env = {tag_};
  options.stdout_file = dir_.path() / (name + ".out");
  options.stderr_file = dir_.path() / (name + ".err");
  return Process::spawn(argv, options);
}

CommandResult Tree::pipelinectl(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{binary("pipelinectl"), "--state-dir", state_dir().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  options.env = {tag_};
  return run_command(argv, timeout, options);
}

}  // namespace pl::test
