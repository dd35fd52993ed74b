// pipeline-registry: the one owner of tool definitions and sessions (registry.db).
//
// This first version answers `ping` and refuses every other operation with a clear error; the
// tool and session store lands with its own issue.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "common/config/section_reader.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/net/bad_frames.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/envelope.h"
#include "common/service_notify.h"
#include "common/signals.h"
#include "common/state_paths.h"

namespace {

pl::Value handle(const pl::Value& request) {
  pl::Value reply;
  reply["request"] = request.get_string("request");
  const std::string op = request.get_string("op");
  if (op == "ping") {
    reply["ok"] = true;
    reply["result"] = "pong";
  } else {
    reply["ok"] = false;
    reply["code"] = static_cast<int64_t>(pl::ErrorCode::kNotFound);
    reply["message"] = "the registry has no operation \"" + op + "\" yet";
  }
  return reply;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  CLI::App app{"pipeline-registry: owns tool definitions and sessions"};
  app.add_option("--config", config_path, "Config file (default: $PIPELINE_CONFIG)");
  CLI11_PARSE(app, argc, argv);

  pl::init_logging("registry");
  if (config_path.empty()) {
    if (const char* env = std::getenv(pl::kConfigEnv)) config_path = env;
  }
  std::string state_dir_setting;
  if (!config_path.empty()) {
    auto doc = pl::load_yaml_file(config_path);
    if (!doc.ok()) {
      spdlog::error("{}", doc.error().message);
      return 2;
    }
    pl::SectionReader section(*doc, "/registry", {});
    if (auto st = section.status(); !st.ok()) {
      spdlog::error("{}", st.error().message);
      return 2;
    }
    if (const pl::Value* sup = doc->root().find("supervisor")) {
      state_dir_setting = sup->get_string("state_dir");
    }
  }
  const pl::StatePaths paths(pl::resolve_state_dir("", state_dir_setting));
  if (auto st = pl::ensure_private_dir(paths.dir()); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return 2;
  }
  auto endpoint = paths.registry_endpoint();
  if (!endpoint.ok()) {
    spdlog::error("{}", endpoint.error().message);
    return 2;
  }
  auto signal_fd = pl::open_signalfd({SIGTERM, SIGINT, SIGHUP, SIGPIPE});
  if (!signal_fd.ok()) {
    spdlog::error("{}", signal_fd.error().message);
    return 70;
  }

  pl::net::Context context;
  pl::net::Socket socket(context, pl::net::SocketKind::kRouter);
  if (auto st = socket.bind(*endpoint); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return 75;
  }
  spdlog::info("registry listening on {}", *endpoint);
  pl::notify_ready();

  pl::RealClock clock;
  pl::net::BadFrameLog bad_frames("registry socket");
  std::vector<pl::net::PollEntry> entries{{socket.raw(), -1, false}, {nullptr, *signal_fd, false}};
  for (;;) {
    auto polled = pl::net::poll(entries, 60000);
    if (!polled.ok()) {
      spdlog::critical("poll: {}", polled.error().message);
      return 70;
    }
    if (entries[1].readable) {
      for (int sig : pl::read_signals(*signal_fd)) {
        if (sig == SIGTERM || sig == SIGINT) {
          pl::notify_stopping();
          return 0;
        }
      }
    }
    if (!entries[0].readable) continue;
    for (;;) {
      auto frames = socket.receive();
      if (!frames.ok() || !frames->has_value()) break;
      auto& parts = **frames;
      if (parts.size() != 2) {
        bad_frames.record(parts.empty() ? "" : parts[0], "expected 2 frames", clock.now());
        continue;
      }
      auto message = pl::protocol::decode(parts[1]);
      if (!message.ok() || message->type != pl::protocol::MessageType::kRegistryRequest) {
        bad_frames.record(parts[0], message.ok() ? "not a registry request" : message.error().message,
                          clock.now());
        continue;
      }
      auto sent = socket.send({parts[0], pl::protocol::encode(pl::protocol::MessageType::kRegistryReply,
                                                              handle(message->body))});
      if (!sent.ok()) spdlog::warn("reply: {}", sent.error().message);
    }
  }
}
