// bench_dispatch: how fast and how reliable dispatch is, beside a raw ZeroMQ dispatcher on the
// same machine with the same process count and message sizes. Prints figures; asserts nothing.
//
//   bench_dispatch [--items N] [--workers N] [--slots N] [--window N] [--rounds N] [--pairs N]
//                  [--million] [--batch-only]
//
// 1. Throughput and latency: N echo items as one for_loop run through pipeline-broker and
//    pipeline-worker processes (durable: broker.db, synchronous=FULL), and the same number of
//    requests through the raw dispatcher; `pairs` batches of each, taking turns.
// 2. Round trip of one item: the raw dispatcher with a window of 1, and ours as a one-step run
//    (submit -> final status), which includes parsing, the store and the status reply.
// 3. Redelivery: SIGKILL of the worker holding an item, under pipeline-supervisor, `rounds`
//    times; the time from the kill to the item's next attempt starting on another worker.
// 4. With --million: peak broker RSS while a 1 000 000-item batch runs.
// --batch-only runs our batch of 1. and nothing else: for a profiler around the broker or the
// workers (bench/instructions.sh).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "bench/dispatch/processes.h"
#include "bench/dispatch/raw_baseline.h"
#include "bench/wake_latency.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/latency_histogram.h"
#include "common/net/request_client.h"
#include "common/protocol/client.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"
#include "common/state_paths.h"

namespace pl::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  size_t items = 200000;
  int workers = 2;
  int slots = 64;
  size_t window = 512;
  int rounds = 50;
  int pairs = 3;  // batches of ours and of the raw dispatcher, taking turns
  bool million = false;
  bool batch_only = false;
};

fs::path bin_dir() {
  if (const char* env = std::getenv("PIPELINE_BIN_DIR")) return env;
  return fs::read_symlink("/proc/self/exe").parent_path();
}

std::string self() { return fs::read_symlink("/proc/self/exe").string(); }

// Waits for `condition` with a deadline; false on timeout.
template <class F>
bool wait_for(F condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// The sizes of what our broker and workers exchange for one echo item of a loop.
std::pair<size_t, size_t> message_sizes() {
  protocol::WorkItem item;
  item.item_id = "run-01JD5X0000000000000000000/s0.i123456.s0";
  item.attempt = 1;
  item.timeout_ms = 300000;
  item.run_id = "run-01JD5X0000000000000000000";
  item.step_name = "batch[123456].e";
  item.step_type = "echo";
  item.input["value"] = 123456;
  Value context;
  context["workspace_dir"] = "/tmp/plb-xxxxxx/workspace";
  context["output_dir"] = "/tmp/plb-xxxxxx/outputs";
  context["pipeline_dir"] = "/tmp/plb-xxxxxx";
  item.context = std::make_shared<const Value>(std::move(context));
  protocol::WorkResult result;
  result.item_id = item.item_id;
  result.result["success"] = true;
  result.result["data"] = 123456;
  result.result["duration_ms"] = 0;
  result.result["started_ms"] = int64_t{1763800000000};
  return {protocol::encode(protocol::MessageType::kWorkItem, protocol::to_body(item)).size(),
          protocol::encode(protocol::MessageType::kWorkResult, protocol::to_body(result)).size()};
}

std::string machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string model = "unknown cpu";
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::string out = model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cpus";
  if (const auto wake = measure_wake_latency()) {
    char text[96];
    std::snprintf(text, sizeof text, "; a thread wake-up round trip%s p50 %.1f us",
                  wake->cross_cpu ? " across cpus" : "", wake->p50_us);
    out += text;
  }
  if (const std::string polling = halt_polling(); !polling.empty()) out += " (" + polling + ")";
  return out;
}

// --- ours --------------------------------------------------------------------------------

class Tree {
 public:
  // Broker and workers started directly (no supervisor), sharing a state directory.
  Tree(const fs::path& state, int workers, int slots) : state_(state) {
    if (auto st = ensure_private_dir(state); !st.ok()) throw std::runtime_error(st.error().message);
    const std::vector<std::string> env{"PIPELINE_STATE_DIR=" + state.string(),
                                       "PIPELINE_LOG_LEVEL=warn"};
    children_.emplace_back(std::vector<std::string>{(bin_dir() / "pipeline-broker").string()}, env,
                           state / "broker.log");
    broker_pid_ = children_.back().pid();
    for (int i = 0; i < workers; ++i) {
      children_.emplace_back(std::vector<std::string>{(bin_dir() / "pipeline-worker").string(),
                                                      "--slots", std::to_string(slots)},
                             env, state / ("worker" + std::to_string(i) + ".log"));
    }
    client_ = std::make_unique<net::RequestClient>(context_, *StatePaths(state).broker_clients_endpoint());
    if (!wait_for([&] { return workers_joined() == workers; }, 30s)) {
      throw std::runtime_error("workers did not join the broker");
    }
  }
  // A tree under pipeline-supervisor, from a config file.
  Tree(const fs::path& state, const fs::path& config, int workers) : state_(state) {
    children_.emplace_back(std::vector<std::string>{(bin_dir() / "pipeline-supervisor").string(),
                                                    "--config", config.string(), "--state-dir",
                                                    state.string()},
                           std::vector<std::string>{"PIPELINE_LOG_LEVEL=warn"},
                           config.parent_path() / "supervisor.log");
    client_ = std::make_unique<net::RequestClient>(context_, *StatePaths(state).broker_clients_endpoint());
    if (!wait_for([&] { return workers_joined() == workers; }, 30s)) {
      throw std::runtime_error("the supervised tree did not start");
    }
  }

  Value status() {
    auto reply = client_->call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 2s);
    return reply.ok() ? reply->body : Value();
  }
  int workers_joined() {
    const Value s = status();
    return s.find("workers") ? static_cast<int>(s.find("workers")->size()) : -1;
  }
  pid_t broker_pid() const { return broker_pid_; }
  // The broker's CPU time and the workers' together, in microseconds so far.
  std::pair<int64_t, int64_t> cpu_us() const {
    int64_t workers = 0;
    for (size_t i = 1; i < children_.size(); ++i) workers += cpu_time_us(children_[i].pid());
    return {cpu_time_us(broker_pid_), workers};
  }

  // Submits and waits for the final status; returns it. Uses its own socket, so that another
  // thread may ask for status meanwhile (ZeroMQ sockets belong to one thread).
  Value run(const fs::path& pipeline) {
    net::Context context;
    net::RequestClient client(context, *StatePaths(state_).broker_clients_endpoint());
    return run_with(client, pipeline);
  }
  // The same on the tree's own connection: for a caller that measures the run and nothing else,
  // so that connecting a socket is not counted.
  Value run_on_tree_socket(const fs::path& pipeline) { return run_with(*client_, pipeline); }

 private:
  Value run_with(net::RequestClient& client, const fs::path& pipeline) {
    protocol::SubmitRun submit;
    submit.pipeline_path = pipeline.string();
    submit.pipeline_yaml = *read_file(pipeline);
    submit.inputs = Value::object();
    auto accepted = client.call(protocol::MessageType::kSubmitRun, protocol::to_body(submit), 30s);
    if (!accepted.ok() || accepted->type != protocol::MessageType::kRunAccepted) {
      throw std::runtime_error("submit failed: " + (accepted.ok() ? to_json(accepted->body) : accepted.error().message));
    }
    const std::string run = accepted->body.get_string("run");
    for (;;) {
      auto status = client.call(protocol::MessageType::kWatchRun,
                                protocol::to_body(protocol::WatchRun{"", run}), 10s);
      if (status.ok()) {
        const std::string state = status->body.get_string("state");
        if (state != "running") return status->body;
      }
      auto pushed = client.next_push(1s);
      if (pushed.ok() && pushed->has_value() && (*pushed)->body.get_string("state") != "running" &&
          (*pushed)->body.get_string("run") == run) {
        return (*pushed)->body;
      }
    }
  }

  fs::path state_;
  std::vector<Child> children_;
  pid_t broker_pid_ = -1;
  net::Context context_;
  std::unique_ptr<net::RequestClient> client_;
};

fs::path write_batch(const fs::path& dir, size_t items, size_t window, int delay_ms = 0) {
  {
    std::ofstream out(dir / "items.jsonl");
    for (size_t i = 0; i < items; ++i) out << i << "\n";
  }
  const fs::path pipeline = dir / "batch.yaml";
  std::string yaml = "workflow:\n  name: batch\n  steps:\n    - name: batch\n      type: for_loop\n"
                     "      iterator: n\n      items_file: items.jsonl\n      parallel: true\n"
                     "      max_parallel: " + std::to_string(window) + "\n      steps:\n"
                     "        - {name: e, type: echo, value: \"{{loop.n}}\"" +
                     (delay_ms ? ", delay_ms: " + std::to_string(delay_ms) : std::string()) + "}\n";
  (void)write_file_atomic(pipeline, yaml);
  return pipeline;
}

void print_row(const std::string& what, const std::string& ours, const std::string& raw,
               const std::string& note) {
  std::printf("%-34s %-18s %-18s %s\n", what.c_str(), ours.c_str(), raw.c_str(), note.c_str());
}

std::string us(int64_t v) { return std::to_string(v) + " us"; }

// Dispatch-to-result latency at the broker, one item at a time (a loop with max_parallel 1), on a
// fresh tree so that nothing else is in its histogram.
Value window_of_one_latency(const Options& o) {
  ScratchDir dir;
  Tree tree(dir.path() / "state", o.workers, o.slots);
  tree.run(write_batch(dir.path(), 2000, 1));
  const Value status = tree.status();
  const Value* latency = status.find("item_latency");
  return latency ? *latency : Value::object();
}

// The median time of fsync after a 4 KiB append in `dir`: the floor under every durable commit.
int64_t fsync_p50_us(const fs::path& dir) {
  const fs::path probe = dir / "fsync-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  LatencyHistogram h;
  const std::string page(4096, 'x');
  for (int i = 0; i < 200; ++i) {
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size())) break;
    const auto t0 = Clock::now();
    if (::fsync(fd) != 0) break;
    h.record(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  }
  ::close(fd);
  fs::remove(probe);
  return h.count() > 0 ? h.percentile(0.5) : -1;
}

// The raw dispatcher's processes: a broker and `workers` workers, each answering with
// `reply_bytes`.
class RawDispatcher {
 public:
  RawDispatcher(const Options& o, size_t reply_bytes)
      : front_("ipc://" + (dir_.path() / "front").string()) {
    const std::string back = "ipc://" + (dir_.path() / "back").string();
    children_.emplace_back(
        std::vector<std::string>{self(), "--role", "raw-broker", "--front", front_, "--back", back},
        std::vector<std::string>{});
    for (int i = 0; i < o.workers; ++i) {
      children_.emplace_back(std::vector<std::string>{self(), "--role", "raw-worker", "--back",
                                                      back, "--slots", std::to_string(o.slots),
                                                      "--reply-bytes", std::to_string(reply_bytes)},
                             std::vector<std::string>{});
    }
    std::this_thread::sleep_for(200ms);  // let the workers' READY reach the raw broker
  }
  const std::string& front() const { return front_; }
  // The broker's CPU time and the workers' together, in microseconds so far.
  std::pair<int64_t, int64_t> cpu_us() const {
    int64_t workers = 0;
    for (size_t i = 1; i < children_.size(); ++i) workers += cpu_time_us(children_[i].pid());
    return {cpu_time_us(children_[0].pid()), workers};
  }

 private:
  ScratchDir dir_;
  std::string front_;
  std::vector<Child> children_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void throughput_and_latency(const Options& o, const std::pair<size_t, size_t>& sizes) {
  ScratchDir dir;
  Tree tree(dir.path() / "state", o.workers, o.slots);
  const fs::path batch = write_batch(dir.path(), o.items, o.window);
  // Ours: one batch, its rate and its CPU use (broker, workers), in microseconds.
  std::pair<int64_t, int64_t> ours_cpu{0, 0};
  auto run_ours = [&] {
    const auto cpu_before = tree.cpu_us();
    const auto start = Clock::now();
    const Value final_status = tree.run(batch);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto cpu_after = tree.cpu_us();
    if (final_status.get_string("state") != "succeeded") {
      std::cerr << "the batch did not succeed: " << to_json(final_status) << "\n";
    }
    ours_cpu.first += cpu_after.first - cpu_before.first;
    ours_cpu.second += cpu_after.second - cpu_before.second;
    return static_cast<double>(o.items) / seconds;
  };
  if (o.batch_only) {
    const double rate = run_ours();
    std::printf(
        "batch of %zu echo items: %.0f items/s, CPU per item: broker %.1f us, workers %.1f us\n",
        o.items, rate, static_cast<double>(ours_cpu.first) / static_cast<double>(o.items),
        static_cast<double>(ours_cpu.second) / static_cast<double>(o.items));
    return;
  }

  // Ours and raw take turns (ours, raw, raw, ours, ...), so that a machine whose speed drifts
  // during the run (a VM's steal time) weighs on both alike; the ratio is the median of the
  // pairs' ratios.
  RawDispatcher raw(o, sizes.second);
  std::pair<int64_t, int64_t> raw_cpu{0, 0};
  RawFigures raw_bulk;
  auto run_raw = [&] {
    const auto before = raw.cpu_us();
    raw_bulk = run_raw_client(raw.front(), o.items, o.window, sizes.first);
    const auto after = raw.cpu_us();
    raw_cpu.first += after.first - before.first;
    raw_cpu.second += after.second - before.second;
    return raw_bulk.items_per_second;
  };
  std::vector<double> ours_rates, raw_rates, ratios;
  for (int pair = 0; pair < o.pairs; ++pair) {
    double ours_rate = 0, raw_rate = 0;
    if (pair % 2 == 0) {
      ours_rate = run_ours();
      raw_rate = run_raw();
    } else {
      raw_rate = run_raw();
      ours_rate = run_ours();
    }
    ours_rates.push_back(ours_rate);
    raw_rates.push_back(raw_rate);
    ratios.push_back(ours_rate / raw_rate);
  }
  const Value status = tree.status();
  const Value* latency = status.find("item_latency");
  const long broker_rss_kb = status_kb(tree.broker_pid(), "VmHWM");

  // Ours, one item at a time: a one-step run, submit to final status.
  const fs::path one = dir.path() / "one.yaml";
  (void)write_file_atomic(one, "workflow:\n  name: one\n  steps:\n    - {name: e, type: echo, value: 1}\n");
  LatencyHistogram run_round_trip;
  for (int i = 0; i < 200; ++i) {
    const auto t0 = Clock::now();
    tree.run_on_tree_socket(one);
    run_round_trip.record(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  }
  const Value single_latency = window_of_one_latency(o);
  const int64_t fsync_us = fsync_p50_us(dir.path());
  const RawFigures raw_single = run_raw_client(raw.front(), 2000, 1, sizes.first);

  std::printf(
      "\n== throughput and latency: %zu echo items, %d workers x %d slots, window %zu,\n"
      "   %d batches of each, taking turns\n",
      o.items, o.workers, o.slots, o.window, o.pairs);
  std::printf("   messages: work item %zu bytes, result %zu bytes (the raw dispatcher uses the same)\n\n",
              sizes.first, sizes.second);
  print_row("", "ours", "raw zeromq", "");
  auto rate = [](double items_per_second) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f items/s", items_per_second);
    return std::string(text);
  };
  const auto [lowest, highest] = std::minmax_element(ratios.begin(), ratios.end());
  char ratio[96];
  std::snprintf(ratio, sizeof ratio, "ours/raw = %.0f %% (median of %zu pairs; %.0f-%.0f %%)",
                100.0 * median(ratios), ratios.size(), 100.0 * *lowest, 100.0 * *highest);
  print_row("throughput (median)", rate(median(ours_rates)), rate(median(raw_rates)), ratio);
  auto per_item = [&o](int64_t cpu_us) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f us",
                  static_cast<double>(cpu_us) / static_cast<double>(o.items * o.pairs));
    return std::string(text);
  };
  print_row("CPU per item, broker", per_item(ours_cpu.first), per_item(raw_cpu.first),
            "user + system, all threads");
  print_row("CPU per item, workers", per_item(ours_cpu.second), per_item(raw_cpu.second),
            "all workers together");
  if (latency) {
    print_row("dispatch->result p50 (broker)", us(latency->get_int("p50_us")),
              us(raw_bulk.broker_p50_us),
              "under load, window " + std::to_string(o.window) + " (raw: its last batch)");
    print_row("dispatch->result p99 (broker)", us(latency->get_int("p99_us")), us(raw_bulk.broker_p99_us), "");
  }
  print_row("one item, dispatch->result p50", us(single_latency.get_int("p50_us")),
            us(raw_single.broker_p50_us), "window 1, at the broker");
  print_row("one item, dispatch->result p99", us(single_latency.get_int("p99_us")),
            us(raw_single.broker_p99_us), "");
  print_row("one item round trip p50", us(run_round_trip.percentile(0.5)), us(raw_single.client_p50_us),
            "ours = a whole one-step run, submit to final");
  print_row("one item round trip p99", us(run_round_trip.percentile(0.99)), us(raw_single.client_p99_us), "");
  std::printf("   (a durable run commits when accepted and when finished; one fsync on this disk takes\n"
              "   %lld us at the median)\n",
              static_cast<long long>(fsync_us));
  print_row("broker peak RSS", std::to_string(broker_rss_kb / 1024) + " MB", "", "after the batch");
}

void redelivery(const Options& o) {
  ScratchDir dir;
  const fs::path config = dir.path() / "tree.yaml";
  (void)write_file_atomic(config,
                          "supervisor: {name: root, strategy: one_for_one, intensity: 1000, period: 10}\n"
                          "children:\n"
                          "  - {name: registry, command: [pipeline-registry], ready: notify}\n"
                          "  - {name: broker, command: [pipeline-broker], ready: notify}\n"
                          "  - {name: workers, type: pool, count: 2, command: [pipeline-worker], ready: notify}\n"
                          "broker: {poison_threshold: 1000}\n");
  Tree tree(dir.path() / "state", config, 2);
  // One item at a time, so the other worker is free the moment the holder dies.
  const fs::path batch = write_batch(dir.path(), static_cast<size_t>(o.rounds) + 5, 1, 300);
  std::thread runner([&] { tree.run(batch); });
  std::vector<std::pair<std::string, int64_t>> kills;  // item id, kill time (wall ms)
  std::set<std::string> killed_items;
  for (int round = 0; round < o.rounds; ++round) {
    std::string item;
    int64_t pid = 0;
    wait_for(
        [&] {
          const Value s = tree.status();
          if (!s.find("workers")) return false;
          for (const auto& w : s.find("workers")->as_array()) {
            for (const auto& held : w.find("held")->as_array()) {
              if (!killed_items.count(held.as_string())) {
                item = held.as_string();
                pid = w.get_int("pid");
                return true;
              }
            }
          }
          return false;
        },
        30s);
    if (pid == 0) break;
    const int64_t t0 = pl::unix_millis(std::chrono::system_clock::now());
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    kills.emplace_back(item, t0);
    killed_items.insert(item);
  }
  runner.join();
  std::printf("\n== resident memory per process of an idle supervised tree\n\n");
  for (const char* program : {"pipeline-supervisor", "pipeline-registry", "pipeline-broker", "pipeline-worker"}) {
    long total = 0;
    int count = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream comm(entry.path() / "comm");
      std::string c;
      std::getline(comm, c);
      // Ours if the state directory is in its environment (children) or its command line (the root).
      std::ifstream environ_file(entry.path() / "environ");
      std::string env((std::istreambuf_iterator<char>(environ_file)), std::istreambuf_iterator<char>());
      std::ifstream cmdline_file(entry.path() / "cmdline");
      env.append((std::istreambuf_iterator<char>(cmdline_file)), std::istreambuf_iterator<char>());
      if (c == std::string(program).substr(0, 15) && env.find((dir.path() / "state").string()) != std::string::npos) {
        total += status_kb(static_cast<pid_t>(std::stol(name)), "VmRSS");
        ++count;
      }
    }
    if (count > 0) std::printf("   %-20s %d process(es), %.1f MB each\n", program, count, total / 1024.0 / count);
  }
  // Each killed item's final attempt says when it started.
  net::Context context;
  net::RequestClient client(context, *StatePaths(dir.path() / "state").broker_clients_endpoint());
  auto runs = client.call(protocol::MessageType::kListRuns, Value::object(), 5s);
  const std::string run = runs.ok() ? runs->body.find("runs")->as_array()[0].get_string("run") : "";
  Value body;
  body["run"] = run;
  auto exported = client.call(protocol::MessageType::kExportRun, body, 30s);
  std::map<std::string, int64_t> started;
  if (exported.ok()) {
    for (const auto& entry : exported->body.find("checkpoint")->find("items")->as_array()) {
      started[entry.get_string("id")] = entry.find("result")->get_int("started_ms");
    }
  }
  LatencyHistogram redelivered;
  for (const auto& [item, t0] : kills) {
    auto it = started.find(item);
    if (it != started.end()) redelivered.record((it->second - t0) * 1000);
    if (std::getenv("BENCH_VERBOSE")) {
      std::fprintf(stderr, "kill %s at %lld: started %lld\n", item.c_str(), static_cast<long long>(t0),
                   static_cast<long long>(it != started.end() ? it->second : -1));
    }
  }
  std::printf("\n== redelivery after SIGKILL of the worker holding an item (%zu rounds, supervised)\n\n",
              static_cast<size_t>(redelivered.count()));
  std::printf("   kill -> next attempt starts on another worker: median %.1f ms, p90 %.1f ms, max %.1f ms\n",
              redelivered.percentile(0.5) / 1000.0, redelivered.percentile(0.9) / 1000.0,
              redelivered.max() / 1000.0);
  std::printf("   (wall-clock milliseconds: the resolution of an attempt's started_ms)\n");
}

void million(const Options& o) {
  ScratchDir dir;
  Tree tree(dir.path() / "state", o.workers, o.slots);
  const size_t n = 1000000;
  const fs::path batch = write_batch(dir.path(), n, 1000000);
  const long idle_kb = status_kb(tree.broker_pid(), "VmRSS");
  long peak = 0;
  int64_t outstanding_at_peak = 0;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    net::Context context;
    net::RequestClient client(context, *StatePaths(dir.path() / "state").broker_clients_endpoint());
    while (!done) {
      const long rss = status_kb(tree.broker_pid(), "VmRSS");
      if (rss > peak) {
        peak = rss;
        auto status = client.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 2s);
        if (status.ok()) outstanding_at_peak = status->body.get_int("outstanding");
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto start = Clock::now();
  const Value final_status = tree.run(batch);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  done = true;
  sampler.join();
  std::printf("\n== a 1 000 000-item batch with max_parallel 1 000 000\n\n");
  std::printf("   state %s, %.1f s (%.0f items/s), broker peak RSS %ld MB (VmHWM %ld MB), idle %ld MB\n",
              final_status.get_string("state").c_str(), seconds, static_cast<double>(n) / seconds,
              peak / 1024, status_kb(tree.broker_pid(), "VmHWM") / 1024, idle_kb / 1024);
  std::printf("   items held by the broker at the peak: %lld (the rest wait in the file: the broker\n"
              "   bounds what it holds, broker.max_outstanding_items); %.1f KB per held item\n",
              static_cast<long long>(outstanding_at_peak),
              outstanding_at_peak > 0 ? static_cast<double>(peak - idle_kb) / static_cast<double>(outstanding_at_peak) : 0.0);
}

}  // namespace
}  // namespace pl::bench

int main(int argc, char** argv) {
  using namespace pl::bench;
  Options o;
  std::string role, front, back;
  size_t reply_bytes = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--role") role = next();
    else if (a == "--front") front = next();
    else if (a == "--back") back = next();
    else if (a == "--reply-bytes") reply_bytes = std::stoul(next());
    else if (a == "--items") o.items = std::stoul(next());
    else if (a == "--workers") o.workers = std::stoi(next());
    else if (a == "--slots") o.slots = std::stoi(next());
    else if (a == "--window") o.window = std::stoul(next());
    else if (a == "--rounds") o.rounds = std::stoi(next());
    else if (a == "--pairs")
      o.pairs = std::max(1, std::stoi(next()));
    else if (a == "--million") o.million = true;
    else if (a == "--batch-only") o.batch_only = true;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  if (role == "raw-broker") return run_raw_broker(front, back);
  if (role == "raw-worker") return run_raw_worker(back, o.slots, reply_bytes);

  std::printf("bench_dispatch on %s\n", machine().c_str());
  try {
    throughput_and_latency(o, message_sizes());
    if (o.batch_only) return 0;
    redelivery(o);
    if (o.million) million(o);
  } catch (const std::exception& e) {
    std::cerr << "bench_dispatch: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
