#include "tests/integration/supervisor/tree_fixture.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "common/net/request_client.h"
#include "common/state_paths.h"

namespace pl::test {
namespace {

std::atomic<int> counter{0};

std::optional<Value> find_child(const Value& node, const std::string& name) {
  const Value* kids = node.find("children");
  if (kids == nullptr || !kids->is_array()) return std::nullopt;
  for (const Value& k : kids->as_array()) {
    if (k.get_string("name") == name) return k;
    if (auto found = find_child(k, name)) return found;
  }
  return std::nullopt;
}

}  // namespace

std::string child_command(const std::string& args) {
  return args.empty() ? "[pipeline-test-child]" : "[pipeline-test-child, " + args + "]";
}

Tree::Tree(const std::string& yaml) {
  tag_ = "PL_SUPERVISOR_TEST=" + std::to_string(::getpid()) + "-" + std::to_string(++counter) +
         "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  write_config(yaml);
}

void Tree::write_config(const std::string& yaml) const {
  const std::string tmp = config().string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << yaml;
  }
  std::filesystem::rename(tmp, config());
}

Tree::~Tree() {
  if (supervisor_ && !supervisor_->exited()) {
    supervisor_->signal(SIGTERM);
    if (!supervisor_->wait(std::chrono::seconds(30))) supervisor_->signal(SIGKILL);
    supervisor_->wait(std::chrono::seconds(10));
  }
  // Whatever a failing test left behind goes too.
  for (pid_t pid : survivors()) ::kill(pid, SIGKILL);
}

void Tree::start(std::vector<std::string> extra_env) {
  SpawnOptions options;
  options.env = std::move(extra_env);
  options.env.push_back(tag_);
  options.env.push_back("PIPELINE_LOG_LEVEL=debug");
  options.unset_env = {"PIPELINE_STATE_DIR", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"};
  for (const auto& e : options.env) {
    const std::string key = e.substr(0, e.find('='));
    std::erase(options.unset_env, key);
  }
  options.stderr_file = dir_.path() / "supervisor.log";
  options.stdout_file = dir_.path() / "supervisor.log";
  options.cwd = dir_.path();
  supervisor_ = Process::spawn({binary("pipeline-supervisor"), "--config", config().string(),
                                "--state-dir", state_dir().string()},
                               options);
}

void Tree::start_and_wait(std::vector<std::string> extra_env) {
  start(std::move(extra_env));
  const bool up = wait_until(
      [&] {
        auto s = status();
        return s && s->get_string("state") == "running";
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(up) << "the tree did not start; log:\n" << log();
}

std::optional<protocol::ControlReply> Tree::call(const std::string& command, Value args,
                                                 std::chrono::milliseconds timeout) {
  net::Context context;
  auto endpoint = StatePaths(state_dir()).control_endpoint();
  if (!endpoint.ok()) return std::nullopt;
  net::RequestClient client(context, *endpoint);
  protocol::ControlRequest request;
  request.command = command;
  request.args = std::move(args);
  auto reply = client.call(protocol::MessageType::kControlRequest, protocol::to_body(request), timeout);
  if (!reply.ok()) return std::nullopt;
  auto parsed = protocol::control_reply_from(reply->body);
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

std::optional<Value> Tree::status() {
  if (!std::filesystem::exists(state_dir() / "control.sock")) return std::nullopt;
  auto reply = call("status", Value::object(), std::chrono::seconds(5));
  if (!reply || !reply->ok) return std::nullopt;
  return reply->result;
}

std::optional<Value> Tree::child(const std::string& name) {
  auto s = status();
  if (!s) return std::nullopt;
  return find_child(*s, name);
}

int64_t Tree::pid_of(const std::string& name) {
  auto c = child(name);
  return c ? c->get_int("pid") : 0;
}

bool Tree::wait_child_state(const std::string& name, const std::string& state,
                            std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        auto c = child(name);
        return c && c->get_string("state") == state;
      },
      timeout);
}

int64_t Tree::wait_new_pid(const std::string& name, int64_t old_pid,
                           std::chrono::milliseconds timeout) {
  int64_t fresh = 0;
  wait_until(
      [&] {
        auto c = child(name);
        if (!c || c->get_string("state") != "running") return false;
        fresh = c->get_int("pid");
        return fresh != 0 && fresh != old_pid;
      },
      timeout);
  return fresh != old_pid ? fresh : 0;
}

std::vector<protocol::ChildEvent> Tree::events() {
  std::vector<protocol::ChildEvent> out;
  Value args = Value::object();
  args["limit"] = 100000;
  auto reply = call("events", args, std::chrono::seconds(5));
  if (!reply || !reply->ok) return out;
  const Value* list = reply->result.find("events");
  if (list == nullptr || !list->is_array()) return out;
  for (const Value& v : list->as_array()) {
    auto e = protocol::child_event_from(v);
    if (e.ok()) out.push_back(*e);
  }
  return out;
}

std::optional<protocol::ChildEvent> Tree::wait_event(
    const std::function<bool(const protocol::ChildEvent&)>& match,
    std::chrono::milliseconds timeout) {
  std::optional<protocol::ChildEvent> found;
  wait_until(
      [&] {
        for (const auto& e : events()) {
          if (match(e)) {
            found = e;
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

std::optional<protocol::ChildEvent> Tree::wait_event(const std::string& kind,
                                                     const std::string& child,
                                                     std::chrono::milliseconds timeout) {
  return wait_event([&](const protocol::ChildEvent& e) { return e.kind == kind && e.child == child; },
                    timeout);
}

std::optional<int> Tree::wait_exit(std::chrono::milliseconds timeout) {
  return supervisor_->wait(timeout);
}

bool Tree::wait_no_survivors(std::chrono::milliseconds timeout) const {
  return wait_until([&] { return survivors().empty(); }, timeout);
}

bool Tree::wait_log(const std::string& text, std::chrono::milliseconds timeout) const {
  return wait_until([&] { return log().find(text) != std::string::npos; }, timeout);
}

}  // namespace pl::test
