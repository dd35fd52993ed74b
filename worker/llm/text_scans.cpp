#include "worker/llm/text_scans.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace pl::worker::llm {
namespace {

constexpr size_t kMaxEntries = 200;

bool is_fence(std::string_view line) {
  line = trim_space(line);
  return line.rfind("```", 0) == 0 || line.rfind("~~~", 0) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool mentions_any(std::string_view line, std::initializer_list<std::string_view> words) {
  const std::string l = lower(line);
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return l.find(w) != std::string::npos; });
}

// Adds `s` to the list `out` unless it is empty, already there, or the list is full.
void add_unique(Value& out, std::set<std::string>& seen, std::string s) {
  if (s.empty() || out.size() >= kMaxEntries || !seen.insert(s).second) return;
  out.push_back(std::move(s));
}

// A list item's text without its marker ("- x", "* x", "+ x", "1. x", "2) x"); nullopt if the
// line is not a list item.
std::optional<std::string_view> list_item(std::string_view line) {
  line = trim_space(line);
  if (line.size() >= 2 && (line[0] == '-' || line[0] == '*' || line[0] == '+') && line[1] == ' ') {
    return trim_space(line.substr(2));
  }
  size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    return trim_space(line.substr(digits + 2));
  }
  return std::nullopt;
}

std::string_view strip_marker(std::string_view line) {
  if (auto item = list_item(line)) return *item;
  return trim_space(line);
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '\'' ||
         (static_cast<unsigned char>(c) & 0x80);
}

const std::set<std::string, std::less<>> kCommonWords = {
    "I", "A", "An", "The", "This", "That", "These", "Those", "It", "We", "You", "He", "She",
    "They", "If", "In", "On", "For", "To", "And", "But", "Or", "So", "As", "At", "By", "Of",
    "Note", "Yes", "No", "Here", "There", "When", "Then", "First", "Next", "Finally"};

void entities_in_line(std::string_view line, Value& out, std::set<std::string>& seen) {
  // `code` spans.
  for (size_t pos = line.find('`'); pos != std::string_view::npos;) {
    const size_t end = line.find('`', pos + 1);
    if (end == std::string_view::npos) break;
    add_unique(out, seen, std::string(trim_space(line.substr(pos + 1, end - pos - 1))));
    pos = line.find('`', end + 1);
  }
  // Runs of capitalised words.
  bool sentence_start = true;
  std::vector<std::string_view> run;
  bool run_at_start = false;
  auto flush = [&] {
    // "The Parser" names the Parser: leading common words are not part of a name.
    while (run.size() > 1 && kCommonWords.count(run.front())) {
      run.erase(run.begin());
      run_at_start = false;
    }
    if (run.empty()) return;
    const bool lone = run.size() == 1;
    if (!(lone && (run_at_start || kCommonWords.count(run[0])))) {
      std::string name;
      for (auto w : run) name += (name.empty() ? "" : " ") + std::string(w);
      add_unique(out, seen, std::move(name));
    }
    run.clear();
  };
  size_t i = 0;
  while (i < line.size()) {
    if (!is_word_char(line[i])) {
      if (line[i] == '.' || line[i] == '!' || line[i] == '?' || line[i] == ':') {
        flush();
        sentence_start = true;
      } else if (line[i] != ' ') {
        flush();
      }
      ++i;
      continue;
    }
    size_t end = i;
    while (end < line.size() && is_word_char(line[end])) ++end;
    std::string_view word = line.substr(i, end - i);
    if (is_upper(word[0])) {
      if (run.empty()) run_at_start = sentence_start;
      run.push_back(word);
    } else {
      flush();
    }
    sentence_start = false;
    i = end;
  }
  flush();
}

}  // namespace

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<TextLine> text_lines(std::string_view text) {
  std::vector<TextLine> out;
  bool in_code = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool fence = is_fence(line);
    out.push_back(TextLine{line, in_code || fence, fence});
    if (fence) in_code = !in_code;
    pos = end + 1;
  }
  return out;
}

Value code_blocks(std::string_view text) {
  Value out = Value::array();
  std::string language;
  std::string code;
  bool open = false;
  for (const TextLine& line : text_lines(text)) {
    if (line.fence && !open) {
      open = true;
      language = std::string(trim_space(trim_space(line.text).substr(3)));
      code.clear();
    } else if (line.fence && open) {
      open = false;
      if (out.size() < kMaxEntries) {
        Value block;
        block["language"] = language;
        block["code"] = code;
        out.push_back(std::move(block));
      }
    } else if (open) {
      code.append(line.text).push_back('\n');
    }
  }
  if (open && !code.empty() && out.size() < kMaxEntries) {  // an unclosed fence runs to the end
    Value block;
    block["language"] = language;
    block["code"] = code;
    out.push_back(std::move(block));
  }
  return out;
}

Value links(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t http = text.find("http", pos);
    if (http == std::string_view::npos) break;
    const std::string_view rest = text.substr(http);
    if (rest.rfind("http://", 0) != 0 && rest.rfind("https://", 0) != 0) {
      pos = http + 4;
      continue;
    }
    size_t end = http;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
           std::string_view("<>\"'`)]}|").find(text[end]) == std::string_view::npos) {
      ++end;
    }
    std::string_view url = text.substr(http, end - http);
    while (!url.empty() && std::string_view(".,;:!?").find(url.back()) != std::string_view::npos) {
      url.remove_suffix(1);
    }
    if (url.size() > 8) add_unique(out, seen, std::string(url));
    pos = end;
  }
  return out;
}

Value recommendations(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  for (const TextLine& line : text_lines(text)) {
    if (line.code) continue;
    if (mentions_any(line.text, {"recommend", "suggest", "advise", "should", "consider"})) {
      add_unique(out, seen, std::string(strip_marker(line.text)));
    }
  }
  return out;
}

Value key_points(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  for (const TextLine& line : text_lines(text)) {
    if (line.code) continue;
    if (auto item = list_item(line.text)) add_unique(out, seen, std::string(*item));
  }
  return out;
}

Value entities(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  for (const TextLine& line : text_lines(text)) {
    if (line.code) continue;
    std::string_view body = trim_space(line.text);
    while (!body.empty() && body.front() == '#') body.remove_prefix(1);
    entities_in_line(strip_marker(body), out, seen);
  }
  return out;
}

Value error_lines(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  for (const TextLine& line : text_lines(text)) {
    if (line.fence) continue;
    if (mentions_any(line.text, {"error", "exception", "fail", "traceback", "panic"})) {
      add_unique(out, seen, std::string(trim_space(line.text)));
    }
  }
  return out;
}

Value markdown_sections(std::string_view text) {
  Value out = Value::array();
  Value current;
  std::string content;
  auto close = [&] {
    if (current.is_null()) {
      if (trim_space(content).empty()) return;
      current["heading"] = "";
      current["level"] = 0;
    }
    current["content"] = std::string(trim_space(content));
    if (out.size() < kMaxEntries) out.push_back(std::move(current));
    current = Value();
    content.clear();
  };
  for (const TextLine& line : text_lines(text)) {
    size_t level = 0;
    while (!line.code && level < line.text.size() && line.text[level] == '#') ++level;
    if (level >= 1 && level <= 6 && level < line.text.size() && line.text[level] == ' ') {
      close();
      current["heading"] = std::string(trim_space(line.text.substr(level)));
      current["level"] = static_cast<int64_t>(level);
      continue;
    }
    content.append(line.text).push_back('\n');
  }
  close();
  return out;
}

std::string summary_of(std::string_view text, size_t max_chars) {
  text = trim_space(text);
  // The byte where character `n` begins (UTF-8), or text.size().
  auto byte_of_char = [&](size_t n) {
    size_t pos = 0;
    for (size_t chars = 0; pos < text.size() && chars < n; ++chars) {
      ++pos;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
    return pos;
  };
  if (byte_of_char(max_chars) >= text.size()) return std::string(text);
  const size_t cut = byte_of_char(max_chars > 3 ? max_chars - 3 : max_chars);  // room for "..."
  size_t keep = cut;
  const size_t space = text.substr(0, cut + 1).find_last_of(" \n\t");
  if (space != std::string_view::npos && space > cut / 2) keep = space;
  return std::string(trim_space(text.substr(0, keep))) + "...";
}

}  // namespace pl::worker::llm
