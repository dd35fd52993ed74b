#include "worker/llm/extraction.h"

#include <algorithm>

#include "common/json.h"
#include "worker/llm/text_scans.h"

namespace pl::worker::llm {
namespace {

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
  const std::string_view whole = trim_space(text);
  if (auto v = parse_json(whole, 64); v.ok()) return v;
  // Fenced blocks, in order.
  std::string block;
  bool in_block = false;
  for (const TextLine& line : text_lines(text)) {
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
