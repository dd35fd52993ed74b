// Test-side handle on a running pipeline-fake-llm: starts it as a real process on a free port
// and reads back what it received. Destroying it kills the process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"
#include "tests/support/harness.h"

namespace pl::fakes {

class FakeLlmServer {
 public:
  // Starts bin_dir()/pipeline-fake-llm and waits up to 10 s for the port it reports. A failure
  // to start fails the current test (ok() is then false).
  FakeLlmServer();

  bool ok() const { return port_ != 0; }
  // "http://127.0.0.1:PORT": the base URL for Anthropic and Gemini.
  std::string base_url() const;
  // base_url() + "/v1": the base URL for the OpenAI-compatible provider.
  std::string openai_base_url() const { return base_url() + "/v1"; }

  // Every request the server has received, oldest first ({method, path, headers, body}).
  Value requests() const;
  // Those whose body (as JSON text) contains `needle`.
  std::vector<Value> requests_containing(std::string_view needle) const;

 private:
  test::TempDir dir_;
  std::optional<test::Process> process_;
  uint16_t port_ = 0;
};

}  // namespace pl::fakes
