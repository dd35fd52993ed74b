// A step's `prompt` (templates already rendered by the broker) as the text sent to the model.
//
// A prompt is a string, or a list of parts joined with newlines:
//   {type: static, content}          content as is; a non-string content (a template that
//                                    rendered to a map or list) as pretty JSON
//   {type: file, path}               the file's text. A relative path is looked up in the
//                                    pipeline's directory, then in the workspace; an absolute
//                                    path must lie in one of them. Paths that leave both (by
//                                    "..", or by a symlink) are refused (kInvalidInput);
//                                    missing files are kNotFound; files over max_file_bytes are
//                                    kTooLarge; directories are refused.
//   {type: previous_response, step, extract, content}
//                                    the broker resolves it and puts the value in `content`;
//                                    used like static. No `content` is kInvalidInput.
//   {type: session_context, session_name (or session_id), turns (or include_last_n, default 10)}
//                                    the session's last turns, one "role: text" line each,
//                                    under a header naming the session; kNotFound when
//                                    no such session exists
//   a plain string in the list       like static
// An empty prompt is kInvalidInput; one over max_prompt_bytes is kTooLarge. Errors name the
// part: "prompt part 2 (file "notes.md"): ...". Session errors are never blamed on the provider
// (see blame.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "worker/llm/session_store.h"
#include "worker/providers/provider.h"

namespace pl::worker::llm {

struct PromptContext {
  std::filesystem::path pipeline_dir;   // "" = not available
  std::filesystem::path workspace_dir;  // "" = not available
  SessionStore* sessions = nullptr;     // nullptr: session_context parts fail
  size_t max_file_bytes = 4 * 1024 * 1024;
  size_t max_prompt_bytes = 16 * 1024 * 1024;
  providers::CallContext call;
};

Result<std::string> build_prompt(const Value& prompt, const PromptContext& context);

// Where a file part's `path` points, after the confinement rules above.
Result<std::filesystem::path> resolve_prompt_file(std::string_view path, const PromptContext& context);

// Session turns as prompt text: a header line, then "user: ..." / "assistant: ..." lines.
std::string render_session_turns(std::string_view session_name,
                                 const std::vector<SessionMessage>& messages);

// A value as prompt text: strings as they are, anything else as pretty JSON.
std::string value_as_text(const Value& v);

}  // namespace pl::worker::llm
