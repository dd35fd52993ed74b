#include "worker/providers/http_client.h"

namespace pl::worker::providers {

const std::string* HttpResponse::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? nullptr : &it->second;
}

std::string url_for_messages(std::string_view url) {
  const size_t cut = url.find_first_of("?#");
  return std::string(url.substr(0, cut));
}

}  // namespace pl::worker::providers
