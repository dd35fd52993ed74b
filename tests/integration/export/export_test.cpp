// `pipelinectl runs export` against a real tree: a run whose checkpoint is larger than one
// ZeroMQ message may be (16 MiB) is read in pages and streamed into the output, and the broker
// answers bad or old-style export requests with clear errors. And `runs delete`, which forgets
// what an export would have written, and retention, which does the same by itself for old runs.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"
#include "common/sqlite/database.h"
#include "common/state_paths.h"
#include "tests/integration/tree.h"
#include "tests/support/harness.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

// The text item `index` of a batch echoes: `size` characters that name the item.
std::string payload(size_t index, size_t size) {
  std::string text = "item-" + std::to_string(index) + "-";
  text.resize(std::max(size, text.size()), 'x');
  return text;
}

// The broker stores a run's item results in batches (all those one loop turn recorded, sealed
// at 1 MiB) and an export page holds whole batches, at least one. 300 items could all finish in
// one turn, so a test that needs several pages makes them big: 300 results of over 4 KB (the
// text twice) are over 1.2 MB, at least two batches however the turns fell. With the run's
// summary, whose result lists them again, they still fit the broker's 4 MiB page.
constexpr size_t kSpansBatches = 2000;

// A for_loop over `count` items whose echo step returns payload(i, size) (in `text` and `data`).
fs::path write_batch(const fs::path& dir, size_t count, size_t size) {
  {
    std::ofstream items(dir / "items.jsonl");
    for (size_t i = 0; i < count; ++i) items << to_json(Value(payload(i, size))) << "\n";
  }
  const fs::path pipeline = dir / "batch.yaml";
  std::ofstream(pipeline) << "workflow:\n  name: batch\n  steps:\n    - name: batch\n"
                             "      type: for_loop\n      iterator: n\n"
                             "      items_file: items.jsonl\n      parallel: true\n"
                             "      max_parallel: 64\n      steps:\n"
                             "        - {name: e, type: echo, value: \"{{loop.n}}\"}\n";
  return pipeline;
}

// Runs the batch on the tree; the run's id.
std::string run_batch(Tree& tree, size_t count, size_t size) {
  auto r = tree.pipelinectl({"run", write_batch(tree.dir(), count, size).string(), "--progress",
                             "none"},
                            240s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto out = parse_json(r.out);
  EXPECT_TRUE(out.ok()) << r.out;
  return out.ok() ? out->get_string("run") : "";
}

// The item's index in its loop, from its id "<run>/s0.i<index>.s0"; -1 if it is not one.
int64_t loop_index(const std::string& run_id, const std::string& item_id) {
  const std::string prefix = run_id + "/s0.i";
  if (item_id.rfind(prefix, 0) != 0 || item_id.size() < prefix.size() + 4) return -1;
  const std::string digits = item_id.substr(prefix.size(), item_id.size() - prefix.size() - 3);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// An export of a batch run: the run, and every item once with its own result.
void expect_whole_export(const std::string& text, const std::string& run_id, size_t count,
                         size_t size) {
  auto exported = parse_json(text);
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  ASSERT_EQ(exported->size(), 2u) << "keys other than items and run";
  ASSERT_NE(exported->find("run"), nullptr);
  EXPECT_EQ(exported->find("run")->get_string("run"), run_id);
  EXPECT_EQ(exported->find("run")->get_string("state"), "succeeded");
  const Value* items = exported->find("items");
  ASSERT_NE(items, nullptr);
  ASSERT_TRUE(items->is_array());
  EXPECT_EQ(items->size(), count);
  std::set<int64_t> seen;
  for (const Value& item : items->as_array()) {
    const std::string id = item.get_string("id");
    const int64_t index = loop_index(run_id, id);
    ASSERT_GE(index, 0) << id;
    EXPECT_TRUE(seen.insert(index).second) << id << " twice";
    const Value* result = item.find("result");
    ASSERT_NE(result, nullptr) << id;
    EXPECT_TRUE(result->get_bool("success")) << id;
    EXPECT_EQ(result->get_string("text"), payload(static_cast<size_t>(index), size)) << id;
  }
  EXPECT_EQ(seen.size(), count);
  if (!seen.empty()) {  // with count distinct indexes: every one of 0 to count - 1
    EXPECT_EQ(*seen.rbegin(), static_cast<int64_t>(count) - 1);
  }
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// One export request to the tree's broker, as any client may send it.
Result<protocol::Message> ask_export(Tree& tree, Value body) {
  net::Context context;
  net::RequestClient client(context, *StatePaths(tree.state_dir()).broker_clients_endpoint());
  return client.call(protocol::MessageType::kExportRun, std::move(body), 10s);
}

ErrorCode error_code_of(const protocol::Message& reply) {
  if (reply.type != protocol::MessageType::kClientError) return ErrorCode::kInternal;
  return static_cast<ErrorCode>(reply.body.get_int("code"));
}

// 12 000 items of about 1.7 KB each (the text twice, and the rest of a result): about 20 MB,
// more than a client takes in one message. Before paging the reply was dropped and
// pipelinectl said that no broker answers.
TEST(RunsExport, ARunLargerThanOneMessageIsWrittenWholeThroughATemporaryFile) {
  Tree tree(tree_config(2, "", "  slots: 16\n"));
  const size_t count = 12000;
  const size_t size = 800;
  const std::string run_id = run_batch(tree, count, size);
  ASSERT_FALSE(run_id.empty());
  const fs::path out_dir = tree.dir() / "out";
  fs::create_directories(out_dir);
  std::ofstream(out_dir / "export.json") << "the previous export\n";

  auto r = tree.pipelinectl({"runs", "export", run_id, "-o", (out_dir / "export.json").string()},
                            120s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = read_text(out_dir / "export.json");
  EXPECT_GT(text.size(), size_t{16} << 20);
  expect_whole_export(text, run_id, count, size);
  EXPECT_EQ(names_in(out_dir), std::vector<std::string>{"export.json"});
}

TEST(RunsExport, SmallPagesOnStdoutAndInAFileHoldEveryItemOnceAlike) {
  Tree tree(tree_config(2, "", "  slots: 16\n"));
  const size_t count = 300;
  const size_t size = kSpansBatches;
  const std::string run_id = run_batch(tree, count, size);
  ASSERT_FALSE(run_id.empty());

  // A page holds whole batches, at least one: with a budget of 2000 bytes, a page a batch.
  auto dash = tree.pipelinectl({"runs", "export", run_id, "--page-bytes", "2000", "-o", "-"});
  ASSERT_EQ(dash.exit_code, 0) << dash.err;
  expect_whole_export(dash.out, run_id, count, size);
  auto plain = tree.pipelinectl({"runs", "export", run_id, "--page-bytes", "2000"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, dash.out);

  // One page: the same bytes, as to_json writes the whole checkpoint.
  const fs::path file = tree.dir() / "out" / "export.json";  // a directory that is created
  auto to_file = tree.pipelinectl({"runs", "export", run_id, "-o", file.string()});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(read_text(file), dash.out);
  auto parsed = parse_json(dash.out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(dash.out, to_json(*parsed, JsonStyle::kPretty) + "\n");
  EXPECT_EQ(names_in(file.parent_path()), std::vector<std::string>{"export.json"});
}

TEST(RunsExport, BadRequestsAreRefusedClearlyAndAFailedExportLeavesNoFile) {
  Tree tree(tree_config(2, "", "  slots: 16\n"));
  const std::string run_id = run_batch(tree, 300, kSpansBatches);
  ASSERT_FALSE(run_id.empty());

  Value body;
  body["run"] = run_id;
  for (const Value& cursor : {Value("7"), Value(int64_t{-1}), Value(1.5)}) {
    Value bad = body;
    bad["cursor"] = cursor;
    auto reply = ask_export(tree, bad);
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    EXPECT_EQ(error_code_of(*reply), ErrorCode::kInvalidInput) << to_json(cursor);
    EXPECT_NE(reply->body.get_string("message").find("cursor"), std::string::npos)
        << reply->body.get_string("message");
  }
  Value unknown;
  unknown["run"] = "run-nope";
  unknown["cursor"] = int64_t{0};
  auto missing = ask_export(tree, unknown);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(error_code_of(*missing), ErrorCode::kNotFound);

  // A client older than paging sends no cursor: the whole checkpoint when it fits one page...
  auto whole = ask_export(tree, body);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->type, protocol::MessageType::kRunExport)
      << to_json(whole->body).substr(0, 300);
  ASSERT_NE(whole->body.find("checkpoint"), nullptr);
  EXPECT_EQ(whole->body.find("checkpoint")->find("items")->size(), 300u);
  // ...else an error saying what to do, never part of the run.
  Value small_pages = body;
  small_pages["max_bytes"] = int64_t{2000};
  auto refused = ask_export(tree, small_pages);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(error_code_of(*refused), ErrorCode::kTooLarge)
      << to_json(refused->body).substr(0, 300);
  EXPECT_NE(refused->body.get_string("message").find("newer pipelinectl"), std::string::npos)
      << refused->body.get_string("message");

  const fs::path out_dir = tree.dir() / "out";
  fs::create_directories(out_dir);
  auto r = tree.pipelinectl({"runs", "export", "run-nope", "-o", (out_dir / "x.json").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no run run-nope"), std::string::npos) << r.err;
  EXPECT_TRUE(names_in(out_dir).empty());
}

// Whether `pid` has a handler for `sig` (SigCgt in /proc/PID/status).
bool catches(pid_t pid, int sig) {
  const std::string status = read_text("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find("SigCgt:");
  if (at == std::string::npos) return false;
  const uint64_t mask = std::stoull(status.substr(at + 7, status.find('\n', at) - at - 7), nullptr, 16);
  return (mask >> (sig - 1)) & 1;
}

// Ctrl-C during an export into a file: pipelinectl dies of the signal, as a command should,
// and leaves neither the output nor its hidden temporary file behind. The broker is stopped
// first, so that the export is surely still waiting for its first page when the signal comes.
TEST(RunsExport, AnInterruptedExportLeavesNoTemporaryFile) {
  Tree tree(tree_config(2, "", "  slots: 16\n"));
  const std::string run_id = run_batch(tree, 300, 40);
  ASSERT_FALSE(run_id.empty());
  const fs::path out_dir = tree.dir() / "out";
  fs::create_directories(out_dir);
  const int64_t broker = tree.pid_of("pipeline-broker");
  ASSERT_GT(broker, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{static_cast<pid_t>(broker)};

  Process exporting =
      tree.start_pipelinectl({"runs", "export", run_id, "-o", (out_dir / "x.json").string()}, "export");
  // The temporary file exists and its removal on SIGINT is in place.
  ASSERT_TRUE(wait_until([&] { return names_in(out_dir).size() == 1 && catches(exporting.pid(), SIGINT); },
                         10s))
      << "files: " << names_in(out_dir).size();
  EXPECT_EQ(names_in(out_dir).front().rfind(".x.json.tmp", 0), 0u) << names_in(out_dir).front();
  ASSERT_TRUE(exporting.signal(SIGINT));
  EXPECT_EQ(exporting.wait(10s), 128 + SIGINT);
  EXPECT_TRUE(names_in(out_dir).empty()) << names_in(out_dir).front();
}

TEST(RunsDelete, AFinishedRunIsForgottenWithItsResultsAndARunningOneIsRefused) {
  Tree tree(tree_config(2, "", "  slots: 4\n"));
  const std::string run_id = run_batch(tree, 10, 10);
  ASSERT_FALSE(run_id.empty());

  // A run still running is refused, and nothing of it is lost.
  const fs::path slow = tree.dir() / "slow.yaml";
  std::ofstream(slow) << "workflow:\n  name: slow\n  steps:\n"
                         "    - {name: wait, type: echo, value: x, delay_ms: 60000}\n";
  Process running = tree.start_pipelinectl({"run", slow.string(), "--progress", "none"}, "slow");
  std::string slow_id;
  ASSERT_TRUE(wait_until(
      [&] {
        auto listed = tree.pipelinectl({"runs", "list", "--json"});
        auto runs = parse_json(listed.out);
        if (!runs.ok()) return false;
        for (const auto& r : runs->as_array()) {
          if (r.get_string("pipeline") == "slow") slow_id = r.get_string("run");
        }
        return !slow_id.empty();
      },
      30s));
  auto refused = tree.pipelinectl({"runs", "delete", slow_id});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("is running; cancel it first"), std::string::npos) << refused.err;
  EXPECT_EQ(tree.pipelinectl({"runs", "cancel", slow_id}).exit_code, 0);
  EXPECT_TRUE(running.wait(30s).has_value());

  auto deleted = tree.pipelinectl({"runs", "delete", run_id});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, run_id + " deleted (10 item results)\n");
  auto shown = tree.pipelinectl({"runs", "show", run_id});
  EXPECT_NE(shown.exit_code, 0);
  EXPECT_NE(shown.err.find("no run " + run_id), std::string::npos) << shown.err;
  EXPECT_EQ(tree.pipelinectl({"runs", "list"}).out.find(run_id), std::string::npos);
  auto again = tree.pipelinectl({"runs", "delete", run_id});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("no run " + run_id), std::string::npos) << again.err;
  // The cancelled run is finished: it goes too.
  EXPECT_EQ(tree.pipelinectl({"runs", "delete", slow_id}).exit_code, 0);
}

TEST(RunRetention, ARunOlderThanTheRetentionGoesByItselfWithEveryRowOfIt) {
  // 1.8 s of retention, looked at every 0.45 s.
  Tree tree(tree_config(2, "  heartbeat_ms: 1000\n  keep_finished_runs_hours: 0.0005\n",
                        "  slots: 4\n"));
  const std::string run_id = run_batch(tree, 300, 10);
  ASSERT_FALSE(run_id.empty());
  EXPECT_TRUE(wait_until([&] { return tree.pipelinectl({"runs", "show", run_id}).exit_code != 0; },
                         30s))
      << "the run is still there";
  EXPECT_EQ(tree.counter("runs_expired"), 1);
  EXPECT_EQ(tree.counter("retention_errors"), 0);
  EXPECT_EQ(tree.pipelinectl({"runs", "list"}).out.find(run_id), std::string::npos);

  // The broker stopped (and broker.db unlocked): nothing of the run is left in the file.
  auto stopped = tree.pipelinectl({"stop", "broker"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  auto db = sqlite::Database::open(tree.state_dir() / "broker.db");
  ASSERT_TRUE(db.ok()) << db.error().message;
  for (const std::string query :
       {"SELECT COUNT(*) FROM runs", "SELECT COUNT(*) FROM item_batches",
        "SELECT COUNT(*) FROM dead_letters", "SELECT COUNT(*) FROM deleted_runs"}) {
    auto rows = (*db)->query_text(query);
    ASSERT_TRUE(rows.ok()) << query << ": " << rows.error().message;
    EXPECT_EQ(*rows, "0") << query;
  }
}

}  // namespace
}  // namespace pl::test
