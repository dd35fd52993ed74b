#include "bench/wake_latency.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <thread>
#include <vector>

namespace pl::bench {

namespace {

// The first two CPUs in this thread's affinity mask; nullopt with fewer than two.
std::optional<std::pair<int, int>> two_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return std::nullopt;
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  if (cpus.size() < 2) return std::nullopt;
  return std::pair{cpus[0], cpus[1]};
}

bool pin(std::thread::native_handle_type thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::pthread_setaffinity_np(thread, sizeof set, &set) == 0;
}

}  // namespace

std::optional<WakeLatency> measure_wake_latency(int rounds) {
  // A semaphore: each of the echo thread's reads takes one wake-up, so that one write of the
  // rounds left can release it if this side stops early.
  const int ping = ::eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
  const int pong = ::eventfd(0, EFD_CLOEXEC);
  if (ping < 0 || pong < 0) {
    if (ping >= 0) ::close(ping);
    if (pong >= 0) ::close(pong);
    return std::nullopt;
  }
  std::thread echo([&] {
    uint64_t value = 0;
    for (int i = 0; i < rounds; ++i) {
      if (::read(ping, &value, sizeof value) != sizeof value) break;
      if (::write(pong, &value, sizeof value) != sizeof value) break;
    }
  });
  cpu_set_t before;
  const bool had_mask = ::sched_getaffinity(0, sizeof before, &before) == 0;
  const auto cpus = two_cpus();
  const bool cross_cpu =
      cpus && pin(echo.native_handle(), cpus->second) && pin(::pthread_self(), cpus->first);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(rounds));
  const uint64_t one = 1;
  uint64_t value = 0;
  bool ok = true;
  for (int i = 0; i < rounds && ok; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ok = ::write(ping, &one, sizeof one) == sizeof one &&
         ::read(pong, &value, sizeof value) == sizeof value;
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  if (!ok) {  // release the echo thread, which waits for the rounds it was promised
    const auto left = static_cast<uint64_t>(rounds);
    if (::write(ping, &left, sizeof left) != sizeof left) echo.detach();
  }
  if (echo.joinable()) echo.join();
  if (had_mask) ::sched_setaffinity(0, sizeof before, &before);  // the caller's threads run free
  ::close(ping);
  ::close(pong);
  if (!ok || us.empty()) return std::nullopt;
  std::sort(us.begin(), us.end());
  return WakeLatency{us[us.size() / 2], us[us.size() * 9 / 10], cross_cpu};
}

std::string halt_polling() {
  std::ifstream in("/sys/module/haltpoll/parameters/guest_halt_poll_ns");
  std::string ns;
  if (!(in >> ns)) return "";
  return "guest_halt_poll_ns=" + ns;
}

}  // namespace pl::bench
