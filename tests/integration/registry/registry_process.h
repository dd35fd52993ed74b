// A real pipeline-registry for integration tests: started on a state directory (no supervisor),
// SIGKILLed, restarted, stopped. Header-only test support.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/registry/registry_client.h"
#include "common/state_paths.h"
#include "tests/support/harness.h"

namespace pl::test {

class RegistryUnderTest {
 public:
  RegistryUnderTest(std::filesystem::path state_dir, std::filesystem::path log, std::string tag)
      : state_dir_(std::move(state_dir)), log_(std::move(log)), tag_(std::move(tag)) {}

  // Starts the registry and waits until it answers a ping.
  void start() {
    spawn();
    RegistryClientOptions quick = client_options();
    quick.attempt_timeout = std::chrono::milliseconds(200);
    quick.deadline = std::chrono::milliseconds(500);
    RegistryClient probe(quick);
    ASSERT_TRUE(wait_until([&] { return probe.ping().ok() || process_->wait(0ms).has_value(); }, 30s))
        << read_text(log_);
    ASSERT_FALSE(process_->exited()) << "the registry exited: " << read_text(log_);
  }

  // Starts the registry process, and no more.
  void spawn() {
    SpawnOptions options;
    options.env = {"PIPELINE_STATE_DIR=" + state_dir_.string(), tag_};
    options.unset_env = {"PIPELINE_CONFIG", "NOTIFY_SOCKET", "PIPELINE_CHILD_NAME"};
    options.stderr_file = log_;
    process_ = std::make_unique<Process>(Process::spawn({binary("pipeline-registry")}, options));
  }

  // SIGKILL, and wait until it is gone.
  void kill9() {
    ASSERT_TRUE(process_->signal(SIGKILL));
    ASSERT_TRUE(process_->wait(30s).has_value());
  }

  // SIGTERM; returns its exit code (-1 if it did not stop).
  int stop() {
    process_->signal(SIGTERM);
    return process_->wait(30s).value_or(-1);
  }

  // Patient enough to ride out a restart.
  RegistryClientOptions client_options() const {
    RegistryClientOptions o;
    o.endpoint = *StatePaths(state_dir_).registry_endpoint();
    o.attempt_timeout = std::chrono::milliseconds(1000);
    o.deadline = std::chrono::milliseconds(60000);
    o.max_attempts = 200;
    return o;
  }

  Process& process() { return *process_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }
  std::string log() const { return read_text(log_); }

 private:
  std::filesystem::path state_dir_;
  std::filesystem::path log_;
  std::string tag_;
  std::unique_ptr<Process> process_;
};

}  // namespace pl::test
