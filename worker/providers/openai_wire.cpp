#include "worker/providers/openai_wire.h"

#include <algorithm>

#include "common/json.h"

namespace pl::worker::providers {
namespace {

constexpr std::string_view kName = "openai";

void append_message(Value& messages, const Message& m) {
  if (!m.tool_results.empty()) {
    for (const ToolResult& r : m.tool_results) {
      Value msg;
      msg["role"] = "tool";
      msg["tool_call_id"] = r.call_id;
      msg["content"] = r.is_error ? "error: " + r.content : r.content;
      messages.push_back(std::move(msg));
    }
    if (m.text.empty()) return;
  }
  Value msg;
  msg["role"] = m.role == Role::kUser ? "user" : "assistant";
  msg["content"] = m.text.empty() && !m.tool_calls.empty() ? Value() : Value(m.text);
  for (const ToolCall& call : m.tool_calls) {
    Value c;
    c["id"] = call.id;
    c["type"] = "function";
    c["function"]["name"] = call.name;
    c["function"]["arguments"] = to_json(call.arguments.is_object() ? call.arguments : Value::object());
    msg["tool_calls"].push_back(std::move(c));
  }
  messages.push_back(std::move(msg));
}

StopReason stop_reason_of(std::string_view s) {
  if (s == "stop" || s.empty()) return StopReason::kEndTurn;
  if (s == "tool_calls" || s == "function_call") return StopReason::kToolUse;
  if (s == "length") return StopReason::kMaxTokens;
  return StopReason::kOther;
}

Result<ToolCall> tool_call_of(const Value& v, const std::string& at) {
  if (!v.is_object()) return malformed(kName, at + " is not an object");
  const Value* fn = v.find("function");
  if (!fn || !fn->is_object()) return malformed(kName, at + ".function is not an object");
  const Value* name = fn->find("name");
  if (!name || !name->is_string()) return malformed(kName, at + ".function.name is not a string");
  ToolCall call;
  call.id = v.get_string("id");
  call.name = name->as_string();
  const Value* args = fn->find("arguments");
  if (!args || args->is_null()) {
    call.arguments = Value::object();
  } else if (args->is_object()) {
    call.arguments = *args;
  } else if (args->is_string()) {
    auto parsed = parse_json(args->as_string().empty() ? "{}" : args->as_string(), 64);
    // Text that is not a JSON object is the model's mistake: kept as it came, the tool loop
    // shows the model a failed call (provider.h).
    call.arguments = parsed.ok() && parsed->is_object() ? std::move(*parsed) : *args;
  } else {
    call.arguments = *args;
  }
  return call;
}

// prompt_tokens counts the whole prompt; prompt_tokens_details.cached_tokens, the part of it
// read from OpenAI's (automatic) prompt cache, is billed at a lower rate and kept apart.
Result<Usage> usage_of(const Value& usage) {
  if (!usage.is_object()) return malformed(kName, "\"usage\" is not an object");
  Usage u;
  auto prompt = usage_count(kName, usage, "prompt_tokens", "usage.");
  if (!prompt.ok()) return std::move(prompt).error();
  auto completion = usage_count(kName, usage, "completion_tokens", "usage.");
  if (!completion.ok()) return std::move(completion).error();
  u.input_tokens = *prompt;
  u.output_tokens = *completion;
  if (const Value* details = usage.find("prompt_tokens_details"); details && !details->is_null()) {
    if (!details->is_object()) {
      return malformed(kName, "usage.prompt_tokens_details is not an object");
    }
    auto cached = usage_count(kName, *details, "cached_tokens", "usage.prompt_tokens_details.");
    if (!cached.ok()) return std::move(cached).error();
    // A part cannot exceed its whole; were a server to say so, no price goes negative.
    u.cache_read_tokens = std::min(*cached, u.input_tokens);
  }
  return u;
}

}  // namespace

Result<std::string> OpenAiWire::url(const Endpoint& endpoint, const CompletionRequest&) const {
  return endpoint.base_url + "/chat/completions";
}

std::vector<std::pair<std::string, std::string>> OpenAiWire::headers(const Endpoint& endpoint) const {
  std::vector<std::pair<std::string, std::string>> h{{"content-type", "application/json"}};
  if (!endpoint.api_key.empty()) h.emplace_back("authorization", "Bearer " + endpoint.api_key);
  return h;
}

std::string OpenAiWire::encode(const Endpoint&, const CompletionRequest& r) const {
  Value body;
  body["model"] = r.model;
  Value messages = Value::array();
  if (!r.system.empty()) {
    Value sys;
    sys["role"] = "system";
    sys["content"] = r.system;
    messages.push_back(std::move(sys));
  }
  for (const Message& m : r.messages) append_message(messages, m);
  body["messages"] = std::move(messages);
  if (!r.tools.empty()) {
    for (const ToolSpec& t : r.tools) {
      Value tool;
      tool["type"] = "function";
      tool["function"]["name"] = t.name;
      if (!t.description.empty()) tool["function"]["description"] = t.description;
      Value params = t.input_schema.is_object() ? t.input_schema : Value::object();
      if (!params.find("type")) params["type"] = "object";
      tool["function"]["parameters"] = std::move(params);
      body["tools"].push_back(std::move(tool));
    }
    if (r.tool_choice == ToolChoice::kAny) body["tool_choice"] = "required";
  }
  if (r.max_tokens) body["max_tokens"] = *r.max_tokens;
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.top_p) body["top_p"] = *r.top_p;
  if (r.top_k) body["top_k"] = *r.top_k;
  if (r.json_output && r.tools.empty()) body["response_format"]["type"] = "json_object";
  return to_json(body);
}

Result<Completion> OpenAiWire::decode(std::string_view text, const CompletionRequest& request) const {
  auto parsed = parse_json(text, 64);
  if (!parsed.ok()) return malformed(kName, "not JSON (" + parsed.error().message + ")");
  const Value& body = *parsed;
  if (!body.is_object()) return malformed(kName, "the body is not an object");
  const Value* choices = body.find("choices");
  if (!choices || !choices->is_array() || choices->size() == 0) {
    return malformed(kName, "\"choices\" is not a non-empty list");
  }
  const Value& choice = choices->as_array().front();
  if (!choice.is_object()) return malformed(kName, "choices[0] is not an object");
  const Value* message = choice.find("message");
  if (!message || !message->is_object()) return malformed(kName, "choices[0].message is not an object");

  // Read first: the arguments of a tool call cut at the limit are JSON text cut mid-value.
  const Value* finish = choice.find("finish_reason");
  if (finish && !finish->is_null() && !finish->is_string()) {
    return malformed(kName, "choices[0].finish_reason is not a string");
  }
  Completion c;
  c.provider = std::string(kName);
  c.model = body.get_string("model", request.model);
  c.stop_detail = finish && finish->is_string() ? finish->as_string() : "";
  c.stop_reason = stop_reason_of(c.stop_detail);
  if (const Value* content = message->find("content"); content && !content->is_null()) {
    if (!content->is_string()) return malformed(kName, "choices[0].message.content is not a string");
    c.text = content->as_string();
  }
  if (const Value* calls = message->find("tool_calls"); calls && !calls->is_null()) {
    if (!calls->is_array()) return malformed(kName, "choices[0].message.tool_calls is not a list");
    if (calls->size() > 0 && is_cut(c.stop_reason)) {
      return cut_in_tool_call(kName, "finish_reason", c.stop_detail, c.stop_reason, request);
    }
    for (const Value& v : calls->as_array()) {
      auto call = tool_call_of(v, "tool_calls[" + std::to_string(c.tool_calls.size()) + "]");
      if (!call.ok()) return std::move(call).error();
      if (call->id.empty()) call->id = "call_" + std::to_string(c.tool_calls.size());
      c.tool_calls.push_back(std::move(*call));
    }
  }
  if (!c.tool_calls.empty()) c.stop_reason = StopReason::kToolUse;

  const Value* usage = body.find("usage");
  if (!usage || usage->is_null()) {
    c.usage = estimate_usage(request, c.text);
  } else {
    auto u = usage_of(*usage);
    if (!u.ok()) return std::move(u).error();
    c.usage = *u;
  }
  if (c.stop_detail == "content_filter") {
    return refused(kName, "the answer was withheld by a content filter", "finish_reason",
                   c.stop_detail);
  }
  // Structured outputs: a refusal comes as message.refusal, with no content.
  if (const Value* refusal = message->find("refusal");
      refusal && refusal->is_string() && !refusal->as_string().empty()) {
    return refused(kName, "the model refused to answer: " + body_excerpt(refusal->as_string()),
                   "finish_reason", c.stop_detail.empty() ? "none" : c.stop_detail);
  }
  if (c.text.empty() && c.tool_calls.empty()) {
    return empty_answer(kName, "finish_reason", c.stop_detail, c.stop_reason, request);
  }
  return c;
}

std::optional<Spent> OpenAiWire::billed(std::string_view body,
                                        const CompletionRequest& request) const {
  return billed_usage(body, request, kName, "usage", "model", usage_of);
}

std::string OpenAiWire::error_detail(std::string_view text) const {
  auto parsed = parse_json(text, 16);
  if (parsed.ok()) {
    const Value* error = parsed->find("error");
    if (error && error->is_string() && !error->as_string().empty()) {
      return body_excerpt(error->as_string());
    }
    if (error && error->is_object()) {
      const std::string type = error->get_string("type", error->get_string("code"));
      const std::string message = error->get_string("message");
      if (!type.empty() || !message.empty()) {
        return body_excerpt(type.empty() ? message : message.empty() ? type : type + ": " + message);
      }
    }
    const std::string message = parsed->get_string("message");
    if (!message.empty()) return body_excerpt(message);
  }
  return body_excerpt(text);
}

bool OpenAiWire::quota_exhausted(long status, std::string_view text) const {
  if (status != 429) return false;
  auto parsed = parse_json(text, 16);
  const Value* error = parsed.ok() ? parsed->find("error") : nullptr;
  if (!error || !error->is_object()) return false;
  return error->get_string("type") == "insufficient_quota" ||
         error->get_string("code") == "insufficient_quota";
}

}  // namespace pl::worker::providers
