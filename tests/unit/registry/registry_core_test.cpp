// The registry core over both stores: the in-memory fake and the real SQLite one.
#include "registry/registry_core.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "registry/sqlite_store.h"
#include "tests/support/harness.h"
#include "tests/unit/registry/memory_store.h"

namespace pl::registry {
namespace {

using protocol::RegistryReply;
using protocol::RegistryRequest;

Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

Value message(std::string role, std::string content, int64_t in = -1, int64_t out = 0) {
  Value m;
  m["role"] = std::move(role);
  m["content"] = std::move(content);
  if (in >= 0) {
    m["usage"]["input_tokens"] = in;
    m["usage"]["output_tokens"] = out;
  }
  return m;
}

Value tool_definition(const std::string& name, const std::string& description = "a tool") {
  Value d = json(R"({"command": ["echo", "{{args.x}}"], "input_schema": {"type": "object",
                     "properties": {"x": {"type": "string"}}}})");
  d["name"] = name;
  d["description"] = description;
  return d;
}

class RegistryCoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      auto opened = SqliteStore::open(dir_.path() / "registry.db");
      ASSERT_TRUE(opened.ok()) << opened.error().message;
      store_ = std::move(*opened);
    } else {
      store_ = std::make_unique<test::MemoryStore>();
    }
    core_ = std::make_unique<RegistryCore>(*store_, limits_);
  }

  // One request in its own batch, as the shell would run it.
  RegistryReply call(const std::string& op, Value args, std::string id = "") {
    if (id.empty()) id = "id-" + std::to_string(++ids_);
    EXPECT_TRUE(store_->begin().ok());
    RegistryReply reply = core_->handle(RegistryRequest{"q1", op, id, std::move(args)}, now_ms_);
    EXPECT_TRUE(store_->commit().ok());
    return reply;
  }

  RegistryReply append(const std::string& session, int64_t expected, std::vector<Value> messages,
                       Value extra = Value::object(), std::string id = "") {
    Value args = std::move(extra);
    args["name"] = session;
    args["expected_version"] = expected;
    args["messages"] = Value(Value::Array(messages.begin(), messages.end()));
    return call("session.append", std::move(args), std::move(id));
  }

  RegistryReply create(const std::string& session, int64_t max_turns = 0) {
    Value args;
    args["name"] = session;
    if (max_turns > 0) args["max_turns"] = max_turns;
    return call("session.create", std::move(args));
  }

  Value get(const std::string& session, int64_t last = 0) {
    Value args;
    args["name"] = session;
    if (last > 0) args["last_turns"] = last;
    RegistryReply r = call("session.get", std::move(args));
    EXPECT_TRUE(r.ok) << r.message;
    return r.result;
  }

  // An empty store of the same kind as store_.
  std::unique_ptr<RegistryStore> another_store() {
    if (GetParam() != "sqlite") return std::make_unique<test::MemoryStore>();
    auto opened = SqliteStore::open(dir_.path() / ("another-" + std::to_string(++stores_) + ".db"));
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  pl::test::TempDir dir_;
  int stores_ = 0;
  RegistryLimits limits_;
  std::unique_ptr<RegistryStore> store_;
  std::unique_ptr<RegistryCore> core_;
  int64_t now_ms_ = 1'700'000'000'000;
  int ids_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Stores, RegistryCoreTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

TEST_P(RegistryCoreTest, RepliesEchoTheTransportRequestId) {
  RegistryReply r = call("ping", Value::object());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.request, "q1");
  EXPECT_EQ(r.result, Value("pong"));
}

TEST_P(RegistryCoreTest, AppendsAdvanceTheVersionOneTurnAtATime) {
  ASSERT_TRUE(create("chat").ok);
  for (int64_t v = 0; v < 3; ++v) {
    RegistryReply r = append("chat", v, {message("user", "q" + std::to_string(v)),
                                         message("assistant", "a" + std::to_string(v))});
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.result.get_int("version"), v + 1);
  }
  Value s = get("chat");
  EXPECT_EQ(s.get_int("version"), 3);
  const auto& turns = s.find("turns")->as_array();
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[1].get_int("index"), 2);
  EXPECT_EQ(turns[1].find("messages")->as_array()[1].get_string("content"), "a1");
  EXPECT_EQ(turns[1].find("messages")->as_array()[1].get_int("time_ms"), now_ms_);
}

TEST_P(RegistryCoreTest, AppendWithAStaleVersionIsAConflictNamingBothVersions) {
  ASSERT_TRUE(create("chat").ok);
  ASSERT_TRUE(append("chat", 0, {message("user", "first")}).ok);
  RegistryReply r = append("chat", 0, {message("user", "lost?")});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kConflict);
  EXPECT_NE(r.message.find("at version 1, expected 0"), std::string::npos) << r.message;
  EXPECT_EQ(get("chat").find("turns")->size(), 1u);
}

TEST_P(RegistryCoreTest, AppendToAMissingSessionIsNotFoundUnlessCreateIsAsked) {
  RegistryReply missing = append("new", 0, {message("user", "hi")});
  EXPECT_EQ(missing.code, ErrorCode::kNotFound);
  Value create_flag;
  create_flag["create"] = true;
  create_flag["max_turns"] = 2;
  RegistryReply created = append("new", 0, {message("user", "hi")}, create_flag);
  ASSERT_TRUE(created.ok) << created.message;
  Value s = get("new");
  EXPECT_EQ(s.get_int("version"), 1);
  EXPECT_EQ(s.get_int("max_turns"), 2);
}

TEST_P(RegistryCoreTest, AppendBeyondMaxTurnsIsRefusedSayingSo) {
  ASSERT_TRUE(create("short", 2).ok);
  ASSERT_TRUE(append("short", 0, {message("user", "1")}).ok);
  ASSERT_TRUE(append("short", 1, {message("user", "2")}).ok);
  RegistryReply r = append("short", 2, {message("user", "3")});
  EXPECT_EQ(r.code, ErrorCode::kTooLarge);
  EXPECT_NE(r.message.find("max_turns of 2"), std::string::npos) << r.message;
}

TEST_P(RegistryCoreTest, AnAppendsOwnMaxTurnsTightensTheSessionLimit) {
  ASSERT_TRUE(create("chat", 10).ok);
  Value limit;
  limit["max_turns"] = 1;
  ASSERT_TRUE(append("chat", 0, {message("user", "1")}, limit).ok);
  RegistryReply r = append("chat", 1, {message("user", "2")}, limit);
  EXPECT_EQ(r.code, ErrorCode::kTooLarge);
  EXPECT_NE(r.message.find("the step's max_turns of 1"), std::string::npos) << r.message;
}

TEST_P(RegistryCoreTest, ARetriedAppendIsAppliedOnceAndGetsTheSameReply) {
  ASSERT_TRUE(create("chat").ok);
  RegistryReply first = append("chat", 0, {message("user", "once")}, Value::object(), "append-1");
  RegistryReply again = append("chat", 0, {message("user", "once")}, Value::object(), "append-1");
  ASSERT_TRUE(first.ok);
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(again.result, first.result);
  EXPECT_EQ(get("chat").get_int("version"), 1);
  EXPECT_EQ(core_->counters().replays, 1u);
}

TEST_P(RegistryCoreTest, ARetriedFailureGetsTheSameFailureEvenAfterTheStateMoved) {
  RegistryReply first = append("later", 0, {message("user", "x")}, Value::object(), "early");
  EXPECT_EQ(first.code, ErrorCode::kNotFound);
  ASSERT_TRUE(create("later").ok);
  RegistryReply again = append("later", 0, {message("user", "x")}, Value::object(), "early");
  EXPECT_EQ(again.code, ErrorCode::kNotFound);
  EXPECT_EQ(get("later").get_int("version"), 0);
}

TEST_P(RegistryCoreTest, AnIdReusedForAnotherOperationIsAConflict) {
  ASSERT_TRUE(call("session.create", json(R"({"name": "a"})"), "same").ok);
  RegistryReply r = call("session.delete", json(R"({"name": "a"})"), "same");
  EXPECT_EQ(r.code, ErrorCode::kConflict);
  EXPECT_NE(r.message.find("session.create"), std::string::npos) << r.message;
}

TEST_P(RegistryCoreTest, AMutationWithoutAnIdempotencyIdIsRefused) {
  EXPECT_TRUE(store_->begin().ok());
  RegistryReply r = core_->handle(RegistryRequest{"q", "session.create", "", json(R"({"name": "a"})")}, now_ms_);
  EXPECT_TRUE(store_->commit().ok());
  EXPECT_EQ(r.code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.message.find("idempotency id"), std::string::npos);
}

TEST_P(RegistryCoreTest, TurnsRememberWhoAppendedThem) {
  Value extra;
  extra["create"] = true;
  extra["origin"] = "run-1/item-7";
  ASSERT_TRUE(append("chat", 0, {message("user", "q"), message("assistant", "a")}, extra).ok);
  const Value session = get("chat");
  const Value& turn = session.find("turns")->as_array().at(0);
  EXPECT_EQ(turn.get_string("origin"), "run-1/item-7");
  extra["origin"] = std::string(300, 'x');
  EXPECT_EQ(append("chat", 1, {message("user", "q")}, extra).code, ErrorCode::kInvalidInput);
}

TEST_P(RegistryCoreTest, GetReturnsOnlyTheLastTurnsWhenAsked) {
  ASSERT_TRUE(create("chat").ok);
  for (int64_t v = 0; v < 5; ++v) ASSERT_TRUE(append("chat", v, {message("user", std::to_string(v))}).ok);
  Value s = get("chat", 2);
  EXPECT_EQ(s.get_int("version"), 5);
  const auto& turns = s.find("turns")->as_array();
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[0].get_int("index"), 4);
  EXPECT_EQ(turns[1].get_int("index"), 5);
  EXPECT_EQ(get("chat", 50).find("turns")->size(), 5u);
}

TEST_P(RegistryCoreTest, UsageIsSummedOverTurnsAndRecomputedByTruncate) {
  ASSERT_TRUE(create("chat").ok);
  ASSERT_TRUE(append("chat", 0, {message("user", "a"), message("assistant", "b", 10, 20)}).ok);
  ASSERT_TRUE(append("chat", 1, {message("user", "c"), message("assistant", "d", 5, 7)}).ok);
  Value s = get("chat");
  EXPECT_EQ(s.find("usage")->get_int("input_tokens"), 15);
  EXPECT_EQ(s.find("usage")->get_int("output_tokens"), 27);

  RegistryReply t = call("session.truncate", json(R"({"name": "chat", "keep_turns": 1})"));
  ASSERT_TRUE(t.ok) << t.message;
  EXPECT_EQ(t.result.get_int("version"), 1);
  s = get("chat");
  EXPECT_EQ(s.find("turns")->size(), 1u);
  EXPECT_EQ(s.find("usage")->get_int("output_tokens"), 20);
  // The next append continues from the kept turns.
  EXPECT_TRUE(append("chat", 1, {message("user", "again")}).ok);
}

TEST_P(RegistryCoreTest, TruncateWithAStaleExpectedVersionIsAConflict) {
  ASSERT_TRUE(create("chat").ok);
  ASSERT_TRUE(append("chat", 0, {message("user", "a")}).ok);
  RegistryReply r = call("session.truncate", json(R"({"name": "chat", "keep_turns": 0, "expected_version": 0})"));
  EXPECT_EQ(r.code, ErrorCode::kConflict);
  EXPECT_EQ(get("chat").get_int("version"), 1);
}

TEST_P(RegistryCoreTest, DeleteRemovesTheSessionAndItsTurns) {
  ASSERT_TRUE(create("chat").ok);
  ASSERT_TRUE(append("chat", 0, {message("user", "old")}).ok);
  RegistryReply d = call("session.delete", json(R"({"name": "chat"})"));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(call("session.get", json(R"({"name": "chat"})")).code, ErrorCode::kNotFound);
  EXPECT_EQ(call("session.delete", json(R"({"name": "chat"})")).code, ErrorCode::kNotFound);
  ASSERT_TRUE(create("chat").ok);
  EXPECT_EQ(get("chat").find("turns")->size(), 0u);
  EXPECT_TRUE(append("chat", 0, {message("user", "new")}).ok);
}

TEST_P(RegistryCoreTest, CreatingAnExistingSessionIsAConflictUnlessExistOk) {
  ASSERT_TRUE(create("chat").ok);
  EXPECT_EQ(create("chat").code, ErrorCode::kConflict);
  RegistryReply ok = call("session.create", json(R"({"name": "chat", "exist_ok": true})"));
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(ok.result.get_string("name"), "chat");
}

TEST_P(RegistryCoreTest, ASessionNameThatIsNotUtf8IsRefusedNotMergedWithAnother) {
  // Written as JSON, "\xff\xfe" and "\xfe\xff" would both read back as two U+FFFD.
  RegistryReply r = create("\xff\xfe");
  EXPECT_EQ(r.code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.message.find("UTF-8"), std::string::npos) << r.message;
  EXPECT_TRUE(create("caf\xc3\xa9").ok);
}

// A session stored before names had to be UTF-8 can still be read, truncated and deleted by
// its name; nothing more can be written to it.
TEST_P(RegistryCoreTest, ASessionStoredUnderANameThatIsNotUtf8CanBeReadAndDeleted) {
  const std::string legacy = "old-\xff";
  ASSERT_TRUE(store_->begin().ok());
  ASSERT_TRUE(store_->put_session({legacy, 0, 0, 1, 1, {}}).ok());
  ASSERT_TRUE(store_->commit().ok());
  Value named;
  named["name"] = legacy;
  RegistryReply read = call("session.get", named);
  ASSERT_TRUE(read.ok) << read.message;
  EXPECT_EQ(read.result.get_string("name"), legacy);
  EXPECT_EQ(append(legacy, 0, {message("user", "more")}).code, ErrorCode::kInvalidInput);
  Value truncate = named;
  truncate["keep_turns"] = 0;
  EXPECT_TRUE(call("session.truncate", truncate).ok);
  EXPECT_TRUE(call("session.delete", named).ok);
  EXPECT_EQ(call("session.get", named).code, ErrorCode::kNotFound);
  named["name"] = std::string(kMaxSessionName + 1, 'x');  // too long is still refused
  EXPECT_EQ(call("session.get", named).code, ErrorCode::kInvalidInput);
}

TEST_P(RegistryCoreTest, MessagesAreCheckedAndErrorsNameTheMessage) {
  ASSERT_TRUE(create("chat").ok);
  RegistryReply role = append("chat", 0, {message("user", "ok"), message("bot", "x")});
  EXPECT_EQ(role.code, ErrorCode::kInvalidInput);
  EXPECT_NE(role.message.find("messages[1].role"), std::string::npos) << role.message;
  RegistryReply empty = append("chat", 0, {});
  EXPECT_EQ(empty.code, ErrorCode::kInvalidInput);
  RegistryReply kind = call("session.append", json(R"({"name": "chat", "expected_version": "0", "messages": []})"));
  EXPECT_EQ(kind.code, ErrorCode::kInvalidInput);
  EXPECT_NE(kind.message.find("expected_version"), std::string::npos) << kind.message;
  EXPECT_EQ(get("chat").get_int("version"), 0);
}

TEST_P(RegistryCoreTest, ATurnOverTheSizeLimitIsRefused) {
  limits_.max_turn_bytes = 1024;
  core_ = std::make_unique<RegistryCore>(*store_, limits_);
  ASSERT_TRUE(create("chat").ok);
  RegistryReply r = append("chat", 0, {message("user", std::string(2000, 'x'))});
  EXPECT_EQ(r.code, ErrorCode::kTooLarge);
}

TEST_P(RegistryCoreTest, ASessionOverTheReplyLimitIsReadInPagesOfWholeTurns) {
  limits_.max_reply_bytes = 1000;
  core_ = std::make_unique<RegistryCore>(*store_, limits_);
  ASSERT_TRUE(create("long").ok);
  for (int i = 0; i < 7; ++i) {  // ~300 bytes of messages a turn
    ASSERT_TRUE(append("long", i, {message("user", std::to_string(i) + std::string(240, 'x'))}).ok);
  }
  Value whole;
  whole["name"] = "long";
  RegistryReply refused = call("session.get", whole);
  EXPECT_EQ(refused.code, ErrorCode::kTooLarge);
  EXPECT_NE(refused.message.find("in pages with after_turn"), std::string::npos) << refused.message;

  std::vector<int64_t> seen;
  int64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    Value page_args;
    page_args["name"] = "long";
    page_args["after_turn"] = after;
    RegistryReply page = call("session.get", page_args);
    ASSERT_TRUE(page.ok) << page.message;
    const Value& turns = *page.result.find("turns");
    ASSERT_GT(turns.size(), 0u);
    ASSERT_LE(turns.size(), 3u);  // 3 turns fit in 1000 bytes, 4 do not
    for (const Value& t : turns.as_array()) seen.push_back(t.get_int("index"));
    after = seen.back();
    if (!page.result.get_bool("more")) break;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
}

TEST_P(RegistryCoreTest, AByteBudgetGivesTheNewestTurnsThatFitNeverATooLarge) {
  limits_.max_reply_bytes = 1000;
  core_ = std::make_unique<RegistryCore>(*store_, limits_);
  ASSERT_TRUE(create("long").ok);
  for (int i = 0; i < 7; ++i) {  // ~300 bytes of messages a turn
    ASSERT_TRUE(append("long", i, {message("user", std::to_string(i) + std::string(240, 'x'))}).ok);
  }
  auto indices = [&](int64_t last, int64_t max_bytes) {
    Value args;
    args["name"] = "long";
    if (last > 0) args["last_turns"] = last;
    args["max_bytes"] = max_bytes;
    RegistryReply r = call("session.get", args);
    EXPECT_TRUE(r.ok) << r.message;
    std::vector<int64_t> seen;
    if (!r.ok) return seen;
    for (const Value& t : r.result.find("turns")->as_array()) seen.push_back(t.get_int("index"));
    EXPECT_EQ(r.result.get_int("version"), 7);
    return seen;
  };
  EXPECT_EQ(indices(0, 700), (std::vector<int64_t>{6, 7}));      // the oldest dropped
  EXPECT_EQ(indices(0, 100000), (std::vector<int64_t>{5, 6, 7}));  // the reply limit bounds it
  EXPECT_EQ(indices(1, 100000), (std::vector<int64_t>{7}));        // and last_turns too
  EXPECT_EQ(indices(0, 100), (std::vector<int64_t>{}));            // even the newest is larger
}

TEST_P(RegistryCoreTest, AnAppendWithAHigherMaxTurnsRaisesTheSessionsOwn) {
  Value first;
  first["create"] = true;
  first["max_turns"] = 1;
  ASSERT_TRUE(append("chat", 0, {message("user", "1")}, first).ok);
  RegistryReply full = append("chat", 1, {message("user", "2")}, first);
  EXPECT_EQ(full.code, ErrorCode::kTooLarge);
  Value raised;
  raised["max_turns"] = 3;
  ASSERT_TRUE(append("chat", 1, {message("user", "2")}, raised).ok);
  EXPECT_EQ(get("chat").get_int("max_turns"), 3);
  ASSERT_TRUE(append("chat", 2, {message("user", "3")}).ok);  // the raised limit holds alone
  EXPECT_EQ(append("chat", 3, {message("user", "4")}).code, ErrorCode::kTooLarge);
}

TEST_P(RegistryCoreTest, ListsAreSortedByNameAndBounded) {
  for (const char* name : {"c", "a", "b"}) ASSERT_TRUE(create(name).ok);
  RegistryReply all = call("session.list", Value::object());
  ASSERT_TRUE(all.ok);
  const auto& sessions = all.result.find("sessions")->as_array();
  ASSERT_EQ(sessions.size(), 3u);
  EXPECT_EQ(sessions[0].get_string("name"), "a");
  EXPECT_FALSE(all.result.get_bool("truncated"));
  RegistryReply two = call("session.list", json(R"({"limit": 2})"));
  EXPECT_EQ(two.result.find("sessions")->size(), 2u);
  EXPECT_TRUE(two.result.get_bool("truncated"));
}

TEST_P(RegistryCoreTest, RegisteringAToolTwiceIsAConflictUnlessReplace) {
  Value args;
  args["definition"] = tool_definition("echoer");
  RegistryReply first = call("tool.register", args);
  ASSERT_TRUE(first.ok) << first.message;
  EXPECT_EQ(first.result.get_int("revision"), 1);
  EXPECT_EQ(call("tool.register", args).code, ErrorCode::kConflict);
  args["replace"] = true;
  RegistryReply replaced = call("tool.register", args);
  ASSERT_TRUE(replaced.ok);
  EXPECT_EQ(replaced.result.get_int("revision"), 2);
}

TEST_P(RegistryCoreTest, UpdateBumpsTheRevisionAndChecksTheExpectedOne) {
  Value args;
  args["definition"] = tool_definition("echoer");
  EXPECT_EQ(call("tool.update", args).code, ErrorCode::kNotFound);
  ASSERT_TRUE(call("tool.register", args).ok);
  args["definition"] = tool_definition("echoer", "now better");
  args["expected_revision"] = 1;
  RegistryReply updated = call("tool.update", args);
  ASSERT_TRUE(updated.ok) << updated.message;
  EXPECT_EQ(updated.result.get_int("revision"), 2);
  RegistryReply stale = call("tool.update", args);
  EXPECT_EQ(stale.code, ErrorCode::kConflict);
  EXPECT_NE(stale.message.find("revision 2, expected 1"), std::string::npos) << stale.message;
  RegistryReply got = call("tool.get", json(R"({"name": "echoer"})"));
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.result.find("definition")->get_string("description"), "now better");
  EXPECT_EQ(got.result.get_int("revision"), 2);
}

TEST_P(RegistryCoreTest, AnInvalidDefinitionIsRefusedNamingTheField) {
  Value d = tool_definition("echoer");
  d["timeout_ms"] = "soon";
  d["comand"] = Value::array();
  Value args;
  args["definition"] = d;
  RegistryReply r = call("tool.register", args);
  EXPECT_EQ(r.code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.message.find("definition.timeout_ms: expected an integer, got a string"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("definition.comand: unknown key (did you mean \"command\"?)"), std::string::npos)
      << r.message;
  EXPECT_EQ(call("tool.list", Value::object()).result.find("tools")->size(), 0u);
}

TEST_P(RegistryCoreTest, RemovedToolsAreGoneAndListedToolsAreSorted) {
  for (const char* name : {"zeta", "alpha"}) {
    Value args;
    args["definition"] = tool_definition(name);
    ASSERT_TRUE(call("tool.register", args).ok);
  }
  RegistryReply list = call("tool.list", Value::object());
  ASSERT_EQ(list.result.find("tools")->size(), 2u);
  EXPECT_EQ(list.result.find("tools")->as_array()[0].get_string("name"), "alpha");
  ASSERT_TRUE(call("tool.remove", json(R"({"name": "alpha"})")).ok);
  EXPECT_EQ(call("tool.get", json(R"({"name": "alpha"})")).code, ErrorCode::kNotFound);
  EXPECT_EQ(call("tool.remove", json(R"({"name": "alpha"})")).code, ErrorCode::kNotFound);
}

TEST_P(RegistryCoreTest, AnUnknownOperationIsRefusedWithASuggestion) {
  RegistryReply r = call("session.apend", Value::object());
  EXPECT_EQ(r.code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.message.find("did you mean \"session.append\""), std::string::npos) << r.message;
}

TEST_P(RegistryCoreTest, OldIdsAreForgottenPastTheLimitsButRecentOnesAreKept) {
  limits_.keep_applied_ids = 2;
  limits_.min_applied_age_ms = 60'000;
  limits_.applied_ttl_ms = 3'600'000;
  core_ = std::make_unique<RegistryCore>(*store_, limits_);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(create("s" + std::to_string(i)).ok);
  auto forget = [&](int64_t now) {
    EXPECT_TRUE(store_->begin().ok());
    auto n = core_->forget_old_ids(now);
    EXPECT_TRUE(store_->commit().ok());
    return n.ok() ? *n : -1;
  };
  EXPECT_EQ(forget(now_ms_ + 1000), 0);       // all younger than the minimum age
  EXPECT_EQ(forget(now_ms_ + 120'000), 3);    // past it: only the newest 2 stay
  EXPECT_EQ(forget(now_ms_ + 7'200'000), 2);  // past the ttl: none stay
  // A forgotten id is new again.
  EXPECT_EQ(call("session.create", json(R"({"name": "s0"})"), "id-1").code, ErrorCode::kConflict);
}

TEST_P(RegistryCoreTest, SessionsIdleLongerThanTheConfiguredTimeAreDeletedWithTheirTurns) {
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  auto expire = [&](int64_t now) {
    EXPECT_TRUE(store_->begin().ok());
    auto n = core_->forget_idle_sessions(now);
    EXPECT_TRUE(store_->commit().ok());
    return n.ok() ? *n : -1;
  };
  ASSERT_TRUE(create("old").ok);
  ASSERT_TRUE(append("old", 0, {message("user", "hi")}).ok);
  EXPECT_EQ(expire(now_ms_ + 400 * kDay), 0) << "kept for ever unless configured";
  limits_.keep_idle_sessions_ms = 30 * kDay;
  core_ = std::make_unique<RegistryCore>(*store_, limits_);
  now_ms_ += 20 * kDay;
  ASSERT_TRUE(create("recent").ok);
  ASSERT_TRUE(append("old", 1, {message("user", "still here")}).ok);  // a change keeps it
  EXPECT_EQ(expire(now_ms_ + 29 * kDay), 0);
  now_ms_ += 10 * kDay;
  ASSERT_TRUE(append("recent", 0, {message("user", "busy")}).ok);
  EXPECT_EQ(expire(now_ms_ + 21 * kDay), 1);  // "old": idle 31 days; "recent": 21
  EXPECT_EQ(call("session.get", json(R"({"name": "old"})")).code, ErrorCode::kNotFound);
  EXPECT_EQ(get("recent").find("turns")->size(), 1u);
  ASSERT_TRUE(create("old").ok);  // the name is free again, with no turns left behind
  EXPECT_EQ(get("old").find("turns")->size(), 0u);
}

TEST_P(RegistryCoreTest, StatusCountsRecordsAndRequests) {
  ASSERT_TRUE(create("chat").ok);
  ASSERT_TRUE(append("chat", 0, {message("user", "a")}).ok);
  RegistryReply r = call("status", Value::object());
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.result.get_int("sessions"), 1);
  EXPECT_EQ(r.result.get_int("turns"), 1);
  EXPECT_EQ(r.result.get_int("applied_ids"), 2);
  EXPECT_EQ(r.result.find("counters")->get_int("mutations"), 2);
  EXPECT_EQ(r.result.find("limits")->get_int("max_turn_bytes"), limits_.max_turn_bytes);
  EXPECT_EQ(r.result.find("limits")->get_int("max_reply_bytes"), limits_.max_reply_bytes);
}

Value appended_turn(const std::string& session, int64_t expected, const std::string& text) {
  Value args;
  args["name"] = session;
  args["expected_version"] = expected;
  args["create"] = true;
  args["messages"] = Value(Value::Array{message("user", text)});
  return args;
}

std::vector<const RegistryRequest*> pointers(const std::vector<RegistryRequest>& requests) {
  std::vector<const RegistryRequest*> out;
  for (const auto& r : requests) out.push_back(&r);
  return out;
}

std::string text_of(const RegistryReply& reply) { return to_json(protocol::to_body(reply)); }

// handle_batch answers, and leaves in the store, what handle() does one request after the other:
// in a batch where every mutation succeeds (one pass, no savepoints) and in one where some fail
// (handled again, each mutation in a savepoint).
TEST_P(RegistryCoreTest, ABatchIsHandledAsItsRequestsOneAfterTheOther) {
  const std::vector<RegistryRequest> succeeding = {
      {"q1", "session.append", "a1", appended_turn("a", 0, "one")},
      {"q2", "session.append", "b1", appended_turn("b", 0, "two")},
      {"q3", "session.append", "a2", appended_turn("a", 1, "three")},
      {"q4", "session.get", "", json(R"({"name": "a"})")},
      {"q5", "session.append", "a1", appended_turn("a", 0, "one")},  // a retry: the recorded reply
  };
  const std::vector<RegistryRequest> failing = {
      {"q6", "session.append", "a3", appended_turn("a", 2, "four")},
      {"q7", "session.append", "a4", appended_turn("a", 2, "stale")},  // 409
      {"q8", "session.create", "c1", json(R"({"name": "b"})")},        // 409: it exists
      {"q9", "session.append", "b2", appended_turn("b", 1, "five")},
      {"q10", "tool.remove", "t1", json(R"({"name": "none"})")},  // 404
      {"q11", "session.get", "", json(R"({"name": "b"})")},
      {"q12", "session.append", "a4", appended_turn("a", 2, "stale")},  // the recorded 409
  };
  auto reference_store = another_store();
  ASSERT_NE(reference_store, nullptr);
  RegistryCore reference(*reference_store, limits_);
  for (const auto* batch : {&succeeding, &failing}) {
    ASSERT_TRUE(store_->begin().ok());
    auto replies = core_->handle_batch(pointers(*batch), now_ms_);
    ASSERT_TRUE(replies.ok()) << replies.error().message;
    ASSERT_TRUE(store_->commit().ok());
    ASSERT_EQ(replies->size(), batch->size());
    ASSERT_TRUE(reference_store->begin().ok());
    for (size_t i = 0; i < batch->size(); ++i) {
      EXPECT_EQ(text_of((*replies)[i]), text_of(reference.handle((*batch)[i], now_ms_)))
          << "request " << (*batch)[i].request;
    }
    ASSERT_TRUE(reference_store->commit().ok());
  }
  const RegistryCounters& counted = core_->counters();
  const RegistryCounters& expected = reference.counters();
  EXPECT_EQ(counted.requests, expected.requests);
  EXPECT_EQ(counted.mutations, expected.mutations);
  EXPECT_EQ(counted.replays, expected.replays);
  EXPECT_EQ(counted.errors, expected.errors);
  for (const std::string session : {"a", "b"}) {
    Value args;
    args["name"] = session;
    ASSERT_TRUE(reference_store->begin().ok());
    RegistryReply stored = reference.handle({"q", "session.get", "", args}, now_ms_);
    ASSERT_TRUE(reference_store->commit().ok());
    EXPECT_EQ(to_json(get(session)), to_json(stored.result)) << session;
  }
  EXPECT_EQ(to_json(get("a")["version"]), "3");
}

TEST(RegistryCoreBatches, MutationsTakeASavepointOnlyInABatchWhereOneFails) {
  test::MemoryStore store;
  RegistryCore core(store, RegistryLimits{});
  const std::vector<RegistryRequest> succeeding = {
      {"q1", "session.append", "a1", appended_turn("a", 0, "one")},
      {"q2", "session.append", "b1", appended_turn("b", 0, "two")},
  };
  ASSERT_TRUE(store.begin().ok());
  ASSERT_TRUE(core.handle_batch(pointers(succeeding), 1).ok());
  ASSERT_TRUE(store.commit().ok());
  EXPECT_EQ(store.savepoints(), 0);

  const std::vector<RegistryRequest> failing = {
      {"q3", "session.append", "a2", appended_turn("a", 1, "three")},
      {"q4", "session.append", "b2", appended_turn("b", 0, "stale")},  // 409
      {"q5", "session.append", "b3", appended_turn("b", 1, "four")},
  };
  ASSERT_TRUE(store.begin().ok());
  auto replies = core.handle_batch(pointers(failing), 2);
  ASSERT_TRUE(store.commit().ok());
  ASSERT_TRUE(replies.ok());
  EXPECT_TRUE((*replies)[0].ok);
  EXPECT_EQ((*replies)[1].code, ErrorCode::kConflict);
  EXPECT_TRUE((*replies)[2].ok);
  EXPECT_EQ(store.savepoints(), 3);                     // the second pass: one per mutation
  EXPECT_EQ(store.turns("a", 0, 1 << 20)->size(), 2u);  // once each, not again for the first pass
  EXPECT_EQ(store.turns("b", 0, 1 << 20)->size(), 2u);
}

// A batch handled again after a conflict meets a write that fails half-way through a mutation:
// that mutation gets the storage error and leaves nothing behind; the others of the batch stand.
TEST(RegistryCoreFaults, AWriteFailingHalfWayThroughAMutationOfABatchTakesOnlyThatMutation) {
  test::MemoryStore store;
  RegistryCore core(store, RegistryLimits{});
  const std::vector<RegistryRequest> batch = {
      {"q1", "session.append", "k1", appended_turn("kept", 0, "one")},
      {"q2", "session.append", "s1", appended_turn("stale", 5, "two")},  // 409, ends the first pass
      {"q3", "session.append", "o1", appended_turn("other", 0, "three")},
  };
  // First pass: kept's turn, session and record (3 writes), then the 409 ends it. Second pass:
  // the same 3, the 409's record (1), other's turn (1), then other's session write fails.
  store.writes_before_one_failure = 3 + 3 + 1 + 1;
  ASSERT_TRUE(store.begin().ok());
  auto replies = core.handle_batch(pointers(batch), 1);
  ASSERT_TRUE(store.commit().ok());
  ASSERT_TRUE(replies.ok());
  EXPECT_TRUE((*replies)[0].ok) << (*replies)[0].message;
  EXPECT_EQ((*replies)[1].code, ErrorCode::kConflict);
  EXPECT_EQ((*replies)[2].code, ErrorCode::kIo);
  EXPECT_EQ(store.turns("kept", 0, 1 << 20)->size(), 1u);
  EXPECT_TRUE(store.turns("other", 0, 1 << 20)->empty());
  EXPECT_FALSE(store.session("other")->has_value());
  EXPECT_FALSE(store.applied("o1")->has_value());  // so a retry applies it
}

TEST(RegistryCoreFaults, AStorageFailureIsNotRememberedSoARetryTriesAgain) {
  test::MemoryStore store;
  RegistryCore core(store, RegistryLimits{});
  const RegistryRequest create{"q", "session.create", "create-1", json(R"({"name": "chat"})")};
  ASSERT_TRUE(store.begin().ok());
  store.writes_before_failure = 0;
  RegistryReply failed = core.handle(create, 1);
  EXPECT_EQ(failed.code, ErrorCode::kIo);
  store.writes_before_failure = -1;
  RegistryReply retried = core.handle(create, 2);
  ASSERT_TRUE(retried.ok) << retried.message;
  ASSERT_TRUE(store.commit().ok());
  auto session = store.session("chat");
  ASSERT_TRUE(session.ok() && session->has_value());
}

TEST(RegistryCoreFaults, AFailedMutationLeavesNothingBehindInItsBatch) {
  test::MemoryStore store;
  RegistryCore core(store, RegistryLimits{});
  ASSERT_TRUE(store.begin().ok());
  ASSERT_TRUE(core.handle({"q", "session.create", "a", json(R"({"name": "kept"})")}, 1).ok);
  ASSERT_TRUE(core.handle({"q", "session.create", "b", json(R"({"name": "chat"})")}, 1).ok);
  store.writes_before_failure = 1;  // the turn is added, then updating the session fails
  RegistryReply failed = core.handle({"q", "session.append", "c",
                                      json(R"({"name": "chat", "expected_version": 0,
                                               "messages": [{"role": "user", "content": "x"}]})")},
                                     1);
  store.writes_before_failure = -1;
  EXPECT_EQ(failed.code, ErrorCode::kIo);
  ASSERT_TRUE(store.commit().ok());
  EXPECT_EQ(store.turns("chat", 0, 1 << 20)->size(), 0u);
  EXPECT_TRUE(store.session("kept")->has_value());
}

}  // namespace
}  // namespace pl::registry
