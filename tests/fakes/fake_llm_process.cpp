#include "tests/fakes/fake_llm_process.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "worker/providers/curl_http_client.h"

namespace pl::fakes {

FakeLlmServer::FakeLlmServer() {
  test::SpawnOptions options;
  options.stdout_file = dir_.path() / "stdout";
  options.stderr_file = dir_.path() / "stderr";
  process_.emplace(test::Process::spawn({test::binary("pipeline-fake-llm")}, options));
  const bool started = test::wait_until(
      [&] {
        const std::string out = test::read_text(dir_.path() / "stdout");
        const size_t at = out.find("PORT ");
        if (at == std::string::npos || out.find('\n', at) == std::string::npos) return false;
        port_ = static_cast<uint16_t>(std::stoul(out.substr(at + 5)));
        return true;
      },
      std::chrono::seconds(10));
  if (!started) ADD_FAILURE() << "pipeline-fake-llm did not report a port";
}

std::string FakeLlmServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

Value FakeLlmServer::requests() const {
  worker::providers::CurlHttpClient http;
  worker::providers::HttpRequest request;
  request.method = "GET";
  request.url = base_url() + "/__requests";
  request.deadline = SteadyClock::now() + std::chrono::seconds(10);
  auto response = http.send(request);
  if (!response.ok() || response->status != 200) {
    ADD_FAILURE() << "cannot read the fake server's requests";
    return Value::array();
  }
  auto parsed = parse_json(response->body, 256);
  return parsed.ok() ? *parsed : Value::array();
}

std::vector<Value> FakeLlmServer::requests_containing(std::string_view needle) const {
  std::vector<Value> out;
  const Value all = requests();
  if (!all.is_array()) return out;
  for (const Value& r : all.as_array()) {
    const Value* body = r.find("body");
    if (body && to_json(*body).find(needle) != std::string::npos) out.push_back(r);
  }
  return out;
}

}  // namespace pl::fakes
