// JSON text: parse_json (provider responses, --input values, tool arguments) and to_json.
//
// Properties: parsing never crashes and fails with kInvalidInput naming where; what parses
// prints, in both styles, as JSON that parses to a value printing the same (to_json is a fixed
// point after one round: invalid UTF-8 and non-finite numbers are replaced only once).
#include "common/json.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {

Finding json(std::string_view input) {
  auto shallow = parse_json(input, 3);
  if (!shallow.ok()) {
    if (Finding f = check_error(shallow.error(), "parse_json with depth 3")) return f;
  }
  auto value = parse_json(input);
  if (!value.ok()) {
    if (shallow.ok()) return "a text that parses with depth 3 fails with depth 128";
    return check_error(value.error(), "parse_json");
  }
  if (shallow.ok() && !identical(*shallow, *value)) return "the depth limit changed the value";

  for (JsonStyle style : {JsonStyle::kCompact, JsonStyle::kPretty}) {
    const std::string printed = to_json(*value, style);
    auto reread = parse_json(printed);
    if (!reread.ok()) return "to_json printed text that does not parse: " + reread.error().message;
    if (to_json(*reread, style) != printed) return "to_json is not stable over a round trip";
  }
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(json)
