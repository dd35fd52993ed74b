#include "worker/providers/mock_provider.h"

#include <charconv>
#include <cstdio>
#include <thread>

#include "common/json.h"
#include "worker/providers/wire_format.h"

namespace pl::worker::providers {
namespace {

constexpr size_t kPreviewChars = 80;

// The prompt: the text of the latest user message that has text.
std::string_view latest_user_text(const CompletionRequest& r) {
  for (auto it = r.messages.rbegin(); it != r.messages.rend(); ++it) {
    if (it->role == Role::kUser && !it->text.empty()) return it->text;
  }
  return {};
}

bool answering_tool_results(const CompletionRequest& r) {
  return !r.messages.empty() && !r.messages.back().tool_results.empty();
}

// One line, at most kPreviewChars bytes, cut on a UTF-8 boundary.
std::string preview(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= kPreviewChars) break;
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  while (!out.empty() && out.size() < text.size() &&
         (static_cast<unsigned char>(text[out.size()]) & 0xC0) == 0x80) {
    out.pop_back();  // do not end inside a multi-byte character
  }
  return out;
}

std::string request_digest(const CompletionRequest& r) {
  std::string all = r.model + '\x1f' + r.system;
  for (const Message& m : r.messages) {
    all += '\x1e';
    all += m.text;
    for (const ToolResult& t : m.tool_results) all += '\x1f' + t.name + '\x1f' + t.content;
  }
  return fnv1a_hex(all).substr(0, 8);
}

struct Directive {
  std::string verb;
  std::string rest;
};

std::vector<Directive> directives(std::string_view text) {
  std::vector<Directive> out;
  size_t pos = 0;
  while ((pos = text.find("[[mock:", pos)) != std::string_view::npos) {
    const size_t end = text.find("]]", pos);
    if (end == std::string_view::npos) break;
    std::string_view body = text.substr(pos + 7, end - pos - 7);
    const size_t space = body.find(' ');
    out.push_back(Directive{std::string(body.substr(0, space)),
                            space == std::string_view::npos ? "" : std::string(body.substr(space + 1))});
    pos = end + 2;
  }
  return out;
}

const ToolSpec* offered(const CompletionRequest& r, std::string_view name) {
  for (const ToolSpec& t : r.tools) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Value example(const Value& schema, int depth) {
  if (depth > 8 || !schema.is_object()) return Value();
  if (const Value* e = schema.find("enum"); e && e->is_array() && e->size() > 0) {
    return e->as_array().front();
  }
  std::string type = schema.get_string("type");
  if (type.empty()) {
    if (const Value* t = schema.find("type"); t && t->is_array() && t->size() > 0 &&
                                              t->as_array().front().is_string()) {
      type = t->as_array().front().as_string();
    } else if (schema.find("properties")) {
      type = "object";
    }
  }
  if (type == "object") {
    Value out = Value::object();
    if (const Value* props = schema.find("properties"); props && props->is_object()) {
      for (const auto& [key, sub] : props->as_object()) out[key] = example(sub, depth + 1);
    }
    return out;
  }
  if (type == "array") {
    Value out = Value::array();
    const Value* items = schema.find("items");
    out.push_back(items ? example(*items, depth + 1) : Value("mock"));
    return out;
  }
  if (type == "string") return "mock";
  if (type == "integer") return schema.get_int("minimum", 1);
  if (type == "number") return 1.5;
  if (type == "boolean") return true;
  return Value();
}

// Waits `wait`, or less when the call is cancelled or its deadline comes first.
Status pause_for(std::chrono::milliseconds wait, const CallContext& call) {
  const TimePoint now = SteadyClock::now();
  const bool past_deadline = now + wait > call.deadline;
  const auto bounded =
      past_deadline ? std::chrono::ceil<std::chrono::milliseconds>(std::max(Duration::zero(), call.deadline - now))
                    : wait;
  bool cancelled = false;
  if (call.cancel) {
    cancelled = call.cancel->wait_for(bounded);
  } else {
    std::this_thread::sleep_for(bounded);
  }
  if (cancelled) return make_error(ErrorCode::kCancelled, "mock: cancelled");
  if (past_deadline) return make_error(ErrorCode::kTimeout, "mock: the step's deadline passed");
  return ok_status();
}

}  // namespace

std::string fnv1a_hex(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Value schema_example(const Value& schema) { return example(schema, 0); }

Result<Completion> MockProvider::complete(const CompletionRequest& request, const CallContext& call) {
  const std::string_view prompt = latest_user_text(request);
  const std::vector<Directive> script = directives(prompt);
  // A directive the mock cannot read is the prompt's mistake, said as such: a test that meant
  // to simulate an outage or a slow call must not pass by running neither.
  const auto unreadable = [](const Directive& d, const std::string& what) {
    return make_error(ErrorCode::kInvalidInput,
                      "mock: [[mock:" + d.verb + " " + d.rest + "]]: " + what);
  };
  for (const Directive& d : script) {
    if (d.verb == "error") {
      const ErrorCode code = error_code_from_name(d.rest);
      if (code == ErrorCode::kInternal && d.rest != error_code_name(ErrorCode::kInternal)) {
        return unreadable(d, "not an error code (rate_limit, server_error, timeout, ...)");
      }
      return make_error(code, "mock: simulated " + std::string(error_code_name(code)));
    }
    if (d.verb == "delay") {
      constexpr int64_t kMaxDelayMs = 3'600'000;
      int64_t ms = -1;
      const auto [end, ec] = std::from_chars(d.rest.data(), d.rest.data() + d.rest.size(), ms);
      if (ec != std::errc() || end != d.rest.data() + d.rest.size() || ms < 0 || ms > kMaxDelayMs) {
        return unreadable(d, "expected milliseconds, 0 to " + std::to_string(kMaxDelayMs));
      }
      auto waited = pause_for(std::chrono::milliseconds(ms), call);
      if (!waited.ok()) return std::move(waited).error();
    }
  }
  if (call.cancelled()) return make_error(ErrorCode::kCancelled, "mock: cancelled");

  Completion c;
  c.provider = "mock";
  c.model = request.model;
  c.mock = true;
  const std::string digest = request_digest(request);
  if (!answering_tool_results(request) && !request.tools.empty()) {
    for (const Directive& d : script) {
      if (d.verb != "call") continue;
      const size_t space = d.rest.find(' ');
      const std::string name = d.rest.substr(0, space);
      if (!offered(request, name)) continue;
      Value args = Value::object();
      if (space != std::string::npos) {
        auto parsed = parse_json(d.rest.substr(space + 1), 32);
        if (!parsed.ok() || !parsed->is_object()) {
          return unreadable(d, "the arguments are not a JSON object" +
                                   (parsed.ok() ? std::string() : ": " + parsed.error().message));
        }
        args = std::move(*parsed);
      }
      c.tool_calls.push_back(
          ToolCall{"mock_call_" + std::to_string(c.tool_calls.size()), name, std::move(args), ""});
    }
    if (c.tool_calls.empty() && request.tool_choice == ToolChoice::kAny) {
      const ToolSpec& first = request.tools.front();
      Value args = schema_example(first.input_schema);
      c.tool_calls.push_back(
          ToolCall{"mock_call_0", first.name, args.is_object() ? args : Value::object(), ""});
    }
  }
  if (!c.tool_calls.empty()) {
    c.stop_reason = StopReason::kToolUse;
    c.stop_detail = "tool_use";
  } else if (answering_tool_results(request)) {
    c.text = "[mock " + request.model + "] tool results:";
    for (const ToolResult& r : request.messages.back().tool_results) {
      c.text += " " + r.name + " -> " + (r.is_error ? "error: " : "") + preview(r.content) + ";";
    }
  } else if (request.json_output) {
    Value answer;
    answer["mock"] = true;
    answer["model"] = request.model;
    answer["digest"] = digest;
    answer["reply"] = preview(prompt);
    c.text = to_json(answer);
  } else {
    c.text = "[mock " + request.model + "] reply to \"" + preview(prompt) + "\" (#" + digest + ")";
  }
  if (c.tool_calls.empty()) c.stop_detail = "end_turn";
  c.usage = estimate_usage(request, c.text);
  c.usage.estimated = false;  // simulated, and `mock: true` already says so
  return c;
}

}  // namespace pl::worker::providers
