// The HTTP seam: one request, one response, nothing else.
//
// Providers talk HTTP only through HttpClient, so their tests can use a fake transport that
// records requests and plays back responses. The real implementation (CurlHttpClient) is the
// only code that touches libcurl.
//
// Every request is bounded: it fails with kTimeout at `deadline`, with kTimeout when the
// response has started and then sends nothing for `stall_timeout`, with kCancelled soon after
// `cancel` fires, and with kTooLarge when the body exceeds `max_response_bytes`. An HTTP error
// status is NOT an Error here: the response is returned and the caller judges it.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "worker/cancel_token.h"

namespace pl::worker::providers {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;
  TimePoint deadline;                   // the whole exchange, connect included
  const CancelToken* cancel = nullptr;  // nullptr: not cancellable
  Duration connect_timeout = std::chrono::seconds(10);
  // Once the first response byte has arrived, the longest silence tolerated. Not applied before
  // that: a non-streaming LLM call may think for minutes before it answers.
  Duration stall_timeout = std::chrono::seconds(60);
  size_t max_response_bytes = 32 * 1024 * 1024;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated name keeps the last
  std::string body;

  // The header's value, or nullptr. `name` must be lower case.
  const std::string* header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Performs the exchange. Errors: kTimeout (deadline or stall), kCancelled, kTooLarge,
  // kUnavailable (cannot resolve or connect, TLS failure, connection lost before a complete
  // response), kInvalidInput (a malformed URL), kIo (anything else). Messages name the method
  // and the URL without its query string. Thread-safe.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// `url` without its query string and fragment, for messages and logs.
std::string url_for_messages(std::string_view url);

}  // namespace pl::worker::providers
