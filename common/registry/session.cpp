#include "common/registry/session.h"

#include "common/protocol/body_reader.h"
#include "common/utf8.h"

namespace pl {
namespace {

Error invalid(std::string_view where, const std::string& what) {
  return make_error(ErrorCode::kInvalidInput, std::string(where) + ": " + what);
}

Result<TokenUsage> usage_from(const Value& v, const std::string& where) {
  if (!v.is_object()) return invalid(where, "expected a map, got " + a_kind(v.kind()));
  protocol::BodyReader r(v, where);
  TokenUsage u;
  u.input_tokens = r.optional_integer("input_tokens", 0);
  u.output_tokens = r.optional_integer("output_tokens", 0);
  if (!r.ok()) return r.status().error();
  if (u.input_tokens < 0 || u.output_tokens < 0) return invalid(where, "token counts must not be negative");
  return u;
}

Result<SessionMessage> message_from(const Value& v, const std::string& where) {
  if (!v.is_object()) return invalid(where, "expected a map, got " + a_kind(v.kind()));
  for (const auto& [key, _] : v.as_object()) {
    if (key != "role" && key != "content" && key != "usage" && key != "time_ms") {
      return invalid(where, "unknown key \"" + key + "\"");
    }
  }
  SessionMessage m;
  protocol::BodyReader r(v, where);
  m.role = r.string("role");
  m.content = r.value("content");
  m.time_ms = r.optional_integer("time_ms", 0);
  if (!r.ok()) return r.status().error();
  if (!is_valid_role(m.role)) {
    return invalid(where + ".role", "\"" + m.role + "\" is not one of user, assistant, system, tool");
  }
  if (m.content.is_null()) return invalid(where + ".content", "must not be null");
  if (const Value* usage = v.find("usage"); usage && !usage->is_null()) {
    auto u = usage_from(*usage, where + ".usage");
    if (!u.ok()) return std::move(u).error();
    m.usage = *u;
  }
  return m;
}

}  // namespace

TokenUsage SessionTurn::usage() const {
  TokenUsage total;
  for (const auto& m : messages) {
    if (m.usage) total += *m.usage;
  }
  return total;
}

std::vector<SessionMessage> Session::messages() const {
  std::vector<SessionMessage> out;
  for (const auto& t : turns) out.insert(out.end(), t.messages.begin(), t.messages.end());
  return out;
}

bool is_valid_session_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSessionName) return false;
  // Not UTF-8, two names would be one once written as JSON (each bad byte becomes U+FFFD).
  if (first_invalid_utf8(name) != std::string_view::npos) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool is_valid_role(std::string_view role) {
  return role == "user" || role == "assistant" || role == "system" || role == "tool";
}

Value to_value(const TokenUsage& u) {
  Value v;
  v["input_tokens"] = u.input_tokens;
  v["output_tokens"] = u.output_tokens;
  return v;
}

Value to_value(const SessionMessage& m) {
  Value v;
  v["role"] = m.role;
  v["content"] = m.content;
  if (m.usage) v["usage"] = to_value(*m.usage);
  v["time_ms"] = m.time_ms;
  return v;
}

Value to_value(const SessionTurn& t) {
  Value v;
  v["index"] = t.index;
  v["time_ms"] = t.time_ms;
  if (!t.origin.empty()) v["origin"] = t.origin;
  Value messages = Value::array();
  for (const auto& m : t.messages) messages.push_back(to_value(m));
  v["messages"] = std::move(messages);
  return v;
}

Value to_value(const SessionInfo& i) {
  Value v;
  v["name"] = i.name;
  v["version"] = i.version;
  if (i.max_turns > 0) v["max_turns"] = i.max_turns;
  v["created_ms"] = i.created_ms;
  v["updated_ms"] = i.updated_ms;
  v["usage"] = to_value(i.usage);
  return v;
}

Value to_value(const Session& s) {
  Value v = to_value(s.info);
  Value turns = Value::array();
  for (const auto& t : s.turns) turns.push_back(to_value(t));
  v["turns"] = std::move(turns);
  return v;
}

Result<std::vector<SessionMessage>> session_messages_from(const Value& list, std::string_view where) {
  if (!list.is_array()) {
    return invalid(where, "expected a list of messages, got " + a_kind(list.kind()));
  }
  std::vector<SessionMessage> out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto m = message_from(list.as_array()[i], std::string(where) + "[" + std::to_string(i) + "]");
    if (!m.ok()) return std::move(m).error();
    out.push_back(std::move(*m));
  }
  return out;
}

Result<SessionTurn> session_turn_from(const Value& v) {
  protocol::BodyReader r(v, "turn");
  SessionTurn t;
  t.index = r.integer("index");
  t.time_ms = r.optional_integer("time_ms", 0);
  t.origin = r.optional_string("origin");
  const Value messages = r.value("messages");
  if (!r.ok()) return r.status().error();
  auto list = session_messages_from(messages, "turn.messages");
  if (!list.ok()) return std::move(list).error();
  t.messages = std::move(*list);
  return t;
}

Result<SessionInfo> session_info_from(const Value& v) {
  protocol::BodyReader r(v, "session");
  SessionInfo i;
  i.name = r.string("name");
  i.version = r.integer("version");
  i.max_turns = r.optional_integer("max_turns", 0);
  i.created_ms = r.optional_integer("created_ms", 0);
  i.updated_ms = r.optional_integer("updated_ms", 0);
  const Value usage = r.optional_value("usage");
  if (!r.ok()) return r.status().error();
  if (!usage.is_null()) {
    auto u = usage_from(usage, "session.usage");
    if (!u.ok()) return std::move(u).error();
    i.usage = *u;
  }
  return i;
}

Result<Session> session_from(const Value& v) {
  auto info = session_info_from(v);
  if (!info.ok()) return std::move(info).error();
  Session s{std::move(*info), {}};
  if (const Value* turns = v.find("turns"); turns && turns->is_array()) {
    for (const auto& t : turns->as_array()) {
      auto turn = session_turn_from(t);
      if (!turn.ok()) return std::move(turn).error();
      s.turns.push_back(std::move(*turn));
    }
  }
  return s;
}

}  // namespace pl
