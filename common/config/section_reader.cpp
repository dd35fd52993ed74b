#include "common/config/section_reader.h"

#include <charconv>
#include <cstdio>

#include "common/text.h"

namespace pl {
namespace {

const Value* resolve(const Value& root, std::string_view path) {
  const Value* v = &root;
  size_t pos = 0;
  while (pos < path.size() && v) {
    const size_t next = path.find('/', pos + 1);
    const std::string_view raw = path.substr(
        pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1);
    std::string segment;  // undo JSON-pointer escapes: ~1 is '/', ~0 is '~'
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size()) {
        segment.push_back(raw[i + 1] == '1' ? '/' : '~');
        ++i;
      } else {
        segment.push_back(raw[i]);
      }
    }
    if (v->is_object()) {
      v = v->find(segment);
    } else if (v->is_array()) {
      // A segment that is not an index finds nothing (not element 0: the root may be a list).
      size_t index = 0;
      const auto [end, ec] =
          std::from_chars(segment.data(), segment.data() + segment.size(), index);
      const bool is_index = ec == std::errc() && end == segment.data() + segment.size();
      v = is_index && index < v->as_array().size() ? &v->as_array()[index] : nullptr;
    } else {
      v = nullptr;
    }
    pos = next == std::string_view::npos ? path.size() : next;
  }
  return v;
}

}  // namespace

SectionReader::SectionReader(const YamlDocument& doc, std::string path,
                             std::vector<std::string_view> known_keys)
    : SectionReader(doc, std::move(path), std::move(known_keys),
                    std::make_shared<std::vector<std::string>>()) {}

SectionReader::SectionReader(const YamlDocument& doc, std::string path,
                             std::vector<std::string_view> known,
                             std::shared_ptr<std::vector<std::string>> errors)
    : doc_(doc), path_(std::move(path)), errors_(std::move(errors)) {
  section_ = resolve(doc_.root(), path_);
  if (section_ && section_->is_null()) section_ = nullptr;
  if (section_ && !section_->is_object()) {
    errors_->push_back(to_string(doc_.where(path_)) + ": " +
                       (path_.empty() ? std::string("the file") : display("")) +
                       " must be a mapping, not " + a_kind(section_->kind()));
    section_ = nullptr;
    return;
  }
  check_keys(std::move(known));
}

void SectionReader::check_keys(std::vector<std::string_view> known) {
  if (!section_) return;
  for (const auto& [key, value] : section_->as_object()) {
    bool found = false;
    for (auto k : known) found = found || k == key;
    if (found) continue;
    errors_->push_back(to_string(doc_.where_key(pointer_append(path_, key))) + ": unknown key \"" +
                       display(key) + "\"" + did_you_mean(key, known));
  }
}

std::string SectionReader::display(std::string_view key) const {
  std::string out;
  for (char c : path_) out.push_back(c == '/' ? '.' : c);
  if (!out.empty() && out[0] == '.') out.erase(0, 1);
  if (!key.empty()) {
    if (!out.empty()) out.push_back('.');
    out.append(key);
  }
  return out;
}

const Value* SectionReader::member(std::string_view key) const {
  if (!section_) return nullptr;
  const Value* v = section_->find(key);
  return v && !v->is_null() ? v : nullptr;
}

bool SectionReader::has(std::string_view key) const { return member(key) != nullptr; }

void SectionReader::fail(std::string_view key, const std::string& what) {
  errors_->push_back(to_string(doc_.where(pointer_append(path_, key))) + ": " + display(key) +
                     ": " + what);
}

void SectionReader::wrong_kind(std::string_view key, const Value& v, std::string_view expected) {
  fail(key, "expected " + std::string(expected) + ", got " + a_kind(v.kind()));
}

int64_t SectionReader::integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) {
  const Value* v = member(key);
  if (!v) return fallback;
  if (!v->is_int()) {
    wrong_kind(key, *v, "an integer");
    return fallback;
  }
  if (v->as_int() < min || v->as_int() > max) {
    fail(key, std::to_string(v->as_int()) + " is out of range (" + std::to_string(min) + " to " +
                  std::to_string(max) + ")");
    return fallback;
  }
  return v->as_int();
}

double SectionReader::number(std::string_view key, double fallback, double min, double max) {
  const Value* v = member(key);
  if (!v) return fallback;
  if (!v->is_number()) {
    wrong_kind(key, *v, "a number");
    return fallback;
  }
  if (v->as_double() < min || v->as_double() > max) {
    const auto shown = [](double d) {  // "876000", "0.5": as a person would write it
      char text[32];
      std::snprintf(text, sizeof text, "%.15g", d);
      return std::string(text);
    };
    fail(key,
         shown(v->as_double()) + " is out of range (" + shown(min) + " to " + shown(max) + ")");
    return fallback;
  }
  return v->as_double();
}

bool SectionReader::boolean(std::string_view key, bool fallback) {
  const Value* v = member(key);
  if (!v) return fallback;
  if (!v->is_bool()) {
    wrong_kind(key, *v, "true or false");
    return fallback;
  }
  return v->as_bool();
}

std::string SectionReader::string(std::string_view key, std::string_view fallback) {
  const Value* v = member(key);
  if (!v) return std::string(fallback);
  if (!v->is_string()) {
    wrong_kind(key, *v, "a string");
    return std::string(fallback);
  }
  return v->as_string();
}

std::string SectionReader::endpoint(std::string_view key) {
  std::string e = string(key);
  if (e.empty()) return e;
  const auto problem = [&]() -> std::string {
    if (e.rfind("ipc://", 0) == 0) return e.size() > 6 ? "" : "an ipc:// endpoint needs a path";
    const size_t scheme = e.find("://");
    if (scheme == std::string::npos || scheme == 0) return "expected ipc://PATH or tcp://HOST:PORT";
    if (e.rfind("tcp://", 0) != 0)
      return "";  // ZeroMQ's other transports (ws://, ...) judge their own
    const std::string_view rest = std::string_view(e).substr(6);
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return "expected tcp://HOST:PORT";
    const std::string_view port = rest.substr(colon + 1);
    if (port == "*") return "";
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return "the port \"" + std::string(port) + "\" is not 1 to 65535 (or * to bind any)";
    }
    return "";
  }();
  if (!problem.empty()) {
    fail(key, problem + ", got \"" + e + "\"");
    return "";
  }
  return e;
}

std::string SectionReader::choice(std::string_view key, std::string_view fallback,
                                  const std::vector<std::string_view>& choices) {
  const std::string s = string(key, fallback);
  for (auto c : choices) {
    if (c == s) return s;
  }
  std::vector<std::string> names(choices.begin(), choices.end());
  fail(key, "\"" + s + "\" is not one of " + join(names, ", ") + did_you_mean(s, choices));
  return std::string(fallback);
}

std::vector<std::string> SectionReader::string_list(std::string_view key) {
  std::vector<std::string> out;
  const Value* v = member(key);
  if (!v) return out;
  if (!v->is_array()) {
    wrong_kind(key, *v, "a list of strings");
    return out;
  }
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    const Value& element = v->as_array()[i];
    if (element.is_string()) {
      out.push_back(element.as_string());
    } else if (element.is_number() || element.is_bool()) {
      // `command: [sleep, 5]`: YAML types the 5 as a number; an argv wants its text.
      out.push_back(element.is_bool() ? (element.as_bool() ? "true" : "false")
                    : element.is_int() ? std::to_string(element.as_int())
                                       : std::to_string(element.as_double()));
    } else {
      errors_->push_back(to_string(doc_.where(pointer_append(pointer_append(path_, key), i))) +
                         ": " + display(key) + "[" + std::to_string(i) + "]: expected a string");
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> SectionReader::string_map(std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  const Value* v = member(key);
  if (!v) return out;
  if (!v->is_object()) {
    wrong_kind(key, *v, "a mapping");
    return out;
  }
  for (const auto& [k, element] : v->as_object()) {
    if (element.is_string()) {
      out.emplace_back(k, element.as_string());
    } else if (element.is_int()) {
      out.emplace_back(k, std::to_string(element.as_int()));
    } else if (element.is_bool()) {
      out.emplace_back(k, element.as_bool() ? "true" : "false");
    } else if (element.is_double()) {
      out.emplace_back(k, std::to_string(element.as_double()));
    } else {
      errors_->push_back(to_string(doc_.where(pointer_append(pointer_append(path_, key), k))) +
                         ": " + display(key) + "." + k + ": expected a scalar");
    }
  }
  return out;
}

Value SectionReader::value(std::string_view key) const {
  const Value* v = member(key);
  return v ? *v : Value();
}

Status SectionReader::status() const {
  if (errors_->empty()) return ok_status();
  return make_error(ErrorCode::kInvalidInput, join(*errors_, "\n"));
}

SectionReader SectionReader::nested(std::string_view key, std::vector<std::string_view> known) {
  return SectionReader(doc_, pointer_append(path_, key), std::move(known), errors_);
}

SectionReader SectionReader::section(std::string path, std::vector<std::string_view> known) {
  return SectionReader(doc_, std::move(path), std::move(known), errors_);
}

}  // namespace pl
