#include "cli/registry_commands.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <utility>

#include "cli/cli_context.h"
#include "cli/output_sink.h"
#include "cli/progress_format.h"
#include "cli/tree_sockets.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/registry/registry_client.h"
#include "common/registry/tool_file.h"
#include "common/state_paths.h"

namespace pl::cli {
namespace {

using namespace std::chrono_literals;

int fail(const Error& e) {
  std::cerr << "pipelinectl: " << e.message << "\n";
  return exit_code_for(e.code);
}

// A client for the registry on the state directory, or the exit code when there is none.
Result<std::unique_ptr<RegistryClient>> connect(const CliContext& context) {
  auto endpoint = tree_endpoint(context.state_dir(), TreeSocket::kRegistry);
  if (!endpoint.ok()) return std::move(endpoint).error();
  RegistryClientOptions options;
  options.endpoint = *endpoint;
  options.attempt_timeout = 2s;
  options.deadline = 8s;
  return std::make_unique<RegistryClient>(options);
}

void print_json(const Value& v) { std::cout << to_json(v, JsonStyle::kPretty) << std::endl; }

std::string content_text(const Value& content) {
  return content.is_string() ? content.as_string() : to_json(content, JsonStyle::kPretty);
}

// ---- tools -------------------------------------------------------------------------------

int register_tool(RegistryClient& client, const ToolDefinition& definition, bool replace) {
  auto revision = client.register_tool(definition, replace);
  if (!revision.ok() && revision.error().code == ErrorCode::kConflict) {
    // The registry says what conflicts; what to type about it is the CLI's to say.
    std::cerr << "pipelinectl: " << revision.error().message
              << "; pipelinectl tools register --replace FILE replaces it\n";
    return exit_code_for(ErrorCode::kConflict);
  }
  if (!revision.ok()) return fail(revision.error());
  std::cout << "registered tool " << definition.name << " (revision " << *revision << ")\n";
  return kExitOk;
}

int list_tools(RegistryClient& client, bool json) {
  auto raw = client.call(protocol::RegistryOp::kToolList, Value::object());
  if (!raw.ok()) return fail(raw.error());
  if (json) {
    print_json(*raw);
    return kExitOk;
  }
  auto tools = raw->find("tools");
  if (!tools || tools->size() == 0) {
    std::cout << "no tools registered\n";
    return kExitOk;
  }
  for (const auto& t : tools->as_array()) {
    std::cout << t.get_string("name") << "  (revision " << t.get_int("revision") << ")  "
              << t.get_string("description") << "\n";
  }
  return kExitOk;
}

int show_tool(RegistryClient& client, const std::string& name, bool json) {
  Value args;
  args["name"] = name;
  auto raw = client.call(protocol::RegistryOp::kToolGet, std::move(args));
  if (!raw.ok()) return fail(raw.error());
  if (json) {
    print_json(*raw);
    return kExitOk;
  }
  const Value* d = raw->find("definition");
  std::cout << "tool " << name << ", revision " << raw->get_int("revision") << ", updated "
            << format_utc(raw->get_int("updated_ms")) << "\n";
  if (d) {
    for (const auto& [key, value] : d->as_object()) {
      if (key == "name") continue;
      std::cout << "  " << key << ": " << (value.is_string() ? value.as_string() : to_json(value)) << "\n";
    }
  }
  return kExitOk;
}

int remove_tool(RegistryClient& client, const std::string& name) {
  if (auto st = client.remove_tool(name); !st.ok()) return fail(st.error());
  std::cout << "removed tool " << name << "\n";
  return kExitOk;
}

// ---- sessions ----------------------------------------------------------------------------

int list_sessions(RegistryClient& client, bool json) {
  auto raw = client.call(protocol::RegistryOp::kSessionList, Value::object());
  if (!raw.ok()) return fail(raw.error());
  if (json) {
    print_json(*raw);
    return kExitOk;
  }
  const Value* sessions = raw->find("sessions");
  if (!sessions || sessions->size() == 0) {
    std::cout << "no sessions\n";
    return kExitOk;
  }
  for (const auto& v : sessions->as_array()) {
    auto s = session_info_from(v);
    if (!s.ok()) return fail(s.error());
    std::cout << s->name << "  " << s->version << " turn(s)"
              << (s->max_turns > 0 ? " of at most " + std::to_string(s->max_turns) : "")
              << ", tokens " << s->usage.input_tokens << " in / " << s->usage.output_tokens
              << " out, updated " << format_utc(s->updated_ms) << "\n";
  }
  if (raw->get_bool("truncated")) std::cout << "(more sessions not shown)\n";
  return kExitOk;
}

int export_session(RegistryClient& client, const std::string& name, const std::string& output);

// Writes a session as to_json(to_value(session), kPretty) writes it whole (keys in order, the
// turns between name and updated_ms), one page of turns at a time.
class SessionJsonWriter {
 public:
  explicit SessionJsonWriter(OutputSink& sink) : sink_(sink) {}

  Status page(const SessionInfo& info, const std::vector<SessionTurn>& turns) {
    std::string text;
    if (!started_) {
      header_ = to_value(info);
      text = "{";
      for (const auto& [key, value] : header_.as_object()) {
        if (key > "turns") break;
        text += std::string(any_key_ ? "," : "") + "\n  " + to_json(Value(key)) + ": ";
        append_pretty_json_at(text, value, 1);
        any_key_ = true;
      }
      text += std::string(any_key_ ? "," : "") + "\n  \"turns\": [";
      started_ = true;
    }
    for (const SessionTurn& turn : turns) {
      text += any_turn_ ? ",\n    " : "\n    ";
      any_turn_ = true;
      append_pretty_json_at(text, to_value(turn), 2);
    }
    return sink_.write(text);
  }

  Status finish() {
    std::string text = any_turn_ ? "\n  ]" : "]";
    for (const auto& [key, value] : header_.as_object()) {
      if (key < "turns") continue;
      text += ",\n  " + to_json(Value(key)) + ": ";
      append_pretty_json_at(text, value, 1);
    }
    return sink_.write(text + "\n}\n");
  }

 private:
  OutputSink& sink_;
  Value header_;
  bool started_ = false;
  bool any_key_ = false;
  bool any_turn_ = false;
};

// The session as JSON into `sink`, one page at a time.
Status write_session_json(RegistryClient& client, const std::string& name, OutputSink& sink) {
  SessionJsonWriter writer(sink);
  auto st = client.read_session_pages(
      name, [&](const SessionInfo& info, std::vector<SessionTurn>& turns) {
        return writer.page(info, turns);
      });
  if (!st.ok()) return st;
  return writer.finish();
}

void print_session_header(const SessionInfo& i) {
  std::cout << "session " << i.name << ": " << i.version << " turn(s)"
            << (i.max_turns > 0 ? " of at most " + std::to_string(i.max_turns) : "") << ", tokens "
            << i.usage.input_tokens << " in / " << i.usage.output_tokens << " out, created "
            << format_utc(i.created_ms) << "\n";
}

void print_turns(const std::vector<SessionTurn>& turns) {
  for (const auto& t : turns) {
    std::cout << "\n--- turn " << t.index << " (" << format_utc(t.time_ms) << ")\n";
    for (const auto& m : t.messages) std::cout << m.role << ": " << content_text(m.content) << "\n";
  }
}

int show_session(RegistryClient& client, const std::string& name, bool json, int64_t last) {
  if (last > 0) {
    auto session = client.get_session(name, last);
    if (!session.ok()) return fail(session.error());
    if (json) {
      print_json(to_value(*session));
      return kExitOk;
    }
    print_session_header(session->info);
    print_turns(session->turns);
    return kExitOk;
  }
  // The whole session, however large: written page by page, never held whole.
  if (json) return export_session(client, name, "-");
  bool header = false;
  auto st = client.read_session_pages(
      name, [&](const SessionInfo& info, std::vector<SessionTurn>& turns) {
        if (!std::exchange(header, true)) print_session_header(info);
        print_turns(turns);
        return ok_status();
      });
  if (!st.ok()) return fail(st.error());
  return kExitOk;
}

int export_session(RegistryClient& client, const std::string& name, const std::string& output) {
  auto sink = OutputSink::open(output);
  if (!sink.ok()) return fail(sink.error());
  Status done = write_session_json(client, name, *sink);
  if (done.ok()) done = sink->finish();
  if (!done.ok()) return fail(done.error());
  if (sink->to_file()) std::cerr << "exported session " << name << " to " << output << "\n";
  return kExitOk;
}

int delete_session(RegistryClient& client, const std::string& name) {
  if (auto st = client.delete_session(name); !st.ok()) return fail(st.error());
  std::cout << "deleted session " << name << "\n";
  return kExitOk;
}

struct Args {
  std::string name;
  std::string file;
  std::string output;
  bool json = false;
  bool replace = false;
  int64_t last = 0;
};

// Wraps a command body: connects first, maps a missing registry to its exit code.
template <class Body>
std::function<void()> with_client(CliContext& context, int& exit_code, Body body) {
  return [&context, &exit_code, body] {
    auto client = connect(context);
    if (!client.ok()) {
      exit_code = fail(client.error());
      return;
    }
    exit_code = body(**client);
  };
}

}  // namespace

void add_registry_commands(CLI::App& app, CliContext& context, int& exit_code) {
  auto a = std::make_shared<Args>();

  CLI::App* tools = app.add_subcommand("tools", "Tool definitions in the registry");
  tools->require_subcommand(1);
  CLI::App* reg = tools->add_subcommand("register", "Register a tool from a YAML or JSON file");
  reg->add_option("file", a->file, "Tool definition file")->required();
  reg->add_flag("--replace", a->replace, "Replace a tool of the same name");
  reg->callback([&context, &exit_code, a] {
    // The file is checked first: a bad file is a usage error whether or not a registry runs.
    auto definition = load_tool_file(a->file);
    if (!definition.ok()) {
      std::cerr << definition.error().message << "\n";
      exit_code = kExitUsage;
      return;
    }
    with_client(context, exit_code, [a, d = std::move(*definition)](RegistryClient& c) {
      return register_tool(c, d, a->replace);
    })();
  });
  CLI::App* tlist = tools->add_subcommand("list", "List registered tools");
  tlist->add_flag("--json", a->json, "Print JSON");
  tlist->callback(with_client(context, exit_code, [a](RegistryClient& c) { return list_tools(c, a->json); }));
  CLI::App* tshow = tools->add_subcommand("show", "Show one tool's definition");
  tshow->add_option("name", a->name, "Tool name")->required();
  tshow->add_flag("--json", a->json, "Print JSON");
  tshow->callback(with_client(context, exit_code, [a](RegistryClient& c) { return show_tool(c, a->name, a->json); }));
  CLI::App* tremove = tools->add_subcommand("remove", "Remove a tool");
  tremove->add_option("name", a->name, "Tool name")->required();
  tremove->callback(with_client(context, exit_code, [a](RegistryClient& c) { return remove_tool(c, a->name); }));

  CLI::App* sessions = app.add_subcommand("sessions", "Conversation sessions in the registry");
  sessions->require_subcommand(1);
  CLI::App* slist = sessions->add_subcommand("list", "List sessions");
  slist->add_flag("--json", a->json, "Print JSON");
  slist->callback(with_client(context, exit_code, [a](RegistryClient& c) { return list_sessions(c, a->json); }));
  CLI::App* sshow = sessions->add_subcommand("show", "Show a session's turns");
  sshow->add_option("name", a->name, "Session name")->required();
  sshow->add_flag("--json", a->json, "Print JSON");
  sshow->add_option("--last", a->last, "Only the last N turns (default: all)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX))
      ->default_str("");  // 0 stands for "not given", which the range does not allow
  sshow->callback(
      with_client(context, exit_code, [a](RegistryClient& c) { return show_session(c, a->name, a->json, a->last); }));
  CLI::App* sexport = sessions->add_subcommand("export", "Write a session as JSON (atomically)");
  sexport->add_option("name", a->name, "Session name")->required();
  sexport->add_option("--output,-o", a->output,
                      "File to write, replaced once complete (default or -: stdout)");
  sexport->callback(
      with_client(context, exit_code, [a](RegistryClient& c) { return export_session(c, a->name, a->output); }));
  CLI::App* sdelete = sessions->add_subcommand("delete", "Delete a session and its turns");
  sdelete->add_option("name", a->name, "Session name")->required();
  sdelete->callback(with_client(context, exit_code, [a](RegistryClient& c) { return delete_session(c, a->name); }));
}

}  // namespace pl::cli
