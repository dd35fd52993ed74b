#include "bench/wake_latency.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

bool wake(int fd) {
  const uint64_t one = 1;
  return ::write(fd, &one, sizeof one) == sizeof one;
}

// Sleeps until `fd` is written to (at most a second), and clears it.
bool take_wake_up(int fd) {
  pollfd entry{fd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&entry, 1, 1000);
  } while (ready < 0 && errno == EINTR);
  uint64_t value = 0;
  return ready == 1 && ::read(fd, &value, sizeof value) == sizeof value;
}

}  // namespace

std::optional<WakeLatency> measure_wake_latency(int rounds) {
  const int ping = ::eventfd(0, EFD_CLOEXEC);
  const int pong = ::eventfd(0, EFD_CLOEXEC);
  if (ping < 0 || pong < 0) {
    if (ping >= 0) ::close(ping);
    if (pong >= 0) ::close(pong);
    return std::nullopt;
  }
  // Each side sleeps in poll() for the other's write, and gives up after a second without it
  // (the other side stopped), so that neither can wait for ever.
  std::thread echo([&] {
    for (int i = 0; i < rounds; ++i) {
      if (!take_wake_up(ping) || !wake(pong)) break;
    }
  });
  cpu_set_t before;
  const bool had_mask = ::sched_getaffinity(0, sizeof before, &before) == 0;
  const auto cpus = two_cpus();
  const bool cross_cpu =
      cpus && pin(echo.native_handle(), cpus->second) && pin(::pthread_self(), cpus->first);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(rounds));
  bool ok = true;
  for (int i = 0; i < rounds && ok; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ok = wake(ping) && take_wake_up(pong);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  echo.join();  // it ends with its rounds, or a second after this side stopped writing
  if (had_mask) ::sched_setaffinity(0, sizeof before, &before);  // the caller's threads run free
  ::close(ping);
  ::close(pong);
  if (!ok || us.empty()) return std::nullopt;
  std::sort(us.begin(), us.end());
  return WakeLatency{us[us.size() / 2], us[us.size() * 9 / 10], cross_cpu};
}

std::string halt_polling() {
  // The governor's parameters exist whenever it is built in, on bare metal too: they say
  // something only while it governs.
  std::string name;
  for (const char* file : {"/sys/devices/system/cpu/cpuidle/current_governor",
                           "/sys/devices/system/cpu/cpuidle/current_governor_ro"}) {  // before 5.8
    std::ifstream governor(file);
    if (governor >> name) break;
  }
  if (name != "haltpoll") return "";
  std::ifstream in("/sys/module/haltpoll/parameters/guest_halt_poll_ns");
  std::string ns;
  if (!(in >> ns)) return "";
  return "guest_halt_poll_ns=" + ns;
}

}  // namespace pl::bench
