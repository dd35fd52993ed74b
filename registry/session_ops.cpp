#include <algorithm>
#include <limits>

#include "common/json.h"
#include "common/protocol/body_reader.h"
#include "common/registry/session.h"
#include "registry/registry_ops.h"

namespace pl::registry::ops {
namespace {

constexpr size_t kMaxOrigin = 200;

Error no_session(const std::string& name) {
  return make_error(ErrorCode::kNotFound, "no session \"" + name + "\"");
}

Error version_conflict(const std::string& name, int64_t actual, int64_t expected) {
  return make_error(ErrorCode::kConflict, "session \"" + name + "\" is at version " +
                                              std::to_string(actual) + ", expected " +
                                              std::to_string(expected));
}

// Which names a request may give: a new name must be valid; one that only reads, truncates or
// deletes may also give a name stored before names had to be UTF-8, so that it can be removed.
enum class Names { kValid, kAlsoLegacy };

// The session name of a request, checked.
Result<std::string> name_arg(const Value& args, std::string_view op, Names names = Names::kValid) {
  protocol::BodyReader r(args, op);
  std::string name = r.string("name");
  if (!r.ok()) return r.status().error();
  if (is_valid_session_name(name)) return name;
  if (names == Names::kAlsoLegacy && !name.empty() && name.size() <= kMaxSessionName) return name;
  return make_error(
      ErrorCode::kInvalidInput,
      std::string(op) + ": \"" + name +
          "\" is not a valid session name (1 to 200 bytes of UTF-8 text, no control characters)");
}

Result<std::optional<SessionRecord>> find(const OpContext& c, const std::string& name) {
  return c.store.session(name);
}

Status check_non_negative(std::string_view op, std::string_view field, int64_t v) {
  if (v >= 0) return ok_status();
  return make_error(ErrorCode::kInvalidInput, std::string(op) + ": field \"" + std::string(field) +
                                                  "\" is " + std::to_string(v) + ", expected 0 or more");
}

// The lowest turn limit in force for an append, and what it is called in errors.
std::pair<int64_t, std::string> turn_limit(const OpContext& c, const SessionRecord& s, int64_t asked) {
  std::pair<int64_t, std::string> limit{c.limits.max_session_turns, "the registry's limit of"};
  if (s.max_turns > 0 && s.max_turns <= limit.first) limit = {s.max_turns, "its max_turns of"};
  if (asked > 0 && asked < limit.first) limit = {asked, "the step's max_turns of"};
  return limit;
}

}  // namespace

Value session_value(const SessionRecord& s) {
  return to_value(SessionInfo{s.name, s.version, s.max_turns, s.created_ms, s.updated_ms, s.usage});
}

Result<Value> create_session(const OpContext& c, const Value& args) {
  auto name = name_arg(args, "session.create");
  if (!name.ok()) return std::move(name).error();
  protocol::BodyReader r(args, "session.create");
  const int64_t max_turns = r.optional_integer("max_turns", 0);
  const bool exist_ok = r.optional_boolean("exist_ok", false);
  if (!r.ok()) return r.status().error();
  if (auto st = check_non_negative("session.create", "max_turns", max_turns); !st.ok()) return st.error();
  auto existing = find(c, *name);
  if (!existing.ok()) return std::move(existing).error();
  if (*existing) {
    if (exist_ok) return session_value(**existing);
    return make_error(ErrorCode::kConflict, "session \"" + *name + "\" already exists (version " +
                                                std::to_string((*existing)->version) + ")");
  }
  SessionRecord s{*name, 0, max_turns, c.now_ms, c.now_ms, {}};
  if (auto st = c.store.put_session(s); !st.ok()) return std::move(st).error();
  return session_value(s);
}

Result<Value> get_session(const OpContext& c, const Value& args) {
  auto name = name_arg(args, "session.get", Names::kAlsoLegacy);
  if (!name.ok()) return std::move(name).error();
  protocol::BodyReader r(args, "session.get");
  const int64_t last = r.optional_integer("last_turns", 0);
  const int64_t after_turn = r.optional_integer("after_turn", -1);  // -1: not paging
  const int64_t max_bytes = r.optional_integer("max_bytes", 0);       // 0: no byte budget
  if (!r.ok()) return r.status().error();
  if (auto st = check_non_negative("session.get", "last_turns", last); !st.ok()) return st.error();
  if (auto st = check_non_negative("session.get", "max_bytes", max_bytes); !st.ok()) {
    return st.error();
  }
  if (args.find("after_turn")) {
    if (auto st = check_non_negative("session.get", "after_turn", after_turn); !st.ok()) {
      return st.error();
    }
  }
  auto existing = find(c, *name);
  if (!existing.ok()) return std::move(existing).error();
  if (!*existing) return no_session(*name);
  const SessionRecord& s = **existing;
  const bool paging = after_turn >= 0;
  int64_t after = paging ? after_turn : last > 0 ? std::max<int64_t>(0, s.version - last) : 0;
  if (!paging && max_bytes > 0) {
    // The newest turns that fit the budget (a history window), oldest dropped: never a 413.
    auto from = c.store.newest_turns_within(*name, after,
                                            std::min(max_bytes, c.limits.max_reply_bytes));
    if (!from.ok()) return std::move(from).error();
    after = *from;
  }
  auto turns = c.store.turns(*name, after, c.limits.max_reply_bytes);
  if (!turns.ok()) return std::move(turns).error();
  int64_t bytes = 0;
  for (const auto& t : *turns) bytes += static_cast<int64_t>(t.messages.size());
  if (bytes > c.limits.max_reply_bytes) {
    if (!paging) {
      return make_error(ErrorCode::kTooLarge,
                        "session \"" + *name + "\": its turns after turn " + std::to_string(after) +
                            " take more than the reply limit of " +
                            std::to_string(c.limits.max_reply_bytes) +
                            " bytes; ask for fewer with last_turns, or in pages with after_turn");
    }
    // A page holds whole turns within the limit, and at least one so that paging goes on.
    if (turns->size() > 1) turns->pop_back();
  }
  Value v = session_value(s);
  Value list = Value::array();
  for (const auto& t : *turns) {
    auto messages = parse_json(t.messages);
    if (!messages.ok()) {
      return make_error(ErrorCode::kIo, "registry.db holds a damaged turn " + std::to_string(t.index) +
                                            " of session \"" + *name + "\": " + messages.error().message);
    }
    Value turn;
    turn["index"] = t.index;
    turn["time_ms"] = t.time_ms;
    if (!t.origin.empty()) turn["origin"] = t.origin;
    turn["messages"] = std::move(*messages);
    list.push_back(std::move(turn));
  }
  v["turns"] = std::move(list);
  if (paging) v["more"] = !turns->empty() && turns->back().index < s.version;
  return v;
}

Result<Value> list_sessions(const OpContext& c, const Value& args) {
  protocol::BodyReader r(args, "session.list");
  const int64_t limit = r.optional_integer("limit", c.limits.max_list);
  if (!r.ok()) return r.status().error();
  const size_t wanted = static_cast<size_t>(std::clamp<int64_t>(limit, 1, c.limits.max_list));
  auto sessions = c.store.sessions(wanted + 1);
  if (!sessions.ok()) return std::move(sessions).error();
  Value list = Value::array();
  for (size_t i = 0; i < sessions->size() && i < wanted; ++i) {
    list.push_back(session_value((*sessions)[i]));
  }
  Value v;
  v["sessions"] = std::move(list);
  v["truncated"] = sessions->size() > wanted;
  return v;
}

Result<Value> append_turn(const OpContext& c, const Value& args) {
  constexpr std::string_view kOp = "session.append";
  auto name = name_arg(args, kOp);
  if (!name.ok()) return std::move(name).error();
  protocol::BodyReader r(args, kOp);
  const int64_t expected = r.integer("expected_version");
  const int64_t max_turns = r.optional_integer("max_turns", 0);
  const bool create = r.optional_boolean("create", false);
  std::string origin = r.optional_string("origin");
  if (!r.ok()) return r.status().error();
  if (origin.size() > kMaxOrigin) {
    return make_error(ErrorCode::kInvalidInput, "session.append: field \"origin\" is longer than " +
                                                    std::to_string(kMaxOrigin) + " bytes");
  }
  if (auto st = check_non_negative(kOp, "expected_version", expected); !st.ok()) return st.error();
  if (auto st = check_non_negative(kOp, "max_turns", max_turns); !st.ok()) return st.error();

  const Value* messages_arg = args.find("messages");
  if (!messages_arg) return make_error(ErrorCode::kInvalidInput, "session.append: field \"messages\" is missing");
  auto messages = session_messages_from(*messages_arg, "messages");
  if (!messages.ok()) return std::move(messages).error();
  if (messages->empty()) {
    return make_error(ErrorCode::kInvalidInput, "messages: a turn needs at least one message");
  }
  TurnRecord turn;
  turn.time_ms = c.now_ms;
  turn.origin = std::move(origin);
  Value list = Value::array();
  for (auto& m : *messages) {
    if (m.time_ms == 0) m.time_ms = c.now_ms;
    if (m.usage) turn.usage += *m.usage;
    list.push_back(to_value(m));
  }
  turn.messages = to_json(list);
  if (static_cast<int64_t>(turn.messages.size()) > c.limits.max_turn_bytes) {
    return make_error(ErrorCode::kTooLarge, "the turn is " + std::to_string(turn.messages.size()) +
                                                " bytes, over the limit of " +
                                                std::to_string(c.limits.max_turn_bytes));
  }

  auto existing = find(c, *name);
  if (!existing.ok()) return std::move(existing).error();
  SessionRecord s{*name, 0, max_turns, c.now_ms, c.now_ms, {}};
  if (*existing) {
    s = **existing;
  } else if (!create) {
    return no_session(*name);
  }
  if (s.version != expected) return version_conflict(*name, s.version, expected);
  // A writer asking for more turns than the session's own limit raises it: the limit is the
  // conversation owner's choice, and the step's max_turns is where that choice is written.
  if (s.max_turns > 0 && max_turns > s.max_turns) s.max_turns = max_turns;
  const auto [limit, limit_name] = turn_limit(c, s, max_turns);
  if (s.version + 1 > limit) {
    return make_error(ErrorCode::kTooLarge, "session \"" + *name + "\" has reached " + limit_name +
                                                " " + std::to_string(limit) + " turns");
  }
  turn.index = s.version + 1;
  if (auto st = c.store.add_turn(*name, turn); !st.ok()) return std::move(st).error();
  s.version = turn.index;
  s.updated_ms = c.now_ms;
  s.usage += turn.usage;
  if (auto st = c.store.put_session(s); !st.ok()) return std::move(st).error();
  Value v;
  v["name"] = *name;
  v["version"] = s.version;
  return v;
}

Result<Value> truncate_session(const OpContext& c, const Value& args) {
  constexpr std::string_view kOp = "session.truncate";
  auto name = name_arg(args, kOp, Names::kAlsoLegacy);
  if (!name.ok()) return std::move(name).error();
  protocol::BodyReader r(args, kOp);
  const int64_t keep = r.integer("keep_turns");
  const int64_t expected = r.optional_integer("expected_version", -1);
  if (!r.ok()) return r.status().error();
  if (auto st = check_non_negative(kOp, "keep_turns", keep); !st.ok()) return st.error();
  auto existing = find(c, *name);
  if (!existing.ok()) return std::move(existing).error();
  if (!*existing) return no_session(*name);
  SessionRecord s = **existing;
  if (expected >= 0 && s.version != expected) return version_conflict(*name, s.version, expected);
  if (keep < s.version) {
    if (auto st = c.store.remove_turns_after(*name, keep); !st.ok()) return std::move(st).error();
    auto kept = c.store.turns(*name, 0, std::numeric_limits<int64_t>::max());
    if (!kept.ok()) return std::move(kept).error();
    s.usage = {};
    for (const auto& t : *kept) s.usage += t.usage;
    s.version = keep;
    s.updated_ms = c.now_ms;
    if (auto st = c.store.put_session(s); !st.ok()) return std::move(st).error();
  }
  Value v;
  v["name"] = *name;
  v["version"] = s.version;
  return v;
}

Result<Value> delete_session(const OpContext& c, const Value& args) {
  auto name = name_arg(args, "session.delete", Names::kAlsoLegacy);
  if (!name.ok()) return std::move(name).error();
  auto existing = find(c, *name);
  if (!existing.ok()) return std::move(existing).error();
  if (!*existing) return no_session(*name);
  if (auto st = c.store.remove_session(*name); !st.ok()) return std::move(st).error();
  Value v;
  v["name"] = *name;
  v["deleted"] = true;
  return v;
}

}  // namespace pl::registry::ops
