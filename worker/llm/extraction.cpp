#include "worker/llm/extraction.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/json.h"

namespace pl::worker::llm {
namespace {

constexpr size_t kMaxEntries = 200;

struct Line {
  std::string_view text;
  bool code = false;   // inside a fence, or a fence line itself
  bool fence = false;  // a ``` or ~~~ line
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_fence(std::string_view line) {
  line = trim(line);
  return line.rfind("```", 0) == 0 || line.rfind("~~~", 0) == 0;
}

std::vector<Line> lines_of(std::string_view text) {
  std::vector<Line> out;
  bool in_code = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool fence = is_fence(line);
    out.push_back(Line{line, in_code || fence, fence});
    if (fence) in_code = !in_code;
    pos = end + 1;
  }
  return out;
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
  line = trim(line);
  if (line.size() >= 2 && (line[0] == '-' || line[0] == '*' || line[0] == '+') && line[1] == ' ') {
    return trim(line.substr(2));
  }
  size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    return trim(line.substr(digits + 2));
  }
  return std::nullopt;
}

std::string_view strip_marker(std::string_view line) {
  if (auto item = list_item(line)) return *item;
  return trim(line);
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
    add_unique(out, seen, std::string(trim(line.substr(pos + 1, end - pos - 1))));
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

const char* format_name(ExtractFormat f) {
  switch (f) {
    case ExtractFormat::kText:
      return "text";
    case ExtractFormat::kJson:
      return "json";
    case ExtractFormat::kMarkdown:
      return "markdown";
    case ExtractFormat::kSummary:
      return "summary";
  }
  return "text";
}

struct PostProcessName {
  PostProcess op;
  std::string_view name;  // in extraction_config
  std::string_view key;   // in `extracted`
  Value (*run)(std::string_view);
};
const PostProcessName kPostProcessing[] = {
    {PostProcess::kCodeBlocks, "extract_code_blocks", "code_blocks", code_blocks},
    {PostProcess::kLinks, "extract_links", "links", links},
    {PostProcess::kRecommendations, "extract_recommendations", "recommendations", recommendations},
    {PostProcess::kKeyPoints, "extract_key_points", "key_points", key_points},
    {PostProcess::kEntities, "extract_entities", "entities", entities},
    {PostProcess::kErrors, "extract_errors", "errors", error_lines},
};

const PostProcessName& post_processing_entry(PostProcess op) {
  for (const auto& e : kPostProcessing) {
    if (e.op == op) return e;
  }
  return kPostProcessing[0];
}

}  // namespace

Result<ExtractionConfig> read_extraction_config(const Value& v) {
  ExtractionConfig c;
  if (v.is_null()) return c;
  if (!v.is_object()) return make_error(ErrorCode::kInvalidInput, "extraction_config must be a map");
  const std::string format = v.get_string("format", "text");
  if (format == "text") {
    c.format = ExtractFormat::kText;
  } else if (format == "json") {
    c.format = ExtractFormat::kJson;
  } else if (format == "markdown") {
    c.format = ExtractFormat::kMarkdown;
  } else if (format == "summary") {
    c.format = ExtractFormat::kSummary;
  } else {
    return make_error(ErrorCode::kInvalidInput, "extraction_config.format \"" + format +
                                                    "\" is not one of text, json, markdown, summary");
  }
  if (const Value* post = v.find("post_processing"); post && !post->is_null()) {
    if (!post->is_array()) {
      return make_error(ErrorCode::kInvalidInput, "extraction_config.post_processing must be a list");
    }
    for (const Value& name : post->as_array()) {
      const PostProcessName* found = nullptr;
      for (const auto& e : kPostProcessing) {
        if (name.is_string() && name.as_string() == e.name) found = &e;
      }
      if (!found) {
        return make_error(ErrorCode::kInvalidInput,
                          "extraction_config.post_processing: unknown operation " + to_json(name));
      }
      c.post_processing.push_back(found->op);
    }
  }
  const int64_t max_len = v.get_int("max_summary_length", 500);
  if (max_len < 1) {
    return make_error(ErrorCode::kInvalidInput, "extraction_config.max_summary_length must be at least 1");
  }
  c.max_summary_length = static_cast<size_t>(max_len);
  c.include_metadata = v.get_bool("include_metadata", false);
  return c;
}

std::string format_instruction(const ExtractionConfig& c) {
  switch (c.format) {
    case ExtractFormat::kJson:
      return "Answer with one JSON value only: no prose before or after it.";
    case ExtractFormat::kMarkdown:
      return "Format the answer as Markdown with headings.";
    case ExtractFormat::kSummary:
      return "Answer with a concise summary of at most " + std::to_string(c.max_summary_length) +
             " characters.";
    case ExtractFormat::kText:
      break;
  }
  return "";
}

Result<Value> find_json(std::string_view text) {
  const std::string_view whole = trim(text);
  if (auto v = parse_json(whole, 64); v.ok()) return v;
  // Fenced blocks, in order.
  std::string block;
  bool in_block = false;
  for (const Line& line : lines_of(text)) {
    if (line.fence) {
      if (in_block) {
        if (auto v = parse_json(block, 64); v.ok()) return v;
        block.clear();
      }
      in_block = !in_block;
    } else if (in_block) {
      block.append(line.text).push_back('\n');
    }
  }
  // The outermost object or list.
  const size_t brace = whole.find('{');
  const size_t bracket = whole.find('[');
  for (size_t start : {std::min(brace, bracket), std::max(brace, bracket)}) {
    if (start == std::string_view::npos) continue;
    const char close = whole[start] == '{' ? '}' : ']';
    const size_t end = whole.rfind(close);
    if (end == std::string_view::npos || end < start) continue;
    if (auto v = parse_json(whole.substr(start, end - start + 1), 64); v.ok()) return v;
  }
  return make_error(ErrorCode::kStepFailed, "the answer holds no JSON value");
}

Value code_blocks(std::string_view text) {
  Value out = Value::array();
  std::string language;
  std::string code;
  bool open = false;
  for (const Line& line : lines_of(text)) {
    if (line.fence && !open) {
      open = true;
      language = std::string(trim(trim(line.text).substr(3)));
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
  for (const Line& line : lines_of(text)) {
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
  for (const Line& line : lines_of(text)) {
    if (line.code) continue;
    if (auto item = list_item(line.text)) add_unique(out, seen, std::string(*item));
  }
  return out;
}

Value entities(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  for (const Line& line : lines_of(text)) {
    if (line.code) continue;
    std::string_view body = trim(line.text);
    while (!body.empty() && body.front() == '#') body.remove_prefix(1);
    entities_in_line(strip_marker(body), out, seen);
  }
  return out;
}

Value error_lines(std::string_view text) {
  Value out = Value::array();
  std::set<std::string> seen;
  for (const Line& line : lines_of(text)) {
    if (line.fence) continue;
    if (mentions_any(line.text, {"error", "exception", "fail", "traceback", "panic"})) {
      add_unique(out, seen, std::string(trim(line.text)));
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
      if (trim(content).empty()) return;
      current["heading"] = "";
      current["level"] = 0;
    }
    current["content"] = std::string(trim(content));
    if (out.size() < kMaxEntries) out.push_back(std::move(current));
    current = Value();
    content.clear();
  };
  for (const Line& line : lines_of(text)) {
    size_t level = 0;
    while (!line.code && level < line.text.size() && line.text[level] == '#') ++level;
    if (level >= 1 && level <= 6 && level < line.text.size() && line.text[level] == ' ') {
      close();
      current["heading"] = std::string(trim(line.text.substr(level)));
      current["level"] = static_cast<int64_t>(level);
      continue;
    }
    content.append(line.text).push_back('\n');
  }
  close();
  return out;
}

std::string summary_of(std::string_view text, size_t max_chars) {
  text = trim(text);
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
  return std::string(trim(text.substr(0, keep))) + "...";
}

Result<Extraction> extract(std::string_view text, const ExtractionConfig& config) {
  Extraction out;
  out.text = std::string(text);
  switch (config.format) {
    case ExtractFormat::kJson: {
      auto data = find_json(text);
      if (!data.ok()) return std::move(data).error();
      out.data = std::move(*data);
      break;
    }
    case ExtractFormat::kMarkdown:
      out.extracted["sections"] = markdown_sections(text);
      break;
    case ExtractFormat::kSummary:
      out.text = summary_of(text, config.max_summary_length);
      break;
    case ExtractFormat::kText:
      break;
  }
  Value applied = Value::array();
  for (PostProcess op : config.post_processing) {
    const PostProcessName& e = post_processing_entry(op);
    out.extracted[e.key] = e.run(text);
    applied.push_back(std::string(e.name));
  }
  if (config.include_metadata) {
    out.metadata["format"] = format_name(config.format);
    out.metadata["post_processing"] = std::move(applied);
    out.metadata["original_length"] = static_cast<int64_t>(text.size());
    out.metadata["processed_length"] = static_cast<int64_t>(out.text.size());
  }
  return out;
}

}  // namespace pl::worker::llm
