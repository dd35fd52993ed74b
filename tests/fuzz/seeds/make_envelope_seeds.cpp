// Writes the envelope seed corpus: one encoded envelope per message type (typical bodies, and
// the edge values of their fields) into the directory given as the only argument.
//
//   build-fuzz/bin/make_envelope_seeds tests/fuzz/corpus/envelope
//
// Built in the fuzz build only; its output is committed, so it needs to run only when the
// protocol gains a message.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/protocol/client.h"
#include "common/protocol/control.h"
#include "common/protocol/envelope.h"
#include "common/protocol/registry.h"
#include "common/protocol/work.h"

namespace {

using namespace pl;
using namespace pl::protocol;

void write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir / (name + ".msgpack"), std::ios::binary);
  out << bytes;
}

template <class M>
void seed(const std::filesystem::path& dir, const std::string& name, MessageType type,
          const M& message) {
  write(dir, name, encode(type, to_body(message)));
}

// [1, type, {key: value, ...}] with the members in the order given, repeats and all: what our
// encoders never write (sorted, unique keys) but a peer may, and the direct decoders must read as
// decode() does.
std::string unordered(MessageType type,
                      const std::vector<std::pair<std::string, Value>>& members) {
  std::string frame = encode(type, Value::object());
  frame.pop_back();  // the empty map; members.size() < 16 makes a fixmap
  frame.push_back(static_cast<char>(0x80 | members.size()));
  for (const auto& [key, value] : members) frame += encode_value(Value(key)) + encode_value(value);
  return frame;
}

Value sample_input() {
  Value v;
  v["message"] = "hello {{ inputs.name }}";
  v["count"] = int64_t{3};
  v["ratio"] = 0.25;
  v["flags"] = Value(Value::Array{Value(true), Value(false), Value()});
  v["nested"]["deep"]["list"] = Value(Value::Array{Value(int64_t{-1}), Value("x")});
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_envelope_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);

  seed(dir, "worker_hello", MessageType::kWorkerHello,
       WorkerHello{"workers.2", 4242, "host-a", 4,
                   Value(Value::Array{Value(Value::Object{{"id", Value("i-1")},
                                                          {"attempt", Value(int64_t{2})}})})});
  seed(dir, "worker_heartbeat", MessageType::kWorkerHeartbeat, Heartbeat{3});
  seed(dir, "broker_heartbeat", MessageType::kBrokerHeartbeat, Heartbeat{0});
  seed(dir, "welcome", MessageType::kWelcome, Welcome{"b-7f3a", 1000, 3});
  const Value context(Value::Object{{"workspace_dir", Value("/tmp/w")},
                                    {"output_dir", Value("/tmp/o")},
                                    {"pipeline_dir", Value("/tmp/p")}});
  WorkItem item{"run-1/greet/0", 1,      30000,          "run-1",
                "loop[3].greet", "echo", sample_input(), std::make_shared<const Value>(context),
                std::nullopt};
  seed(dir, "work_item", MessageType::kWorkItem, item);
  write(dir, "work_item_fast",
        encode_work_item("id", 4294967295u, -1, "", "", "claude", Value(), Value()));
  seed(dir, "work_result", MessageType::kWorkResult,
       WorkResult{"run-1/greet/0", 2,
                  Value(Value::Object{{"success", Value(false)},
                                      {"error", Value("boom")},
                                      {"error_code", Value("E1")}})});
  write(dir, "work_item_unordered",
        unordered(MessageType::kWorkItem, {{"type", Value("echo")},
                                           {"input", sample_input()},
                                           {"id", Value("run-1/s1")},
                                           {"priority", Value(1.5)},
                                           {"step", Value("s")},
                                           {"timeout_ms", Value(int64_t{1000})},
                                           {"run", Value("run-1")},
                                           {"attempt", Value(int64_t{1})}}));
  write(dir, "work_result_repeated_keys",
        unordered(MessageType::kWorkResult,
                  {{"result",
                    Value(Value::Object{{"success", Value(true)}, {"text", Value("hi")}})},
                   {"attempt", Value("one")},
                   {"zz", Value(Value::Array{Value(int64_t{1}), Value::object()})},
                   {"id", Value("run-1/s0")},
                   {"attempt", Value(int64_t{2})}}));
  seed(dir, "cancel_item", MessageType::kCancelItem, CancelItem{"run-1/greet/0", 1, "cancelled"});
  seed(dir, "result_ack", MessageType::kResultAck,
       ResultAck{Value(Value::Array{Value(Value::Object{{"id", Value("a")},
                                                         {"attempt", Value(int64_t{1})}})})});
  write(dir, "worker_bye", encode(MessageType::kWorkerBye, Value::object()));
  write(dir, "reconnect", encode(MessageType::kReconnect, Value()));

  seed(dir, "submit_run", MessageType::kSubmitRun,
       SubmitRun{"r1", "/abs/hello.yaml", "workflow:\n  name: hello\n  steps: []\n",
                 Value(Value::Object{{"name", Value("world")}}), "", "/out"});
  seed(dir, "run_accepted", MessageType::kRunAccepted, RunAccepted{"r1", "run-1"});
  seed(dir, "watch_run", MessageType::kWatchRun, WatchRun{"r2", "run-1"});
  seed(dir, "cancel_run", MessageType::kCancelRun, CancelRun{"r3", "run-1"});
  seed(dir, "run_status", MessageType::kRunStatus,
       RunStatus{"", "run-1", "failed",
                 Value(Value::Object{{"done", Value(int64_t{2})}, {"total", Value(int64_t{5})}}),
                 Value(Value::Object{{"success", Value(false)}}), "step x failed"});
  seed(dir, "client_error", MessageType::kClientError,
       ClientError{"r4", ErrorCode::kNotFound, "no run run-9"});
  seed(dir, "list_runs", MessageType::kListRuns,
       SimpleRequest{"r5", Value(Value::Object{{"limit", Value(int64_t{10})}})});
  seed(dir, "broker_status_request", MessageType::kBrokerStatusRequest, SimpleRequest{"r6", {}});
  seed(dir, "run_detail_request", MessageType::kRunDetailRequest,
       SimpleRequest{"r7", Value(Value::Object{{"run", Value("run-1")}})});
  seed(dir, "resume_run", MessageType::kResumeRun,
       SimpleRequest{"r8", Value(Value::Object{{"run", Value("run-1")}})});
  seed(dir, "export_run", MessageType::kExportRun,  // as a client older than paging asks
       ExportRun{"r9", "run-1", std::nullopt, 0});
  seed(dir, "export_run_page", MessageType::kExportRun,
       ExportRun{"r10", "run-1", int64_t{12}, uint64_t{4096}});
  seed(dir, "run_export_page", MessageType::kRunExport,
       RunExportPage{"r10",
                     Value(Value::Object{{"run", Value("run-1")}, {"state", Value("succeeded")}}),
                     Value(Value::Array{Value(Value::Object{
                         {"id", Value("run-1/s0")},
                         {"result", Value(Value::Object{{"success", Value(true)}})}})}),
                     int64_t{13}});
  write(dir, "run_list",
        encode(MessageType::kRunList,
               Value(Value::Object{{"request", Value("r5")}, {"runs", Value::array()}})));

  seed(dir, "control_request", MessageType::kControlRequest,
       ControlRequest{"c1", "scale", Value(Value::Object{{"pool", Value("workers")},
                                                         {"count", Value(int64_t{4})}})});
  seed(dir, "control_reply_ok", MessageType::kControlReply,
       ControlReply{"c1", true, Value(Value::Object{{"count", Value(int64_t{4})}}),
                    ErrorCode::kInternal, ""});
  seed(dir, "control_reply_error", MessageType::kControlReply,
       ControlReply{"c2", false, Value(), ErrorCode::kInvalidInput, "no such child"});
  seed(dir, "child_event", MessageType::kChildEvent,
       ChildEvent{17, 1700000000000, "workers.2", 999, "exited", -1, 9, "killed by SIGKILL"});

  seed(dir, "registry_request", MessageType::kRegistryRequest,
       RegistryRequest{"t1", "tool.register", "idem-1",
                       Value(Value::Object{{"definition", Value(Value::Object{
                                                              {"name", Value("word_count")},
                                                              {"command", Value(Value::Array{
                                                                              Value("wc")})}})},
                                           {"replace", Value(true)}})});
  seed(dir, "registry_reply_ok", MessageType::kRegistryReply,
       RegistryReply::success(Value(Value::Object{{"revision", Value(int64_t{3})}})));
  seed(dir, "registry_reply_error", MessageType::kRegistryReply,
       RegistryReply::failure(make_error(ErrorCode::kConflict, "revision 2, expected 3")));
  return 0;
}
