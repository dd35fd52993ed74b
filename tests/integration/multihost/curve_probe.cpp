// pipeline-curve-probe: connects a DEALER to ENDPOINT and reports how the handshake ends, for
// tests that need a client inside another network namespace.
//
//   pipeline-curve-probe ENDPOINT plain
//   pipeline-curve-probe ENDPOINT curve CLIENT.key SERVER.pub
//
// Prints one line: "succeeded", or "failed: <what ZeroMQ said>". Exit 0 succeeded, 1 failed,
// 2 bad usage, 3 no handshake outcome within 20 s.
#include <zmq.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/net/curve_keys.h"
#include "common/net/curve_monitor.h"

int main(int argc, char** argv) {
  using namespace pl::net;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ENDPOINT plain | ENDPOINT curve CLIENT.key SERVER.pub\n",
                 argv[0]);
    return 2;
  }
  const std::string endpoint = argv[1];
  const std::string mode = argv[2];
  void* context = zmq_ctx_new();
  void* socket = zmq_socket(context, ZMQ_DEALER);
  const int zero = 0;
  zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
  if (mode == "curve") {
    if (argc != 5) return 2;
    auto client = load_secret_key_file(argv[3]);
    auto server = load_public_key_file(argv[4]);
    if (!client.ok() || !server.ok()) {
      std::fprintf(stderr, "%s\n",
                   (!client.ok() ? client.error() : server.error()).message.c_str());
      return 2;
    }
    const std::string s = server->raw(), p = client->public_key.raw(), k = client->secret_key.raw();
    zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, s.data(), s.size());
    zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, p.data(), p.size());
    zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, k.data(), k.size());
  } else if (mode != "plain") {
    return 2;
  }
  const std::string monitor_endpoint = "inproc://probe-monitor";
  zmq_socket_monitor(socket, monitor_endpoint.c_str(),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  void* monitor = zmq_socket(context, ZMQ_PAIR);
  zmq_connect(monitor, monitor_endpoint.c_str());
  if (zmq_connect(socket, endpoint.c_str()) != 0) {
    std::printf("failed: connect: %s\n", zmq_strerror(zmq_errno()));
    return 1;
  }
  int rc = 3;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (rc == 3 && std::chrono::steady_clock::now() < deadline) {
    zmq_pollitem_t item{monitor, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 100) <= 0) continue;
    Frames frames;
    for (bool more = true; more;) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, monitor, 0) < 0) break;
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
      more = zmq_msg_more(&msg);
      zmq_msg_close(&msg);
    }
    auto event = parse_monitor_message(frames);
    if (!event) continue;
    if (event->kind == HandshakeEvent::Kind::kSucceeded) {
      std::printf("succeeded\n");
      rc = 0;
    } else {
      std::printf("failed: %s\n", describe_handshake(*event, false).c_str());
      rc = 1;
    }
  }
  if (rc == 3) std::printf("no handshake outcome\n");
  zmq_close(monitor);
  zmq_close(socket);
  zmq_ctx_term(context);
  return rc;
}
