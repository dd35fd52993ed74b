#include "worker/providers/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace pl::worker::providers {
namespace {

// What the callbacks share with send(): the response so far and why a transfer was aborted.
struct Transfer {
  const HttpRequest& request;
  HttpResponse response;
  bool too_large = false;
  bool cancelled = false;
  bool stalled = false;
  bool started = false;  // a response byte (header or body) has arrived
  TimePoint last_data;
  curl_off_t last_downloaded = 0;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->started = true;
  t->last_data = SteadyClock::now();
  if (t->response.body.size() + n > t->request.max_response_bytes) {
    t->too_large = true;
    return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

std::string trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->started = true;
  t->last_data = SteadyClock::now();
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response begins (after 100 Continue, say)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name = trim(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t->response.headers[name] = trim(line.substr(colon + 1));
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t downloaded, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request.cancel && t->request.cancel->cancelled()) {
    t->cancelled = true;
    return 1;
  }
  const TimePoint now = SteadyClock::now();
  if (downloaded != t->last_downloaded) {
    t->last_downloaded = downloaded;
    t->last_data = now;
  }
  if (t->started && now - t->last_data > t->request.stall_timeout) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

int64_t ms(Duration d) {
  return std::max<int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(d).count());
}

ErrorCode code_for(CURLcode rc, bool connected, bool deadline_passed) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return connected || deadline_passed ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return ErrorCode::kUnavailable;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return ErrorCode::kInvalidInput;
    default:
      return ErrorCode::kIo;
  }
}

}  // namespace

CurlHttpClient::CurlHttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
  const std::string what = request.method + " " + url_for_messages(request.url);
  const TimePoint start = SteadyClock::now();
  if (request.cancel && request.cancel->cancelled()) {
    return make_error(ErrorCode::kCancelled, what + ": cancelled");
  }
  if (request.deadline <= start) {
    return make_error(ErrorCode::kTimeout, what + ": the deadline passed before the request");
  }
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return make_error(ErrorCode::kIo, what + ": cannot create a libcurl handle");
  CURL* c = easy.get();

  curl_slist* raw_headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    raw_headers = curl_slist_append(raw_headers, (name + ": " + value).c_str());
  }
  raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  Transfer t{request, {}, false, false, false, false, start, 0};
  char errbuf[CURL_ERROR_SIZE] = {};
  const Duration total = request.deadline - start;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(ms(total)));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(ms(std::min(total, request.connect_timeout))));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
    return std::move(t.response);
  }
  if (t.cancelled) return make_error(ErrorCode::kCancelled, what + ": cancelled");
  if (t.stalled) {
    return make_error(ErrorCode::kTimeout,
                      what + ": the response stalled (no data for " +
                          std::to_string(ms(request.stall_timeout)) + " ms)");
  }
  if (t.too_large) {
    return make_error(ErrorCode::kTooLarge, what + ": the response is larger than " +
                                                std::to_string(request.max_response_bytes) +
                                                " bytes");
  }
  curl_off_t connect_us = 0;
  curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
  const bool deadline_passed = SteadyClock::now() >= request.deadline;
  std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    detail = connect_us > 0 || deadline_passed
                 ? "timed out after " + std::to_string(ms(SteadyClock::now() - start)) + " ms"
                 : "could not connect within " +
                       std::to_string(ms(std::min(total, request.connect_timeout))) + " ms";
  }
  return make_error(code_for(rc, connect_us > 0, deadline_passed), what + ": " + detail);
}

}  // namespace pl::worker::providers
