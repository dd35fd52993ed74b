// `{{args.NAME}}` references in a tool's command, stdin and cwd.
//
// A template is literal text with references `{{args.a.b}}` (a dotted path into the arguments;
// spaces inside the braces are allowed) or `{{args}}` (all arguments). Rendering replaces each
// reference with the value: a string as it is, anything else as compact JSON. Rendering never
// splits or joins: one command element stays one argv entry, whatever the values contain, and
// nothing is ever given to a shell. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl {

struct TemplatePart {
  bool reference = false;
  std::string text;               // the literal text, or the reference as written ("args.path")
  std::vector<std::string> path;  // for a reference: the segments after "args" (empty = all)
};

// Splits `text` into parts. kInvalidInput for an unclosed "{{", an empty reference, or a
// reference to anything but args: "{{inputs.x}}: only {{args.NAME}} references are allowed".
Result<std::vector<TemplatePart>> parse_arg_template(std::string_view text);

// Whether `text` contains a reference (after a successful parse).
bool has_references(const std::vector<TemplatePart>& parts);

// Renders parsed parts against `args`. kInvalidInput naming the reference when it is absent:
// "args.path is not given".
Result<std::string> render_arg_template(const std::vector<TemplatePart>& parts, const Value& args);
// parse_arg_template + render_arg_template.
Result<std::string> render_arg_template(std::string_view text, const Value& args);

}  // namespace pl
