// worker.max_items: a worker takes N items, asks for no more, finishes, waits for the acks of
// its results, then retires (goodbye, exit 0).
#include <gtest/gtest.h>

#include "worker/worker_core.h"

namespace pl::worker {
namespace {

using protocol::MessageType;
using namespace std::chrono_literals;

class RecycleTest : public ::testing::Test {
 protected:
  RecycleTest() : core_(WorkerIdentity{"workers.1", 42, "h", 1}, 1s, 3, 3) {
    core_.on_connected(clock_.now());
  }

  std::vector<WorkerCommand> item(const std::string& id) {
    protocol::WorkItem w;
    w.item_id = id;
    w.attempt = 1;
    w.timeout_ms = 60000;
    return core_.on_message(protocol::Message{MessageType::kWorkItem, protocol::to_body(w)},
                            clock_.now());
  }
  std::vector<WorkerCommand> finish(const std::string& id) {
    protocol::WorkResult r;
    r.item_id = id;
    r.attempt = 1;
    r.result["success"] = true;
    return core_.on_item_finished(r, clock_.now());
  }
  std::vector<WorkerCommand> ack(const std::string& id) {
    Value entry;
    entry["id"] = id;
    entry["attempt"] = 1;
    Value acks = Value::array();
    acks.push_back(entry);
    return core_.on_message(
        protocol::Message{MessageType::kResultAck, protocol::to_body(protocol::ResultAck{acks})},
        clock_.now());
  }
  static bool retires(const std::vector<WorkerCommand>& out) {
    for (const auto& c : out) {
      if (std::holds_alternative<Retire>(c)) return true;
    }
    return false;
  }
  static int draining_notices(const std::vector<WorkerCommand>& out) {
    int n = 0;
    for (const auto& c : out) {
      auto* s = std::get_if<SendMessage>(&c);
      if (s && s->type == MessageType::kWorkerHeartbeat && s->body().get_bool("draining")) ++n;
    }
    return n;
  }

  FakeClock clock_;
  WorkerCore core_;
};

TEST_F(RecycleTest, TheNthItemTellsTheBrokerToSendNoMore) {
  for (const char* id : {"a", "b"}) {
    EXPECT_EQ(draining_notices(item(id)), 0);
    finish(id);
    ack(id);
  }
  auto out = item("c");
  EXPECT_EQ(draining_notices(out), 1);
  EXPECT_TRUE(core_.draining());
  EXPECT_FALSE(retires(out));
}

TEST_F(RecycleTest, RetiresOnceTheLastResultIsAcknowledged) {
  for (const char* id : {"a", "b", "c"}) {
    item(id);
    EXPECT_FALSE(retires(finish(id)));
    if (std::string(id) != "c") ack(id);
  }
  EXPECT_FALSE(retires(core_.on_tick(clock_.now())));
  EXPECT_TRUE(retires(ack("c")));
  EXPECT_FALSE(retires(core_.on_tick(clock_.now())));  // once
}

TEST_F(RecycleTest, RunsItemsThatWereAlreadyOnTheirWay) {
  WorkerCore two(WorkerIdentity{"w", 1, "h", 2}, 1s, 3, 1);
  two.on_connected(clock_.now());
  auto send = [&](const std::string& id) {
    protocol::WorkItem w;
    w.item_id = id;
    w.attempt = 1;
    w.timeout_ms = 1000;
    return two.on_message(protocol::Message{MessageType::kWorkItem, protocol::to_body(w)},
                          clock_.now());
  };
  send("a");
  auto out = send("b");  // dispatched before the broker heard: run, not refused
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(std::holds_alternative<StartItem>(out[0]));
  EXPECT_EQ(two.running(), 2u);
}

TEST_F(RecycleTest, DoesNotWaitForeverForAcknowledgements) {
  for (const char* id : {"a", "b", "c"}) {
    item(id);
    finish(id);
  }
  EXPECT_FALSE(retires(core_.on_tick(clock_.now())));
  EXPECT_LE(core_.next_deadline(), clock_.now() + 3s);
  clock_.advance(3s);
  // A broker silent that long is reconnected to first (liveness); then the wait is over.
  auto out = core_.on_tick(clock_.now());
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(std::holds_alternative<Reconnect>(out[0]));
  core_.on_connected(clock_.now());
  EXPECT_TRUE(retires(core_.on_tick(clock_.now())));
}

TEST_F(RecycleTest, ADrainingWorkerSaysSoAgainAfterAReconnect) {
  for (const char* id : {"a", "b", "c"}) {
    item(id);
    finish(id);
  }
  auto hello = core_.on_connected(clock_.now());
  EXPECT_EQ(draining_notices(hello), 1);
}

TEST(Recycle, WithoutMaxItemsAWorkerNeverDrains) {
  FakeClock clock;
  WorkerCore core(WorkerIdentity{"w", 1, "h", 1}, 1s, 3);
  core.on_connected(clock.now());
  for (int i = 0; i < 100; ++i) {
    protocol::WorkItem w;
    w.item_id = "i" + std::to_string(i);
    w.attempt = 1;
    w.timeout_ms = 1000;
    core.on_message(protocol::Message{MessageType::kWorkItem, protocol::to_body(w)}, clock.now());
    protocol::WorkResult r;
    r.item_id = w.item_id;
    r.attempt = 1;
    core.on_item_finished(r, clock.now());
  }
  EXPECT_FALSE(core.draining());
}

}  // namespace
}  // namespace pl::worker
