#include "common/protocol/envelope.h"

#include <gtest/gtest.h>

#include <random>

#include "common/json.h"
#include "common/protocol/work.h"

namespace pl::protocol {
namespace {

// Hand-assembled msgpack, so the tests do not trust our own encoder to make bad frames.
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(Envelope, RoundTripsTypeAndBody) {
  Value body;
  body["id"] = "item-1";
  body["n"] = 42;
  body["nested"]["list"] = Value(Value::Array{1, "two", 3.5, Value(), true});
  auto decoded = decode(encode(MessageType::kWorkItem, body));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->type, MessageType::kWorkItem);
  EXPECT_EQ(decoded->body, body);
}

TEST(Envelope, EveryWidthOfEveryKindRoundTrips) {
  Value body;
  Value::Array ints;
  for (int64_t v : {int64_t{0}, int64_t{127}, int64_t{128}, int64_t{255}, int64_t{256}, int64_t{65535},
                    int64_t{65536}, int64_t{4294967295}, int64_t{4294967296}, INT64_MAX, int64_t{-1},
                    int64_t{-32}, int64_t{-33}, int64_t{-128}, int64_t{-129}, int64_t{-32768},
                    int64_t{-32769}, int64_t{-2147483648LL}, int64_t{-2147483649LL}, INT64_MIN}) {
    ints.push_back(Value(v));
  }
  body["ints"] = Value(ints);
  body["doubles"] = Value(Value::Array{0.0, -1.5, 1e300, 3.25});
  Value::Array strings;
  for (size_t n : {0, 31, 32, 255, 256, 65535, 65536}) strings.push_back(Value(std::string(n, 'x')));
  body["strings"] = Value(strings);
  body["big_array"] = Value(Value::Array(70000, Value(1)));
  Value wide;
  for (int i = 0; i < 70000; ++i) wide["k" + std::to_string(i)] = i;
  body["wide_map"] = wide;
  body["nested"]["a"]["b"]["c"] = Value(Value::Array{Value(), true, false});
  auto decoded = decode(encode(MessageType::kWorkResult, body));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->body, body);
}

TEST(Envelope, NullBodyTravelsAsEmptyMap) {
  auto decoded = decode(encode(MessageType::kBrokerHeartbeat, Value()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->body.is_object());
}

TEST(Envelope, EveryTruncationIsAnError) {
  Value body;
  body["text"] = std::string(300, 'x');
  body["list"] = Value(Value::Array{1, 2, 3});
  const std::string frame = encode(MessageType::kWorkResult, body);
  for (size_t n = 0; n < frame.size(); ++n) {
    auto decoded = decode(std::string_view(frame).substr(0, n));
    EXPECT_FALSE(decoded.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Envelope, OversizedFrameIsTooLarge) {
  DecodeLimits limits;
  limits.max_frame_bytes = 100;
  Value body;
  body["text"] = std::string(200, 'x');
  auto decoded = decode(encode(MessageType::kWorkResult, body), limits);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kTooLarge);
}

TEST(Envelope, WrongVersionIsRefusedNamingBothVersions) {
  // [7, 100, {}]
  auto decoded = decode(bytes({0x93, 0x07, 0x64, 0x80}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("version 7, expected 1"), std::string::npos)
      << decoded.error().message;
}

TEST(Envelope, UnknownMessageTypeIsRefused) {
  // [1, 999, {}]
  auto decoded = decode(bytes({0x93, 0x01, 0xcd, 0x03, 0xe7, 0x80}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("unknown message type 999"), std::string::npos);
}

TEST(Envelope, BodyThatIsNotAMapIsRefused) {
  // [1, 100, [1]]
  EXPECT_FALSE(decode(bytes({0x93, 0x01, 0x64, 0x91, 0x01})).ok());
}

TEST(Envelope, WrongTypedHeaderFieldsAreRefused) {
  // ["1", 100, {}]
  EXPECT_FALSE(decode(bytes({0x93, 0xa1, '1', 0x64, 0x80})).ok());
  // [1, "x", {}]
  EXPECT_FALSE(decode(bytes({0x93, 0x01, 0xa1, 'x', 0x80})).ok());
  // a bare map instead of the envelope array
  EXPECT_FALSE(decode(bytes({0x80})).ok());
}

TEST(Envelope, NonStringMapKeysAreRefused) {
  // [1, 100, {1: 2}]
  EXPECT_FALSE(decode(bytes({0x93, 0x01, 0x64, 0x81, 0x01, 0x02})).ok());
}

TEST(Envelope, TrailingBytesAreRefused) {
  std::string frame = encode(MessageType::kBrokerHeartbeat, Value());
  frame.push_back('\0');
  EXPECT_FALSE(decode(frame).ok());
}

TEST(Envelope, HugeClaimedArrayDoesNotAllocateIt) {
  // [1, 100, {"a": array32 claiming 4 billion elements}] in 16 bytes.
  auto decoded =
      decode(bytes({0x93, 0x01, 0x64, 0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}));
  ASSERT_FALSE(decoded.ok());
}

TEST(Envelope, HugeClaimedStringIsAnError) {
  // str32 claiming 4 GiB.
  EXPECT_FALSE(decode(bytes({0x93, 0x01, 0x64, 0x81, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xff})).ok());
}

TEST(Envelope, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string frame = bytes({0x93, 0x01, 0x64, 0x81, 0xa1, 'a'});
  frame.append(100000, static_cast<char>(0x91));  // [[[[...
  frame.push_back(0x01);
  auto decoded = decode(frame);
  ASSERT_FALSE(decoded.ok());
}

TEST(Envelope, BinaryAndExtensionValuesAreRefused) {
  EXPECT_FALSE(decode(bytes({0x93, 0x01, 0x64, 0x81, 0xa1, 'a', 0xc4, 0x01, 0x00})).ok());
  EXPECT_FALSE(decode(bytes({0x93, 0x01, 0x64, 0x81, 0xa1, 'a', 0xd4, 0x01, 0x00})).ok());
}

TEST(Envelope, RandomFramesNeverCrash) {
  std::mt19937 rng(12345);
  const std::string valid =
      encode(MessageType::kWorkItem,
             to_body(WorkItem{"i", 1, 10, "r", "s", "echo", Value("x"), nullptr, std::nullopt}));
  int decoded_ok = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string frame;
    if (round % 2 == 0) {
      frame.resize(rng() % 64);
      for (auto& c : frame) c = static_cast<char>(rng());
    } else {  // mutate a valid frame: more likely to get deep into the decoder
      frame = valid;
      for (int k = 0; k < 3; ++k) frame[rng() % frame.size()] = static_cast<char>(rng());
    }
    auto decoded = decode(frame);
    if (decoded.ok()) ++decoded_ok;
  }
  // Most random frames are garbage; what matters is that we got here.
  EXPECT_LT(decoded_ok, 20000);
}

TEST(WorkProtocol, TypedDecodeNamesTheBadField) {
  Value body = to_body(WorkItem{"i", 1, 10, "r", "s", "echo", Value("x"), nullptr, std::nullopt});
  body["attempt"] = "one";
  auto item = work_item_from(body);
  ASSERT_FALSE(item.ok());
  EXPECT_NE(item.error().message.find("\"attempt\""), std::string::npos) << item.error().message;
}

TEST(WorkProtocol, MissingFieldIsAnError) {
  Value body = to_body(WorkResult{"i", 2, Value::object()});
  body.as_object().erase("id");
  EXPECT_FALSE(work_result_from(body).ok());
}

TEST(WorkProtocol, DirectItemEncodingIsTheSameAsTheGeneralOne) {
  Value context;
  context["workspace_dir"] = "/w";
  WorkItem item{"item",
                3,
                5000,
                "run",
                "loop[2].x",
                "echo",
                Value(Value::Object{{"value", Value(1)}}),
                std::make_shared<const Value>(context),
                std::nullopt};
  EXPECT_EQ(encode_work_item(item.item_id, item.attempt, item.timeout_ms, item.run_id,
                             item.step_name, item.step_type, item.input, item.context_value()),
            encode(MessageType::kWorkItem, to_body(item)));
  item.retry = RetryOutlook{2, {"timeout", "rate_limit"}};
  EXPECT_EQ(
      encode_work_item(item.item_id, item.attempt, item.timeout_ms, item.run_id, item.step_name,
                       item.step_type, item.input, item.context_value(), &*item.retry),
      encode(MessageType::kWorkItem, to_body(item)));
  item.retry->max_retry_after_ms = 600000;
  EXPECT_EQ(
      encode_work_item(item.item_id, item.attempt, item.timeout_ms, item.run_id, item.step_name,
                       item.step_type, item.input, item.context_value(), &*item.retry),
      encode(MessageType::kWorkItem, to_body(item)));
  item.retry->circuit_open = "circuit breaker for provider anthropic is open";
  EXPECT_EQ(
      encode_work_item(item.item_id, item.attempt, item.timeout_ms, item.run_id, item.step_name,
                       item.step_type, item.input, item.context_value(), &*item.retry),
      encode(MessageType::kWorkItem, to_body(item)));
  auto back = decode_work_item(encode(MessageType::kWorkItem, to_body(item)));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->retry && back->retry->circuit_open);
  EXPECT_EQ(*back->retry->circuit_open, "circuit breaker for provider anthropic is open");
  // With the context packed beforehand, as the dispatcher sends a run's items; a null context
  // travels as an empty map either way.
  const std::string packed = pack_work_context(item.context_value());
  EXPECT_EQ(
      encode_work_item(item.item_id, item.attempt, item.timeout_ms, item.run_id, item.step_name,
                       item.step_type, item.input, PackedContext{packed}, &*item.retry),
      encode(MessageType::kWorkItem, to_body(item)));
  item.context = nullptr;
  EXPECT_EQ(encode_work_item(item.item_id, item.attempt, item.timeout_ms, item.run_id,
                             item.step_name, item.step_type, item.input,
                             PackedContext{pack_work_context(Value())}, &*item.retry),
            encode(MessageType::kWorkItem, to_body(item)));
}

TEST(WorkProtocol, TheRetryOutlookSaysWhatTheBrokerRetries) {
  EXPECT_FALSE((RetryOutlook{0, {}}.retries(ErrorCode::kTimeout)));  // no attempt left
  EXPECT_TRUE((RetryOutlook{1, {}}.retries(ErrorCode::kTimeout)));
  EXPECT_FALSE((RetryOutlook{1, {}}.retries(ErrorCode::kStepFailed)));  // not retryable
  EXPECT_FALSE((RetryOutlook{1, {}}.retries(ErrorCode::kCancelled)));
  EXPECT_TRUE((RetryOutlook{1, {"step_failed"}}.retries(ErrorCode::kStepFailed)));
  EXPECT_FALSE((RetryOutlook{1, {"step_failed"}}.retries(ErrorCode::kTimeout)));
  // A provider asking to wait longer than the broker's max_retry_after_ms is not retried.
  EXPECT_TRUE((RetryOutlook{1, {}, 1000}.retries(ErrorCode::kRateLimited, 1000)));
  EXPECT_FALSE((RetryOutlook{1, {}, 1000}.retries(ErrorCode::kRateLimited, 1001)));
  EXPECT_TRUE((RetryOutlook{1, {}}.retries(ErrorCode::kRateLimited, 1001)));  // no limit said
}

TEST(WorkProtocol, DirectResultEncodingIsTheSameAsTheGeneralOne) {
  Value result;
  result["success"] = true;
  result["data"] = Value(Value::Array{Value(1), Value("two"), Value(3.5)});
  result["worker"] = "workers.1";
  for (uint32_t attempt : {1u, 300u, 70000u}) {
    const WorkResult r{"run/s1.i70000.s0", attempt, result};
    EXPECT_EQ(encode_work_result(r.item_id, r.attempt, r.result),
              encode(MessageType::kWorkResult, to_body(r)));
  }
}

// The stamp is packed into the result's map in the places inserting its members would give
// them: before, between and after the result's own keys, replacing a member of the same name.
TEST(WorkProtocol, AStampedResultIsTheResultWithTheStampsMembersInserted) {
  const std::vector<Value> results{
      *parse_json(R"({"success": true, "output": 1})"),
      *parse_json(R"({"a": 1, "host": "old", "i": 2, "worker": "old", "z": [3]})"),
      *parse_json(R"({"duration_ms": "old", "e": 1, "started_ms": [], "t": 2})"),
      *parse_json(R"({"hosts": 1, "hos": 2, "w": 3, "workers": {"x": 1}, "worker_": 4, "s": 5})"),
      *parse_json(R"({"": 0, "\u00e9": 1})"),
      Value::object(),
      Value(Value::Array{Value(1)}),  // not a map: sent as it is
      Value("text")};
  const std::vector<ResultStamp> stamps{{"workers.1", "host-a", AttemptTiming{1763800000000, 12}},
                                        {"workers.1", "host-a", std::nullopt},
                                        {"workers.1", "", AttemptTiming{-1, 70000}},
                                        {"", "host-a", AttemptTiming{0, 0}},
                                        {"", "", std::nullopt}};
  for (const Value& result : results) {
    for (const ResultStamp& stamp : stamps) {
      Value stamped = result;
      if (stamped.is_object()) {
        if (!stamp.worker.empty()) stamped["worker"] = std::string(stamp.worker);
        if (!stamp.host.empty()) stamped["host"] = std::string(stamp.host);
        if (stamp.timing) {
          stamped["started_ms"] = stamp.timing->started_ms;
          stamped["duration_ms"] = stamp.timing->duration_ms;
        }
      }
      EXPECT_EQ(encode_work_result("id", 2, result, stamp), encode_work_result("id", 2, stamped))
          << to_json(result) << " from " << stamp.worker << "@" << stamp.host;
    }
  }
}

TEST(WorkProtocol, DirectAckEncodingIsTheSameAsTheGeneralOne) {
  const std::vector<std::pair<std::string, uint32_t>> acks{{"run/s0", 1}, {"run/s1.i70000.s0", 300}};
  Value list = Value::array();
  for (const auto& [id, attempt] : acks) {
    Value ack;
    ack["id"] = id;
    ack["attempt"] = attempt;
    list.push_back(ack);
  }
  EXPECT_EQ(encode_result_ack(acks), encode(MessageType::kResultAck, to_body(ResultAck{list})));
  EXPECT_EQ(encode_result_ack({}), encode(MessageType::kResultAck, to_body(ResultAck{Value::array()})));
}

TEST(Records, ARecordWithAnExtraMemberIsTheRecordOfTheObjectWithThatMember) {
  // The extra member sorts first, in the middle, last, or replaces a member of its name; a
  // value that is not an object is stored as it is.
  Value result;
  result["b"] = 1;
  result["d"] = Value::object();
  result["d"]["x"] = "y";
  for (const std::string_view extra : {"a", "c", "e", "b"}) {
    std::string direct;
    append_record(direct, "item/1", result, extra, "0123456789abcdef");
    Value with = result;
    with[extra] = "0123456789abcdef";
    std::string general;
    append_record(general, "item/1", with);
    EXPECT_EQ(direct, general) << "extra member " << extra;
    auto decoded = decode_records(direct);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    ASSERT_EQ(decoded->size(), 1u);
    EXPECT_EQ((*decoded)[0].second, with);
  }
  std::string direct;
  std::string general;
  append_record(direct, "item/2", Value("text"), "a", "z");
  append_record(general, "item/2", Value("text"));
  EXPECT_EQ(direct, general);
}

TEST(WorkProtocol, ItemRoundTrips) {
  WorkItem in{"item", 3, 5000, "run", "loop[2].x", "echo", Value("v"), nullptr, std::nullopt};
  auto out = work_item_from(decode(encode(MessageType::kWorkItem, to_body(in)))->body);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->item_id, "item");
  EXPECT_EQ(out->attempt, 3u);
  EXPECT_EQ(out->timeout_ms, 5000);
  EXPECT_EQ(out->input, Value("v"));
}

}  // namespace
}  // namespace pl::protocol

namespace pl::protocol {
namespace {

TEST(StoredValue, RoundTripsAndRejectsWhatIsNotExactlyOneValue) {
  Value v;
  v["success"] = true;
  v["data"] = Value(Value::Array{Value(1), Value(2.0), Value("x")});
  auto back = decode_value(encode_value(v));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  EXPECT_FALSE(decode_value("").ok());
  EXPECT_FALSE(decode_value(encode_value(v) + "x").ok());
  EXPECT_FALSE(decode_value(encode_value(v).substr(0, 5)).ok());
}

}  // namespace
}  // namespace pl::protocol
