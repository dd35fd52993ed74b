#include "common/protocol/work.h"

#include "common/protocol/body_reader.h"
#include "common/protocol/envelope.h"
#include "common/protocol/msgpack_reader.h"
#include "common/protocol/msgpack_value.h"

namespace pl::protocol {

namespace {

Value retry_body(const RetryOutlook& retry) {
  Value v;
  v["left"] = retry.retries_left;
  v["on"] = Value::array();
  for (const std::string& code : retry.retry_on) v["on"].push_back(code);
  if (retry.max_retry_after_ms) v["max_retry_after_ms"] = *retry.max_retry_after_ms;
  if (retry.circuit_open) v["circuit_open"] = *retry.circuit_open;
  return v;
}

// `retry: {left, on, max_retry_after_ms?, circuit_open?}` from a work item; kInvalidInput naming
// what is wrong. Other keys are ignored: a newer broker may tell more than this worker knows (a
// worker upgraded after its broker still runs the item, on what it understands), as with the body's
// own keys.
Result<RetryOutlook> retry_outlook_from(const Value& v) {
  const auto wrong = [](std::string_view what) {
    return make_error(ErrorCode::kInvalidInput, "work_item: field \"retry\" " + std::string(what));
  };
  if (!v.is_object()) return wrong("is not a map of \"left\", \"on\" and maybe more");
  const Value* max_after = v.find("max_retry_after_ms");
  RetryOutlook out;
  const Value* left = v.find("left");
  if (!left || !left->is_int() || left->as_int() < 0) return wrong("has no count \"left\"");
  out.retries_left = left->as_int();
  const Value* on = v.find("on");
  if (!on || !on->is_array()) return wrong("has no list \"on\"");
  for (const Value& code : on->as_array()) {
    if (!code.is_string()) return wrong("has an \"on\" that is not a list of names");
    out.retry_on.push_back(code.as_string());
  }
  if (max_after) {
    if (!max_after->is_int() || max_after->as_int() < 0) {
      return wrong("has a \"max_retry_after_ms\" that is not a count");
    }
    out.max_retry_after_ms = max_after->as_int();
  }
  if (const Value* open = v.find("circuit_open")) {
    if (!open->is_string()) return wrong("has a \"circuit_open\" that is not a text");
    out.circuit_open = open->as_string();
  }
  return out;
}

}  // namespace

bool RetryOutlook::retries(ErrorCode code, int64_t retry_after_ms) const {
  const bool waits_too_long = max_retry_after_ms && retry_after_ms > *max_retry_after_ms;
  return retries_left > 0 && retry_covers(retry_on, code) && !waits_too_long;
}

std::string pack_work_context(const Value& context) {
  if (context.is_null()) return std::string(1, '\x80');  // an empty map, as to_body sends
  std::string out;
  MsgpackWriter writer(out);
  pack_value(writer, context);
  return out;
}

std::string encode_work_item(std::string_view item_id, uint32_t attempt, int64_t timeout_ms,
                             std::string_view run_id, std::string_view step_name,
                             std::string_view step_type, const Value& input, const Value& context,
                             const RetryOutlook* retry) {
  return encode_work_item(item_id, attempt, timeout_ms, run_id, step_name, step_type, input,
                          PackedContext{pack_work_context(context)}, retry);
}

std::string encode_work_item(std::string_view item_id, uint32_t attempt, int64_t timeout_ms,
                             std::string_view run_id, std::string_view step_name,
                             std::string_view step_type, const Value& input,
                             PackedContext context, const RetryOutlook* retry) {
  std::string out;
  // The keys and headers take under 96 bytes; a small input fits in what is left over, so
  // that the usual item is written without the string growing once.
  out.reserve(160 + item_id.size() + run_id.size() + step_name.size() + step_type.size() +
              context.bytes.size());
  MsgpackWriter writer(out);
  pack_envelope_head(writer, MessageType::kWorkItem);
  // Keys in the order a sorted Value object would have them, like to_body(WorkItem).
  writer.map(retry ? 9 : 8);
  writer.string("attempt");
  writer.integer(attempt);
  writer.string("context");
  writer.raw(context.bytes);
  writer.string("id");
  writer.string(item_id);
  writer.string("input");
  pack_value(writer, input);
  if (retry) {  // packed as retry_body() would be, keys sorted
    writer.string("retry");
    writer.map(2 + (retry->circuit_open ? 1 : 0) + (retry->max_retry_after_ms ? 1 : 0));
    if (retry->circuit_open) {
      writer.string("circuit_open");
      writer.string(*retry->circuit_open);
    }
    writer.string("left");
    writer.integer(retry->retries_left);
    if (retry->max_retry_after_ms) {
      writer.string("max_retry_after_ms");
      writer.integer(*retry->max_retry_after_ms);
    }
    writer.string("on");
    writer.array(static_cast<uint32_t>(retry->retry_on.size()));
    for (const std::string& code : retry->retry_on) writer.string(code);
  }
  writer.string("run");
  writer.string(run_id);
  writer.string("step");
  writer.string(step_name);
  writer.string("timeout_ms");
  writer.integer(timeout_ms);
  writer.string("type");
  writer.string(step_type);
  return out;
}

namespace {

// A member the stamp adds: a text, or a number when `text` is null.
struct StampMember {
  std::string_view key;
  const std::string_view* text;
  int64_t number;
};

// `result` with the stamp's members merged into their sorted places, as a Value object with
// those members would be packed.
void pack_stamped(MsgpackWriter& writer, const Value& result, const ResultStamp& stamp) {
  // In key order: duration_ms < host < started_ms < worker.
  StampMember stamps[4];
  size_t count = 0;
  if (stamp.timing) stamps[count++] = {"duration_ms", nullptr, stamp.timing->duration_ms};
  if (!stamp.host.empty()) stamps[count++] = {"host", &stamp.host, 0};
  if (stamp.timing) stamps[count++] = {"started_ms", nullptr, stamp.timing->started_ms};
  if (!stamp.worker.empty()) stamps[count++] = {"worker", &stamp.worker, 0};
  if (!result.is_object() || count == 0) {
    pack_value(writer, result);
    return;
  }
  const Value::Object& members = result.as_object();
  size_t replaced = 0;
  for (size_t s = 0; s < count; ++s) replaced += members.count(stamps[s].key);
  writer.map(static_cast<uint32_t>(members.size() + count - replaced));
  auto it = members.begin();
  size_t s = 0;
  while (it != members.end() || s < count) {
    if (s < count && (it == members.end() || !KeyLess{}(it->first, stamps[s].key))) {
      if (it != members.end() && it->first == stamps[s].key) ++it;  // the stamp replaces it
      writer.string(stamps[s].key);
      if (stamps[s].text) {
        writer.string(*stamps[s].text);
      } else {
        writer.integer(stamps[s].number);
      }
      ++s;
    } else {
      writer.string(it->first);
      pack_value(writer, it->second);
      ++it;
    }
  }
}

}  // namespace

std::string encode_work_result(std::string_view item_id, uint32_t attempt, const Value& result,
                               const ResultStamp& stamp) {
  std::string out;
  out.reserve(128);
  MsgpackWriter writer(out);
  pack_envelope_head(writer, MessageType::kWorkResult);
  writer.map(3);  // keys sorted, as a Value object's
  writer.string("attempt");
  writer.integer(attempt);
  writer.string("id");
  writer.string(item_id);
  writer.string("result");
  pack_stamped(writer, result, stamp);
  return out;
}

std::string encode_result_ack(const std::vector<std::pair<std::string, uint32_t>>& acks) {
  std::string out;
  out.reserve(16 + acks.size() * 64);
  MsgpackWriter writer(out);
  pack_envelope_head(writer, MessageType::kResultAck);
  writer.map(1);
  writer.string("acks");
  writer.array(static_cast<uint32_t>(acks.size()));
  for (const auto& [id, attempt] : acks) {
    writer.map(2);  // keys sorted, as a Value object's
    writer.string("attempt");
    writer.integer(attempt);
    writer.string("id");
    writer.string(id);
  }
  return out;
}

Value to_body(const WorkerHello& m) {
  Value v;
  v["worker"] = m.worker_name;
  v["pid"] = m.pid;
  v["host"] = m.host;
  v["slots"] = m.slots;
  v["held"] = m.held.is_null() ? Value::array() : m.held;
  return v;
}

Result<WorkerHello> worker_hello_from(const Value& body) {
  BodyReader r(body, "worker_hello");
  WorkerHello m;
  m.worker_name = r.string("worker");
  m.pid = r.integer("pid");
  m.host = r.optional_string("host");
  m.slots = static_cast<uint32_t>(r.count("slots", 4096));
  m.held = r.optional_value("held");
  if (r.ok() && m.slots == 0) return make_error(ErrorCode::kInvalidInput, "worker_hello: 0 slots");
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const Welcome& m) {
  Value v;
  v["broker"] = m.broker_instance;
  v["heartbeat_ms"] = m.heartbeat_ms;
  v["liveness"] = m.liveness;
  return v;
}

Result<Welcome> welcome_from(const Value& body) {
  BodyReader r(body, "welcome");
  Welcome m;
  m.broker_instance = r.string("broker");
  m.heartbeat_ms = r.integer("heartbeat_ms");
  m.liveness = static_cast<uint32_t>(r.count("liveness", 1000));
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const Heartbeat& m) {
  Value v;
  v["free"] = m.free_slots;
  return v;
}

Result<Heartbeat> heartbeat_from(const Value& body) {
  BodyReader r(body, "heartbeat");
  Heartbeat m;
  // Optional, and in range when given: -1 must not become 4294967295 free slots.
  const Value* free = body.find("free");
  if (free && !free->is_null()) m.free_slots = static_cast<uint32_t>(r.count("free"));
  if (!r.ok()) return r.status().error();
  return m;
}

Value to_body(const WorkItem& m) {
  Value v;
  v["id"] = m.item_id;
  v["attempt"] = m.attempt;
  v["timeout_ms"] = m.timeout_ms;
  v["run"] = m.run_id;
  v["step"] = m.step_name;
  v["type"] = m.step_type;
  v["input"] = m.input;
  v["context"] = m.context_value().is_null() ? Value::object() : m.context_value();
  if (m.retry) v["retry"] = retry_body(*m.retry);
  return v;
}

namespace {

// A kWorkItem's fields, from a decoded body or from the frame: `input` is the member of that
// name (null when absent), taken; `context` the context member's value.
Result<WorkItem> work_item_from(BodyReader& r, Value* input, std::shared_ptr<const Value> context,
                                const Value* retry) {
  WorkItem m;
  // In key order, the order decode_item() lists them (BodyReader looks from the last match).
  m.attempt = static_cast<uint32_t>(r.count("attempt"));
  m.item_id = r.take_string("id");
  m.run_id = r.take_string("run");
  m.step_name = r.take_string("step");
  m.timeout_ms = r.integer("timeout_ms");
  m.step_type = r.take_string("type");
  if (!input && r.ok()) {
    return make_error(ErrorCode::kInvalidInput, "work_item: field \"input\" is missing");
  }
  if (!r.ok()) return r.status().error();
  if (retry && !retry->is_null()) {
    auto outlook = retry_outlook_from(*retry);
    if (!outlook.ok()) return std::move(outlook).error();
    m.retry = std::move(*outlook);
  }
  m.input = std::move(*input);
  m.context = std::move(context);
  return m;
}

Value* present(BodyField& field) { return field.present ? &field.value : nullptr; }

// decode_member_value(), shared.
Result<std::shared_ptr<const Value>> shared_member_value(std::string_view bytes,
                                                         const DecodeLimits& limits) {
  auto decoded = decode_member_value(bytes, limits);
  if (!decoded.ok()) return std::move(decoded).error();
  return std::make_shared<const Value>(std::move(*decoded));
}

// A work item from its frame, its context from `contexts` when given.
Result<WorkItem> decode_item(std::string_view frame, const DecodeLimits& limits,
                             WorkContextCache* contexts) {
  // In the order encode_work_item writes them (decode_fields).
  BodyField fields[] = {{"attempt"}, BodyField::raw("context"), {"id"},   {"input"},
                        {"retry"},   {"run"},                    {"step"}, {"timeout_ms"},
                        {"type"}};
  BodyField& context_field = fields[1];
  if (contexts) context_field.known = contexts->known(limits);
  if (auto st = decode_fields(frame, MessageType::kWorkItem, fields, limits); !st.ok()) {
    return std::move(st).error();
  }
  std::shared_ptr<const Value> context;
  if (context_field.present) {
    auto decoded = contexts ? contexts->get(context_field.bytes, limits)
                            : shared_member_value(context_field.bytes, limits);
    if (!decoded.ok()) return std::move(decoded).error();
    context = std::move(*decoded);
  }
  BodyReader r = BodyReader::consuming(fields, "work_item");
  return work_item_from(r, present(fields[3]), std::move(context), present(fields[4]));
}

}  // namespace

const Value& WorkItem::context_value() const {
  static const Value kNone;
  return context ? *context : kNone;
}

Result<std::shared_ptr<const Value>> WorkContextCache::get(std::string_view bytes,
                                                           const DecodeLimits& limits) {
  if (value_ && bytes == bytes_) return value_;
  auto decoded = shared_member_value(bytes, limits);
  if (!decoded.ok()) return std::move(decoded).error();
  value_ = std::move(*decoded);
  bytes_.assign(bytes);
  limits_ = limits;
  return value_;
}

std::string_view WorkContextCache::known(const DecodeLimits& limits) const {
  return value_ && limits == limits_ ? std::string_view(bytes_) : std::string_view();
}

Result<WorkItem> work_item_from(Value&& body) {
  BodyReader r = BodyReader::consuming(body, "work_item");
  Value* context = body.find("context");
  return work_item_from(r, body.find("input"),
                        context ? std::make_shared<const Value>(std::move(*context)) : nullptr,
                        body.find("retry"));
}

Result<WorkItem> decode_work_item(std::string_view frame, const DecodeLimits& limits) {
  return decode_item(frame, limits, nullptr);
}

Result<WorkItem> decode_work_item(std::string_view frame, const DecodeLimits& limits,
                                  WorkContextCache& contexts) {
  return decode_item(frame, limits, &contexts);
}

Result<WorkItem> work_item_from(const Value& body) { return work_item_from(Value(body)); }

Value to_body(const WorkResult& m) {
  Value v;
  v["id"] = m.item_id;
  v["attempt"] = m.attempt;
  v["result"] = m.result;
  return v;
}

namespace {

// A kWorkResult's fields, from a decoded body or from the frame: `result` is the member of that
// name (null when absent), taken.
Result<WorkResult> work_result_from(BodyReader& r, Value* result) {
  WorkResult m;
  m.attempt = static_cast<uint32_t>(r.count("attempt"));  // in key order, as decoded (BodyReader)
  m.item_id = r.take_string("id");
  if (r.ok() && !result) {
    return make_error(ErrorCode::kInvalidInput, "work_result: field \"result\" is missing");
  }
  if (r.ok() && !result->is_object()) {
    return make_error(ErrorCode::kInvalidInput, "work_result: field \"result\" is " +
                                                    a_kind(result->kind()) +
                                                    ", expected a map");
  }
  if (!r.ok()) return r.status().error();
  m.result = std::move(*result);
  return m;
}

}  // namespace

Result<WorkResult> work_result_from(Value&& body) {
  BodyReader r = BodyReader::consuming(body, "work_result");
  return work_result_from(r, body.find("result"));
}

Result<WorkResult> decode_work_result(std::string_view frame, const DecodeLimits& limits) {
  BodyField fields[] = {{"attempt"}, {"id"}, {"result"}};  // as encode_work_result writes them
  if (auto st = decode_fields(frame, MessageType::kWorkResult, fields, limits); !st.ok()) {
    return std::move(st).error();
  }
  BodyReader r = BodyReader::consuming(fields, "work_result");
  return work_result_from(r, present(fields[2]));
}

Result<WorkResult> work_result_from(const Value& body) { return work_result_from(Value(body)); }

Value to_body(const CancelItem& m) {
  Value v;
  v["id"] = m.item_id;
  v["attempt"] = m.attempt;
  v["reason"] = m.reason;
  return v;
}

Result<CancelItem> cancel_item_from(const Value& body) {
  BodyReader r(body, "cancel_item");
  CancelItem m;
  m.item_id = r.string("id");
  m.attempt = static_cast<uint32_t>(r.count("attempt"));
  m.reason = r.optional_string("reason");
  if (!r.ok()) return r.status().error();
  return m;
}

}  // namespace pl::protocol

namespace pl::protocol {

Value to_body(const ResultAck& m) {
  Value v;
  v["acks"] = m.acks.is_null() ? Value::array() : m.acks;
  return v;
}

namespace {

// A kResultAck's fields, from a decoded body or from the frame.
Result<ResultAck> result_ack_from(BodyReader& r) {
  ResultAck m;
  m.acks = r.value("acks");
  if (!r.ok()) return r.status().error();
  if (!m.acks.is_array()) return make_error(ErrorCode::kInvalidInput, "result_ack: acks is not a list");
  return m;
}

}  // namespace

Result<ResultAck> result_ack_from(const Value& body) {
  BodyReader r(body, "result_ack");
  return result_ack_from(r);
}

namespace {

// acked_attempts() of an ack list whose bytes decode_fields() checked (BodyField::raw): the ids
// are views into those bytes.
Result<std::vector<AckedAttempt>> acked_attempts_in(std::string_view acks,
                                                    const DecodeLimits& limits) {
  MsgpackReader reader(acks, reader_limits(limits));
  if (!reader.at_array()) {
    return make_error(ErrorCode::kInvalidInput, "result_ack: acks is not a list");
  }
  auto count = reader.read_array_header();
  if (!count.ok()) return std::move(count).error();
  std::vector<AckedAttempt> out;
  out.reserve(*count);
  Value attempt;  // an integer needs no allocation
  for (size_t i = 0; i < *count; ++i) {
    // Depths as decode_fields() read them: the body 1, the list 2, an entry 3, its members 4.
    if (!reader.at_map()) {
      if (auto st = reader.skip_at(3); !st.ok()) return st.error();
      continue;
    }
    auto members = reader.read_map_header(3);
    if (!members.ok()) return std::move(members).error();
    std::optional<std::string_view> id;
    int64_t number = 0;
    for (size_t m = 0; m < *members; ++m) {
      auto key = reader.read_key();
      if (!key.ok()) return std::move(key).error();
      // A repeated key counts with its last value, as in a decoded map.
      if (*key == "id") {
        // A string's bytes; for another kind, an error having read nothing.
        auto text = reader.read_key();
        id = text.ok() ? std::optional<std::string_view>(*text) : std::nullopt;
        if (!text.ok()) {
          if (auto st = reader.skip_at(4); !st.ok()) return st.error();
        }
      } else if (*key == "attempt") {
        if (auto st = reader.read_into(attempt, 4); !st.ok()) return st.error();
        number = attempt.is_int() ? attempt.as_int() : 0;
      } else if (auto st = reader.skip_at(4); !st.ok()) {
        return st.error();
      }
    }
    if (id) out.push_back({*id, number});
  }
  return out;
}

}  // namespace

std::vector<AckedAttempt> acked_attempts(const ResultAck& ack) {
  std::vector<AckedAttempt> out;
  if (!ack.acks.is_array()) return out;
  out.reserve(ack.acks.as_array().size());
  for (const auto& entry : ack.acks.as_array()) {
    const Value* id = entry.find("id");
    if (!id || !id->is_string()) continue;
    const Value* attempt = entry.find("attempt");
    out.push_back({id->as_string(), attempt && attempt->is_int() ? attempt->as_int() : 0});
  }
  return out;
}

Result<std::vector<AckedAttempt>> decode_acked_attempts(std::string_view frame,
                                                        const DecodeLimits& limits) {
  BodyField fields[] = {BodyField::raw("acks")};
  if (auto st = decode_fields(frame, MessageType::kResultAck, fields, limits); !st.ok()) {
    return std::move(st).error();
  }
  if (!fields[0].present) {
    BodyReader r(std::span<const BodyField>(fields), "result_ack");
    return result_ack_from(r).error();  // the general path's words for a missing list
  }
  return acked_attempts_in(fields[0].bytes, limits);
}

}  // namespace pl::protocol
