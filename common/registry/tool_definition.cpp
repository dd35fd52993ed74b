#include "common/registry/tool_definition.h"

#include <algorithm>
#include <filesystem>

#include "common/config/yaml_document.h"
#include "common/json.h"
#include "common/registry/arg_template.h"
#include "common/registry/json_schema.h"
#include "common/text.h"

namespace pl {
namespace {

constexpr std::string_view kKeys[] = {"name",      "description", "input_schema", "command",
                                      "stdin",     "cwd",         "timeout_ms",   "env_allow",
                                      "env",       "limits",      "max_output_bytes"};
constexpr std::string_view kLimitKeys[] = {"cpu_seconds", "memory_mb", "open_files"};
constexpr size_t kMaxDescription = 16 * 1024;
constexpr size_t kMaxCommandElements = 256;

bool env_name_ok(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Checked reads of one mapping, recording every problem with its place.
class DefinitionReader {
 public:
  DefinitionReader(std::string root, const DefinitionLocator& locate)
      : root_(std::move(root)), locate_(locate) {}

  void problem(const std::string& pointer, const std::string& what, bool at_key = false) {
    std::string line;
    if (locate_) {
      const std::string where = locate_(pointer, at_key);
      if (!where.empty()) line = where + ": ";
    }
    const std::string field = dotted(pointer);
    if (!field.empty()) line += field + ": ";
    line += what;
    problems_.push_back(std::move(line));
  }

  void unknown_keys(const Value& map, const std::string& pointer,
                    const std::vector<std::string_view>& known) {
    for (const auto& [key, _] : map.as_object()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        problem(pointer_append(pointer, key), "unknown key" + did_you_mean(key, known), true);
      }
    }
  }

  std::optional<std::string> string(const Value& map, const std::string& pointer, std::string_view key) {
    const Value* v = map.find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      problem(pointer_append(pointer, key), "expected a string, got " + a_kind(v->kind()));
      return std::nullopt;
    }
    return v->as_string();
  }

  int64_t integer(const Value& map, const std::string& pointer, std::string_view key, int64_t fallback,
                  int64_t min, int64_t max) {
    const Value* v = map.find(key);
    if (!v) return fallback;
    if (!v->is_int()) {
      problem(pointer_append(pointer, key), "expected an integer, got " + a_kind(v->kind()));
      return fallback;
    }
    if (v->as_int() < min || v->as_int() > max) {
      problem(pointer_append(pointer, key), std::to_string(v->as_int()) + " is out of range [" +
                                                std::to_string(min) + ", " + std::to_string(max) + "]");
      return fallback;
    }
    return v->as_int();
  }

  std::vector<std::string> string_list(const Value& map, const std::string& pointer, std::string_view key) {
    std::vector<std::string> out;
    const Value* v = map.find(key);
    if (!v) return out;
    const std::string here = pointer_append(pointer, key);
    if (!v->is_array()) {
      problem(here, "expected a list of strings, got " + a_kind(v->kind()));
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const Value& e = v->as_array()[i];
      if (e.is_string()) {
        out.push_back(e.as_string());
      } else if (e.is_number() || e.is_bool()) {
        out.push_back(to_json(e));  // YAML reads `-1` as a number; the argv wants its text
      } else {
        problem(pointer_append(here, i), "expected a string, got " + a_kind(e.kind()));
      }
    }
    return out;
  }

  Status status() const {
    if (problems_.empty()) return ok_status();
    return make_error(ErrorCode::kInvalidInput, join(problems_, "\n"));
  }

  // "definition.limits.memory_mb", "definition.command[2]".
  std::string dotted(const std::string& pointer) const {
    std::string out = root_;
    size_t pos = 0;
    while (pos < pointer.size()) {
      const size_t next = pointer.find('/', pos + 1);
      std::string segment = pointer.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      for (size_t i; (i = segment.find("~1")) != std::string::npos;) segment.replace(i, 2, "/");
      for (size_t i; (i = segment.find("~0")) != std::string::npos;) segment.replace(i, 2, "~");
      const bool index = !segment.empty() && std::all_of(segment.begin(), segment.end(), ::isdigit);
      if (index) {
        out += "[" + segment + "]";
      } else {
        if (!out.empty()) out += ".";
        out += segment;
      }
      pos = next == std::string::npos ? pointer.size() : next;
    }
    return out;
  }

 private:
  std::string root_;
  const DefinitionLocator& locate_;
  std::vector<std::string> problems_;
};

// The property names a schema declares at its top level (empty when it declares none).
std::vector<std::string_view> declared_properties(const Value& schema) {
  std::vector<std::string_view> names;
  if (const Value* props = schema.find("properties"); props && props->is_object()) {
    for (const auto& [name, _] : props->as_object()) names.push_back(name);
  }
  return names;
}

// Checks one template field: it parses, and every reference names a declared property.
void check_template(DefinitionReader& r, const std::string& pointer, const std::string& text,
                    const Value& schema, bool literal_only) {
  auto parts = parse_arg_template(text);
  if (!parts.ok()) {
    r.problem(pointer, parts.error().message);
    return;
  }
  if (literal_only && has_references(*parts)) {
    r.problem(pointer, "the program to run must be fixed: no {{args...}} here");
    return;
  }
  // A schema that declares properties lists every name a template may use; one that declares
  // none and allows extra properties accepts any name.
  const auto names = declared_properties(schema);
  const Value* extra = schema.find("additionalProperties");
  const bool closed = extra && extra->is_bool() && !extra->as_bool();
  for (const auto& part : *parts) {
    if (!part.reference || part.path.empty()) continue;
    const std::string& first = part.path.front();
    const bool declared = std::find(names.begin(), names.end(), first) != names.end();
    if (!declared && (!names.empty() || closed)) {
      r.problem(pointer, "{{" + part.text + "}} names no property of input_schema" +
                             did_you_mean(first, names));
    }
  }
}

// The option that makes `program` run its next argument as code (sh -c, python -c, perl -e,
// ...), or "" when it has none we know of.
std::string_view code_option(std::string_view program) {
  const std::string_view base = program.substr(program.rfind('/') + 1);
  static constexpr std::pair<std::string_view, std::string_view> kInterpreters[] = {
      {"sh", "c"},    {"bash", "c"}, {"dash", "c"},   {"zsh", "c"},
      {"ksh", "c"},   {"ash", "c"},  {"python", "c"}, {"python3", "c"},
      {"perl", "eE"}, {"ruby", "e"}, {"node", "e"},   {"nodejs", "e"}};
  for (const auto& [name, options] : kInterpreters) {
    if (base == name) return options;
  }
  return "";
}

// A template inside code that an interpreter runs (`[sh, -c, "cat {{args.f}}"]`) turns input
// into code: "; rm -rf ~" in f would run. Substituting each {{args.x}} as one argv element is
// what keeps input out of the code; the script takes its values as arguments instead.
void check_no_code_from_input(DefinitionReader& r, const ToolDefinition& d) {
  if (d.command.empty()) return;
  const std::string_view options = code_option(d.command[0]);
  if (options.empty()) return;
  for (size_t i = 1; i + 1 < d.command.size(); ++i) {
    const std::string& arg = d.command[i];
    // A cluster of one-letter options ("-c", "-ec", "-Ie") that includes a code option.
    if (arg.size() < 2 || arg[0] != '-' || arg[1] == '-') continue;
    if (arg.find_first_of(options, 1) == std::string::npos) continue;
    auto parts = parse_arg_template(d.command[i + 1]);
    if (parts.ok() && has_references(*parts)) {
      r.problem(pointer_append("/command", i + 1),
                "{{args...}} inside code that " + d.command[0] + " " + arg +
                    " runs would run input as code; pass values as arguments after the code "
                    "and use them from there, e.g. [sh, -c, 'wc -l \"$1\"', sh, '{{args.file}}']");
    }
    return;
  }
}

void read_limits(DefinitionReader& r, const Value& v, ToolDefinition& d) {
  const Value* limits = v.find("limits");
  if (!limits) return;
  const std::string here = "/limits";
  if (!limits->is_object()) {
    r.problem(here, "expected a map, got " + a_kind(limits->kind()));
    return;
  }
  r.unknown_keys(*limits, here, {std::begin(kLimitKeys), std::end(kLimitKeys)});
  d.limits.cpu_seconds = r.integer(*limits, here, "cpu_seconds", 0, 0, 86400);
  d.limits.memory_mb = r.integer(*limits, here, "memory_mb", d.limits.memory_mb, 16, 1024 * 1024);
  d.limits.open_files = r.integer(*limits, here, "open_files", d.limits.open_files, 16, 65536);
}

void read_env(DefinitionReader& r, const Value& v, ToolDefinition& d) {
  d.env_allow = r.string_list(v, "", "env_allow");
  for (size_t i = 0; i < d.env_allow.size(); ++i) {
    if (!env_name_ok(d.env_allow[i])) {
      r.problem(pointer_append("/env_allow", i), "\"" + d.env_allow[i] + "\" is not a variable name");
    }
  }
  const Value* env = v.find("env");
  if (!env) return;
  if (!env->is_object()) {
    r.problem("/env", "expected a map of NAME: value, got " + a_kind(env->kind()));
    return;
  }
  for (const auto& [name, value] : env->as_object()) {
    const std::string here = pointer_append("/env", name);
    if (!env_name_ok(name)) r.problem(here, "\"" + name + "\" is not a variable name", true);
    if (value.is_string()) {
      d.env[name] = value.as_string();
    } else if (value.is_number() || value.is_bool()) {
      d.env[name] = to_json(value);
    } else {
      r.problem(here, "expected a scalar, got " + a_kind(value.kind()));
    }
  }
}

void read_command(DefinitionReader& r, const Value& v, ToolDefinition& d) {
  const Value* command = v.find("command");
  if (!command) {
    r.problem("", "missing key \"command\" (the argv to run, e.g. [wc, -w])");
    return;
  }
  d.command = r.string_list(v, "", "command");
  if (command->is_array() && command->size() == 0) r.problem("/command", "expected at least the program");
  if (d.command.size() > kMaxCommandElements) {
    r.problem("/command", "has more than " + std::to_string(kMaxCommandElements) + " elements");
  }
  for (size_t i = 0; i < d.command.size(); ++i) {
    check_template(r, pointer_append("/command", i), d.command[i], d.input_schema, i == 0);
  }
  if (!d.command.empty() && d.command[0].empty()) r.problem("/command/0", "the program is empty");
  check_no_code_from_input(r, d);
}

void read_cwd(DefinitionReader& r, const Value& v, ToolDefinition& d) {
  if (auto cwd = r.string(v, "", "cwd")) d.cwd = *cwd;
  if (d.cwd.empty()) d.cwd = ".";
  check_template(r, "/cwd", d.cwd, d.input_schema, false);
  if (d.cwd.front() == '/') {
    r.problem("/cwd", "must be relative to the run's workspace, not absolute");
    return;
  }
  int depth = 0;
  for (const auto& part : std::filesystem::path(d.cwd)) {
    if (part == "..") --depth;
    else if (part != "." && !part.empty()) ++depth;
    if (depth < 0) {
      r.problem("/cwd", "\"" + d.cwd + "\" leaves the run's workspace");
      return;
    }
  }
}

}  // namespace

int64_t ToolDefinition::effective_cpu_seconds() const {
  if (limits.cpu_seconds > 0) return limits.cpu_seconds;
  return (timeout_ms + 999) / 1000 + 1;
}

bool is_valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Result<ToolDefinition> tool_definition_from_value(const Value& v, std::string_view root,
                                                  const DefinitionLocator& locate) {
  DefinitionReader r(std::string(root), locate);
  ToolDefinition d;
  if (!v.is_object()) {
    r.problem("", "expected a map, got " + a_kind(v.kind()));
    return r.status().error();
  }
  r.unknown_keys(v, "", {std::begin(kKeys), std::end(kKeys)});

  if (auto name = r.string(v, "", "name")) {
    d.name = *name;
    if (!is_valid_tool_name(d.name)) {
      r.problem("/name", "\"" + d.name + "\" is not a valid tool name (a letter, then up to 63 "
                         "letters, digits, _ or -)");
    }
  } else if (!v.find("name")) {
    r.problem("", "missing key \"name\"");
  }
  if (auto description = r.string(v, "", "description")) d.description = *description;
  if (d.description.size() > kMaxDescription) {
    r.problem("/description", "is longer than " + std::to_string(kMaxDescription) + " bytes");
  }

  d.input_schema = Value::object();
  d.input_schema["type"] = "object";
  if (const Value* schema = v.find("input_schema")) {
    if (auto st = check_schema(*schema, r.dotted("/input_schema"), {kWorkspacePathFormat}); !st.ok()) {
      r.problem("/input_schema", st.error().message);
    } else if (!schema->is_object() || schema->get_string("type") != "object") {
      r.problem("/input_schema", "a tool's input must be an object schema (type: object)");
    } else {
      d.input_schema = *schema;
    }
  }

  read_command(r, v, d);
  if (auto text = r.string(v, "", "stdin")) {
    d.stdin_template = *text;
    check_template(r, "/stdin", *text, d.input_schema, false);
  }
  read_cwd(r, v, d);
  d.timeout_ms = r.integer(v, "", "timeout_ms", d.timeout_ms, 1, 3'600'000);
  read_env(r, v, d);
  read_limits(r, v, d);
  d.max_output_bytes = r.integer(v, "", "max_output_bytes", d.max_output_bytes, 1, 64 * 1024 * 1024);

  if (auto st = r.status(); !st.ok()) return std::move(st).error();
  return d;
}

Value to_value(const ToolDefinition& d) {
  Value v;
  v["name"] = d.name;
  v["description"] = d.description;
  v["input_schema"] = d.input_schema;
  Value command = Value::array();
  for (const auto& c : d.command) command.push_back(c);
  v["command"] = std::move(command);
  if (d.stdin_template) v["stdin"] = *d.stdin_template;
  v["cwd"] = d.cwd;
  v["timeout_ms"] = d.timeout_ms;
  Value allow = Value::array();
  for (const auto& a : d.env_allow) allow.push_back(a);
  v["env_allow"] = std::move(allow);
  Value env = Value::object();
  for (const auto& [name, value] : d.env) env[name] = value;
  v["env"] = std::move(env);
  Value limits;
  limits["cpu_seconds"] = d.limits.cpu_seconds;
  limits["memory_mb"] = d.limits.memory_mb;
  limits["open_files"] = d.limits.open_files;
  v["limits"] = std::move(limits);
  v["max_output_bytes"] = d.max_output_bytes;
  return v;
}

}  // namespace pl
