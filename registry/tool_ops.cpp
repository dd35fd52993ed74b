#include <algorithm>

#include "common/json.h"
#include "common/protocol/body_reader.h"
#include "common/registry/tool_definition.h"
#include "registry/registry_ops.h"

namespace pl::registry::ops {
namespace {

Error no_tool(const std::string& name) {
  return make_error(ErrorCode::kNotFound, "no tool \"" + name + "\"");
}

// The checked definition of a register/update request, in its canonical form.
Result<ToolDefinition> definition_arg(const OpContext& c, const Value& args, std::string_view op) {
  protocol::BodyReader r(args, op);
  const Value definition = r.object("definition");
  if (!r.ok()) return r.status().error();
  auto parsed = tool_definition_from_value(definition, "definition");
  if (!parsed.ok()) return std::move(parsed).error();
  const size_t bytes = to_json(definition).size();
  if (static_cast<int64_t>(bytes) > c.limits.max_tool_bytes) {
    return make_error(ErrorCode::kTooLarge, "the definition is " + std::to_string(bytes) +
                                                " bytes, over the limit of " +
                                                std::to_string(c.limits.max_tool_bytes));
  }
  return parsed;
}

Value stored_reply(const ToolRecord& t) {
  Value v;
  v["name"] = t.name;
  v["revision"] = t.revision;
  return v;
}

Result<Value> store_tool(const OpContext& c, const ToolDefinition& d,
                         const std::optional<ToolRecord>& existing) {
  ToolRecord record{d.name, to_value(d), 1, c.now_ms, c.now_ms};
  if (existing) {
    record.revision = existing->revision + 1;
    record.created_ms = existing->created_ms;
  }
  if (auto st = c.store.put_tool(record); !st.ok()) return std::move(st).error();
  return stored_reply(record);
}

std::string name_arg(protocol::BodyReader& r) { return r.string("name"); }

}  // namespace

Result<Value> register_tool(const OpContext& c, const Value& args) {
  auto d = definition_arg(c, args, "tool.register");
  if (!d.ok()) return std::move(d).error();
  protocol::BodyReader r(args, "tool.register");
  const bool replace = r.optional_boolean("replace", false);
  if (!r.ok()) return r.status().error();
  auto existing = c.store.tool(d->name);
  if (!existing.ok()) return std::move(existing).error();
  if (*existing && !replace) {
    return make_error(ErrorCode::kConflict, "tool \"" + d->name +
                                                "\" is already registered (revision " +
                                                std::to_string((*existing)->revision) + ")");
  }
  return store_tool(c, *d, *existing);
}

Result<Value> update_tool(const OpContext& c, const Value& args) {
  auto d = definition_arg(c, args, "tool.update");
  if (!d.ok()) return std::move(d).error();
  protocol::BodyReader r(args, "tool.update");
  const int64_t expected = r.optional_integer("expected_revision", 0);
  if (!r.ok()) return r.status().error();
  auto existing = c.store.tool(d->name);
  if (!existing.ok()) return std::move(existing).error();
  if (!*existing) return no_tool(d->name);
  if (expected > 0 && (*existing)->revision != expected) {
    return make_error(ErrorCode::kConflict, "tool \"" + d->name + "\" is at revision " +
                                                std::to_string((*existing)->revision) + ", expected " +
                                                std::to_string(expected));
  }
  return store_tool(c, *d, *existing);
}

Result<Value> remove_tool(const OpContext& c, const Value& args) {
  protocol::BodyReader r(args, "tool.remove");
  const std::string name = name_arg(r);
  if (!r.ok()) return r.status().error();
  auto existing = c.store.tool(name);
  if (!existing.ok()) return std::move(existing).error();
  if (!*existing) return no_tool(name);
  if (auto st = c.store.remove_tool(name); !st.ok()) return std::move(st).error();
  Value v;
  v["name"] = name;
  v["removed"] = true;
  return v;
}

Result<Value> get_tool(const OpContext& c, const Value& args) {
  protocol::BodyReader r(args, "tool.get");
  const std::string name = name_arg(r);
  if (!r.ok()) return r.status().error();
  auto existing = c.store.tool(name);
  if (!existing.ok()) return std::move(existing).error();
  if (!*existing) return no_tool(name);
  const ToolRecord& t = **existing;
  Value v;
  v["name"] = t.name;
  v["definition"] = t.definition;
  v["revision"] = t.revision;
  v["created_ms"] = t.created_ms;
  v["updated_ms"] = t.updated_ms;
  return v;
}

Result<Value> list_tools(const OpContext& c, const Value& args) {
  protocol::BodyReader r(args, "tool.list");
  const int64_t limit = static_cast<int64_t>(r.optional_integer("limit", c.limits.max_list));
  if (!r.ok()) return r.status().error();
  const size_t wanted = static_cast<size_t>(std::clamp<int64_t>(limit, 1, c.limits.max_list));
  auto tools = c.store.tools(wanted + 1);
  if (!tools.ok()) return std::move(tools).error();
  Value list = Value::array();
  for (size_t i = 0; i < tools->size() && i < wanted; ++i) {
    const ToolRecord& t = (*tools)[i];
    Value entry;
    entry["name"] = t.name;
    entry["description"] = t.definition.get_string("description");
    entry["revision"] = t.revision;
    entry["updated_ms"] = t.updated_ms;
    list.push_back(std::move(entry));
  }
  Value v;
  v["tools"] = std::move(list);
  v["truncated"] = tools->size() > wanted;
  return v;
}

}  // namespace pl::registry::ops
