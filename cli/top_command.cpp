#include "cli/top_command.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>

#include "cli/cli_context.h"
#include "cli/control_call.h"
#include "cli/progress_format.h"
#include "cli/tree_sockets.h"
#include "common/byte_size.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/envelope.h"
#include "common/signals.h"
#include "common/state_paths.h"

namespace pl::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kSupervisorDeadline{2000};
constexpr milliseconds kBrokerDeadline{1000};

struct TopOptions {
  bool once = false;
  bool json = false;
  double for_seconds = 0;  // 0: until q / Ctrl-C
  int64_t frames = 0;      // 0: no limit
  int64_t interval_ms = 1000;
};

// ---- Asking ------------------------------------------------------------------------------------

struct Answer {
  std::optional<Value> value;
  std::string error;
};

Answer ask_supervisor(net::Context& context, const fs::path& dir) {
  auto endpoint = tree_endpoint(dir, TreeSocket::kSupervisor);
  if (!endpoint.ok()) return {std::nullopt, endpoint.error().message};
  auto status = control_call(context, *endpoint, "status", kSupervisorDeadline);
  if (!status.ok()) return {std::nullopt, status.error().message};
  return {std::move(*status), ""};
}

Answer ask_broker(net::Context& context, const fs::path& dir) {
  auto endpoint = tree_endpoint(dir, TreeSocket::kBroker);
  if (!endpoint.ok()) return {std::nullopt, endpoint.error().message};
  net::RequestClient client(context, *endpoint);
  auto reply =
      client.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), kBrokerDeadline);
  if (!reply.ok()) return {std::nullopt, reply.error().message};
  if (reply->type != protocol::MessageType::kBrokerStatus) {
    return {std::nullopt, "the broker answered " + reply->body.get_string("message")};
  }
  return {reply->body, ""};
}

// ---- Rendering ---------------------------------------------------------------------------------

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string clock_text(int64_t time_ms) {
  const std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string uptime(const Value& c) {
  const int64_t ms = c.get_int("uptime_ms");
  return ms > 0 ? format_duration_s(static_cast<double>(ms) / 1000) : "-";
}

void render_tree(const Value& node, const std::string& indent, std::string& out) {
  const Value* kids = node.find("children");
  if (kids == nullptr || !kids->is_array()) return;
  for (const Value& c : kids->as_array()) {
    std::string name = indent + c.get_string("name");
    const std::string type = c.get_string("type");
    if (type == "pool") {
      name += " (pool " + std::to_string(c.find("children") ? c.find("children")->size() : 0) +
              "/" + std::to_string(c.get_int("count")) + ")";
    }
    std::string rss = "-";
    if (c.find("rss_bytes")) {
      rss = format_bytes(static_cast<uint64_t>(c.get_int("rss_bytes")));
      if (c.find("max_memory")) {
        rss += " / " + format_bytes(static_cast<uint64_t>(c.get_int("max_memory")));
      }
    } else if (c.find("rss_error")) {
      rss = "unreadable";
    }
    out += pad(name, 30) + " " + pad(c.get_string("state"), 10) + " " +
           pad(c.get_int("pid") > 0 ? std::to_string(c.get_int("pid")) : "-", 8) + " " +
           pad(uptime(c), 9) + " " + pad(std::to_string(c.get_int("restarts")), 8) + " " + rss +
           "\n";
    render_tree(c, indent + "  ", out);
  }
}

int64_t counter(const Value& broker, std::string_view name) {
  const Value* c = broker.find("counters");
  return c ? c->get_int(name, 0) : 0;
}

}  // namespace

Value top_frame(std::optional<Value> supervisor, std::string supervisor_error,
                std::optional<Value> broker, std::string broker_error, const Value& previous,
                int64_t time_ms, const std::string& state_dir) {
  Value f = Value::object();
  f["time_ms"] = time_ms;
  f["state_dir"] = state_dir;
  f["supervisor"] = supervisor ? *supervisor : Value();
  if (!supervisor) f["supervisor_error"] = supervisor_error;
  f["broker"] = broker ? *broker : Value();
  if (!broker) f["broker_error"] = broker_error;
  f["rates"] = Value();
  const Value* before = previous.find("broker");
  if (broker && before && before->is_object()) {
    const double seconds = static_cast<double>(time_ms - previous.get_int("time_ms")) / 1000;
    const int64_t done = counter(*broker, "completed") - counter(*before, "completed");
    const int64_t failed = counter(*broker, "failed") - counter(*before, "failed");
    const int64_t dispatched = counter(*broker, "dispatched") - counter(*before, "dispatched");
    // A restarted broker starts its counters again: no rate across that.
    if (seconds > 0 && done >= 0 && failed >= 0 && dispatched >= 0) {
      Value r = Value::object();
      r["interval_s"] = seconds;
      r["succeeded_per_s"] = static_cast<double>(done) / seconds;
      r["failed_per_s"] = static_cast<double>(failed) / seconds;
      r["dispatched_per_s"] = static_cast<double>(dispatched) / seconds;
      f["rates"] = std::move(r);
    }
  }
  return f;
}

std::string render_top(const Value& frame, size_t width) {
  std::string out;
  const Value* sup = frame.find("supervisor");
  const Value* broker = frame.find("broker");
  const bool sup_up = sup && sup->is_object();
  const bool broker_up = broker && broker->is_object();
  std::string head = "pipeline top  " + frame.get_string("state_dir") + "  " +
                     clock_text(frame.get_int("time_ms"));
  out += head + "\n";
  if (!sup_up) {
    out += "supervisor: " + frame.get_string("supervisor_error") + "\n";
  } else {
    out += "tree " + sup->get_string("name") + " " + sup->get_string("state") + ", up " +
           uptime(*sup) + ", pid " + std::to_string(sup->get_int("pid")) + ", memory bounds by " +
           sup->get_string("memory_enforcement", "rss");
    if (const Value* m = sup->find("metrics"); m && !m->get_string("listen").empty()) {
      out += ", metrics http://" + m->get_string("listen") + "/metrics";
    }
    out += "\n\n" + pad("CHILD", 30) + " " + pad("STATE", 10) + " " + pad("PID", 8) + " " +
           pad("UPTIME", 9) + " " + pad("RESTARTS", 8) + " RSS\n";
    render_tree(*sup, "", out);
  }
  out += "\n";
  if (!broker_up) {
    out += "broker: " + frame.get_string("broker_error") + "\n";
  } else {
    const Value& b = *broker;
    int64_t slots = 0, busy = 0, draining = 0, untracked = 0;
    struct HostLoad {
      int64_t workers = 0, slots = 0, busy = 0;
    };
    std::map<std::string, HostLoad> hosts;
    const Value* workers = b.find("workers");
    if (workers && workers->is_array()) {
      for (const Value& w : workers->as_array()) {
        const int64_t held = w.find("held") ? static_cast<int64_t>(w.find("held")->size()) : 0;
        slots += w.get_int("slots");
        busy += held;
        draining += w.get_bool("draining") ? 1 : 0;
        untracked += w.get_int("untracked");
        if (const std::string host = w.get_string("host"); !host.empty()) {
          HostLoad& load = hosts[host];
          ++load.workers;
          load.slots += w.get_int("slots");
          load.busy += held;
        }
      }
    }
    out += "workers     " + std::to_string(workers ? workers->size() : 0) + " connected, " +
           std::to_string(slots) + " slots, " + std::to_string(busy) + " busy";
    if (draining > 0) out += ", " + std::to_string(draining) + " draining";
    // Slots busy with attempts this broker did not send (a previous broker's): not counted in
    // `busy`, and kept off the workers' credit until they are free.
    if (untracked > 0) out += ", " + std::to_string(untracked) + " busy with earlier work";
    out += "\n";
    // Workers of several hosts (docs/multi-host.md): where the slots are.
    if (hosts.size() > 1) {
      std::string line;
      for (const auto& [host, load] : hosts) {
        line += (line.empty() ? "" : ", ") + host + " " + std::to_string(load.workers) + " (" +
                std::to_string(load.busy) + "/" + std::to_string(load.slots) + " busy)";
      }
      out += "hosts       " + line + "\n";
    }
    if (counter(b, "curve_allowed") > 0 || counter(b, "curve_refused") > 0 ||
        counter(b, "curve_handshake_failures") > 0) {
      out += "curve       allowed " + std::to_string(counter(b, "curve_allowed")) + ", refused " +
             std::to_string(counter(b, "curve_refused")) + ", handshakes failed " +
             std::to_string(counter(b, "curve_handshake_failures")) + "\n";
    }
    out += "items       queued " + std::to_string(b.get_int("queued")) + ", in flight " +
           std::to_string(b.get_int("in_flight")) + ", waiting retry " +
           std::to_string(b.get_int("waiting_retry")) + ", outstanding " +
           std::to_string(b.get_int("outstanding")) + "; runs running " +
           std::to_string(b.get_int("runs_running")) + "\n";
    const Value* rates = frame.find("rates");
    if (rates && rates->is_object()) {
      auto rate = [&](const char* k) {
        const Value* v = rates->find(k);
        return format_rate(v && v->is_number() ? v->as_double() : 0);
      };
      out += "throughput  " + rate("succeeded_per_s") + " succeeded, " + rate("failed_per_s") +
             " failed, " + rate("dispatched_per_s") + " dispatched\n";
    } else {
      out += "throughput  - (needs two frames)\n";
    }
    if (const Value* l = b.find("item_latency"); l && l->get_int("count") > 0) {
      out += "latency     p50 " + format_micros(l->get_int("p50_us")) + ", p90 " +
             format_micros(l->get_int("p90_us")) + ", p99 " + format_micros(l->get_int("p99_us")) +
             ", max " + format_micros(l->get_int("max_us")) + " (" +
             std::to_string(l->get_int("count")) + " results)\n";
    } else {
      out += "latency     - (no results yet)\n";
    }
    out += "counters    dispatched " + std::to_string(counter(b, "dispatched")) + ", succeeded " +
           std::to_string(counter(b, "completed")) + ", failed " +
           std::to_string(counter(b, "failed")) + ", retried " +
           std::to_string(counter(b, "retried")) + ", redelivered " +
           std::to_string(counter(b, "redelivered")) + ", dead letters " +
           std::to_string(counter(b, "dead_letters")) + ", timeouts " +
           std::to_string(counter(b, "timeouts")) + "\n";
    const Value* providers = b.find("providers");
    if (providers && providers->is_object() && providers->size() > 0) {
      out += "\n" + pad("PROVIDER", 16) + " " + pad("CIRCUIT", 10) + " " + pad("IN FLIGHT", 10) +
             " " + pad("FAILURES", 9) + " " + pad("OPENED", 7) + " " + pad("ERRORS", 7) + " P50\n";
      for (const auto& [name, p] : providers->as_object()) {
        std::string limit = p.get_int("max_concurrency") > 0
                                ? "/" + std::to_string(p.get_int("max_concurrency"))
                                : "";
        const Value* l = p.find("latency");
        out += pad(name, 16) + " " + pad(p.get_string("state"), 10) + " " +
               pad(std::to_string(p.get_int("in_flight")) + limit, 10) + " " +
               pad(std::to_string(p.get_int("consecutive_failures")), 9) + " " +
               pad(std::to_string(p.get_int("times_opened")), 7) + " " +
               pad(std::to_string(p.get_int("errors")), 7) + " " +
               (l && l->get_int("count") > 0 ? format_micros(l->get_int("p50_us")) : "-") + "\n";
      }
    }
  }
  // Cut every line at the width, so that a narrow terminal does not wrap the screen.
  std::string cut;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    if (width > 0 && line.size() > width) line.resize(width);
    cut += line + "\n";
    start = end + 1;
  }
  return cut;
}

namespace {

// The terminal, for as long as top draws on it: raw-ish input (keys without Enter, no echo;
// Ctrl-C still signals), alternate screen, hidden cursor. Restored when it goes.
class Screen {
 public:
  explicit Screen(bool active) : active_(active) {
    if (!active_) return;
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      restore_termios_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    std::fputs("\x1b[?1049h\x1b[?25l", stdout);
    std::fflush(stdout);
  }
  ~Screen() {
    if (!active_) return;
    std::fputs("\x1b[?25h\x1b[?1049l", stdout);
    std::fflush(stdout);
    if (restore_termios_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  void draw(const std::string& text) {
    std::fputs("\x1b[H\x1b[2J", stdout);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  }
  bool reads_keys() const { return restore_termios_; }

 private:
  bool active_;
  bool restore_termios_ = false;
  termios saved_{};
};

size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;  // not a terminal: no cut
}

int run_top(const CliContext& context, const TopOptions& options) {
  const fs::path dir = context.state_dir();
  auto signal_fd = open_signalfd({SIGINT, SIGTERM, SIGWINCH});
  if (!signal_fd.ok()) {
    std::fprintf(stderr, "pipelinectl: %s\n", signal_fd.error().message.c_str());
    return kExitInternal;
  }
  const bool terminal = !options.once && !options.json && ::isatty(STDOUT_FILENO) == 1;
  net::Context zmq;
  Value previous;
  const TimePoint started = SteadyClock::now();
  std::optional<TimePoint> end;
  if (options.for_seconds > 0) {
    end = started +
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options.for_seconds));
  }
  std::unique_ptr<Screen> screen;
  bool first = true;
  for (int64_t shown = 1;; ++shown) {
    Answer sup = ask_supervisor(zmq, dir);
    if (first && !sup.value) {
      std::fprintf(stderr, "pipelinectl: no supervisor answers on %s: %s\n", dir.c_str(),
                   sup.error.c_str());
      return kExitUnavailable;
    }
    first = false;
    Answer broker = ask_broker(zmq, dir);
    const int64_t now_ms = unix_millis(std::chrono::system_clock::now());
    Value frame =
        top_frame(sup.value, sup.error, broker.value, broker.error, previous, now_ms, dir.string());
    if (options.json) {
      std::fputs((to_json(frame) + "\n").c_str(), stdout);
      std::fflush(stdout);
    } else if (terminal) {
      if (!screen) screen = std::make_unique<Screen>(true);
      screen->draw(render_top(frame, terminal_width()) + "\n(q to quit)");
    } else {
      std::fputs((render_top(frame, 0) + (options.once ? "" : "\n")).c_str(), stdout);
      std::fflush(stdout);
    }
    previous = std::move(frame);
    if (options.once || (options.frames > 0 && shown >= options.frames)) return kExitOk;

    // Wait for the next frame, a key, or a signal.
    const TimePoint next = SteadyClock::now() + milliseconds(options.interval_ms);
    for (;;) {
      const TimePoint now = SteadyClock::now();
      if (end && now >= *end) return kExitOk;
      if (now >= next) break;
      TimePoint until = next;
      if (end && *end < until) until = *end;
      pollfd fds[2] = {{*signal_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      const nfds_t n = screen && screen->reads_keys() ? 2 : 1;
      if (::poll(fds, n, static_cast<int>(millis_until(until, now))) <= 0) continue;
      bool redraw = false;
      for (int sig : read_signals(*signal_fd)) {
        if (sig == SIGINT || sig == SIGTERM) return kExitOk;
        if (sig == SIGWINCH) redraw = true;
      }
      if (n == 2 && (fds[1].revents & POLLIN)) {
        char key = 0;
        while (::read(STDIN_FILENO, &key, 1) == 1) {
          if (key == 'q' || key == 'Q') return kExitOk;
        }
      }
      if (redraw && screen) screen->draw(render_top(previous, terminal_width()) + "\n(q to quit)");
    }
  }
}

}  // namespace

void add_top_command(CLI::App& app, CliContext& context, int& exit_code) {
  auto options = std::make_shared<TopOptions>();
  auto* top = app.add_subcommand("top",
                                 "Show the tree and its broker live: children, RSS, "
                                 "queues, throughput, latency, circuits");
  top->add_flag("--once", options->once, "Print one frame and exit");
  top->add_flag("--json", options->json, "Print each frame as one JSON object per line");
  top->add_option("--for", options->for_seconds,
                  "Stop after this many seconds (0: until q or Ctrl-C)")
      ->check(CLI::Range(0.0, 31'536'000.0));
  top->add_option("--frames", options->frames, "Stop after this many frames (0: no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  top->add_option("--interval", options->interval_ms, "Milliseconds between frames")
      ->check(CLI::Range(100, 3'600'000));
  top->callback([&context, &exit_code, options] { exit_code = run_top(context, *options); });
}

}  // namespace pl::cli
