#include "tests/fakes/fake_llm.h"

#include <ctime>
#include <optional>

#include "common/json.h"

namespace pl::fakes {
namespace {

std::vector<std::string> marker(const std::string& body) {
  const size_t start = body.find("[[fake:");
  if (start == std::string::npos) return {"ok"};
  const size_t end = body.find("]]", start);
  if (end == std::string::npos) return {"ok"};
  std::vector<std::string> parts;
  std::string inner = body.substr(start + 7, end - start - 7);
  size_t pos = 0;
  for (;;) {
    const size_t colon = inner.find(':', pos);
    parts.push_back(inner.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos));
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return parts;
}

std::string arg(const std::vector<std::string>& m, size_t i, std::string fallback = "") {
  return i < m.size() ? m[i] : fallback;
}

std::string http_date_in(int seconds) {
  const std::time_t t = std::time(nullptr) + seconds;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

Value usage(const std::string& api) {
  Value u;
  if (api == "anthropic") {
    u["input_tokens"] = 11;  // the part of the prompt not written to or read from the cache
    u["output_tokens"] = 7;
    u["cache_creation_input_tokens"] = 0;
    u["cache_read_input_tokens"] = 0;
  } else if (api == "gemini") {
    u["promptTokenCount"] = 11;
    u["candidatesTokenCount"] = 7;
    u["totalTokenCount"] = 18;
  } else {
    u["prompt_tokens"] = 11;
    u["completion_tokens"] = 7;
    u["total_tokens"] = 18;
  }
  return u;
}

std::string text_reply(const std::string& api, const std::string& model, const std::string& text) {
  Value r;
  if (api == "anthropic") {
    r["id"] = "msg_fake";
    r["type"] = "message";
    r["role"] = "assistant";
    r["model"] = model;
    Value block;
    block["type"] = "text";
    block["text"] = text;
    r["content"].push_back(block);
    r["stop_reason"] = "end_turn";
    r["usage"] = usage(api);
  } else if (api == "gemini") {
    Value part;
    part["text"] = text;
    Value candidate;
    candidate["content"]["role"] = "model";
    candidate["content"]["parts"].push_back(part);
    candidate["finishReason"] = "STOP";
    r["candidates"].push_back(candidate);
    r["usageMetadata"] = usage(api);
    r["modelVersion"] = model;
  } else {
    r["id"] = "chatcmpl-fake";
    r["object"] = "chat.completion";
    r["model"] = model;
    Value choice;
    choice["index"] = 0;
    choice["message"]["role"] = "assistant";
    choice["message"]["content"] = text;
    choice["finish_reason"] = "stop";
    r["choices"].push_back(choice);
    r["usage"] = usage(api);
  }
  return to_json(r);
}

std::string tool_reply(const std::string& api, const std::string& model, const std::string& tool) {
  Value args;
  args["query"] = "fake";
  Value r;
  if (api == "anthropic") {
    r["id"] = "msg_fake";
    r["type"] = "message";
    r["role"] = "assistant";
    r["model"] = model;
    Value block;
    block["type"] = "tool_use";
    block["id"] = "toolu_fake_1";
    block["name"] = tool;
    block["input"] = args;
    r["content"].push_back(block);
    r["stop_reason"] = "tool_use";
    r["usage"] = usage(api);
  } else if (api == "gemini") {
    Value part;
    part["functionCall"]["name"] = tool;
    part["functionCall"]["args"] = args;
    Value candidate;
    candidate["content"]["role"] = "model";
    candidate["content"]["parts"].push_back(part);
    candidate["finishReason"] = "STOP";
    r["candidates"].push_back(candidate);
    r["usageMetadata"] = usage(api);
    r["modelVersion"] = model;
  } else {
    r["id"] = "chatcmpl-fake";
    r["model"] = model;
    Value call;
    call["id"] = "call_fake_1";
    call["type"] = "function";
    call["function"]["name"] = tool;
    call["function"]["arguments"] = to_json(args);
    Value choice;
    choice["index"] = 0;
    choice["message"]["role"] = "assistant";
    choice["message"]["content"] = Value();
    choice["message"]["tool_calls"].push_back(call);
    choice["finish_reason"] = "tool_calls";
    r["choices"].push_back(choice);
    r["usage"] = usage(api);
  }
  return to_json(r);
}

// The API's words for "stopped at the output-token limit".
std::string cut_stop(const std::string& api) {
  return api == "anthropic" ? "max_tokens" : api == "gemini" ? "MAX_TOKENS" : "length";
}

// `reply` (text_reply() or tool_reply()) as if cut at the output-token limit. OpenAI's tool
// arguments, JSON text, end mid-value.
std::string cut(const std::string& api, const std::string& reply) {
  Value r = *parse_json(reply);
  if (api == "anthropic") {
    r["stop_reason"] = cut_stop(api);
  } else if (api == "gemini") {
    r["candidates"].as_array()[0]["finishReason"] = cut_stop(api);
  } else {
    Value& choice = r["choices"].as_array()[0];
    choice["finish_reason"] = cut_stop(api);
    if (choice["message"].find("tool_calls")) {
      choice["message"]["tool_calls"].as_array()[0]["function"]["arguments"] = R"({"query": "fa)";
    }
  }
  return to_json(r);
}

// Prompt-cache usage: `write` tokens written (`write_1h` of them to the 1-hour cache) and
// `read` read, each API in its own words.
std::string with_cache_usage(const std::string& api, const std::string& reply, int64_t write,
                             int64_t read, int64_t write_1h) {
  Value r = *parse_json(reply);
  Value& u = r[api == "gemini" ? "usageMetadata" : "usage"];
  if (api == "anthropic") {
    u["cache_creation_input_tokens"] = write;
    u["cache_read_input_tokens"] = read;
    if (write_1h > 0) {
      u["cache_creation"]["ephemeral_5m_input_tokens"] = write - write_1h;
      u["cache_creation"]["ephemeral_1h_input_tokens"] = write_1h;
    }
  } else if (api == "gemini") {
    u["promptTokenCount"] = 11 + read;
    u["cachedContentTokenCount"] = read;
  } else {
    u["prompt_tokens"] = 11 + read;
    u["prompt_tokens_details"]["cached_tokens"] = read;
  }
  return to_json(r);
}

std::string error_body(const std::string& api, int status) {
  Value r;
  const std::string message = "fake " + std::to_string(status);
  if (api == "anthropic") {
    r["type"] = "error";
    r["error"]["type"] = status == 429   ? "rate_limit_error"
                         : status == 529 ? "overloaded_error"
                         : status == 401 ? "authentication_error"
                         : status >= 500 ? "api_error"
                                         : "invalid_request_error";
    r["error"]["message"] = message;
  } else if (api == "gemini") {
    r["error"]["code"] = status;
    r["error"]["message"] = message;
    r["error"]["status"] = status == 429 ? "RESOURCE_EXHAUSTED" : status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
  } else {
    r["error"]["message"] = message;
    r["error"]["type"] = status == 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : "invalid_request_error";
  }
  return to_json(r);
}

std::string wrong_types(const std::string& api) {
  if (api == "anthropic") return R"({"content": "not a list", "usage": {"input_tokens": "many"}})";
  if (api == "gemini") return R"({"candidates": [{"content": {"parts": [{"text": 42}]}}]})";
  return R"({"choices": [{"message": {"content": ["not", "a", "string"]}}]})";
}

std::string first_tool(const std::string& api, const Value& body) {
  const Value* tools = body.find("tools");
  if (!tools || !tools->is_array() || tools->size() == 0) return "";
  const Value& t = tools->as_array().front();
  if (api == "anthropic") return t.get_string("name");
  if (api == "gemini") {
    const Value* decls = t.find("functionDeclarations");
    return decls && decls->is_array() && decls->size() > 0 ? decls->as_array().front().get_string("name") : "";
  }
  const Value* fn = t.find("function");
  return fn ? fn->get_string("name") : "";
}

// The content of the tool result in the request's last message, if it has one.
std::optional<std::string> tool_result(const std::string& api, const Value& body) {
  const Value* list = body.find(api == "gemini" ? "contents" : "messages");
  if (!list || !list->is_array() || list->size() == 0) return std::nullopt;
  const Value& last = list->as_array().back();
  if (api == "openai") {
    if (last.get_string("role") == "tool") return last.get_string("content");
    return std::nullopt;
  }
  const Value* parts = last.find(api == "gemini" ? "parts" : "content");
  if (!parts || !parts->is_array()) return std::nullopt;
  for (const Value& p : parts->as_array()) {
    if (api == "gemini") {
      if (const Value* r = p.find("functionResponse")) return to_json(r->find("response") ? *r->find("response") : Value());
    } else if (p.get_string("type") == "tool_result") {
      const Value* c = p.find("content");
      return c && c->is_string() ? c->as_string() : to_json(c ? *c : Value());
    }
  }
  return std::nullopt;
}

HttpReply json_reply(int status, std::string body) {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A JSON Schema keyword anywhere in `schema` that Gemini's `parameters` (its OpenAPI subset)
// rejects as an unknown name; "" when there is none.
std::string json_schema_only_keyword(const Value& schema) {
  if (schema.is_array()) {
    for (const Value& v : schema.as_array()) {
      if (std::string k = json_schema_only_keyword(v); !k.empty()) return k;
    }
  }
  if (!schema.is_object()) return "";
  for (const auto& [key, v] : schema.as_object()) {
    if (key == "additionalProperties" || key == "$schema" || key == "$ref" || key == "$defs") {
      return key;
    }
    if (std::string k = json_schema_only_keyword(v); !k.empty()) return k;
  }
  return "";
}

// Gemini's 400 for a function declaration it would refuse, else nullopt.
std::optional<HttpReply> bad_gemini_declaration(const Value& body) {
  const Value* tools = body.find("tools");
  if (!tools || !tools->is_array()) return std::nullopt;
  for (const Value& tool : tools->as_array()) {
    const Value* decls = tool.find("functionDeclarations");
    if (!decls || !decls->is_array()) continue;
    for (const Value& d : decls->as_array()) {
      std::string why;
      if (d.find("parameters") && d.find("parametersJsonSchema")) {
        why = "parameters and parametersJsonSchema are mutually exclusive";
      } else if (const Value* p = d.find("parameters")) {
        if (std::string k = json_schema_only_keyword(*p); !k.empty()) {
          why = "Invalid JSON payload received. Unknown name \"" + k + "\"";
        }
      }
      if (!why.empty()) {
        Value error;
        error["error"]["code"] = 400;
        error["error"]["status"] = "INVALID_ARGUMENT";
        error["error"]["message"] = why;
        return json_reply(400, to_json(error));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

HttpReply FakeLlm::handle(const HttpRequestIn& request) {
  {
    std::lock_guard lock(mutex_);
    if (request.method == "GET" && request.path == "/__requests") return json_reply(200, to_json(log_));
    Value entry;
    entry["method"] = request.method;
    entry["path"] = request.path;
    for (const auto& [k, v] : request.headers) entry["headers"][k] = v;
    auto parsed = parse_json(request.body, 128);
    entry["body"] = parsed.ok() ? *parsed : Value(request.body);
    log_.push_back(std::move(entry));
  }
  const std::string& path = request.path;
  if (path == "/v1/messages") {
    auto h = request.headers;
    if (h["x-api-key"].empty() || h["anthropic-version"].empty()) return json_reply(401, error_body("anthropic", 401));
    Value body = parse_json(request.body).ok() ? *parse_json(request.body) : Value();
    return answer(request, "anthropic", body.get_string("model"));
  }
  const size_t models = path.find("/v1beta/models/");
  const size_t verb = path.find(":generateContent");
  if (models != std::string::npos && verb != std::string::npos && verb > models) {
    auto h = request.headers;
    if (h["x-goog-api-key"].empty()) return json_reply(401, error_body("gemini", 401));
    return answer(request, "gemini", path.substr(models + 15, verb - models - 15));
  }
  if (path.size() >= 17 && path.compare(path.size() - 17, 17, "/chat/completions") == 0) {
    Value body = parse_json(request.body).ok() ? *parse_json(request.body) : Value();
    return answer(request, "openai", body.get_string("model"));
  }
  return json_reply(404, R"({"error": "no such route"})");
}

HttpReply FakeLlm::answer(const HttpRequestIn& request, const std::string& api, const std::string& model) {
  const std::vector<std::string> m = marker(request.body);
  const std::string& kind = m[0];
  auto parsed = parse_json(request.body, 128);
  const Value body = parsed.ok() ? *parsed : Value();
  const std::string ok_text = "fake " + api + " answer from " + model;

  if (api == "gemini") {
    if (auto refused = bad_gemini_declaration(body)) return *refused;
  }
  if (kind == "json") return json_reply(200, text_reply(api, model, R"({"answer": 42, "items": ["a", "b"]})"));
  if (kind == "tool") {
    if (auto result = tool_result(api, body)) return json_reply(200, text_reply(api, model, "tool said: " + *result));
    const std::string tool = first_tool(api, body);
    if (tool.empty()) return json_reply(200, text_reply(api, model, ok_text));
    return json_reply(200, tool_reply(api, model, tool));
  }
  if (kind == "status") {
    const int status = std::atoi(arg(m, 1, "500").c_str());
    HttpReply r = json_reply(status, error_body(api, status));
    const std::string after = arg(m, 2);
    if (!after.empty()) r.headers["Retry-After"] = after == "date" ? http_date_in(1) : after;
    return r;
  }
  if (kind == "fail") {
    const int times = std::atoi(arg(m, 1, "1").c_str());
    const int status = std::atoi(arg(m, 2, "500").c_str());
    const std::string key = "fail:" + arg(m, 1) + ":" + arg(m, 2) + ":" + arg(m, 3);
    std::lock_guard lock(mutex_);
    if (failures_[key] < times) {
      ++failures_[key];
      HttpReply r = json_reply(status, error_body(api, status));
      r.headers["Retry-After"] = "0";
      return r;
    }
    return json_reply(200, text_reply(api, model, ok_text));
  }
  if (kind == "retryinfo") {
    Value r;
    r["error"]["code"] = 429;
    r["error"]["message"] = "fake quota";
    r["error"]["status"] = "RESOURCE_EXHAUSTED";
    Value detail;
    detail["@type"] = "type.googleapis.com/google.rpc.RetryInfo";
    detail["retryDelay"] = arg(m, 1, "1") + "s";
    r["error"]["details"].push_back(detail);
    return json_reply(429, to_json(r));
  }
  if (kind == "cached") {
    return json_reply(
        200,
        with_cache_usage(api, text_reply(api, model, ok_text), std::atoll(arg(m, 1, "0").c_str()),
                         std::atoll(arg(m, 2, "0").c_str()), std::atoll(arg(m, 3, "0").c_str())));
  }
  if (kind == "cut") return json_reply(200, cut(api, text_reply(api, model, R"({"answer": 4)")));
  if (kind == "cut_tool") {
    const std::string tool = first_tool(api, body);
    if (tool.empty()) return json_reply(200, cut(api, text_reply(api, model, ok_text)));
    return json_reply(200, cut(api, tool_reply(api, model, tool)));
  }
  if (kind == "quota") {
    if (api != "openai") return json_reply(429, error_body(api, 429));
    Value r;
    r["error"]["message"] =
        "You exceeded your current quota, please check your plan and billing details.";
    r["error"]["type"] = "insufficient_quota";
    r["error"]["code"] = "insufficient_quota";
    return json_reply(429, to_json(r));
  }
  if (kind == "redirect") {
    HttpReply r = json_reply(301, "<html>moved</html>");
    r.headers["Location"] = "https://moved.example/v1";
    return r;
  }
  if (kind == "malformed") return json_reply(200, R"({"content": [{"type": "text", "te)");
  if (kind == "wrongtype") return json_reply(200, wrong_types(api));
  if (kind == "empty") return json_reply(200, "");
  if (kind == "blocked" && api == "gemini") {
    return json_reply(200, R"({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}})");
  }
  if (kind == "hang") {
    HttpReply r = json_reply(200, "{\"id\":");
    r.mode = ReplyMode::kHeadersThenSilence;
    return r;
  }
  if (kind == "silent") {
    HttpReply r;
    r.mode = ReplyMode::kSilence;
    return r;
  }
  if (kind == "close") {
    HttpReply r;
    r.mode = ReplyMode::kClose;
    return r;
  }
  if (kind == "slow") {
    HttpReply r = json_reply(200, text_reply(api, model, ok_text));
    r.delay_ms = std::atoll(arg(m, 1, "1000").c_str());
    return r;
  }
  if (kind == "big") {
    const size_t bytes = std::strtoull(arg(m, 1, "1048576").c_str(), nullptr, 10);
    return json_reply(200, text_reply(api, model, std::string(bytes, 'x')));
  }
  return json_reply(200, text_reply(api, model, ok_text));
}

}  // namespace pl::fakes
