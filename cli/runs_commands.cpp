#include "cli/runs_commands.h"

#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>
#include <optional>

#include "cli/broker_call.h"
#include "cli/cli_context.h"
#include "cli/output_sink.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/protocol/client.h"

namespace pl::cli {
using namespace std::chrono_literals;
using protocol::MessageType;

namespace {

std::string format_time(int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%d %H:%M:%S");
  return out.str();
}

// Runs one call; prints the error and returns its exit code, or hands the reply on.
template <class OnReply>
int with_reply(const CliContext& context, MessageType type, Value body, OnReply on_reply) {
  auto reply = call_broker(context.state_dir(), type, std::move(body), 10s);
  if (!reply.ok()) {
    std::cerr << "pipelinectl: " << reply.error().message << "\n";
    return exit_code_for(reply.error().code);
  }
  return on_reply(reply->body);
}

Value with_run(const std::string& run) {
  Value body;
  body["run"] = run;
  return body;
}

int list_runs(const CliContext& context, int limit, const std::string& state, bool json) {
  Value body;
  body["args"]["limit"] = limit;
  if (!state.empty()) body["args"]["state"] = state;
  return with_reply(context, MessageType::kListRuns, body, [json, &state](const Value& reply) {
    Value runs = Value::array();
    if (const Value* listed = reply.find("runs"); listed && listed->is_array()) {
      // A broker older than the filter lists every state: leave out the others here too.
      for (const auto& r : listed->as_array()) {
        if (state.empty() || r.get_string("state") == state) runs.push_back(r);
      }
    }
    if (json) {
      std::cout << to_json(runs, JsonStyle::kPretty) << "\n";
      return kExitOk;
    }
    std::cout << std::left << std::setw(32) << "RUN" << std::setw(11) << "STATE" << std::setw(21)
              << "CREATED" << "PIPELINE\n";
    for (const auto& r : runs.as_array()) {
      std::cout << std::setw(32) << r.get_string("run") << std::setw(11) << r.get_string("state")
                << std::setw(21) << format_time(r.get_int("created_ms")) << r.get_string("pipeline")
                << "\n";
    }
    return kExitOk;
  });
}

int show_run(const CliContext& context, const std::string& run, bool json) {
  return with_reply(context, MessageType::kRunDetailRequest, with_run(run), [json](const Value& reply) {
    Value shown = reply;
    shown.as_object().erase("request");
    if (json) {
      std::cout << to_json(shown, JsonStyle::kPretty) << "\n";
      return kExitOk;
    }
    std::cout << "run        " << reply.get_string("run") << "\n"
              << "pipeline   " << reply.get_string("pipeline") << " (" << reply.get_string("path") << ")\n"
              << "state      " << reply.get_string("state") << "\n"
              << "created    " << format_time(reply.get_int("created_ms")) << "\n"
              << "finished   " << format_time(reply.get_int("finished_ms")) << "\n"
              << "items      " << reply.get_int("items_recorded") << " recorded\n";
    if (const std::string key = reply.get_string("idempotency_key"); !key.empty()) {
      std::cout << "key        " << key
                << " (idempotency key: submitting with it gives this run)\n";
    }
    if (const Value* progress = reply.find("progress"); progress && progress->is_object()) {
      std::cout << "progress   " << progress->get_int("done") << " done, "
                << progress->get_int("running") << " running, " << progress->get_int("failed")
                << " failed";
      if (const int64_t reused = progress->get_int("replayed"); reused > 0) {
        std::cout << " (" << reused << " done from results recorded earlier)";
      }
      if (const int64_t changed = progress->get_int("inputs_changed"); changed > 0) {
        std::cout << ", " << changed << " run again: their input changed since";
      }
      std::cout << "\n";
    }
    const Value* result = reply.find("result");
    const Value* usage = result && result->is_object() ? result->find("usage") : nullptr;
    if (!usage) {
      const Value* progress = reply.find("progress");
      usage = progress && progress->get_int("input_tokens") > 0 ? progress : nullptr;
    }
    if (usage) {
      std::cout << "usage      " << usage->get_int("input_tokens") << " input tokens, "
                << usage->get_int("output_tokens") << " output tokens, $" << std::fixed
                << std::setprecision(4) << (usage->find("cost_usd") ? usage->find("cost_usd")->as_double() : 0.0);
      if (const int64_t unpriced = usage->get_int("unpriced_calls"); unpriced > 0) {
        std::cout << " (+ " << unpriced << " result(s) whose model has no price in pricing:)";
      }
      std::cout << "\n";
    }
    if (!reply.get_string("error").empty()) std::cout << "error      " << reply.get_string("error") << "\n";
    if (const Value* dead = reply.find("dead_letters"); dead && dead->size() > 0) {
      std::cout << "dead letters (" << dead->size() << "):\n";
      for (const auto& d : dead->as_array()) {
        std::cout << "  " << d.get_string("step") << " after " << d.get_int("attempts")
                  << " attempt(s): " << d.get_string("error") << "\n";
      }
    }
    return kExitOk;
  });
}

int change_run(const CliContext& context, MessageType type, const std::string& run) {
  return with_reply(context, type, with_run(run), [](const Value& reply) {
    std::cout << reply.get_string("run") << " " << reply.get_string("state") << "\n";
    return kExitOk;
  });
}

// Writes a checkpoint as to_json(kPretty) writes {"items": [...], "run": {...}} whole (keys in
// order), but one page of items at a time: the items as they arrive, the run at the end.
class CheckpointWriter {
 public:
  explicit CheckpointWriter(OutputSink& sink) : sink_(sink) {}

  Status items(const Value& entries) {
    std::string text = started_ ? "" : "{\n  \"items\": [";
    started_ = true;
    for (const Value& entry : entries.as_array()) {
      text += any_items_ ? ",\n    " : "\n    ";
      any_items_ = true;
      append_pretty_json_at(text, entry, 2);
    }
    return sink_.write(text);
  }

  Status finish(const Value& run) {
    std::string text = started_ ? "" : "{\n  \"items\": [";
    text += any_items_ ? "\n  ]" : "]";
    text += ",\n  \"run\": ";
    append_pretty_json_at(text, run, 1);
    text += "\n}\n";
    return sink_.write(text);
  }

 private:
  OutputSink& sink_;
  bool started_ = false;
  bool any_items_ = false;
};

// The pages of a run's checkpoint one after another, each its own request with the usual
// deadline, until one has no next: the items written as they come, the run at the end. A broker
// older than paging ignores the cursor and answers with the whole checkpoint at once.
Status export_pages(const CliContext& context, const std::string& run, uint64_t page_bytes,
                    OutputSink& sink) {
  CheckpointWriter writer(sink);
  Value summary;
  for (std::optional<int64_t> cursor = 0; cursor;) {
    const protocol::ExportRun request{"", run, cursor, page_bytes};
    auto reply = call_broker(context.state_dir(), MessageType::kExportRun,
                             protocol::to_body(request), 10s);
    if (!reply.ok()) return std::move(reply).error();
    if (const Value* whole = reply->body.find("checkpoint"); whole && *cursor == 0) {
      return sink.write(to_json(*whole, JsonStyle::kPretty) + "\n");
    }
    auto page = protocol::run_export_page_from(std::move(reply->body));
    if (!page.ok()) {
      return make_error(ErrorCode::kInternal, "the broker's export page: " + page.error().message);
    }
    if (page->next && *page->next <= *cursor) {  // a broker bug, which would never end
      return make_error(ErrorCode::kInternal, "the broker's next export page (" +
                                                  std::to_string(*page->next) +
                                                  ") does not follow " + std::to_string(*cursor));
    }
    if (*cursor == 0) summary = std::move(page->run);
    if (auto st = writer.items(page->items); !st.ok()) return st;
    cursor = page->next;
  }
  if (summary.is_null()) {
    return make_error(ErrorCode::kInternal, "the broker's first export page has no run");
  }
  return writer.finish(summary);
}

int export_run(const CliContext& context, const std::string& run, const std::string& output,
               uint64_t page_bytes) {
  auto sink = OutputSink::open(output);
  Status done = sink.ok() ? export_pages(context, run, page_bytes, *sink) : sink.error();
  if (done.ok()) done = sink->finish();
  if (!done.ok()) {
    std::cerr << "pipelinectl: " << done.error().message << "\n";
    return exit_code_for(done.error().code);
  }
  if (sink->to_file()) std::cerr << "wrote " << output << "\n";
  return kExitOk;
}

}  // namespace

void add_runs_commands(CLI::App& app, CliContext& context, int& exit_code) {
  CLI::App* runs = app.add_subcommand("runs", "The runs of the tree's broker");
  runs->require_subcommand(1);

  auto limit = std::make_shared<int>(50);
  auto state = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* list = runs->add_subcommand("list", "Recent runs, newest first");
  list->add_option("--limit", *limit, "How many")->check(CLI::Range(1, 10000));
  list->add_option("--state", *state, "Only the runs in this state")
      ->check(CLI::IsMember({"running", "succeeded", "failed", "cancelled"}));
  list->add_flag("--json", *json, "Machine-readable output");
  list->callback(
      [&, limit, state, json] { exit_code = list_runs(context, *limit, *state, *json); });

  auto run = std::make_shared<std::string>();
  CLI::App* show = runs->add_subcommand("show", "A run's state, progress, errors and dead letters");
  show->add_option("run", *run, "Run id")->required();
  show->add_flag("--json", *json, "Machine-readable output");
  show->callback([&, run, json] { exit_code = show_run(context, *run, *json); });

  CLI::App* cancel = runs->add_subcommand("cancel", "Stop a run: no new work, running items cancelled");
  cancel->add_option("run", *run, "Run id")->required();
  cancel->callback([&, run] { exit_code = change_run(context, MessageType::kCancelRun, *run); });

  CLI::App* resume = runs->add_subcommand(
      "resume", "Run a failed or cancelled run again; completed items are not run again");
  resume->add_option("run", *run, "Run id")->required();
  resume->callback([&, run] { exit_code = change_run(context, MessageType::kResumeRun, *run); });

  CLI::App* deleted = runs->add_subcommand(
      "delete", "Forget a finished run: its record, item results and dead letters (frees broker.db space for new runs)");
  deleted->add_option("run", *run, "Run id")->required();
  deleted->callback([&, run] {
    exit_code = with_reply(context, MessageType::kDeleteRun, with_run(*run), [](const Value& reply) {
      std::cout << reply.get_string("run") << " deleted (" << reply.get_int("items_deleted")
                << " item results)\n";
      return kExitOk;
    });
  });

  auto output = std::make_shared<std::string>();
  auto page_bytes = std::make_shared<uint64_t>(0);
  CLI::App* exported = runs->add_subcommand("export", "Write a run's checkpoint (the run and every item result) as JSON");
  exported->add_option("run", *run, "Run id")->required();
  exported->add_option("--output,-o", *output, "File to write atomically (default: stdout)");
  exported
      ->add_option("--page-bytes", *page_bytes,
                   "Item results per reply, in bytes (default and most: the broker's, 4 MiB)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->default_str("");  // 0 stands for "not given", which the range does not allow
  exported->callback([&, run, output, page_bytes] {
    exit_code = export_run(context, *run, *output, *page_bytes);
  });
}

}  // namespace pl::cli
