#include "worker/llm/prompt_builder.h"

#include <algorithm>
#include <system_error>

#include "common/fs.h"
#include "common/json.h"
#include "worker/llm/blame.h"

namespace pl::worker::llm {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kDefaultSessionTurns = 10;

bool is_inside(const fs::path& root, const fs::path& candidate) {
  auto [r, c] = std::mismatch(root.begin(), root.end(), candidate.begin(), candidate.end());
  return r == root.end();
}

fs::path canonical_or_lexical(const fs::path& p) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : out;
}

Result<std::string> file_part(const Value& part, const PromptContext& context) {
  const Value* path = part.find("path");
  if (!path || !path->is_string() || path->as_string().empty()) {
    return make_error(ErrorCode::kInvalidInput, "a file part needs a `path` string");
  }
  auto resolved = resolve_prompt_file(path->as_string(), context);
  if (!resolved.ok()) return std::move(resolved).error();
  std::error_code ec;
  if (fs::is_directory(*resolved, ec)) {
    return make_error(ErrorCode::kInvalidInput, resolved->string() + " is a directory, not a file");
  }
  return read_file(*resolved, context.max_file_bytes);
}

Result<std::string> session_part(const Value& part, const PromptContext& context) {
  std::string name = part.get_string("session_name", part.get_string("session_id"));
  if (name.empty()) {
    return make_error(ErrorCode::kInvalidInput, "a session_context part needs `session_name`");
  }
  const int64_t turns = part.get_int("turns", part.get_int("include_last_n", kDefaultSessionTurns));
  if (turns < 1) return make_error(ErrorCode::kInvalidInput, "`turns` must be at least 1");
  if (!context.sessions) {
    return make_error(ErrorCode::kStepFailed, "sessions are not available on this worker");
  }
  auto snapshot = context.sessions->load(name, HistoryWindow{static_cast<size_t>(turns), 0},
                                         context.call);
  // Reading a conversation that does not exist is a mistake (a misspelt name), not an empty
  // conversation: only a claude_session step starts one.
  if (!snapshot.ok() && snapshot.error().code == ErrorCode::kNotFound) {
    return make_error(ErrorCode::kNotFound,
                      "no session \"" + name + "\" (a claude_session step starts one; "
                      "`pipelinectl sessions list` shows those that exist)");
  }
  if (!snapshot.ok()) return not_the_providers_fault(snapshot.error(), "session \"" + name + "\"");
  return render_session_turns(name, snapshot->messages());
}

// The text of one part, or an error without the part's position (the caller adds it).
Result<std::string> part_text(const Value& part, const PromptContext& context, std::string& label) {
  if (part.is_string()) return part.as_string();
  if (!part.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "expected a map or a string, got " + a_kind(part.kind()));
  }
  const std::string type = part.get_string("type");
  label = type;
  if (type == "static") {
    const Value* content = part.find("content");
    if (!content) return make_error(ErrorCode::kInvalidInput, "a static part needs `content`");
    return value_as_text(*content);
  }
  if (type == "file") {
    label = "file \"" + part.get_string("path") + "\"";
    return file_part(part, context);
  }
  if (type == "previous_response") {
    label = "previous_response of step \"" + part.get_string("step") + "\"";
    const Value* content = part.find("content");
    if (!content) {
      return make_error(ErrorCode::kInvalidInput,
                        "not resolved: the broker puts the extracted value in `content`");
    }
    return value_as_text(*content);
  }
  if (type == "session_context") {
    label = "session_context";
    return session_part(part, context);
  }
  return make_error(ErrorCode::kInvalidInput,
                    "unknown part type \"" + type +
                        "\" (known: static, file, previous_response, session_context)");
}

}  // namespace

std::string value_as_text(const Value& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_null()) return "";
  return to_json(v, JsonStyle::kPretty);
}

std::string render_session_turns(std::string_view session_name,
                                 const std::vector<SessionMessage>& messages) {
  std::string out = "Conversation so far (session \"" + std::string(session_name) + "\"):";
  if (messages.empty()) out += "\n(no turns yet)";
  for (const SessionMessage& m : messages) out += "\n" + m.role + ": " + value_as_text(m.content);
  return out;
}

Result<fs::path> resolve_prompt_file(std::string_view path, const PromptContext& context) {
  std::vector<fs::path> roots;
  for (const fs::path& root : {context.pipeline_dir, context.workspace_dir}) {
    if (!root.empty()) roots.push_back(canonical_or_lexical(absolute_path(root)));
  }
  if (roots.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "no pipeline directory or workspace to read \"" + std::string(path) + "\" from");
  }
  const fs::path given(path);
  bool inside_somewhere = false;
  bool escapes = false;  // it exists, but only through a way out (a symlink, "..")
  for (const fs::path& root : roots) {
    const fs::path candidate = canonical_or_lexical(given.is_absolute() ? given : root / given);
    std::error_code ec;
    const bool exists = fs::exists(candidate, ec);
    if (!is_inside(root, candidate)) {
      escapes = escapes || exists;
      continue;
    }
    inside_somewhere = true;
    if (exists) return candidate;
  }
  if (escapes || !inside_somewhere) {
    return make_error(ErrorCode::kInvalidInput, "\"" + std::string(path) +
                                                    "\" is outside the pipeline directory and the workspace");
  }
  std::string where = roots[0].string();
  if (roots.size() > 1) where += " or " + roots[1].string();
  return make_error(ErrorCode::kNotFound, "\"" + std::string(path) + "\" does not exist in " + where);
}

Result<std::string> build_prompt(const Value& prompt, const PromptContext& context) {
  std::string out;
  if (prompt.is_string()) {
    out = prompt.as_string();
  } else if (prompt.is_array()) {
    size_t index = 0;
    for (const Value& part : prompt.as_array()) {
      ++index;
      std::string label;
      auto text = part_text(part, context, label);
      if (!text.ok()) {
        const std::string where = "prompt part " + std::to_string(index) + (label.empty() ? "" : " (" + label + ")");
        return std::move(text).error().with_context(where);
      }
      if (index > 1) out += '\n';
      out += *text;
      if (out.size() > context.max_prompt_bytes) break;
    }
  } else {
    return make_error(ErrorCode::kInvalidInput, "`prompt` must be a string or a list of parts, not " + a_kind(prompt.kind()));
  }
  if (out.size() > context.max_prompt_bytes) {
    return make_error(ErrorCode::kTooLarge, "the prompt is larger than " +
                                                std::to_string(context.max_prompt_bytes) + " bytes");
  }
  if (out.find_first_not_of(" \t\r\n") == std::string::npos) {
    return make_error(ErrorCode::kInvalidInput, "the prompt is empty");
  }
  return out;
}

}  // namespace pl::worker::llm
