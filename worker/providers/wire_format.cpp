#include "worker/providers/wire_format.h"

#include <cctype>

#include "common/json.h"

namespace pl::worker::providers {

std::optional<Duration> WireFormat::retry_hint(std::string_view) const { return std::nullopt; }

bool WireFormat::quota_exhausted(long, std::string_view) const { return false; }

std::string body_excerpt(std::string_view body, size_t max_chars) {
  std::string out;
  bool space = false;
  for (char c : body) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u) || u < 0x20 || u == 0x7f) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out.empty() ? "(empty body)" : out;
}

bool is_plain_model_name(std::string_view model) {
  if (model.empty() || model.size() > 200) return false;
  for (char c : model) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::optional<Spent> billed_usage(std::string_view body, const CompletionRequest& request,
                                  std::string_view provider, std::string_view usage_key,
                                  std::string_view model_key,
                                  Result<Usage> (*read_usage)(const Value&)) {
  auto parsed = parse_json(body, 64);
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  const Value* block = parsed->find(usage_key);
  if (!block || block->is_null()) return std::nullopt;
  auto usage = read_usage(*block);
  if (!usage.ok()) return std::nullopt;
  return Spent{*usage, parsed->get_string(model_key, request.model), std::string(provider)};
}

Usage estimate_usage(const CompletionRequest& request, std::string_view answer) {
  size_t in = request.system.size();
  for (const Message& m : request.messages) {
    in += m.text.size();
    for (const ToolResult& r : m.tool_results) in += r.content.size();
  }
  Usage u;
  u.input_tokens = static_cast<int64_t>((in + 3) / 4);
  u.output_tokens = static_cast<int64_t>((answer.size() + 3) / 4);
  u.estimated = true;
  return u;
}

Result<int64_t> usage_count(std::string_view provider, const Value& parent, std::string_view key,
                            std::string_view at) {
  const Value* n = parent.find(key);
  if (!n || n->is_null()) return int64_t{0};
  if (!n->is_int() || n->as_int() < 0) {
    return malformed(provider, std::string(at) + std::string(key) + " is not a count");
  }
  return n->as_int();
}

Error malformed(std::string_view provider, std::string_view what) {
  return make_error(ErrorCode::kProviderError,
                    std::string(provider) + ": malformed response: " + std::string(what));
}

Error empty_answer(std::string_view provider, std::string_view field, std::string_view reason,
                   StopReason stop, const CompletionRequest& request) {
  const std::string why =
      reason.empty() ? "no " + std::string(field) : std::string(field) + " " + std::string(reason);
  if (is_cut(stop)) {
    return make_error(ErrorCode::kStepFailed,
                      std::string(provider) + ": the answer was " + std::string(cut_cause(stop)) +
                          " before any text (" + why + ") with " +
                          token_limit_text(request.max_tokens) + "; " + cut_remedy(stop));
  }
  return make_error(
      ErrorCode::kProviderError,
      std::string(provider) + ": the answer has no text and no tool calls (" + why + ")");
}

Error cut_in_tool_call(std::string_view provider, std::string_view field, std::string_view reason,
                       StopReason stop, const CompletionRequest& request) {
  return make_error(ErrorCode::kStepFailed,
                    std::string(provider) + ": the answer was " + std::string(cut_cause(stop)) +
                        " inside a tool call (" + std::string(field) + " " + std::string(reason) +
                        ") with " + token_limit_text(request.max_tokens) +
                        ", so no tool was run: its arguments may be incomplete; " +
                        cut_remedy(stop));
}

Error refused(std::string_view provider, std::string_view what, std::string_view field,
              std::string_view reason) {
  return make_error(ErrorCode::kStepFailed, std::string(provider) + ": " + std::string(what) +
                                                " (" + std::string(field) + " " +
                                                std::string(reason) + ")");
}

}  // namespace pl::worker::providers
