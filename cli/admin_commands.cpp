// pipelinectl status | events | start | stop | restart | scale | reload | shutdown (and top, in
// top_command.cpp): requests on the supervisor's control socket (docs/control-api.md), output
// for people (a tree) or, with --json, for machines. Every wait has a deadline.
//
// Exit codes: 0 done; 1 the supervisor refused or the action failed; 2 bad usage or input
// (an unknown command argument, a bad config on reload); 69 no supervisor answers on the state
// directory; 75 the action did not finish within --timeout.
#include "cli/admin_commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/cli_context.h"
#include "cli/progress_format.h"
#include "common/byte_size.h"
#include "cli/top_command.h"
#include "cli/tree_sockets.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/net/request_client.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/control.h"
#include "common/protocol/envelope.h"
#include "common/state_paths.h"

namespace pl::cli {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr milliseconds kPingTimeout{5000};

struct Outcome {
  int code = kExitOk;
  std::optional<protocol::ControlReply> reply;
};

void say(const std::string& text) { std::fprintf(stdout, "%s\n", text.c_str()); }
void complain(const std::string& text) { std::fprintf(stderr, "pipelinectl: %s\n", text.c_str()); }

// The control socket of the tree on `dir`, and calls on it.
class Supervisor {
 public:
  explicit Supervisor(fs::path dir) : dir_(std::move(dir)), paths_(dir_) {}

  // One request. Prints why and returns the exit code when there is no usable answer.
  Outcome call(const std::string& command, Value args, milliseconds timeout) {
    auto endpoint = tree_endpoint(dir_, TreeSocket::kSupervisor);
    if (!endpoint.ok()) {
      if (endpoint.error().code == ErrorCode::kUnavailable) return unavailable();
      complain(endpoint.error().message);
      return {kExitUsage, std::nullopt};
    }
    net::RequestClient client(context_, *endpoint);
    protocol::ControlRequest request;
    request.command = command;
    request.args = std::move(args);
    auto reply = client.call(protocol::MessageType::kControlRequest, protocol::to_body(request),
                             timeout);
    if (!reply.ok()) {
      if (reply.error().code == ErrorCode::kTimeout) return {kExitTempFail, std::nullopt};
      complain(reply.error().message);
      return {kExitInternal, std::nullopt};
    }
    auto parsed = protocol::control_reply_from(reply->body);
    if (!parsed.ok()) {
      complain("unreadable reply: " + parsed.error().message);
      return {kExitInternal, std::nullopt};
    }
    if (!parsed->ok) {
      complain(parsed->message);
      return {exit_code_for(parsed->code), *parsed};
    }
    return {kExitOk, *parsed};
  }

  // A quick call; silence means nobody is there (69).
  Outcome quick(const std::string& command, Value args = Value::object()) {
    Outcome o = call(command, std::move(args), kPingTimeout);
    if (o.code == kExitTempFail) return unavailable();
    return o;
  }

  // A call that may take long: first a quick ping (so a dead tree answers 69 at once), then
  // the call with the caller's deadline (75 when it passes).
  Outcome slow(const std::string& command, Value args, milliseconds timeout) {
    Outcome ping = quick("status");
    if (ping.code != kExitOk) return ping;
    Outcome o = call(command, std::move(args), timeout);
    if (o.code == kExitTempFail) {
      complain(command + " did not finish within " + std::to_string(timeout.count()) +
               " ms (it may still be under way: see pipelinectl status)");
    }
    return o;
  }

  Outcome unavailable() {
    complain("no supervisor answers on " + dir_.string() + " (is one running there? see --state-dir)");
    return {kExitUnavailable, std::nullopt};
  }

  net::Context& context() { return context_; }
  const StatePaths& paths() const { return paths_; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  StatePaths paths_;
  net::Context context_;
};

// ---- Rendering ----------------------------------------------------------------------------------

std::string duration_text(int64_t ms) {
  if (ms <= 0) return "-";
  int64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "." + std::to_string((ms % 1000) / 100) + "s";
  const int64_t d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60;
  s %= 60;
  char buf[48];
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(d), static_cast<long long>(h));
  } else if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(h), static_cast<long long>(m));
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(m), static_cast<long long>(s));
  }
  return buf;
}

std::string clock_text(int64_t time_ms) {
  const std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(time_ms % 1000));
  return buf;
}

std::string last_exit_text(const Value* e) {
  if (e == nullptr || !e->is_object()) return "";
  std::string how = e->get_int("signal") != 0 ? "signal " + std::to_string(e->get_int("signal"))
                                              : "status " + std::to_string(e->get_int("status"));
  return "last exit: " + how + " at " + clock_text(e->get_int("time_ms"));
}

// Columns on a terminal: UTF-8 continuation bytes take none.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

void render_children(const Value& node, const std::string& indent, std::string& out) {
  const Value* kids = node.find("children");
  if (kids == nullptr || !kids->is_array()) return;
  const auto& list = kids->as_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const Value& c = list[i];
    const bool last = i + 1 == list.size();
    std::string line = indent + (last ? "└─ " : "├─ ") + c.get_string("name");
    line.append(std::max<size_t>(display_width(line) + 2, 34) - display_width(line), ' ');
    char cols[160];
    const std::string type = c.get_string("type");
    const std::string pid = c.get_int("pid") > 0 ? std::to_string(c.get_int("pid")) : "-";
    std::snprintf(cols, sizeof cols, "%-11s %-8s %-9s restarts %-3lld", c.get_string("state").c_str(),
                  pid.c_str(), duration_text(c.get_int("uptime_ms")).c_str(),
                  static_cast<long long>(c.get_int("restarts")));
    line += cols;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (type == "pool") {
      line += " pool " + std::to_string(c.find("children") ? c.find("children")->size() : 0) + "/" +
              std::to_string(c.get_int("count")) + " (max " + std::to_string(c.get_int("max_children")) + ")";
    } else if (type == "supervisor") {
      line += " " + c.get_string("strategy");
    }
    if (c.find("rss_bytes")) {
      line += " rss " + format_bytes(static_cast<uint64_t>(c.get_int("rss_bytes")));
      if (c.find("max_memory")) {
        line += "/" + format_bytes(static_cast<uint64_t>(c.get_int("max_memory")));
      }
    } else if (c.find("rss_error")) {
      line += " rss unreadable";
    }
    const std::string exit = last_exit_text(c.find("last_exit"));
    if (!exit.empty()) line += "  " + exit;
    if (!c.get_string("status_text").empty()) line += "  \"" + c.get_string("status_text") + "\"";
    out += line + "\n";
    render_children(c, indent + (last ? "   " : "│  "), out);
  }
}

// "backups: 7 complete, newest 2026-11-24 03:00:12Z (16h02m ago)", for a tree with a broker.
std::string backups_line(const Value& b, int64_t now_ms) {
  if (b.find("error")) return "backups: " + b.get_string("error") + "\n";
  const int64_t complete = b.get_int("complete");
  if (complete == 0) return "backups: none in the state directory yet (pipelinectl backup)\n";
  std::string line = "backups: " + std::to_string(complete) + " complete";
  if (const Value* newest = b.find("newest_ms")) {
    line += ", newest " + format_utc(newest->as_int()) + " (" +
            duration_text(std::max<int64_t>(1, now_ms - newest->as_int())) + " ago)";
  }
  return line + "\n";
}

std::string render_status(const Value& s) {
  std::string out = s.get_string("name") + "  " + s.get_string("state") + "  up " +
                    duration_text(s.get_int("uptime_ms")) + "  " + s.get_string("strategy") +
                    "  (pid " + std::to_string(s.get_int("pid")) + ", " +
                    s.get_string("state_dir") + ")\n";
  render_children(s, "", out);
  if (const Value* backups = s.find("backups"); backups && backups->is_object()) {
    out += backups_line(*backups, unix_millis(std::chrono::system_clock::now()));
  }
  if (const Value* metrics = s.find("metrics"); metrics && metrics->is_object()) {
    if (!metrics->get_string("listen").empty()) {
      out += "metrics: http://" + metrics->get_string("listen") + "/metrics\n";
    } else if (!metrics->get_string("error").empty()) {
      out += "metrics: not served: " + metrics->get_string("error") + " (tried again every 10 s)\n";
    }
  }
  return out;
}

std::string render_event(const Value& e) {
  std::string line = clock_text(e.get_int("time_ms")) + "  " + e.get_string("kind");
  line.resize(std::max<size_t>(line.size() + 1, 32), ' ');
  line += e.get_string("child");
  if (e.get_int("pid") > 0) line += " pid " + std::to_string(e.get_int("pid"));
  if (!e.get_string("detail").empty()) line += ": " + e.get_string("detail");
  return line;
}

// ---- Commands ------------------------------------------------------------------------------------

int do_status(Supervisor& sup, bool json) {
  Outcome o = sup.quick("status");
  if (o.code != kExitOk) return o.code;
  if (json) {
    say(to_json(o.reply->result, JsonStyle::kPretty));
  } else {
    std::fputs(render_status(o.reply->result).c_str(), stdout);
  }
  return kExitOk;
}

int follow_events(Supervisor& sup, bool json, uint64_t after, const std::string& root,
                  net::Socket& sub, milliseconds limit) {
  std::vector<net::PollEntry> entries{{sub.raw(), -1, false}};
  const TimePoint deadline = SteadyClock::now() + limit;
  TimePoint quiet_since = SteadyClock::now();
  for (;;) {
    const int64_t wait = limit.count() > 0 ? std::min<int64_t>(1000, millis_until(deadline, SteadyClock::now())) : 1000;
    auto polled = net::poll(entries, wait);
    if (!polled.ok()) return kExitInternal;
    if (limit.count() > 0 && SteadyClock::now() >= deadline) return kExitOk;
    for (;;) {
      auto frames = sub.receive();
      if (!frames.ok() || !frames->has_value()) break;
      if ((*frames)->size() != 2) continue;
      auto message = protocol::decode((**frames)[1]);
      if (!message.ok()) continue;
      const Value& e = message->body;
      if (static_cast<uint64_t>(e.get_int("seq")) <= after) continue;
      after = static_cast<uint64_t>(e.get_int("seq"));
      say(json ? to_json(e) : render_event(e));
      std::fflush(stdout);
      quiet_since = SteadyClock::now();
      const std::string kind = e.get_string("kind");
      if (e.get_string("child") == root && (kind == "stopped" || kind == "gave_up")) return kExitOk;
    }
    if (SteadyClock::now() - quiet_since > std::chrono::seconds(5)) {
      // Silence: make sure someone is still there.
      if (sup.quick("status").code != kExitOk) return kExitUnavailable;
      quiet_since = SteadyClock::now();
    }
  }
}

int do_events(Supervisor& sup, bool json, bool follow, int64_t limit, milliseconds follow_for) {
  // Subscribe before reading the history, so that nothing falls between the two.
  std::optional<net::Socket> sub;
  if (follow) {
    auto endpoint = sup.paths().events_endpoint();
    if (!endpoint.ok()) {
      complain(endpoint.error().message);
      return kExitUsage;
    }
    sub.emplace(sup.context(), net::SocketKind::kSub);
    if (!sub->connect(*endpoint).ok() || !sub->subscribe("child.").ok()) return kExitInternal;
  }
  Value args = Value::object();
  args["limit"] = limit;
  Outcome o = sup.quick("events", args);
  if (o.code != kExitOk) return o.code;
  const Value& result = o.reply->result;
  if (json && !follow) {
    say(to_json(result, JsonStyle::kPretty));
    return kExitOk;
  }
  for (const Value& e : result.find("events")->as_array()) say(json ? to_json(e) : render_event(e));
  if (!follow) return kExitOk;
  std::fflush(stdout);
  Outcome status = sup.quick("status");
  if (status.code != kExitOk) return status.code;
  return follow_events(sup, json, static_cast<uint64_t>(result.get_int("last_seq")),
                       status.reply->result.get_string("name"), *sub, follow_for);
}

int do_admin(Supervisor& sup, bool json, const std::string& command, Value args,
             milliseconds timeout) {
  Outcome o = sup.slow(command, std::move(args), timeout);
  if (o.code != kExitOk) return o.code;
  const Value& r = o.reply->result;
  if (json) {
    say(to_json(r, JsonStyle::kPretty));
    return kExitOk;
  }
  if (command == "scale") {
    say("scaled " + r.get_string("pool") + " to " + std::to_string(r.get_int("count")));
  } else if (command == "reload") {
    std::string text;
    for (const char* k : {"added", "removed", "replaced", "updated"}) {
      const Value* list = r.find(k);
      if (list == nullptr || list->size() == 0) continue;
      std::string names;
      for (const Value& n : list->as_array()) names += (names.empty() ? "" : ", ") + n.as_string();
      text += std::string(text.empty() ? "" : "; ") + k + " " + names;
    }
    const Value* notes = r.find("notes");
    const bool noted = notes != nullptr && notes->is_array() && notes->size() > 0;
    say("reloaded: " + (!text.empty() ? text
                        : noted       ? std::string("no child changed")
                                      : std::string("nothing changed")));
    if (noted) {
      for (const Value& note : notes->as_array()) {
        if (note.is_string()) say("note: " + note.as_string());
      }
    }
  } else {
    const std::string done = command == "start" ? "started" : command == "stop" ? "stopped" : "restarted";
    say(done + " " + r.get_string("name"));
  }
  return kExitOk;
}

int do_shutdown(Supervisor& sup, bool json, milliseconds timeout) {
  Outcome o = sup.quick("shutdown");
  if (o.code != kExitOk) return o.code;
  if (!json) say("stopping the tree on " + sup.dir().string());
  // The supervisor removes its control socket once every child has stopped.
  const TimePoint deadline = SteadyClock::now() + timeout;
  while (fs::exists(sup.paths().dir() / "control.sock")) {
    if (SteadyClock::now() >= deadline) {
      complain("the tree did not stop within " + std::to_string(timeout.count()) + " ms");
      return kExitTempFail;
    }
    ::usleep(20'000);
  }
  if (json) {
    say("{\"stopped\":true}");
  } else {
    say("stopped");
  }
  return kExitOk;
}

// --timeout: at least 1 ms (a request that cannot be waited for is not sent), at most a day.
const CLI::Range kTimeoutRange(int64_t{1}, int64_t{86'400'000});

}  // namespace

void add_admin_commands(CLI::App& app, CliContext& context, int& exit_code) {
  struct Args {
    std::string name;
    int64_t count = 0;
    bool follow = false;
    int64_t limit = 1000;
    int64_t timeout_ms = 120'000;
    int64_t follow_ms = 0;
  };
  auto args = std::make_shared<Args>();
  auto supervisor = [&context] { return std::make_unique<Supervisor>(context.state_dir()); };

  auto* status = app.add_subcommand("status", "Show the process tree: states, pids, uptimes, restarts");
  status->add_flag("--json", context.json, "Print JSON (docs/control-api.md)");
  status->callback([&, supervisor] { exit_code = do_status(*supervisor(), context.json); });

  auto* events = app.add_subcommand("events", "Show recent lifecycle events");
  events->add_flag("--json", context.json, "Print JSON");
  events->add_flag("-f,--follow", args->follow, "Keep printing events as they happen");
  events->add_option("--limit", args->limit, "How many past events to show")->check(CLI::Range(1, 100000));
  events
      ->add_option("--for", args->follow_ms,
                   "With --follow: stop after this many ms (0: until the tree stops)")
      ->check(CLI::Range(int64_t{0}, int64_t{365} * 24 * 3600 * 1000));  // up to a year
  events->callback([&, args, supervisor] {
    exit_code = do_events(*supervisor(), context.json, args->follow, args->limit,
                          milliseconds(args->follow_ms));
  });

  for (const char* verb : {"start", "stop", "restart"}) {
    const std::string help = std::string(verb == std::string("start") ? "Start" : verb == std::string("stop") ? "Stop" : "Restart") +
                             " a child (a worker, a pool, a nested supervisor or a pool member)";
    auto* sub = app.add_subcommand(verb, help);
    sub->add_option("NAME", args->name, "Full child name, e.g. broker, workers.2, sub.broker")->required();
    sub->add_flag("--json", context.json, "Print JSON");
    sub->add_option("--timeout", args->timeout_ms, "How long to wait for it to finish, in ms")
        ->check(kTimeoutRange);
    const std::string command = verb;
    sub->callback([&, args, supervisor, command] {
      Value a = Value::object();
      a["name"] = args->name;
      exit_code = do_admin(*supervisor(), context.json, command, a, milliseconds(args->timeout_ms));
    });
  }

  auto* scale = app.add_subcommand("scale", "Set the number of members of a pool");
  scale->add_option("POOL", args->name, "The pool's name, e.g. workers")->required();
  scale->add_option("N", args->count, "Members wanted (0 to max_children)")->required();
  scale->add_flag("--json", context.json, "Print JSON");
  scale->add_option("--timeout", args->timeout_ms, "How long to wait for it to finish, in ms")
      ->check(kTimeoutRange);
  scale->callback([&, args, supervisor] {
    Value a = Value::object();
    a["pool"] = args->name;
    a["count"] = args->count;
    exit_code = do_admin(*supervisor(), context.json, "scale", a, milliseconds(args->timeout_ms));
  });

  auto* reload = app.add_subcommand("reload", "Re-read the config and apply only what changed");
  reload->add_flag("--json", context.json, "Print JSON");
  reload->add_option("--timeout", args->timeout_ms, "How long to wait for it to finish, in ms")
      ->check(kTimeoutRange);
  reload->callback([&, args, supervisor] {
    exit_code = do_admin(*supervisor(), context.json, "reload", Value::object(),
                         milliseconds(args->timeout_ms));
  });

  add_top_command(app, context, exit_code);

  auto* shutdown = app.add_subcommand("shutdown", "Stop the whole tree in order; wait until it has");
  shutdown->add_flag("--json", context.json, "Print JSON");
  shutdown->add_option("--timeout", args->timeout_ms, "How long to wait for it to stop, in ms")
      ->check(kTimeoutRange);
  shutdown->callback([&, args, supervisor] {
    exit_code = do_shutdown(*supervisor(), context.json, milliseconds(args->timeout_ms));
  });
}

}  // namespace pl::cli
