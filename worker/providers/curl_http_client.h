// The real HttpClient, on libcurl's easy interface: one easy handle per request, no shared
// state, so any number of slot threads may send at once.
//
// Bounds, as HttpClient promises: CURLOPT_TIMEOUT_MS from the deadline (a request whose
// deadline has passed fails at once, unsent); CURLOPT_CONNECTTIMEOUT_MS; a progress callback
// (libcurl calls it at least about once a second, data or not) that aborts on cancel and on a
// stalled response. libcurl's own CURLOPT_LOW_SPEED_* is not used: it would also fire while a
// model is still thinking before the first byte. Only http and https, no redirects, no signals
// (CURLOPT_NOSIGNAL), gzip accepted (the size bound applies to the decoded body). Nothing is
// logged: headers hold API keys.
#pragma once

#include "worker/providers/http_client.h"

namespace pl::worker::providers {

class CurlHttpClient final : public HttpClient {
 public:
  // Initialises libcurl once per process (thread-safe; first construction wins).
  CurlHttpClient();
  Result<HttpResponse> send(const HttpRequest& request) override;
};

}  // namespace pl::worker::providers
