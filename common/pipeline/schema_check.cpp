#include "common/pipeline/schema_check.h"

#include "common/pipeline/duration.h"
#include "common/pipeline/suggest.h"
#include "common/pipeline/template.h"

namespace pl::pipeline {
namespace {

std::string list_words(std::span<const std::string_view> values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += values[i];
  }
  return out;
}

bool is_string_scalar(const YamlNode& node) {
  return node.is_scalar() && node.scalar_value().is_string();
}

// A string key also takes a plain number (kept as text); not null, a bool, a list or a map.
bool is_stringish(const YamlNode& node) {
  if (!node.is_scalar()) return false;
  Value v = node.scalar_value();
  return v.is_string() || v.is_number();
}

// Why a literal key refuses a template, for the message.
std::string_view literal_reason(const KeySpec& spec) {
  return spec.note.empty() ? std::string_view("it is read as written, never rendered") : spec.note;
}

Value table_value(const YamlNode& map, const KeyTable& table) {
  Value::Object out;
  for (const auto& m : map.members) {
    const KeySpec* spec = table.find(m.key);
    out.emplace(m.key, spec ? value_as(m.value, *spec) : m.value.to_value());
  }
  return Value(std::move(out));
}

Value prompt_value(const YamlNode& prompt) {
  if (!prompt.is_sequence()) return prompt.is_scalar() ? Value(prompt.scalar) : prompt.to_value();
  Value::Array parts;
  for (const auto& part : prompt.items) {
    const YamlNode* type = part.is_map() ? part.find("type") : nullptr;
    const KeyTable* table = type && type->is_scalar() ? prompt_part_keys(type->scalar) : nullptr;
    parts.push_back(table ? table_value(part, *table) : part.to_value());
  }
  return Value(std::move(parts));
}

}  // namespace

std::string join_path(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return std::string(prefix) + "." + std::string(key);
}

const KeySpec* find_key(std::string_view key, const KeyTable& table, const KeyTable* fallback) {
  if (const KeySpec* spec = table.find(key)) return spec;
  return fallback ? fallback->find(key) : nullptr;
}

bool is_template_string(const YamlNode& node) {
  return node.is_scalar() && has_template(node.scalar) && node.scalar_value().is_string();
}

void SchemaChecker::error(const SourceLocation& where, std::string message) {
  out_.push_back(Diagnostic{Severity::kError, where, std::move(message)});
}

void SchemaChecker::warning(const SourceLocation& where, std::string message) {
  out_.push_back(Diagnostic{Severity::kWarning, where, std::move(message)});
}

void SchemaChecker::check_map(const YamlNode& map, const KeyTable& table, std::string_view context,
                              std::string_view prefix, const KeyTable* fallback,
                              const SourceLocation* anchor) {
  for (const auto& member : map.members) {
    const std::string path = join_path(prefix, member.key);
    const KeySpec* spec = find_key(member.key, table, fallback);
    if (!spec) {
      std::vector<std::string_view> names = table.names();
      if (fallback) {
        for (auto name : fallback->names()) names.push_back(name);
      }
      error(member.key_where, "unknown key " + quote(member.key) + " in " + std::string(context) +
                                  did_you_mean(member.key, names));
      continue;
    }
    if (spec->support == KeySupport::kIgnored) {
      warning(member.key_where, "key " + quote(path) + " is ignored: " + std::string(spec->note));
      continue;
    }
    check_value(member.value, *spec, path, member.key_where);
  }
  auto require = [&](const KeyTable& t) {
    for (const KeySpec& spec : t.keys) {
      if (spec.is_required && !map.member(spec.name) &&
          find_key(spec.name, table, fallback) == &spec) {
        error(anchor ? *anchor : map.where,
              std::string(context) + " is missing required key " + quote(spec.name));
      }
    }
  };
  require(table);
  if (fallback) require(*fallback);
}

bool SchemaChecker::wrong_kind(const YamlNode& value, const KeySpec& spec,
                               const std::string& path) {
  // Digits that did not fit 64 bits were read as text: say so, not "got string".
  const std::string_view digits =
      std::string_view(value.scalar).substr(value.scalar.starts_with('-') ? 1 : 0);
  const bool too_big = spec.kind == KeyKind::kInt && value.is_scalar() && !value.quoted &&
                       !digits.empty() &&
                       digits.find_first_not_of("0123456789") == std::string_view::npos;
  if (too_big) {
    error(value.where,
          "key " + quote(path) + " must be an integer that fits 64 bits, got " + value.scalar);
    return false;
  }
  error(value.where, "key " + quote(path) + " must be " + std::string(key_kind_phrase(spec.kind)) +
                         ", got " + value.describe());
  return false;
}

void SchemaChecker::refuse_template(const YamlNode& value, const KeySpec& spec,
                                    const std::string& path) {
  error(value.where, "key " + quote(path) + " must be written as a literal, not a template: " +
                         std::string(literal_reason(spec)));
}

void SchemaChecker::refuse_templates_inside(const YamlNode& value, const KeySpec& spec,
                                            const std::string& path) {
  if (is_template_string(value)) {
    refuse_template(value, spec, path);
  } else if (value.is_sequence()) {
    for (size_t i = 0; i < value.items.size(); ++i) {
      refuse_templates_inside(value.items[i], spec, join_path(path, std::to_string(i)));
    }
  } else if (value.is_map()) {
    for (const auto& member : value.members) {
      refuse_templates_inside(member.value, spec, join_path(path, member.key));
    }
  }
}

bool SchemaChecker::check_value(const YamlNode& value, const KeySpec& spec, const std::string& path,
                                const SourceLocation& key_where) {
  if (spec.support == KeySupport::kIgnored) return true;
  // From here on, `templated` is only ever true for a key that is rendered when the step runs:
  // its allowed values and kind are checked then.
  const bool templated = is_template_string(value);
  if (templated && spec.is_literal) {
    refuse_template(value, spec, path);
    return false;
  }
  if (spec.is_verbatim) refuse_templates_inside(value, spec, path);
  const Value scalar = value.scalar_value();
  switch (spec.kind) {
    case KeyKind::kAny:
      return true;
    case KeyKind::kString:
      if (!is_stringish(value)) return wrong_kind(value, spec, path);
      if (spec.is_non_empty && value.scalar.empty()) {
        error(value.where, "key " + quote(path) + " must not be empty");
        return false;
      }
      if (!spec.allowed.empty() && !templated) {
        bool found = false;
        for (auto allowed : spec.allowed) found = found || allowed == value.scalar;
        if (!found) {
          error(value.where, "key " + quote(path) + " must be one of " + list_words(spec.allowed) +
                                 "; got " + quote(value.scalar) +
                                 did_you_mean(value.scalar, spec.allowed));
          return false;
        }
      }
      return true;
    case KeyKind::kInt:
      if (templated) return true;
      if (!scalar.is_int()) return wrong_kind(value, spec, path);
      if (scalar.as_int() < spec.minimum) {
        error(value.where, "key " + quote(path) + " must be at least " +
                               std::to_string(spec.minimum) + ", got " + value.scalar);
        return false;
      }
      if (scalar.as_int() > spec.maximum) {
        error(value.where, "key " + quote(path) + " must be at most " +
                               std::to_string(spec.maximum) + ", got " + value.scalar);
        return false;
      }
      return true;
    case KeyKind::kNumber:
      if (templated || scalar.is_number()) return true;
      return wrong_kind(value, spec, path);
    case KeyKind::kBool:
      if (templated || scalar.is_bool()) return true;
      return wrong_kind(value, spec, path);
    case KeyKind::kDuration: {
      if (!value.is_scalar() || scalar.is_bool()) return wrong_kind(value, spec, path);
      auto ms = parse_duration_ms(scalar);
      if (!ms.ok()) {
        error(value.where, "key " + quote(path) + ": " + ms.error().message);
        return false;
      }
      return true;
    }
    case KeyKind::kList:
      if (templated) return true;
      if (!value.is_sequence()) return wrong_kind(value, spec, path);
      if (spec.nested) {
        for (size_t i = 0; i < value.items.size(); ++i) {
          const YamlNode& element = value.items[i];
          const std::string element_path = join_path(path, std::to_string(i));
          if (!element.is_map()) {
            error(element.where,
                  "each entry of " + quote(path) + " must be a map, got " + element.describe());
            continue;
          }
          check_map(element, *spec.nested, element_path, element_path);
        }
      }
      return true;
    case KeyKind::kMap:
      if (templated) return true;
      if (!value.is_map()) return wrong_kind(value, spec, path);
      if (spec.nested) check_map(value, *spec.nested, path, path, nullptr, &key_where);
      return true;
    case KeyKind::kMapOfMaps:
      if (!value.is_map()) return wrong_kind(value, spec, path);
      for (const auto& member : value.members) {
        const std::string member_path = join_path(path, member.key);
        if (member.value.is_null()) continue;
        if (!member.value.is_map()) {
          error(member.value.where,
                "key " + quote(member_path) + " must be a map, got " + member.value.describe());
          continue;
        }
        if (spec.nested) {
          check_map(member.value, *spec.nested, member_path, member_path, nullptr,
                    &member.key_where);
        }
      }
      return true;
    case KeyKind::kStringList: {
      if (templated) return true;
      if (!value.is_sequence()) return wrong_kind(value, spec, path);
      bool ok = true;
      for (const auto& element : value.items) {
        if (!is_stringish(element)) {
          error(element.where,
                "each entry of " + quote(path) + " must be a string, got " + element.describe());
          ok = false;
          continue;
        }
        if (is_template_string(element)) {
          if (!spec.is_literal) continue;  // checked when rendered
          refuse_template(element, spec, path);
          ok = false;
          continue;
        }
        if (spec.allowed.empty()) continue;
        bool found = false;
        for (auto allowed : spec.allowed) found = found || allowed == element.scalar;
        if (!found) {
          error(element.where, "each entry of " + quote(path) + " must be one of " +
                                   list_words(spec.allowed) + "; got " + quote(element.scalar) +
                                   did_you_mean(element.scalar, spec.allowed));
          ok = false;
        }
      }
      return ok;
    }
    case KeyKind::kStringOrList:
      if (is_stringish(value) || value.is_sequence()) return true;
      return wrong_kind(value, spec, path);
    case KeyKind::kListOfStringsOrMaps:
      if (templated) return true;
      if (!value.is_sequence()) return wrong_kind(value, spec, path);
      for (size_t i = 0; i < value.items.size(); ++i) {
        const YamlNode& element = value.items[i];
        const std::string element_path = join_path(path, std::to_string(i));
        if (is_string_scalar(element)) {
          if (spec.is_literal && is_template_string(element)) {
            refuse_template(element, spec, element_path);
          }
          continue;
        }
        if (element.is_map() && spec.nested) {
          check_map(element, *spec.nested, element_path, element_path);
          continue;
        }
        error(element.where, "each entry of " + quote(path) + " must be a string or a map, got " +
                                 element.describe());
      }
      return true;
    case KeyKind::kCondition:
      if (value.is_null() || value.is_scalar() || value.is_sequence() || value.is_map())
        return true;
      return wrong_kind(value, spec, path);
    case KeyKind::kPrompt:
      if (is_stringish(value)) return true;
      if (!value.is_sequence()) return wrong_kind(value, spec, path);
      check_prompt(value, path);
      return true;
    case KeyKind::kSteps:
      if (!value.is_sequence()) return wrong_kind(value, spec, path);
      return true;
    case KeyKind::kPipeline:
      if (!value.is_map()) return wrong_kind(value, spec, path);
      return true;
  }
  return true;
}

void SchemaChecker::check_prompt(const YamlNode& prompt, const std::string& path) {
  if (prompt.items.empty()) {
    error(prompt.where, "key " + quote(path) + " must not be an empty list");
    return;
  }
  for (size_t i = 0; i < prompt.items.size(); ++i) {
    const YamlNode& part = prompt.items[i];
    const std::string part_path = join_path(path, std::to_string(i));
    if (!part.is_map()) {
      error(part.where, "a prompt part must be a map with a \"type\", got " + part.describe());
      continue;
    }
    const YamlNode* type = part.find("type");
    if (!type) {
      error(part.where, "prompt part " + quote(part_path) + " is missing required key \"type\"");
      continue;
    }
    if (!is_string_scalar(*type)) {
      error(type->where,
            "key " + quote(part_path + ".type") + " must be a string, got " + type->describe());
      continue;
    }
    const KeyTable* table = prompt_part_keys(type->scalar);
    if (!table) {
      if (auto note = unsupported_prompt_part_note(type->scalar)) {
        error(type->where, "prompt part type " + quote(type->scalar) +
                               " is not supported: " + std::string(*note));
      } else {
        error(type->where, "unknown prompt part type " + quote(type->scalar) +
                               did_you_mean(type->scalar, prompt_part_types()));
      }
      continue;
    }
    check_map(part, *table, "prompt part " + quote(part_path), part_path);
    if (type->scalar == "session_context" && !part.find("session_name") &&
        !part.find("session_id")) {
      error(part.where,
            "prompt part " + quote(part_path) + " is missing required key \"session_name\"");
    }
  }
}

Value value_as(const YamlNode& node, const KeySpec& spec) {
  switch (spec.kind) {
    case KeyKind::kString:
      return is_stringish(node) ? Value(node.scalar) : node.to_value();
    case KeyKind::kStringOrList:
      if (is_stringish(node)) return Value(node.scalar);
      [[fallthrough]];
    case KeyKind::kStringList:
      if (!node.is_sequence()) return node.to_value();
      {
        Value::Array out;
        for (const auto& element : node.items) {
          out.push_back(is_stringish(element) ? Value(element.scalar) : element.to_value());
        }
        return Value(std::move(out));
      }
    case KeyKind::kMap:
      if (node.is_map() && spec.nested) return table_value(node, *spec.nested);
      return node.to_value();
    case KeyKind::kList:
    case KeyKind::kListOfStringsOrMaps:
      if (!node.is_sequence() || !spec.nested) return node.to_value();
      {
        Value::Array out;
        for (const auto& element : node.items) {
          out.push_back(element.is_map() ? table_value(element, *spec.nested) : element.to_value());
        }
        return Value(std::move(out));
      }
    case KeyKind::kMapOfMaps:
      if (!node.is_map() || !spec.nested) return node.to_value();
      {
        Value::Object out;
        for (const auto& m : node.members) {
          out.emplace(m.key,
                      m.value.is_map() ? table_value(m.value, *spec.nested) : m.value.to_value());
        }
        return Value(std::move(out));
      }
    case KeyKind::kPrompt:
      return prompt_value(node);
    default:
      return node.to_value();
  }
}

}  // namespace pl::pipeline
