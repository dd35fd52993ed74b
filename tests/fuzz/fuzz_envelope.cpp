// The envelope decoder and the typed body decoders: bytes as they arrive on any socket.
//
// Properties: decode never crashes and names what was wrong; a decoded envelope encodes back to
// one that decodes to the same body; a typed decoder that accepts a body accepts what its
// encoder makes of the result, the result survives that round trip unchanged, and every field
// the body had keeps its value (decoding may only fill in what was absent or null); the direct
// decoders of the hot messages (decode_work_item, decode_work_result) make of every frame what
// decode() and the typed decoder make of it, the same struct or the same error;
// salvage_request_id never crashes, and reads from a frame that decodes the id decode() reads.
#include "common/json.h"
#include "common/protocol/client.h"
#include "common/protocol/control.h"
#include "common/protocol/envelope.h"
#include "common/protocol/registry.h"
#include "common/protocol/request_id.h"
#include "common/protocol/work.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace pl::fuzz {
namespace {

using protocol::MessageType;

// Decoding `body` as a T, and decoding again what to_body makes of the result: both ok with the
// same body, or the first an error.
template <class T>
Finding typed_round_trip(const Value& body, Result<T> (*from)(const Value&), const char* name) {
  Result<T> first = from(body);
  if (!first.ok()) return check_error(first.error(), name);
  const Value encoded = protocol::to_body(*first);
  // A field the message had comes back as it was: decoding may fill in defaults for absent or
  // null fields, never change a value (a negative count read as a huge one, say).
  for (const auto& [key, value] : encoded.as_object()) {
    const Value* given = body.find(key);
    if (given && !given->is_null() && !identical(*given, value)) {
      return std::string(name) + ": field \"" + key + "\" changed from " + to_json(*given) +
             " to " + to_json(value) + " in a decode/encode round trip";
    }
  }
  Result<T> second = from(encoded);
  if (!second.ok()) {
    return std::string(name) + ": what to_body made of a decoded message does not decode: " +
           second.error().message;
  }
  if (!identical(protocol::to_body(*second), encoded)) {
    return std::string(name) + ": a decoded message changed in a to_body round trip, " +
           difference(protocol::to_body(*second), encoded);
  }
  return std::nullopt;
}

Finding typed(MessageType type, const Value& body) {
  using namespace protocol;
  switch (type) {
    case MessageType::kWorkerHello:
      return typed_round_trip(body, &worker_hello_from, "worker_hello");
    case MessageType::kWorkerHeartbeat:
    case MessageType::kBrokerHeartbeat:
      return typed_round_trip(body, &heartbeat_from, "heartbeat");
    case MessageType::kWorkResult:
      return typed_round_trip(body, &work_result_from, "work_result");
    case MessageType::kWorkItem: {
      if (Finding f = typed_round_trip(body, &work_item_from, "work_item")) return f;
      auto item = work_item_from(body);
      if (!item.ok()) return std::nullopt;
      // The dispatcher's fast encoder must say exactly what the generic one says.
      const std::string fast =
          encode_work_item(item->item_id, item->attempt, item->timeout_ms, item->run_id,
                           item->step_name, item->step_type, item->input, item->context_value(),
                           item->retry ? &*item->retry : nullptr);
      auto decoded = decode(fast);
      if (!decoded.ok()) return "encode_work_item made a frame that does not decode";
      if (!identical(decoded->body, to_body(*item))) {
        return "encode_work_item and to_body(WorkItem) disagree, " +
               difference(decoded->body, to_body(*item));
      }
      return std::nullopt;
    }
    case MessageType::kCancelItem:
      return typed_round_trip(body, &cancel_item_from, "cancel_item");
    case MessageType::kWelcome:
      return typed_round_trip(body, &welcome_from, "welcome");
    case MessageType::kResultAck:
      return typed_round_trip(body, &result_ack_from, "result_ack");
    case MessageType::kSubmitRun:
      return typed_round_trip(body, &submit_run_from, "submit_run");
    case MessageType::kRunAccepted:
      return typed_round_trip(body, &run_accepted_from, "run_accepted");
    case MessageType::kWatchRun:
      return typed_round_trip(body, &watch_run_from, "watch_run");
    case MessageType::kCancelRun:
      return typed_round_trip(body, &cancel_run_from, "cancel_run");
    case MessageType::kRunStatus:
      return typed_round_trip(body, &run_status_from, "run_status");
    case MessageType::kClientError:
      return typed_round_trip(body, &client_error_from, "client_error");
    case MessageType::kListRuns:
    case MessageType::kBrokerStatusRequest:
    case MessageType::kRunDetailRequest:
    case MessageType::kResumeRun:
    case MessageType::kDeleteRun:
      return typed_round_trip(body, &simple_request_from, "simple_request");
    case MessageType::kExportRun:
      return typed_round_trip(body, &export_run_from, "export_run");
    case MessageType::kRunExport: {
      // A page; a whole checkpoint (an answer to a client older than paging) is not one.
      if (body.find("checkpoint") && !body.find("items")) return std::nullopt;
      return typed_round_trip(body, &run_export_page_from, "run_export");
    }
    case MessageType::kControlRequest:
      return typed_round_trip(body, &control_request_from, "control_request");
    case MessageType::kControlReply:
      return typed_round_trip(body, &control_reply_from, "control_reply");
    case MessageType::kChildEvent:
      return typed_round_trip(body, &child_event_from, "child_event");
    case MessageType::kRegistryRequest: {
      Result<RegistryRequest> (*from)(const Value&) = &registry_request_from;
      if (Finding f = typed_round_trip(body, from, "registry_request")) return f;
      // The moving overload reads the same as the copying one.
      auto copied = registry_request_from(body);
      auto moved = registry_request_from(Value(body));
      if (copied.ok() != moved.ok()) return "registry_request_from: the two overloads disagree";
      if (copied.ok() && !identical(to_body(*copied), to_body(*moved))) {
        return "registry_request_from: the two overloads read different requests";
      }
      return std::nullopt;
    }
    case MessageType::kRegistryReply: {
      if (Finding f = typed_round_trip(body, &registry_reply_from, "registry_reply")) return f;
      auto reply = registry_reply_from(body);
      if (reply.ok()) (void)reply->to_result();
      return std::nullopt;
    }
    case MessageType::kWorkerBye:
    case MessageType::kReconnect:
    case MessageType::kRunList:
    case MessageType::kBrokerStatus:
    case MessageType::kRunDetail:
    case MessageType::kRunDeleted:
    case MessageType::kBackupRequest:
    case MessageType::kBackupStatus:
      return std::nullopt;  // no typed decoder: read field by field where they arrive
  }
  return std::nullopt;
}

// decode_work_item or decode_work_result (`direct`) against decode() and then the typed decoder
// (`from`): for a frame whose header names T's type, the same struct or the same error; for one
// of another type, a refusal.
template <class T>
Finding direct_agrees(std::string_view input, const protocol::DecodeLimits& limits,
                      MessageType type, Result<T> (*direct)(std::string_view,
                                                           const protocol::DecodeLimits&),
                      Result<T> (*from)(Value&&), const char* name) {
  Result<T> fast = direct(input, limits);
  auto peeked = protocol::peek_type(input, limits);
  if (peeked.ok() && *peeked != type) {
    if (fast.ok()) return std::string(name) + " accepted a frame of another message type";
    return std::nullopt;
  }
  auto message = protocol::decode(input, limits);
  Result<T> general = message.ok() ? from(std::move(message->body))
                                   : Result<T>(std::move(message).error());
  if (fast.ok() != general.ok()) {
    return std::string(name) + (fast.ok() ? " accepted" : " refused") + " a frame that decode " +
           (general.ok() ? "accepted" : "refused: " + general.error().message);
  }
  if (!fast.ok()) {
    if (fast.error().code != general.error().code ||
        fast.error().message != general.error().message) {
      return std::string(name) + " says \"" + fast.error().message + "\" where decode says \"" +
             general.error().message + "\"";
    }
    return std::nullopt;
  }
  const Value fast_body = protocol::to_body(*fast);
  const Value general_body = protocol::to_body(*general);
  if (!identical(fast_body, general_body)) {
    return std::string(name) + " and decode read different messages, " +
           difference(fast_body, general_body);
  }
  return std::nullopt;
}

Finding direct_decoders_agree(std::string_view input, const protocol::DecodeLimits& limits) {
  Result<protocol::WorkItem> (*item_from)(Value&&) = &protocol::work_item_from;
  Result<protocol::WorkResult> (*result_from)(Value&&) = &protocol::work_result_from;
  if (Finding f = direct_agrees(input, limits, MessageType::kWorkItem, &protocol::decode_work_item,
                                item_from, "decode_work_item")) {
    return f;
  }
  return direct_agrees(input, limits, MessageType::kWorkResult, &protocol::decode_work_result,
                       result_from, "decode_work_result");
}

}  // namespace

Finding envelope(std::string_view input) {
  // Small limits as well as the defaults, so that every limit is reached by small inputs.
  protocol::DecodeLimits tight;
  tight.max_frame_bytes = 4096;
  tight.max_depth = 8;
  tight.max_elements = 64;
  tight.max_string_bytes = 256;
  for (const protocol::DecodeLimits& limits : {tight, protocol::DecodeLimits{}}) {
    if (Finding f = direct_decoders_agree(input, limits)) return f;
  }
  auto small = protocol::decode(input, tight);
  if (!small.ok()) {
    if (Finding f = check_error(small.error(), "decode with tight limits")) return f;
  }

  // Servers read the id of a frame that does not decode to answer it; of one that does, it
  // must be the id decode() reads.
  const std::optional<std::string> salvaged = protocol::salvage_request_id(input);
  auto message = protocol::decode(input);
  if (!message.ok()) {
    if (small.ok()) return "a frame that decodes under tight limits fails under the defaults";
    return check_error(message.error(), "decode");
  }
  if (!message->body.is_object()) return "decode returned a body that is not a map";
  const Value* request = message->body.find("request");
  const bool readable = request && request->is_string() &&
                        request->as_string().size() <= protocol::kMaxSalvagedRequestBytes;
  if (salvaged != (readable ? std::optional<std::string>(request->as_string()) : std::nullopt)) {
    return "salvage_request_id read \"" + salvaged.value_or("(none)") +
           "\" from a frame whose decoded request is " + (request ? to_json(*request) : "absent");
  }
  if (small.ok() && !identical(small->body, message->body)) {
    return "the limits changed what a frame decodes to, " + difference(small->body, message->body);
  }

  const std::string again = protocol::encode(message->type, message->body);
  auto reread = protocol::decode(again);
  if (!reread.ok()) return "a decoded envelope, encoded again, does not decode: " +
                           reread.error().message;
  if (reread->type != message->type || !identical(reread->body, message->body)) {
    return "a decoded envelope changed in an encode/decode round trip, " +
           difference(message->body, reread->body);
  }
  return typed(message->type, message->body);
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(envelope)
