// Registry messages, on the registry's ROUTER (`registry.sock`). Clients are DEALERs.
//
//   kRegistryRequest {request, op, id, args}  ->  kRegistryReply {request, ok, result}
//                                                 kRegistryReply {request, ok: false, code, message}
//
// `request` is the transport id (net::RequestClient sets a fresh one per call; the reply echoes
// it). `id` is the caller's idempotency key: stable across the retries of one logical mutation,
// so that a mutation is applied at most once however often it is sent. Mutations require it;
// reads ignore it. `code` is an ErrorCode number (409 conflict, 404 not found, ...).
//
// Every op, its arguments and its result are documented in docs/registry.md; the table below is
// the one list of op names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/protocol/reply.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

enum class RegistryOp : uint8_t {
  kPing,             // -> "pong"
  kStatus,           // -> counts, counters and limits
  kToolRegister,     // {definition, replace?} -> {name, revision}
  kToolUpdate,       // {definition, expected_revision?} -> {name, revision}
  kToolRemove,       // {name} -> {name, removed: true}
  kToolGet,          // {name} -> definition + {revision, created_ms, updated_ms}
  kToolList,         // {} -> {tools: [{name, description, revision, updated_ms}]}
  kSessionCreate,    // {name, max_turns?, exist_ok?} -> session header
  kSessionGet,       // {name, last_turns?, max_bytes?, after_turn?}
                     //   -> session header + {turns: [...], more?}
  kSessionList,      // {limit?} -> {sessions: [header], truncated}
  kSessionAppend,    // {name, expected_version, messages, max_turns?, create?, origin?}
                     //   -> {name, version}
  kSessionTruncate,  // {name, keep_turns, expected_version?} -> {name, version}
  kSessionDelete,    // {name} -> {name, deleted: true}
  kBackup,           // {dir?} -> {state, path, pages_copied, pages_total, bytes, elapsed_ms,
                     //   error?}: with dir, starts copying registry.db into dir (the shell's)
};

// "tool.register", "session.append", ...
std::string_view registry_op_name(RegistryOp op);
std::optional<RegistryOp> registry_op_from_name(std::string_view name);
// Whether the op changes state (and so needs an idempotency id and a durable commit).
bool is_mutation(RegistryOp op);

struct RegistryRequest {
  std::string request;  // transport id, echoed by the reply
  std::string op;       // a registry_op_name; an unknown op is answered with kInvalidInput
  std::string id;       // idempotency key; "" for reads
  Value args;           // always an object
};

using RegistryReply = Reply;

Value to_body(const RegistryRequest& m);
// Both fail with kInvalidInput naming the bad field ("registry_request: field \"op\" ...").
// The rvalue form moves the arguments out of `body` instead of copying them.
Result<RegistryRequest> registry_request_from(const Value& body);
Result<RegistryRequest> registry_request_from(Value&& body);
Result<RegistryReply> registry_reply_from(const Value& body);

}  // namespace pl::protocol
