#include "worker/providers/gemini_wire.h"

#include <algorithm>

#include "common/json.h"
#include "worker/providers/retry_policy.h"

namespace pl::worker::providers {
namespace {

constexpr std::string_view kName = "gemini";

std::string_view bare_model(std::string_view model) {
  if (model.rfind("models/", 0) == 0) model.remove_prefix(7);
  return model;
}

Value text_part(const std::string& text) {
  Value p;
  p["text"] = text;
  return p;
}

// A tool's output as the object functionResponse.response must be.
Value response_object(const ToolResult& r) {
  Value out;
  auto parsed = parse_json(r.content, 64);
  Value content = parsed.ok() ? std::move(*parsed) : Value(r.content);
  out[r.is_error ? "error" : "result"] = std::move(content);
  return out;
}

Value parts_of(const Message& m) {
  Value parts = Value::array();
  for (const ToolResult& r : m.tool_results) {
    Value p;
    p["functionResponse"]["name"] = r.name;
    p["functionResponse"]["response"] = response_object(r);
    parts.push_back(std::move(p));
  }
  if (!m.text.empty()) parts.push_back(text_part(m.text));
  for (const ToolCall& call : m.tool_calls) {
    Value p;
    p["functionCall"]["name"] = call.name;
    p["functionCall"]["args"] = call.arguments.is_object() ? call.arguments : Value::object();
    if (!call.signature.empty()) p["thoughtSignature"] = call.signature;
    parts.push_back(std::move(p));
  }
  return parts;
}

// Any schema that says something is sent: one that constrains only by additionalProperties,
// required or minProperties, without `properties`, is still the function's contract. Only an
// empty one (a function that takes nothing) is left out.
bool says_something(const Value& schema) { return schema.is_object() && schema.size() > 0; }

StopReason stop_reason_of(std::string_view finish) {
  if (finish == "STOP" || finish.empty()) return StopReason::kEndTurn;
  if (finish == "MAX_TOKENS") return StopReason::kMaxTokens;
  return StopReason::kOther;
}

bool is_block_reason(std::string_view finish) {
  return finish == "SAFETY" || finish == "RECITATION" || finish == "BLOCKLIST" ||
         finish == "PROHIBITED_CONTENT" || finish == "SPII" || finish == "IMAGE_SAFETY";
}

// promptTokenCount counts the whole prompt, cachedContentTokenCount the part of it read from
// a cache (implicit or explicit), billed at a lower rate and kept apart. Tool-use prompt tokens
// are input too; thoughts are output.
Result<Usage> usage_of(const Value& meta) {
  Usage u;
  if (!meta.is_object()) return malformed(kName, "\"usageMetadata\" is not an object");
  const struct {
    const char* key;
    int64_t Usage::*count;
  } fields[] = {{"promptTokenCount", &Usage::input_tokens},
                {"toolUsePromptTokenCount", &Usage::input_tokens},
                {"cachedContentTokenCount", &Usage::cache_read_tokens},
                {"candidatesTokenCount", &Usage::output_tokens},
                {"thoughtsTokenCount", &Usage::output_tokens}};
  for (const auto& f : fields) {
    auto n = usage_count(kName, meta, f.key, "usageMetadata.");
    if (!n.ok()) return std::move(n).error();
    u.*f.count += *n;
  }
  // A part cannot exceed its whole; were the API to say so, no price goes negative.
  u.cache_read_tokens = std::min(u.cache_read_tokens, u.input_tokens);
  return u;
}

// The function call of one part, or a reason it cannot be read.
Result<ToolCall> function_call_of(const Value& part, const Value& call, const std::string& at,
                                  size_t index) {
  if (!call.is_object()) return malformed(kName, at + ".functionCall is not an object");
  const Value* name = call.find("name");
  const Value* args = call.find("args");
  if (!name || !name->is_string()) {
    return malformed(kName, at + ".functionCall.name is not a string");
  }
  ToolCall tc;
  tc.id = call.get_string("id", "call_" + std::to_string(index));
  tc.name = name->as_string();
  // Arguments that are not an object are the model's mistake, not the provider's: kept as they
  // are, the tool loop shows the model a failed call (provider.h).
  tc.arguments = !args || args->is_null() ? Value::object() : *args;
  tc.signature = part.get_string("thoughtSignature");
  return tc;
}

// The text and function calls of `parts` into `c`, whose stop reason is already read.
Status read_parts(const Value& parts, const CompletionRequest& request, Completion& c) {
  size_t index = 0;
  for (const Value& part : parts.as_array()) {
    const std::string at = "parts[" + std::to_string(index++) + "]";
    if (!part.is_object()) return malformed(kName, at + " is not an object");
    if (part.get_bool("thought")) continue;
    if (const Value* t = part.find("text")) {
      if (!t->is_string()) return malformed(kName, at + ".text is not a string");
      c.text += t->as_string();
    }
    if (const Value* call = part.find("functionCall")) {
      if (is_cut(c.stop_reason)) {
        return cut_in_tool_call(kName, "finishReason", c.stop_detail, c.stop_reason, request);
      }
      auto tc = function_call_of(part, *call, at, c.tool_calls.size());
      if (!tc.ok()) return std::move(tc).error();
      c.tool_calls.push_back(std::move(*tc));
    }
  }
  return ok_status();
}

}  // namespace

Result<std::string> GeminiWire::url(const Endpoint& endpoint, const CompletionRequest& r) const {
  const std::string_view model = bare_model(r.model);
  if (!is_plain_model_name(model)) {
    return make_error(ErrorCode::kInvalidInput,
                      "gemini: model name \"" + r.model + "\" has characters a model name cannot have");
  }
  return endpoint.base_url + "/v1beta/models/" + std::string(model) + ":generateContent";
}

std::vector<std::pair<std::string, std::string>> GeminiWire::headers(const Endpoint& endpoint) const {
  return {{"content-type", "application/json"}, {"x-goog-api-key", endpoint.api_key}};
}

std::string GeminiWire::encode(const Endpoint&, const CompletionRequest& r) const {
  Value body;
  Value contents = Value::array();
  for (const Message& m : r.messages) {
    Value content;
    content["role"] = m.role == Role::kUser ? "user" : "model";
    content["parts"] = parts_of(m);
    contents.push_back(std::move(content));
  }
  body["contents"] = std::move(contents);
  if (!r.system.empty()) body["systemInstruction"]["parts"].push_back(text_part(r.system));
  if (!r.tools.empty()) {
    Value declarations = Value::array();
    for (const ToolSpec& t : r.tools) {
      Value d;
      d["name"] = t.name;
      if (!t.description.empty()) d["description"] = t.description;
      // parametersJsonSchema takes full JSON Schema (additionalProperties, $schema, ...), which
      // `parameters`, Gemini's OpenAPI subset, rejects.
      if (says_something(t.input_schema)) d["parametersJsonSchema"] = t.input_schema;
      declarations.push_back(std::move(d));
    }
    Value tool;
    tool["functionDeclarations"] = std::move(declarations);
    body["tools"].push_back(std::move(tool));
    if (r.tool_choice == ToolChoice::kAny) {
      body["toolConfig"]["functionCallingConfig"]["mode"] = "ANY";
    }
  }
  Value config = Value::object();
  if (r.max_tokens) config["maxOutputTokens"] = *r.max_tokens;
  if (r.temperature) config["temperature"] = *r.temperature;
  if (r.top_p) config["topP"] = *r.top_p;
  if (r.top_k) config["topK"] = *r.top_k;
  if (r.json_output && r.tools.empty()) config["responseMimeType"] = "application/json";
  if (config.size() > 0) body["generationConfig"] = std::move(config);
  return to_json(body);
}

Result<Completion> GeminiWire::decode(std::string_view text, const CompletionRequest& request) const {
  auto parsed = parse_json(text, 64);
  if (!parsed.ok()) return malformed(kName, "not JSON (" + parsed.error().message + ")");
  const Value& body = *parsed;
  if (!body.is_object()) return malformed(kName, "the body is not an object");
  const Value* candidates = body.find("candidates");
  if (!candidates || candidates->is_null() || (candidates->is_array() && candidates->size() == 0)) {
    if (const Value* feedback = body.find("promptFeedback")) {
      const std::string reason = feedback->get_string("blockReason");
      if (!reason.empty()) {
        return make_error(ErrorCode::kStepFailed, "gemini: the prompt was blocked (" + reason + ")");
      }
    }
    return malformed(kName, "no candidates");
  }
  if (!candidates->is_array()) return malformed(kName, "\"candidates\" is not a list");
  const Value& first = candidates->as_array().front();
  if (!first.is_object()) return malformed(kName, "candidates[0] is not an object");

  Completion c;
  c.provider = std::string(kName);
  c.model = body.get_string("modelVersion", request.model);
  const Value* finish = first.find("finishReason");
  if (finish && !finish->is_null() && !finish->is_string()) {
    return malformed(kName, "candidates[0].finishReason is not a string");
  }
  c.stop_detail = finish && finish->is_string() ? finish->as_string() : "";
  // Blocked with or without partial content: the answer is unusable either way.
  if (is_block_reason(c.stop_detail)) {
    return refused(kName, "the answer was blocked", "finishReason", c.stop_detail);
  }

  c.stop_reason = stop_reason_of(c.stop_detail);
  const Value* content = first.find("content");
  const Value* parts = content ? content->find("parts") : nullptr;
  if (!parts || parts->is_null()) {
    if (content && !content->is_object()) return malformed(kName, "candidates[0].content is not an object");
  } else if (!parts->is_array()) {
    return malformed(kName, "candidates[0].content.parts is not a list");
  } else if (auto st = read_parts(*parts, request, c); !st.ok()) {
    return std::move(st).error();
  }
  if (!c.tool_calls.empty()) c.stop_reason = StopReason::kToolUse;

  const Value* meta = body.find("usageMetadata");
  if (!meta || meta->is_null()) {
    c.usage = estimate_usage(request, c.text);
  } else {
    auto usage = usage_of(*meta);
    if (!usage.ok()) return std::move(usage).error();
    c.usage = *usage;
  }
  if (c.text.empty() && c.tool_calls.empty()) {
    return empty_answer(kName, "finishReason", c.stop_detail, c.stop_reason, request);
  }
  return c;
}

std::optional<Spent> GeminiWire::billed(std::string_view body,
                                        const CompletionRequest& request) const {
  return billed_usage(body, request, kName, "usageMetadata", "modelVersion", usage_of);
}

std::string GeminiWire::error_detail(std::string_view text) const {
  auto parsed = parse_json(text, 32);
  if (parsed.ok()) {
    if (const Value* error = parsed->find("error"); error && error->is_object()) {
      const std::string status = error->get_string("status");
      const std::string message = error->get_string("message");
      if (!status.empty() || !message.empty()) {
        return body_excerpt(status.empty() ? message : message.empty() ? status : status + ": " + message);
      }
    }
  }
  return body_excerpt(text);
}

std::optional<Duration> GeminiWire::retry_hint(std::string_view text) const {
  auto parsed = parse_json(text, 32);
  if (!parsed.ok()) return std::nullopt;
  const Value* error = parsed->find("error");
  const Value* details = error ? error->find("details") : nullptr;
  if (!details || !details->is_array()) return std::nullopt;
  for (const Value& d : details->as_array()) {
    const std::string type = d.get_string("@type");
    if (type.size() >= 9 && type.compare(type.size() - 9, 9, "RetryInfo") == 0) {
      return parse_seconds_suffix(d.get_string("retryDelay"));
    }
  }
  return std::nullopt;
}

}  // namespace pl::worker::providers
