// claude_extract's post-processing of the model's text. Pure functions over strings.
//
// extraction_config:
//   format: text       the text as the model wrote it (default)
//           json       the text must hold a JSON value: the whole text, else the first fenced
//                      code block that parses, else the outermost {...} or [...] that parses.
//                      The value goes to `data`; text without JSON is kStepFailed. The model
//                      is asked for JSON (and the API's JSON mode is used where there is one).
//           markdown   the text, and `extracted.sections`: [{heading, level, content}], one per
//                      heading (text before the first heading is a section with level 0)
//           summary    the model is asked for a summary; the text is cut to
//                      max_summary_length characters (default 500) at a word boundary, with
//                      "..." when cut
//   post_processing (each adds one list to `extracted`, in the order found, without repeats,
//   at most 200 entries):
//           extract_code_blocks     code_blocks: [{language, code}] from ``` or ~~~ fences
//           extract_links           links: http(s) URLs
//           extract_recommendations recommendations: lines that recommend, suggest, advise,
//                                   or say "should" / "consider" (outside code)
//           extract_key_points      key_points: bullet and numbered list items (outside code)
//           extract_entities        entities: runs of Capitalised Words (a lone capitalised
//                                   word that starts a sentence does not count) and `code`
//                                   spans (outside fenced code). A heuristic, not NER.
//           extract_errors          errors: lines that mention an error, exception, failure,
//                                   traceback or panic
//   include_metadata: adds `extraction: {format, post_processing, original_length,
//                     processed_length}` (lengths in bytes)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/llm/text_scans.h"

namespace pl::worker::llm {

enum class ExtractFormat { kText, kJson, kMarkdown, kSummary };

enum class PostProcess { kCodeBlocks, kLinks, kRecommendations, kKeyPoints, kEntities, kErrors };

struct ExtractionConfig {
  ExtractFormat format = ExtractFormat::kText;
  std::vector<PostProcess> post_processing;
  size_t max_summary_length = 500;
  bool include_metadata = false;
};

// Reads a step's extraction_config (null = defaults). kInvalidInput names a wrong key value.
Result<ExtractionConfig> read_extraction_config(const Value& config);

// What to add to the system prompt so the model answers in the wanted format ("" for text).
std::string format_instruction(const ExtractionConfig& config);

struct Extraction {
  std::string text;
  std::optional<Value> data;          // the JSON value (format json)
  Value extracted = Value::object();  // sections and post-processing lists
  Value metadata;                     // null unless include_metadata
};

Result<Extraction> extract(std::string_view text, const ExtractionConfig& config);

// The JSON value in a model's answer, as format json finds it; kStepFailed when there is none.
Result<Value> find_json(std::string_view text);

}  // namespace pl::worker::llm
