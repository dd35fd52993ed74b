#include "worker/providers/anthropic_wire.h"

#include <algorithm>

#include "common/json.h"

namespace pl::worker::providers {
namespace {

constexpr std::string_view kName = "anthropic";

// Tool results come first in a user turn, as the API requires; text first in an assistant turn.
Value content_blocks(const Message& m) {
  Value blocks = Value::array();
  for (const ToolResult& r : m.tool_results) {
    Value b;
    b["type"] = "tool_result";
    b["tool_use_id"] = r.call_id;
    b["content"] = r.content;
    if (r.is_error) b["is_error"] = true;
    blocks.push_back(std::move(b));
  }
  if (!m.text.empty()) {
    Value b;
    b["type"] = "text";
    b["text"] = m.text;
    blocks.push_back(std::move(b));
  }
  for (const ToolCall& call : m.tool_calls) {
    Value b;
    b["type"] = "tool_use";
    b["id"] = call.id;
    b["name"] = call.name;
    b["input"] = call.arguments.is_object() ? call.arguments : Value::object();
    blocks.push_back(std::move(b));
  }
  return blocks;
}

StopReason stop_reason_of(std::string_view s) {
  if (s == "end_turn") return StopReason::kEndTurn;
  if (s == "tool_use") return StopReason::kToolUse;
  if (s == "max_tokens") return StopReason::kMaxTokens;
  if (s == "model_context_window_exceeded") return StopReason::kContextWindowExceeded;
  return StopReason::kOther;
}

// The API's input_tokens leaves out the cached part of the prompt: ours counts it all and
// keeps the cache writes and reads apart, which are billed at other rates. Writes to the
// 1-hour cache cost more than those to the 5-minute one; usage.cache_creation says how many
// went where (when it is absent, all went to the 5-minute cache).
Result<Usage> usage_of(const Value& usage) {
  if (!usage.is_object()) return malformed(kName, "\"usage\" is not an object");
  Usage u;
  for (const auto& [key, count] :
       {std::pair{"input_tokens", &u.input_tokens}, std::pair{"output_tokens", &u.output_tokens},
        std::pair{"cache_creation_input_tokens", &u.cache_write_tokens},
        std::pair{"cache_read_input_tokens", &u.cache_read_tokens}}) {
    auto n = usage_count(kName, usage, key, "usage.");
    if (!n.ok()) return std::move(n).error();
    *count = *n;
  }
  if (const Value* split = usage.find("cache_creation"); split && !split->is_null()) {
    if (!split->is_object()) return malformed(kName, "usage.cache_creation is not an object");
    const std::string at = "usage.cache_creation.";
    auto one_hour = usage_count(kName, *split, "ephemeral_1h_input_tokens", at);
    auto five_minutes = usage_count(kName, *split, "ephemeral_5m_input_tokens", at);
    if (!one_hour.ok()) return std::move(one_hour).error();
    if (!five_minutes.ok()) return std::move(five_minutes).error();
    // The total, when the API leaves it out, is the sum of its parts.
    if (!usage.find("cache_creation_input_tokens")) {
      u.cache_write_tokens = *one_hour + *five_minutes;
    }
    u.cache_write_1h_tokens = std::min(*one_hour, u.cache_write_tokens);
  }
  u.input_tokens += u.cache_write_tokens + u.cache_read_tokens;
  return u;
}

// The text and tool_use blocks of `content` into `c`, whose stop reason is already read.
Status read_blocks(const Value& content, const CompletionRequest& request, Completion& c) {
  size_t index = 0;
  for (const Value& block : content.as_array()) {
    const std::string at = "content[" + std::to_string(index++) + "]";
    if (!block.is_object()) return malformed(kName, at + " is not an object");
    const std::string type = block.get_string("type");
    if (type == "text") {
      const Value* t = block.find("text");
      if (!t || !t->is_string()) return malformed(kName, at + ".text is not a string");
      c.text += t->as_string();
    } else if (type == "tool_use") {
      if (is_cut(c.stop_reason)) {
        return cut_in_tool_call(kName, "stop_reason", c.stop_detail, c.stop_reason, request);
      }
      const Value* id = block.find("id");
      const Value* name = block.find("name");
      const Value* input = block.find("input");
      if (!id || !id->is_string()) return malformed(kName, at + ".id is not a string");
      if (!name || !name->is_string()) return malformed(kName, at + ".name is not a string");
      // Input that is not an object is the model's mistake: kept, shown to it as a failed call.
      c.tool_calls.push_back(ToolCall{id->as_string(), name->as_string(),
                                      input && !input->is_null() ? *input : Value::object(), ""});
    }
  }
  return ok_status();
}

}  // namespace

Result<std::string> AnthropicWire::url(const Endpoint& endpoint, const CompletionRequest&) const {
  return endpoint.base_url + "/v1/messages";
}

std::vector<std::pair<std::string, std::string>> AnthropicWire::headers(
    const Endpoint& endpoint) const {
  return {{"content-type", "application/json"},
          {"x-api-key", endpoint.api_key},
          {"anthropic-version", endpoint.version.empty() ? "2023-06-01" : endpoint.version}};
}

std::string AnthropicWire::encode(const Endpoint& endpoint, const CompletionRequest& r) const {
  Value body;
  body["model"] = r.model;
  body["max_tokens"] = r.max_tokens.value_or(endpoint.default_max_tokens);
  if (!r.system.empty()) body["system"] = r.system;
  Value messages = Value::array();
  for (const Message& m : r.messages) {
    Value msg;
    msg["role"] = m.role == Role::kUser ? "user" : "assistant";
    const bool plain = m.tool_calls.empty() && m.tool_results.empty();
    msg["content"] = plain ? Value(m.text) : content_blocks(m);
    messages.push_back(std::move(msg));
  }
  body["messages"] = std::move(messages);
  if (!r.tools.empty()) {
    Value tools = Value::array();
    for (const ToolSpec& t : r.tools) {
      Value tool;
      tool["name"] = t.name;
      if (!t.description.empty()) tool["description"] = t.description;
      tool["input_schema"] = t.input_schema.is_object() ? t.input_schema : Value::object();
      if (!tool["input_schema"].find("type")) tool["input_schema"]["type"] = "object";
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
    if (r.tool_choice == ToolChoice::kAny) body["tool_choice"]["type"] = "any";
  }
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.top_p) body["top_p"] = *r.top_p;
  if (r.top_k) body["top_k"] = *r.top_k;
  return to_json(body);
}

Result<Completion> AnthropicWire::decode(std::string_view text, const CompletionRequest& request) const {
  auto parsed = parse_json(text, 64);
  if (!parsed.ok()) return malformed(kName, "not JSON (" + parsed.error().message + ")");
  const Value& body = *parsed;
  if (!body.is_object()) return malformed(kName, "the body is not an object");
  const Value* content = body.find("content");
  if (!content || !content->is_array()) return malformed(kName, "\"content\" is not a list");

  // Read first: a tool_use block of an answer cut at the limit must not be read, let alone run.
  const Value* stop = body.find("stop_reason");
  if (stop && !stop->is_null() && !stop->is_string()) {
    return malformed(kName, "\"stop_reason\" is not a string");
  }
  Completion c;
  c.provider = std::string(kName);
  c.model = body.get_string("model", request.model);
  c.stop_detail = stop && stop->is_string() ? stop->as_string() : "";
  c.stop_reason = stop_reason_of(c.stop_detail);
  if (auto st = read_blocks(*content, request, c); !st.ok()) return std::move(st).error();
  if (!c.tool_calls.empty()) c.stop_reason = StopReason::kToolUse;

  const Value* usage = body.find("usage");
  if (!usage || usage->is_null()) {
    c.usage = estimate_usage(request, c.text);
  } else {
    auto u = usage_of(*usage);
    if (!u.ok()) return std::move(u).error();
    c.usage = *u;
  }
  if (c.stop_detail == "refusal") {
    return refused(kName, "the model refused to answer", "stop_reason", c.stop_detail);
  }
  if (c.text.empty() && c.tool_calls.empty()) {
    return empty_answer(kName, "stop_reason", c.stop_detail, c.stop_reason, request);
  }
  return c;
}

std::optional<Spent> AnthropicWire::billed(std::string_view body,
                                           const CompletionRequest& request) const {
  return billed_usage(body, request, kName, "usage", "model", usage_of);
}

std::string AnthropicWire::error_detail(std::string_view text) const {
  auto parsed = parse_json(text, 16);
  if (parsed.ok()) {
    if (const Value* error = parsed->find("error"); error && error->is_object()) {
      const std::string type = error->get_string("type");
      const std::string message = error->get_string("message");
      if (!type.empty() || !message.empty()) {
        return body_excerpt(type.empty() ? message : message.empty() ? type : type + ": " + message);
      }
    }
  }
  return body_excerpt(text);
}

}  // namespace pl::worker::providers
