// pipeline-fake-llm: the fake LLM API server for tests (see fake_llm.h for what it answers).
//
// Usage: pipeline-fake-llm [--port N]. Listens on 127.0.0.1 (port 0, the default, picks a free
// one), prints "PORT <n>" on a line of its own on stdout once it accepts connections, and
// serves until it is killed. Exit codes: 2 bad usage, 70 cannot listen.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/fakes/fake_http.h"
#include "tests/fakes/fake_llm.h"

int main(int argc, char** argv) {
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
      return 2;
    }
  }
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "port out of range\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  uint16_t bound = 0;
  const int fd = pl::fakes::listen_on_loopback(static_cast<uint16_t>(port), bound);
  if (fd < 0) {
    std::perror("pipeline-fake-llm: listen");
    return 70;
  }
  std::printf("PORT %u\n", static_cast<unsigned>(bound));
  std::fflush(stdout);
  pl::fakes::FakeLlm fake;
  pl::fakes::serve_forever(fd, [&fake](const pl::fakes::HttpRequestIn& r) { return fake.handle(r); });
  return 70;
}
