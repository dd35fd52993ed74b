// Worker <-> broker messages (the broker's worker ROUTER; workers are DEALERs).
//
// Flow: a worker sends kWorkerHello announcing `slots`; the broker answers kWelcome and from
// then on sends at most `slots` kWorkItem messages that have no kWorkResult yet (credit). Both
// sides send heartbeats every heartbeat_ms; a side that hears nothing for heartbeat_ms x
// liveness considers the other gone. A kWorkResult whose (item_id, attempt) is not the attempt
// in flight is stale and discarded.
//
// Framing: a ZeroMQ message on this socket carries one or more envelopes, one per frame (after
// the identity frame the ROUTER adds), read in order. Each side sends what one turn of its loop
// produced for the other as one message: one wake-up per turn instead of one per item. A frame
// that does not decode is counted and skipped; the others of its message still count.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/protocol/envelope.h"
#include "common/result.h"
#include "common/value.h"

namespace pl::protocol {

struct WorkerHello {
  std::string worker_name;  // PIPELINE_CHILD_NAME, e.g. "workers.2"; or host:pid
  int64_t pid = 0;
  std::string host;
  uint32_t slots = 1;
  // {id, attempt} of every attempt running here, or waiting behind a cancelled one of its item
  // (results not yet acknowledged follow the hello): after a broker restart the broker adopts
  // these instead of dispatching them again. An attempt the worker was told to cancel and is
  // stopping has `cancelling: true`: it is not adopted.
  Value held;
};

struct Welcome {
  std::string broker_instance;  // changes on every broker start
  int64_t heartbeat_ms = 1000;
  uint32_t liveness = 3;
};

struct Heartbeat {
  uint32_t free_slots = 0;
};

// What the broker will do when an attempt fails, so that an executor can tell its last chance
// (claude_robust applies its fallback_action only when no retry follows).
struct RetryOutlook {
  int64_t retries_left = 0;            // further attempts the broker grants after this one
  std::vector<std::string> retry_on;  // error code names it retries; empty: every retryable one
  // The longest wait a failure's retry_after_ms (its provider's Retry-After) is honoured for
  // (broker.max_retry_after_ms): a failure asking for more is not retried at all. nullopt: the
  // broker did not say, and no limit is assumed.
  std::optional<int64_t> max_retry_after_ms = std::nullopt;
  // Set when the provider's circuit breaker is open and this is the item's last attempt: why
  // (the broker's words). The executor is to fall back without calling the provider, which
  // the breaker says is down; only an item whose fallback calls no provider is sent so.
  std::optional<std::string> circuit_open = std::nullopt;

  // Whether the broker retries a failure of this attempt with `code` whose provider asked to be
  // left alone for `retry_after_ms` (0: it asked nothing): retry_covers and the limit above, as
  // the broker's may_retry and next_attempt_delay_ms decide.
  bool retries(ErrorCode code, int64_t retry_after_ms = 0) const;
};

struct WorkItem {
  std::string item_id;
  uint32_t attempt = 1;
  int64_t timeout_ms = 0;  // the attempt's budget, from the moment the worker receives it
  std::string run_id;
  std::string step_name;  // for logs: "loop[3].greet"
  std::string step_type;  // canonical type name: "echo", "claude", ...
  Value input;            // the bound step: templates rendered, defaults applied
  // Where the run lives: {workspace_dir, output_dir, pipeline_dir}, absolute paths on the
  // broker's host. Tools and file operations are confined to workspace_dir. Shared: the items of
  // a run carry the same one (WorkContextCache). Null when none came.
  std::shared_ptr<const Value> context;
  // On the wire as `retry: {left, on, max_retry_after_ms?}`; absent from a broker that does not
  // say (the broker sends it on claude_robust items only).
  std::optional<RetryOutlook> retry;

  // *context, or a null Value when none came.
  const Value& context_value() const;
};

struct WorkResult {
  std::string item_id;
  uint32_t attempt = 1;
  // The step result: {success, text?, data?, error?, error_code?, ...}; see the format's Results.
  Value result;
};

// Results the broker has made durable; the worker keeps every other result it sent and sends
// it again after reconnecting, so a broker crash between receipt and commit loses nothing.
struct ResultAck {
  Value acks;  // list of {id, attempt}
};

struct CancelItem {
  std::string item_id;
  uint32_t attempt = 1;
  std::string reason;
};

// A complete kWorkItem envelope, packed straight from its parts: the dispatcher's hot path, which
// would otherwise copy the input and context into a WorkItem and then into a Value. Decodes
// exactly like encode(kWorkItem, to_body(WorkItem{...})). `retry`: nullptr leaves it out.
std::string encode_work_item(std::string_view item_id, uint32_t attempt, int64_t timeout_ms,
                             std::string_view run_id, std::string_view step_name,
                             std::string_view step_type, const Value& input, const Value& context,
                             const RetryOutlook* retry = nullptr);

// A work item's context as encode_work_item packs it (null: an empty map).
struct PackedContext {
  std::string_view bytes;
};
std::string pack_work_context(const Value& context);
// The same with the context packed already (pack_work_context): the dispatcher packs a run's
// context once, not once per item.
std::string encode_work_item(std::string_view item_id, uint32_t attempt, int64_t timeout_ms,
                             std::string_view run_id, std::string_view step_name,
                             std::string_view step_type, const Value& input,
                             PackedContext context, const RetryOutlook* retry = nullptr);

// When and for how long an attempt ran.
struct AttemptTiming {
  int64_t started_ms = 0;  // wall clock, when the attempt began
  int64_t duration_ms = 0;
};
// What a worker stamps into each result as it sends it: the worker and host that ran it, as the
// result's "worker" and "host" members (each left out when empty), and the attempt's timing, as
// "started_ms" and "duration_ms" (left out when there is none: an attempt that never ran).
struct ResultStamp {
  std::string_view worker;
  std::string_view host;
  std::optional<AttemptTiming> timing;
};
// A complete kWorkResult envelope, packed straight from its parts: the worker's hot path. Decodes
// exactly like encode(kWorkResult, to_body(WorkResult{...})) of the result with the stamp's
// members inserted (replacing any of the same name), without inserting them. A result that is
// not a map is sent as it is.
std::string encode_work_result(std::string_view item_id, uint32_t attempt, const Value& result,
                               const ResultStamp& stamp = {});

// A complete kResultAck envelope for `acks` ({item id, attempt} each), packed straight from
// them. Decodes exactly like encode(kResultAck, to_body(ResultAck{...})).
std::string encode_result_ack(const std::vector<std::pair<std::string, uint32_t>>& acks);

Value to_body(const WorkerHello& m);
Value to_body(const Welcome& m);
Value to_body(const Heartbeat& m);
Value to_body(const WorkItem& m);
Value to_body(const WorkResult& m);
Value to_body(const CancelItem& m);
Value to_body(const ResultAck& m);

Result<WorkerHello> worker_hello_from(const Value& body);
Result<Welcome> welcome_from(const Value& body);
Result<Heartbeat> heartbeat_from(const Value& body);
Result<WorkItem> work_item_from(const Value& body);
// The same, taking the input and context out of `body` instead of copying them.
Result<WorkItem> work_item_from(Value&& body);
Result<WorkResult> work_result_from(const Value& body);
// The same, taking the result out of `body` instead of copying it.
Result<WorkResult> work_result_from(Value&& body);
Result<CancelItem> cancel_item_from(const Value& body);
Result<ResultAck> result_ack_from(const Value& body);

// The hot messages straight from a frame: what decode() and then work_item_from() or
// work_result_from() make of it, the same struct or the same error, without building the body
// as a Value object first (a std::map node and key per member, then copied out again). Only the
// input, context and result are read as Values. A frame of another message type is an error
// ("message type ..., expected ...") found from its header alone, before any of its body.
Result<WorkItem> decode_work_item(std::string_view frame, const DecodeLimits& limits = {});

// The last work item context a worker decoded, by its bytes: a run's items carry the same
// context, so the worker decodes it once per run and its items share it, instead of building
// and destroying a map of paths per item.
class WorkContextCache {
 public:
  // The context packed as `bytes` (a body member decode_fields() checked under `limits`).
  Result<std::shared_ptr<const Value>> get(std::string_view bytes, const DecodeLimits& limits);
  // The bytes of the last context, checked under `limits` (BodyField::known): empty when none
  // was, or under other limits.
  std::string_view known(const DecodeLimits& limits) const;

 private:
  std::string bytes_;
  std::shared_ptr<const Value> value_;
  DecodeLimits limits_;
};
// decode_work_item() taking the context from `contexts` when it is the one decoded last.
Result<WorkItem> decode_work_item(std::string_view frame, const DecodeLimits& limits,
                                  WorkContextCache& contexts);
Result<WorkResult> decode_work_result(std::string_view frame, const DecodeLimits& limits = {});

// An acknowledged attempt as a worker reads it, its id a view into the frame or body it came in.
struct AckedAttempt {
  std::string_view item_id;
  int64_t attempt = 0;  // 0 when the entry's attempt is missing or not an integer
  bool operator==(const AckedAttempt&) const = default;
};
// The entries of an ack's list that name an item ({id: string, attempt}), in order; entries of
// another shape are left out, as a worker has nothing to forget for them.
std::vector<AckedAttempt> acked_attempts(const ResultAck& ack);
// The same straight from a kResultAck frame: what decode(), result_ack_from() and then
// acked_attempts() make of it, the same entries or the same error, with no Value built (a map
// and an id string per entry, under load a message's worth per turn).
Result<std::vector<AckedAttempt>> decode_acked_attempts(std::string_view frame,
                                                        const DecodeLimits& limits = {});

}  // namespace pl::protocol
