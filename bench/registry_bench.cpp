// bench_registry: acknowledged, durable session appends per second and their latency.
//
// Starts a real pipeline-registry on a fresh state directory under /tmp, then runs N client
// threads (default 8), each appending turns to its own session through RegistryClient and
// waiting for every acknowledgement (each ack means: committed to registry.db with the configured
// synchronous mode). After a warm-up it measures for a fixed time and prints appends/s and
// p50/p99/max latency. Figures, not pass/fail.
//
//   bench_registry [--clients 8] [--seconds 5] [--synchronous full|normal] [--max-batch 1024]
//                  [--payload 200] [--overlap] [--registry PATH]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "bench/disk_flush.h"
#include "bench/wake_latency.h"
#include "common/net/zmq_socket.h"
#include "common/registry/registry_client.h"
#include "common/state_paths.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  int clients = 8;
  int seconds = 5;
  int warmup_seconds = 1;
  std::string synchronous = "full";
  int max_batch = 1024;
  int payload = 200;
  int page_size = 4096;
  bool overlap = false;
  std::string registry;
  std::string endpoint;  // an already running registry (for profiling it); "" = start one
};

pid_t start_registry(const Options& o, const fs::path& dir) {
  const fs::path config = dir / "bench.yaml";
  std::ofstream(config) << "supervisor:\n  state_dir: " << (dir / "state").string() << "\n"
                        << "registry:\n  synchronous: " << o.synchronous << "\n  max_batch: " << o.max_batch
                        << "\n  page_size: " << o.page_size << "\n  deferred_sync: " << (o.overlap ? "true" : "false")
                        << "\n";
  std::vector<std::string> args{o.registry, "--config", config.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::unsetenv("PIPELINE_STATE_DIR");
  ::unsetenv("NOTIFY_SOCKET");
  pid_t pid = -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = (dir / "registry.log").string();
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&pid, o.registry.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"bench_registry: durable appends per second and their latency"};
  app.add_option("--clients", o.clients)->check(CLI::Range(1, 256));
  app.add_option("--seconds", o.seconds)->check(CLI::Range(1, 3600));
  app.add_option("--synchronous", o.synchronous)->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--max-batch", o.max_batch)->check(CLI::Range(1, 65536));
  app.add_flag("--overlap", o.overlap, "synchronous=full with the fsync on a thread of its own (deferred_sync)");
  app.add_option("--page-size", o.page_size, "SQLite page size of the new registry.db")->check(CLI::Range(512, 65536));
  app.add_option("--payload", o.payload, "Bytes of message content per append")->check(CLI::Range(1, 1 << 20));
  app.add_option("--registry", o.registry, "pipeline-registry binary (default: beside this one)");
  app.add_option("--endpoint", o.endpoint, "Use the registry already running there (e.g. under perf)");
  CLI11_PARSE(app, argc, argv);
  if (o.registry.empty()) {
    const char* bin = std::getenv("PIPELINE_BIN_DIR");
    o.registry = ((bin && *bin) ? fs::path(bin) : fs::read_symlink("/proc/self/exe").parent_path()) /
                 "pipeline-registry";
  }

  char tmpl[] = "/tmp/plb-XXXXXX";
  if (!::mkdtemp(tmpl)) return 70;
  const fs::path dir = tmpl;
  // Before the registry starts, so that nothing else writes meanwhile.
  const auto flush = pl::bench::measure_disk_flush(dir);
  const auto wake = pl::bench::measure_wake_latency();
  const pid_t registry = o.endpoint.empty() ? start_registry(o, dir) : 0;
  if (registry < 0) {
    std::fprintf(stderr, "bench_registry: cannot start %s\n", o.registry.c_str());
    return 70;
  }
  pl::net::Context context;
  pl::RegistryClientOptions client_options;
  client_options.endpoint = o.endpoint.empty() ? *pl::StatePaths(dir / "state").registry_endpoint() : o.endpoint;
  client_options.context = &context;
  {
    pl::RegistryClient probe(client_options);
    const auto give_up = Clock::now() + std::chrono::seconds(30);
    while (!probe.ping().ok() && Clock::now() < give_up) {
    }
  }

  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(o.clients);
  std::vector<std::string> errors(o.clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      pl::RegistryClient client(client_options);
      const std::string session = "bench-" + std::to_string(c);
      if (auto s = client.create_session(session); !s.ok()) {
        errors[c] = s.error().message;
        return;
      }
      const pl::SessionMessage message{"user", pl::Value(std::string(static_cast<size_t>(o.payload), 'x')),
                                       pl::TokenUsage{10, 20}, 0};
      for (int64_t version = 0; !stop; ++version) {
        const auto t0 = Clock::now();
        auto v = client.append_turn({session, version, {message}, 0, false, "", ""});
        const auto t1 = Clock::now();
        if (!v.ok()) {
          errors[c] = v.error().message;
          return;
        }
        if (measuring) latencies[c].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.warmup_seconds));
  measuring = true;
  const auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  stop = true;
  for (auto& t : threads) t.join();

  double mean_batch = 0;
  if (auto status = pl::RegistryClient(client_options).status(); status.ok()) {
    const pl::Value* counters = status->find("counters");
    const auto batches = counters ? counters->get_int("batches") : 0;
    if (batches > 0) mean_batch = static_cast<double>(counters->get_int("requests")) / static_cast<double>(batches);
  }
  if (registry > 0) {
    ::kill(registry, SIGTERM);
    int status = 0;
    ::waitpid(registry, &status, 0);
  }
  std::error_code size_error, ec;
  const auto db_bytes = fs::file_size(dir / "state/registry.db", size_error);
  fs::remove_all(dir, ec);

  for (int c = 0; c < o.clients; ++c) {
    if (!errors[c].empty()) {
      std::fprintf(stderr, "bench_registry: client %d failed: %s\n", c, errors[c].c_str());
      return 1;
    }
  }
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const char* sync = o.synchronous == "normal" ? "synchronous=normal (fsync at checkpoints only)"
                     : o.overlap                  ? "synchronous=full (fsync of each batch overlapping the next)"
                                                  : "synchronous=full (fsync inside each commit)";
  std::printf("registry appends: %d clients, each appending one %d-byte message per turn to its own session,\n"
              "  waiting for each acknowledgement; durability: %s, WAL;\n"
              "  group commit of up to %d requests; %d s measured after %d s warm-up; %u cores\n",
              o.clients, o.payload, sync, o.max_batch, o.seconds, o.warmup_seconds,
              std::thread::hardware_concurrency());
  std::printf("  appends/s: %.0f   (%zu appends in %.2f s)\n", static_cast<double>(all.size()) / elapsed, all.size(),
              elapsed);
  std::printf("  latency:   p50 %.2f ms   p99 %.2f ms   max %.2f ms\n", percentile(all, 0.50) / 1000,
              percentile(all, 0.99) / 1000, all.empty() ? 0.0 : all.back() / 1000);
  if (size_error) {  // a registry started elsewhere (--endpoint): its file is not ours to measure
    std::printf("  requests per commit (mean): %.1f\n", mean_batch);
  } else {
    std::printf("  requests per commit (mean): %.1f   registry.db after the run: %.1f MB\n",
                mean_batch, static_cast<double>(db_bytes) / 1e6);
  }
  if (flush) {
    // With synchronous=full each commit waits for one fdatasync: how much of the run that took.
    const double commits_per_s =
        mean_batch > 0 ? static_cast<double>(all.size()) / elapsed / mean_batch : 0;
    std::printf(
        "  disk: 4 KiB write + fdatasync p50 %.0f us, p99 %.0f us (in %s); %.0f commits/s\n",
        flush->p50_us, flush->p99_us, tmpl, commits_per_s);
    if (o.synchronous == "full") {
      std::printf("        the flushes alone took about %.0f%% of the run\n",
                  std::min(100.0, commits_per_s * flush->p50_us / 1e4));
    }
  }
  if (wake) {
    // Each append crosses threads about eight times (client, the two ZeroMQ I/O threads, the
    // registry's loop and, with --overlap, its syncer): what one crossing costs here.
    const std::string polling = pl::bench::halt_polling();
    std::printf("  cpus: waking a thread%s and being woken back p50 %.1f us, p90 %.1f us%s%s%s\n",
                wake->cross_cpu ? " on another cpu" : "", wake->p50_us, wake->p90_us,
                polling.empty() ? "" : " (", polling.c_str(), polling.empty() ? "" : ")");
  }
  std::printf("  reproduce: build/bin/bench_registry --clients %d --seconds %d --synchronous %s --max-batch %d "
              "--payload %d%s\n",
              o.clients, o.seconds, o.synchronous.c_str(), o.max_batch, o.payload, o.overlap ? " --overlap" : "");
  return 0;
}
