// The schema of the pipeline format, as data: for each map in a pipeline file (the workflow, a
// step of each type, claude_options, retry, prompt parts, ...) the keys it may hold, what kind of
// value each takes, which are required, and which are accepted from pipeline_ex but ignored.
//
// The tables live in schema.cpp; schema_check.h applies them to YAML. Adding a key to the format
// is adding a row there.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/pipeline/model.h"

namespace pl::pipeline {

enum class KeyKind : uint8_t {
  kAny,                  // any value
  kString,               // a string; a plain number is accepted and kept as its text
  kInt,                  // an integer
  kNumber,               // an integer or a decimal
  kBool,                 // true or false
  kList,                 // a list; with `nested`, every element is a map checked against it
  kMap,                  // a map; with `nested`, its keys are checked against it
  kStringList,           // a list of strings; with `allowed`, each must be one of them
  kStringOrList,         // a string or a list
  kCondition,            // a condition (condition.h): string, bool, list or and/or/not map
  kPrompt,               // a string, or a list of prompt parts (prompt_part_keys)
  kSteps,                // a list of steps: read by the loader
  kDuration,             // seconds or a string with a unit (duration.h)
  kMapOfMaps,            // name -> map checked against `nested` (or null)
  kListOfStringsOrMaps,  // each element a string, or a map checked against `nested`
  kPipeline,             // an inline pipeline: read by the loader like `workflow`
};

// "a string", "an integer", ...: the words of "must be ..." messages.
std::string_view key_kind_phrase(KeyKind kind);

enum class KeySupport : uint8_t {
  kHonoured,  // the format defines it and the system acts on it
  kIgnored,   // pipeline_ex defines it but we cannot honour it: accepted with a warning
};

inline constexpr int64_t kNoMinimum = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kNoMaximum = std::numeric_limits<int64_t>::max();

struct KeyTable;

// One key of a map. Built with the constexpr helpers below:
//   key("max_parallel", KeyKind::kInt).at_least(1)
struct KeySpec {
  std::string_view name;
  KeyKind kind = KeyKind::kAny;
  bool is_required = false;
  // A template is not accepted here: the value is read as written (by the loader, or by the
  // broker without rendering it). The members of a literal map or list keep their own specs.
  bool is_literal = false;
  // Like is_literal, and for every string anywhere inside the value too (data used as written:
  // global_vars, an input's default).
  bool is_verbatim = false;
  bool is_non_empty = false;  // for kString: "" is refused (a name that must name something)
  KeySupport support = KeySupport::kHonoured;
  const KeyTable* nested = nullptr;
  std::span<const std::string_view> allowed;  // a string's permitted values; empty = any
  int64_t minimum = kNoMinimum;               // for kInt
  int64_t maximum = kNoMaximum;               // for kInt
  std::string_view note;  // for ignored keys: why; for literal keys: what to do instead

  constexpr KeySpec required() const {
    KeySpec s = *this;
    s.is_required = true;
    return s;
  }
  constexpr KeySpec literal() const {
    KeySpec s = *this;
    s.is_literal = true;
    return s;
  }
  constexpr KeySpec verbatim(std::string_view hint = {}) const {
    KeySpec s = *this;
    s.is_literal = true;
    s.is_verbatim = true;
    s.note = hint;
    return s;
  }
  constexpr KeySpec non_empty() const {
    KeySpec s = *this;
    s.is_non_empty = true;
    return s;
  }
  constexpr KeySpec at_least(int64_t m) const {
    KeySpec s = *this;
    s.minimum = m;
    return s;
  }
  // Times (milliseconds, seconds) are bounded like durations (duration.h), so that no sum or
  // product of them can overflow where they are used.
  constexpr KeySpec at_most(int64_t m) const {
    KeySpec s = *this;
    s.maximum = m;
    return s;
  }
  constexpr KeySpec one_of(std::span<const std::string_view> values) const {
    KeySpec s = *this;
    s.allowed = values;
    return s;
  }
  constexpr KeySpec with(const KeyTable* table) const {
    KeySpec s = *this;
    s.nested = table;
    return s;
  }
};

constexpr KeySpec key(std::string_view name, KeyKind kind) {
  KeySpec s;
  s.name = name;
  s.kind = kind;
  return s;
}

constexpr KeySpec ignored(std::string_view name, std::string_view note) {
  KeySpec s;
  s.name = name;
  s.support = KeySupport::kIgnored;
  s.note = note;
  return s;
}

struct KeyTable {
  std::string_view what;  // how messages name such a map: "claude_options", "retry"
  std::span<const KeySpec> keys;

  const KeySpec* find(std::string_view name) const;
  std::vector<std::string_view> names() const;
};

// The file's root map: `workflow`.
const KeyTable& root_keys();
// The `workflow` map (also an inline `pipeline:`).
const KeyTable& workflow_keys();
// Keys every step has: name, type, condition, output_to_file, timeout, retry, on_error, ...
const KeyTable& common_step_keys();
// The keys particular to one step type. A key listed both here and in common_step_keys()
// (while_loop's required `condition`) is read with this spec.
const KeyTable& step_keys(StepType type);

// The keys of a prompt part of the given `type`, or nullptr for a type we do not know.
const KeyTable* prompt_part_keys(std::string_view part_type);
std::vector<std::string_view> prompt_part_types();

// For step types (or prompt part types) that pipeline_ex defines but this system does not run:
// why, for the error message. nullopt for any other name.
std::optional<std::string_view> unsupported_step_type_note(std::string_view type_name);
std::optional<std::string_view> unsupported_prompt_part_note(std::string_view part_type);

// Input types a pipeline may declare, canonical first: string, number, integer, bool, list,
// map, any; and the aliases boolean, array, object.
std::span<const std::string_view> input_type_names();

}  // namespace pl::pipeline
