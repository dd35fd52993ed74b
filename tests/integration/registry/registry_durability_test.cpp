// The real registry process under SIGKILL: every acknowledged mutation survives a restart, none is
// applied twice, conflicts between writers are seen, and garbage never takes it down.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/ids.h"
#include "common/json.h"
#include "common/net/zmq_socket.h"
#include "common/protocol/envelope.h"
#include "tests/integration/registry/registry_process.h"

namespace pl::test {
namespace {

namespace fs = std::filesystem;

SessionMessage user(std::string text) { return SessionMessage{"user", Value(std::move(text)), {}, 0}; }

class RegistryDurability : public ::testing::Test {
 protected:
  void SetUp() override { registry_.start(); }
  void TearDown() override {
    registry_.stop();
    EXPECT_TRUE(wait_until([&] { return processes_with_env(tag_).empty(); }, 10s));
  }

  TempDir dir_;
  std::string tag_ = "PIPELINE_TEST_TAG=" + new_id("t");
  RegistryUnderTest registry_{dir_.path() / "state", dir_.path() / "registry.log", tag_};
};

TEST_F(RegistryDurability, AcknowledgedAppendsSurviveSigkillDuringConcurrentAppendsAndNoneIsAppliedTwice) {
  constexpr int kClients = 4;
  constexpr int kAppendsPerClient = 250;  // 1 000 in all
  RegistryClient setup(registry_.client_options());
  for (int c = 0; c < kClients; ++c) {
    ASSERT_TRUE(setup.create_session("client-" + std::to_string(c)).ok());
  }

  std::atomic<int> acknowledged{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      RegistryClient client(registry_.client_options());
      const std::string session = "client-" + std::to_string(c);
      for (int i = 0; i < kAppendsPerClient; ++i) {
        TurnAppend turn{session, i, {user(session + "/" + std::to_string(i))}, 0, false, "", ""};
        auto version = client.append_turn(turn);
        if (!version.ok() || *version != i + 1) {
          std::lock_guard lock(mutex);
          failures.push_back(session + " append " + std::to_string(i) + ": " +
                             (version.ok() ? "version " + std::to_string(*version) : version.error().message));
          return;
        }
        ++acknowledged;
      }
    });
  }
  // Two crashes while the appends go on, each followed by a restart.
  for (int threshold : {250, 650}) {
    ASSERT_TRUE(wait_until([&] { return acknowledged >= threshold; }, 120s)) << registry_.log();
    registry_.kill9();
    registry_.start();
  }
  for (auto& t : clients) t.join();
  ASSERT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(acknowledged, kClients * kAppendsPerClient);

  // After one more crash, each session holds every acknowledged turn exactly once, in order.
  registry_.kill9();
  registry_.start();
  RegistryClient reader(registry_.client_options());
  for (int c = 0; c < kClients; ++c) {
    const std::string session = "client-" + std::to_string(c);
    auto s = reader.get_session(session);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_EQ(s->info.version, kAppendsPerClient);
    ASSERT_EQ(s->turns.size(), static_cast<size_t>(kAppendsPerClient));
    for (int i = 0; i < kAppendsPerClient; ++i) {
      ASSERT_EQ(s->turns[i].messages.at(0).content, Value(session + "/" + std::to_string(i)));
    }
  }
}

TEST_F(RegistryDurability, ABackupTakenDuringConcurrentAppendsHoldsWholeTurnsOnly) {
  RegistryClient setup(registry_.client_options());
  // Ballast, so that the copy takes many steps of the loop, with batches of appends between.
  for (int i = 0; i < 128; ++i) {
    TurnAppend turn{"ballast", i, {user(std::string(60000, 'b'))}, 0, true, "", ""};
    ASSERT_TRUE(setup.append_turn(turn).ok());
  }
  constexpr int kClients = 4;
  constexpr int kAppendsPerClient = 200;
  std::atomic<int> acknowledged{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      RegistryClient client(registry_.client_options());
      const std::string session = "client-" + std::to_string(c);
      for (int i = 0; i < kAppendsPerClient && !failed; ++i) {
        TurnAppend turn{session, i, {user(session + "/" + std::to_string(i))}, 0, true, "", ""};
        if (!client.append_turn(turn).ok()) failed = true;
        ++acknowledged;
      }
    });
  }
  ASSERT_TRUE(wait_until([&] { return acknowledged >= 100; }, 60s));
  const fs::path copies = dir_.path() / "copies";
  auto started = setup.backup(copies.string());
  ASSERT_TRUE(started.ok()) << started.error().message;
  const int before = acknowledged;
  Value status;
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = setup.backup("");
        if (s.ok()) status = *s;
        return s.ok() && status.get_string("state") != "copying";
      },
      60s));
  const int after = acknowledged;
  ASSERT_EQ(status.get_string("state"), "done") << status.get_string("error");
  EXPECT_GT(status.get_int("pages_total"), 4 * 256) << "the copy took several steps";
  for (auto& t : clients) t.join();
  ASSERT_FALSE(failed);

  // A registry on the copy: every session is whole (its version is its last turn, and every turn
  // up to it is there, in order), at a point between the start and the end of the copy.
  RegistryUnderTest restored(dir_.path() / "restored", dir_.path() / "restored.log", tag_);
  fs::create_directories(restored.state_dir());
  fs::copy_file(copies / "registry.db", restored.state_dir() / "registry.db");
  restored.start();
  RegistryClient reader(restored.client_options());
  int64_t turns = 0;
  for (int c = 0; c < kClients; ++c) {
    const std::string session = "client-" + std::to_string(c);
    auto s = reader.get_session(session);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_EQ(s->turns.size(), static_cast<size_t>(s->info.version)) << session;
    for (int64_t i = 0; i < s->info.version; ++i) {
      ASSERT_EQ(s->turns[i].messages.at(0).content, Value(session + "/" + std::to_string(i)));
    }
    turns += s->info.version;
  }
  EXPECT_GE(turns, before - kClients) << "acknowledged before the copy started";
  EXPECT_LE(turns, after + kClients) << "not yet made when the copy ended";
  EXPECT_EQ(restored.stop(), 0);
}

TEST_F(RegistryDurability, ARetryAfterACrashIsRecognisedByItsId) {
  RegistryClient client(registry_.client_options());
  ASSERT_TRUE(client.create_session("chat").ok());
  TurnAppend turn{"chat", 0, {user("only once")}, 0, false, "", "append-1"};
  auto first = client.append_turn(turn);
  ASSERT_TRUE(first.ok()) << first.error().message;
  registry_.kill9();
  registry_.start();
  auto retried = client.append_turn(turn);  // as if the first reply had been lost
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(*retried, 1);
  EXPECT_EQ(client.get_session("chat")->turns.size(), 1u);
}

TEST(RegistryFullDisk, ARegistryStartedOnAFullDiskWaitsForRoomThenStartsWithItsSessions) {
  TempDir dir;
  SmallFileSystem disk(dir.path() / "state", "8m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  const std::string tag = "PIPELINE_TEST_TAG=" + new_id("t");
  RegistryUnderTest registry(dir.path() / "state", dir.path() / "registry.log", tag);
  registry.start();
  {
    RegistryClient client(registry.client_options());
    ASSERT_TRUE(client.create_session("chat").ok());
    ASSERT_TRUE(client.append_turn({"chat", 0, {user("kept")}, 0, false, "", "append-1"}).ok());
  }
  const auto filler = disk.fill();
  registry.kill9();
  registry.spawn();
  // Without room it cannot open registry.db: it says so and waits, rather than exiting (which,
  // under a supervisor, would restart it into the same failure until the tree gave up).
  ASSERT_TRUE(wait_until(
      [&] { return registry.log().find("the registry waits for free space") != std::string::npos; },
      30s))
      << registry.log();
  EXPECT_FALSE(registry.process().wait(0ms).has_value()) << "it still runs\n" << registry.log();
  std::filesystem::remove(filler);
  // With room, it starts over in the same process: its supervisor sees one long start.
  RegistryClient client(registry.client_options());
  ASSERT_TRUE(wait_until([&] { return client.ping().ok(); }, 30s)) << registry.log();
  EXPECT_FALSE(registry.process().wait(0ms).has_value()) << "the same process\n" << registry.log();
  auto session = client.get_session("chat");
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(session->turns.size(), 1u);
  EXPECT_EQ(registry.stop(), 0);
}

TEST_F(RegistryDurability, WritersOnOneSessionSeeConflictsAndLoseNoTurn) {
  constexpr int kWriters = 4;
  constexpr int kTurnsEach = 25;
  RegistryClient setup(registry_.client_options());
  ASSERT_TRUE(setup.create_session("shared").ok());
  std::atomic<int> conflicts{0};
  std::vector<std::thread> writers;
  std::vector<std::string> errors(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      RegistryClient client(registry_.client_options());
      for (int i = 0; i < kTurnsEach;) {
        auto s = client.get_session("shared", 1);
        if (!s.ok()) {
          errors[w] = s.error().message;
          return;
        }
        auto v = client.append_turn(
            {"shared", s->info.version, {user("w" + std::to_string(w) + "/" + std::to_string(i))}, 0, false, "", ""});
        if (v.ok()) {
          ++i;
        } else if (v.error().code == ErrorCode::kConflict) {
          ++conflicts;  // someone else appended first: read again and retry
        } else {
          errors[w] = v.error().message;
          return;
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  for (const auto& e : errors) ASSERT_EQ(e, "");
  auto s = setup.get_session("shared");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->turns.size(), static_cast<size_t>(kWriters * kTurnsEach));
  std::map<std::string, int> seen;
  for (const auto& t : s->turns) ++seen[t.messages.at(0).content.as_string()];
  EXPECT_EQ(seen.size(), static_cast<size_t>(kWriters * kTurnsEach));
  for (const auto& [text, count] : seen) EXPECT_EQ(count, 1) << text;
  // The conflict message names both versions.
  auto stale = setup.append_turn({"shared", 0, {user("late")}, 0, false, "", ""});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_NE(stale.error().message.find("is at version " + std::to_string(kWriters * kTurnsEach) + ", expected 0"),
            std::string::npos)
      << stale.error().message;
}

TEST_F(RegistryDurability, ToolsSurviveACrash) {
  RegistryClient client(registry_.client_options());
  auto d = tool_definition_from_value(*parse_json(R"({"name": "t", "command": ["true"]})"));
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(client.register_tool(*d).ok());
  registry_.kill9();
  registry_.start();
  auto got = client.get_tool("t");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->definition.command, std::vector<std::string>{"true"});
  EXPECT_EQ(got->revision, 1);
}

TEST_F(RegistryDurability, GarbageFramesAreCountedAndIgnoredAndBadRequestsGetAnError) {
  net::Context context;
  net::Socket raw(context, net::SocketKind::kDealer);
  ASSERT_TRUE(raw.connect(*StatePaths(registry_.state_dir()).registry_endpoint()).ok());
  ASSERT_TRUE(raw.send({"not msgpack at all"}).ok());
  ASSERT_TRUE(raw.send({"two", "frames"}).ok());
  ASSERT_TRUE(raw.send({protocol::encode(protocol::MessageType::kWorkerHello, Value::object())}).ok());
  Value bad;
  bad["request"] = "r1";
  bad["op"] = 42;
  ASSERT_TRUE(raw.send({protocol::encode(protocol::MessageType::kRegistryRequest, bad)}).ok());
  std::optional<protocol::Message> reply;
  ASSERT_TRUE(wait_until(
      [&] {
        auto frames = raw.receive();
        if (frames.ok() && frames->has_value()) {
          auto m = protocol::decode((*frames)->front());
          if (m.ok()) reply = std::move(*m);
        }
        return reply.has_value();
      },
      30s));
  EXPECT_EQ(reply->body.get_string("request"), "r1");
  EXPECT_FALSE(reply->body.get_bool("ok", true));
  EXPECT_EQ(reply->body.get_int("code"), static_cast<int64_t>(ErrorCode::kInvalidInput));

  RegistryClient client(registry_.client_options());
  auto status = client.status();
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->find("counters")->get_int("bad_frames"), 3);
}

TEST_F(RegistryDurability, ASecondRegistryOnTheSameStateDirectoryRefusesToStart) {
  SpawnOptions options;
  options.env = {"PIPELINE_STATE_DIR=" + registry_.state_dir().string(), tag_};
  options.unset_env = {"PIPELINE_CONFIG", "NOTIFY_SOCKET"};
  options.stderr_file = dir_.path() / "second.log";
  Process second = Process::spawn({binary("pipeline-registry")}, options);
  auto code = second.wait(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 75) << read_text(dir_.path() / "second.log");
  EXPECT_NE(read_text(dir_.path() / "second.log").find("locked"), std::string::npos);
  RegistryClient client(registry_.client_options());
  EXPECT_TRUE(client.ping().ok());
}

TEST_F(RegistryDurability, ACallWithNoRegistryFailsAsUnavailableWithinItsDeadline) {
  registry_.kill9();
  RegistryClientOptions options = registry_.client_options();
  options.attempt_timeout = 100ms;
  options.deadline = 500ms;
  RegistryClient client(options);
  auto r = client.list_sessions();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("no answer from the registry"), std::string::npos);
  registry_.start();
}

// A worker asks the registry on behalf of an item: the item's deadline and its cancellation end
// the wait, although the client's own deadline (15 s) would go on retrying.
TEST_F(RegistryDurability, ACallForAnItemEndsAtTheItemsDeadlineOrWhenItIsCancelled) {
  registry_.kill9();
  RegistryClient client(registry_.client_options());
  CallLimit by_deadline;
  by_deadline.deadline = SteadyClock::now() + 300ms;
  auto timed_out = client.get_session("s", 0, by_deadline);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code, ErrorCode::kTimeout) << timed_out.error().message;
  EXPECT_NE(timed_out.error().message.find("the item's deadline passed"), std::string::npos)
      << timed_out.error().message;

  std::atomic<int> asked{0};
  CallLimit by_cancel;
  by_cancel.cancelled = [&] { return ++asked >= 5; };  // cancelled during the first wait
  TurnAppend turn;
  turn.session = "s";
  turn.create = true;
  turn.messages = {user("hi")};
  auto cancelled = client.append_turn(turn, by_cancel);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, ErrorCode::kCancelled) << cancelled.error().message;
  EXPECT_GE(asked.load(), 5);
  registry_.start();
}

}  // namespace
}  // namespace pl::test
