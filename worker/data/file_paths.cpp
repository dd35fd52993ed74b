#include "worker/data/file_paths.h"

#include <fnmatch.h>

namespace pl::worker::data {
namespace {

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// One segment against one pattern segment (no "/" in either).
bool segment_match(const std::string& pattern, const std::string& name) {
  if (!name.empty() && name[0] == '.' && (pattern.empty() || pattern[0] != '.')) return false;
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool match_from(const std::vector<std::string>& pattern, size_t p,
                const std::vector<std::string>& path, size_t s) {
  while (p < pattern.size()) {
    if (pattern[p] == "**") {
      // Collapse runs of "**"; then try every split, the shortest first.
      while (p + 1 < pattern.size() && pattern[p + 1] == "**") ++p;
      for (size_t k = s; k <= path.size(); ++k) {
        if (match_from(pattern, p + 1, path, k)) return true;
        if (k < path.size() && !path[k].empty() && path[k][0] == '.') return false;
      }
      return false;
    }
    if (s >= path.size() || !segment_match(pattern[p], path[s])) return false;
    ++p;
    ++s;
  }
  return s == path.size();
}

Error refuse(std::string_view text, const std::string& why) {
  return make_error(ErrorCode::kInvalidInput, "path " + quote(text) + " " + why);
}

}  // namespace

std::string_view root_name(Root root) {
  return root == Root::kOutput ? "output directory" : "workspace";
}

std::string UserPath::text() const {
  std::string out = root == Root::kOutput ? std::string(kOutputPrefix) : std::string();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i) out.push_back('/');
    out += segments[i];
  }
  if (out.empty()) out = ".";
  return out;
}

std::vector<std::string> split_segments(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) slash = text.size();
    std::string_view segment = text.substr(start, slash - start);
    if (!segment.empty() && segment != ".") out.emplace_back(segment);
    start = slash + 1;
  }
  return out;
}

bool has_glob_characters(std::string_view segment) {
  return segment.find_first_of("*?[") != std::string_view::npos;
}

Result<UserPath> parse_user_path(std::string_view text) {
  const std::string_view original = text;
  UserPath out;
  if (text.substr(0, kOutputPrefix.size()) == kOutputPrefix) {
    out.root = Root::kOutput;
    text.remove_prefix(kOutputPrefix.size());
  }
  if (original.empty()) return make_error(ErrorCode::kInvalidInput, "a path must not be empty");
  if (original.size() > kMaxPathBytes) {
    return make_error(ErrorCode::kInvalidInput,
                      "a path is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  if (text.find('\0') != std::string_view::npos) return refuse(original, "holds a NUL byte");
  if (!text.empty() && text[0] == '/') {
    return refuse(original, std::string("is absolute; file_ops paths are relative to the ") +
                                std::string(root_name(out.root)));
  }
  if (!text.empty() && text[0] == '~') {
    return refuse(original, "starts with \"~\"; file_ops paths are relative to the " +
                                std::string(root_name(out.root)) + " (no home directories)");
  }
  for (std::string& segment : split_segments(text)) {
    if (segment == "..") {
      return refuse(original, "has a \"..\" segment; file_ops paths cannot leave the " +
                                  std::string(root_name(out.root)));
    }
    out.has_wildcards = out.has_wildcards || has_glob_characters(segment);
    out.segments.push_back(std::move(segment));
  }
  out.trailing_slash = !text.empty() && text.back() == '/';
  return out;
}

Result<std::vector<std::string>> parse_pattern(std::string_view text) {
  if (text.empty()) return make_error(ErrorCode::kInvalidInput, "\"pattern\" must not be empty");
  if (text.size() > kMaxPathBytes) {
    return make_error(ErrorCode::kInvalidInput,
                      "\"pattern\" is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  if (text[0] == '/') {
    return make_error(ErrorCode::kInvalidInput,
                      "\"pattern\" " + quote(text) + " is absolute; it matches relative paths");
  }
  std::vector<std::string> segments = split_segments(text);
  for (const std::string& segment : segments) {
    if (segment == "..") {
      return make_error(ErrorCode::kInvalidInput,
                        "\"pattern\" " + quote(text) + " has a \"..\" segment");
    }
  }
  if (segments.empty()) {
    return make_error(ErrorCode::kInvalidInput, "\"pattern\" " + quote(text) + " matches nothing");
  }
  return segments;
}

bool glob_match(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  return match_from(pattern, 0, path, 0);
}

}  // namespace pl::worker::data
