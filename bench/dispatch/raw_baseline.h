// The yardstick: a dispatcher made of nothing but ZeroMQ sockets (cppzmq), with the same shape
// as ours — clients on a ROUTER, workers as DEALERs on another ROUTER, credit per worker — but no
// protocol decoding, no pipeline, no store. Each role runs in its own process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pl::bench {

// Runs until killed.
int run_raw_broker(const std::string& front, const std::string& back);
// Announces `slots` credits and answers every request with `reply_bytes` bytes.
int run_raw_worker(const std::string& back, int slots, size_t reply_bytes);

struct RawFigures {
  double items_per_second = 0;
  int64_t client_p50_us = 0;  // send to reply, seen by the client
  int64_t client_p99_us = 0;
  int64_t broker_p50_us = 0;  // dispatch to reply, seen by the broker
  int64_t broker_p99_us = 0;
};

// Sends `items` requests of `request_bytes`, at most `window` outstanding.
RawFigures run_raw_client(const std::string& front, size_t items, size_t window,
                          size_t request_bytes);

}  // namespace pl::bench
