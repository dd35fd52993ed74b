// How long this machine takes to wake a thread that sleeps on another CPU: the cost paid at each
// hop of a request between threads (a ZeroMQ socket's I/O thread and the thread that reads it,
// on both sides, and the registry's syncer). On a virtual machine whose idle vCPUs halt at once
// (no guest halt polling) a wake-up is an interrupt to a stopped vCPU and costs tens of
// microseconds; on bare metal, or with halt polling, a few. A benchmark prints it beside its
// figures, like the disk's flush (disk_flush.h), so that results from two machines can be told
// apart from a change in our code.
#pragma once

#include <optional>
#include <string>

namespace pl::bench {

struct WakeLatency {
  double p50_us = 0;  // one round trip: wake the other thread, be woken by it
  double p90_us = 0;
  bool cross_cpu = false;  // the two threads were pinned to two different CPUs
};

// Times `rounds` round trips between two threads through two eventfds, each thread sleeping in
// poll() until the other writes. The threads are pinned to the first two CPUs this process may
// use (when it may use two). nullopt when an eventfd cannot be made or a side stopped answering.
std::optional<WakeLatency> measure_wake_latency(int rounds = 2000);

// The guest's idle polling ("guest_halt_poll_ns=200000") while the haltpoll cpuidle governor
// runs (a KVM guest with cpuidle-haltpoll), or "".
std::string halt_polling();

}  // namespace pl::bench
