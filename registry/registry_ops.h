// The registry's operations, one function per op, as the core dispatches them. Internal to the
// registry (the core is the interface). Each reads its arguments strictly (a wrong or missing
// field is kInvalidInput naming it), works on the store, and returns the op's result as
// documented in docs/registry.md. Errors: kNotFound, kConflict (naming both versions), kTooLarge
// (a size or max_turns limit), kIo (the store failed).
#pragma once

#include <cstdint>

#include "common/result.h"
#include "common/value.h"
#include "registry/registry_core.h"
#include "registry/registry_store.h"

namespace pl::registry::ops {

struct OpContext {
  RegistryStore& store;
  const RegistryLimits& limits;
  int64_t now_ms;
};

Result<Value> register_tool(const OpContext& c, const Value& args);
Result<Value> update_tool(const OpContext& c, const Value& args);
Result<Value> remove_tool(const OpContext& c, const Value& args);
Result<Value> get_tool(const OpContext& c, const Value& args);
Result<Value> list_tools(const OpContext& c, const Value& args);

Result<Value> create_session(const OpContext& c, const Value& args);
Result<Value> get_session(const OpContext& c, const Value& args);
Result<Value> list_sessions(const OpContext& c, const Value& args);
Result<Value> append_turn(const OpContext& c, const Value& args);
Result<Value> truncate_session(const OpContext& c, const Value& args);
Result<Value> delete_session(const OpContext& c, const Value& args);

// The session's info as a reply value (session.h shape).
Value session_value(const SessionRecord& s);

}  // namespace pl::registry::ops
