#include "bench/dispatch/raw_baseline.h"

#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/latency_histogram.h"

namespace pl::bench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t micros_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

}  // namespace

int run_raw_broker(const std::string& front, const std::string& back) {
  zmq::context_t context(1);
  zmq::socket_t clients(context, zmq::socket_type::router);
  zmq::socket_t workers(context, zmq::socket_type::router);
  clients.set(zmq::sockopt::linger, 0);
  workers.set(zmq::sockopt::linger, 0);
  clients.set(zmq::sockopt::router_mandatory, 1);
  workers.set(zmq::sockopt::router_mandatory, 1);
  clients.bind(front);
  workers.bind(back);

  struct Pending {
    std::string client;
    Clock::time_point dispatched;
  };
  std::map<std::string, int> credit;       // worker identity -> free slots
  std::deque<std::string> with_credit;     // round robin
  std::deque<std::pair<std::string, zmq::message_t>> queue;  // client, request
  std::map<uint64_t, Pending> in_flight;   // request id -> who asked
  LatencyHistogram latency;

  auto dispatch = [&] {
    while (!queue.empty() && !with_credit.empty()) {
      std::string worker = with_credit.front();
      with_credit.pop_front();
      if (--credit[worker] > 0) with_credit.push_back(worker);
      auto [client, request] = std::move(queue.front());
      queue.pop_front();
      uint64_t id;
      std::memcpy(&id, request.data(), sizeof id);
      in_flight[id] = Pending{std::move(client), Clock::now()};
      workers.send(zmq::buffer(worker), zmq::send_flags::sndmore);
      workers.send(request, zmq::send_flags::none);
    }
  };

  zmq::pollitem_t items[] = {{workers.handle(), 0, ZMQ_POLLIN, 0},
                             {clients.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(1000));
    if (items[0].revents & ZMQ_POLLIN) {
      for (;;) {
        zmq::message_t identity, body;
        if (!workers.recv(identity, zmq::recv_flags::dontwait)) break;
        (void)workers.recv(body, zmq::recv_flags::none);
        const std::string worker = identity.to_string();
        if (body.size() >= 1 && body.data<char>()[0] == 'R' && body.size() < 8) {  // READY n
          credit[worker] = std::stoi(body.to_string().substr(1));
          with_credit.push_back(worker);
          continue;
        }
        uint64_t id;
        std::memcpy(&id, body.data(), sizeof id);
        auto it = in_flight.find(id);
        if (it == in_flight.end()) continue;
        latency.record(micros_since(it->second.dispatched));
        clients.send(zmq::buffer(it->second.client), zmq::send_flags::sndmore);
        clients.send(body, zmq::send_flags::none);
        in_flight.erase(it);
        if (credit[worker]++ == 0) with_credit.push_back(worker);
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      for (;;) {
        zmq::message_t identity, body;
        if (!clients.recv(identity, zmq::recv_flags::dontwait)) break;
        (void)clients.recv(body, zmq::recv_flags::none);
        if (body.size() == 1 && body.data<char>()[0] == 'S') {  // stats, then reset
          const std::string stats = std::to_string(latency.percentile(0.5)) + "," +
                                    std::to_string(latency.percentile(0.99));
          latency.clear();
          clients.send(identity, zmq::send_flags::sndmore);
          clients.send(zmq::buffer(stats), zmq::send_flags::none);
          continue;
        }
        queue.emplace_back(identity.to_string(), std::move(body));
      }
    }
    dispatch();
  }
}

int run_raw_worker(const std::string& back, int slots, size_t reply_bytes) {
  zmq::context_t context(1);
  zmq::socket_t broker(context, zmq::socket_type::dealer);
  broker.set(zmq::sockopt::linger, 0);
  broker.connect(back);
  const std::string ready = "R" + std::to_string(slots);
  broker.send(zmq::buffer(ready), zmq::send_flags::none);
  std::string reply(std::max<size_t>(reply_bytes, 8), 'r');
  for (;;) {
    zmq::message_t request;
    if (!broker.recv(request, zmq::recv_flags::none)) continue;
    std::memcpy(reply.data(), request.data(), 8);  // the id travels back
    broker.send(zmq::buffer(reply), zmq::send_flags::none);
  }
}

RawFigures run_raw_client(const std::string& front, size_t items, size_t window,
                          size_t request_bytes) {
  zmq::context_t context(1);
  zmq::socket_t broker(context, zmq::socket_type::dealer);
  broker.set(zmq::sockopt::linger, 0);
  broker.connect(front);
  std::string request(std::max<size_t>(request_bytes, 8), 'q');
  std::vector<Clock::time_point> sent(items);
  LatencyHistogram latency;
  size_t next = 0, done = 0;
  const auto start = Clock::now();
  while (done < items) {
    while (next < items && next - done < window) {
      const uint64_t id = next;
      std::memcpy(request.data(), &id, sizeof id);
      sent[next] = Clock::now();
      broker.send(zmq::buffer(request), zmq::send_flags::none);
      ++next;
    }
    zmq::message_t reply;
    if (!broker.recv(reply, zmq::recv_flags::none)) continue;
    uint64_t id;
    std::memcpy(&id, reply.data(), sizeof id);
    if (id < items) latency.record(micros_since(sent[id]));
    ++done;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  RawFigures figures;
  figures.items_per_second = static_cast<double>(items) / seconds;
  figures.client_p50_us = latency.percentile(0.5);
  figures.client_p99_us = latency.percentile(0.99);
  broker.send(zmq::str_buffer("S"), zmq::send_flags::none);
  zmq::message_t stats;
  if (broker.recv(stats, zmq::recv_flags::none)) {
    const std::string text = stats.to_string();
    figures.broker_p50_us = std::stol(text.substr(0, text.find(',')));
    figures.broker_p99_us = std::stol(text.substr(text.find(',') + 1));
  }
  return figures;
}

}  // namespace pl::bench
