#include "common/registry/arg_template.h"

#include "common/json.h"

namespace pl {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool segment_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Result<TemplatePart> parse_reference(std::string_view inner) {
  const std::string written(inner);
  TemplatePart part{true, written, {}};
  if (inner != "args" && inner.rfind("args.", 0) != 0) {
    return make_error(ErrorCode::kInvalidInput,
                      "{{" + written + "}}: only {{args.NAME}} references are allowed");
  }
  std::string_view rest = inner.substr(4);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '.'
    const size_t end = rest.find('.');
    const std::string_view segment = rest.substr(0, end);
    if (segment.empty()) {
      return make_error(ErrorCode::kInvalidInput, "{{" + written + "}}: empty name in the path");
    }
    for (char c : segment) {
      if (!segment_char(c)) {
        return make_error(ErrorCode::kInvalidInput,
                          "{{" + written + "}}: names may hold letters, digits, _ and - only");
      }
    }
    part.path.emplace_back(segment);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  return part;
}

// The element of `list` that a path segment of digits names ({{args.files.0}}), or nullptr.
const Value* element(const Value& list, const std::string& segment) {
  if (segment.empty() || segment.size() > 9) return nullptr;
  size_t index = 0;
  for (char c : segment) {
    if (c < '0' || c > '9') return nullptr;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index < list.size() ? &list.as_array()[index] : nullptr;
}

}  // namespace

Result<std::vector<TemplatePart>> parse_arg_template(std::string_view text) {
  std::vector<TemplatePart> parts;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      parts.push_back({false, std::string(text.substr(pos)), {}});
      break;
    }
    if (open > pos) parts.push_back({false, std::string(text.substr(pos, open - pos)), {}});
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidInput, "\"{{\" at offset " + std::to_string(open) +
                                                      " is never closed with \"}}\"");
    }
    const std::string_view inner = trim(text.substr(open + 2, close - open - 2));
    if (inner.empty()) return make_error(ErrorCode::kInvalidInput, "empty reference \"{{}}\"");
    auto part = parse_reference(inner);
    if (!part.ok()) return std::move(part).error();
    parts.push_back(std::move(*part));
    pos = close + 2;
  }
  return parts;
}

bool has_references(const std::vector<TemplatePart>& parts) {
  for (const auto& p : parts) {
    if (p.reference) return true;
  }
  return false;
}

Result<std::string> render_arg_template(const std::vector<TemplatePart>& parts, const Value& args) {
  std::string out;
  for (const auto& part : parts) {
    if (!part.reference) {
      out += part.text;
      continue;
    }
    const Value* v = &args;
    for (const auto& segment : part.path) {
      v = v->is_array() ? element(*v, segment) : v->find(segment);
      if (!v) return make_error(ErrorCode::kInvalidInput, part.text + " is not given");
    }
    if (v->is_string()) {
      out += v->as_string();
    } else {
      append_json(out, *v);
    }
  }
  return out;
}

Result<std::string> render_arg_template(std::string_view text, const Value& args) {
  auto parts = parse_arg_template(text);
  if (!parts.ok()) return std::move(parts).error();
  return render_arg_template(*parts, args);
}

}  // namespace pl
