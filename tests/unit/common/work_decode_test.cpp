// decode_work_item, decode_work_result and decode_acked_attempts against the path they replace,
// decode() and then work_item_from() / work_result_from() / result_ack_from() + acked_attempts():
// every frame gives the same struct or the same error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/json.h"
#include "common/protocol/body_reader.h"
#include "common/protocol/envelope.h"
#include "common/protocol/work.h"

namespace pl::protocol {
namespace {

namespace fs = std::filesystem;

// The two decoders of one message, side by side.
template <class T>
struct Paths;

template <>
struct Paths<WorkResult> {
  static constexpr MessageType kType = MessageType::kWorkResult;
  static Result<WorkResult> direct(std::string_view frame, const DecodeLimits& limits) {
    return decode_work_result(frame, limits);
  }
  static Result<WorkResult> from(Value&& body) { return work_result_from(std::move(body)); }
};

template <>
struct Paths<WorkItem> {
  static constexpr MessageType kType = MessageType::kWorkItem;
  static Result<WorkItem> direct(std::string_view frame, const DecodeLimits& limits) {
    return decode_work_item(frame, limits);
  }
  static Result<WorkItem> from(Value&& body) { return work_item_from(std::move(body)); }
};

DecodeLimits tight_limits() {
  DecodeLimits tight;
  tight.max_frame_bytes = 4096;
  tight.max_depth = 5;
  tight.max_elements = 8;
  tight.max_string_bytes = 64;
  return tight;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// Whether both paths make the same of `frame`: both the same struct (compared as its encoding,
// so that doubles compare bit for bit), or both an error with the same code and message. A frame
// whose header names another message type is refused by the direct path, naming both types.
template <class T>
testing::AssertionResult agree(std::string_view frame, const DecodeLimits& limits = {}) {
  Result<T> direct = Paths<T>::direct(frame, limits);
  auto type = peek_type(frame, limits);
  if (type.ok() && *type != Paths<T>::kType) {
    const std::string expected = ", expected " + std::string(message_type_name(Paths<T>::kType));
    if (!direct.ok() && direct.error().message.find(expected) != std::string::npos) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << hex(frame) << ": a frame of another type was not refused";
  }
  auto message = decode(frame, limits);
  Result<T> general = message.ok() ? Paths<T>::from(std::move(message->body))
                                   : Result<T>(std::move(message).error());
  if (direct.ok() != general.ok()) {
    return testing::AssertionFailure()
           << hex(frame) << ": direct " << (direct.ok() ? "ok" : direct.error().message)
           << ", general " << (general.ok() ? "ok" : general.error().message);
  }
  if (!direct.ok()) {
    if (direct.error().code == general.error().code &&
        direct.error().message == general.error().message) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << hex(frame) << ": direct says \"" << direct.error().message
                                       << "\", general \"" << general.error().message << "\"";
  }
  if (encode(Paths<T>::kType, to_body(*direct)) != encode(Paths<T>::kType, to_body(*general))) {
    return testing::AssertionFailure() << hex(frame) << ": the two paths decode different structs";
  }
  return testing::AssertionSuccess();
}

// agree() for acknowledgements: the same entries (ids compared as text), or the same error.
testing::AssertionResult acks_agree(std::string_view frame, const DecodeLimits& limits = {}) {
  auto direct = decode_acked_attempts(frame, limits);
  auto type = peek_type(frame, limits);
  if (type.ok() && *type != MessageType::kResultAck) {
    if (!direct.ok() && direct.error().message.find(", expected result_ack") != std::string::npos) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << hex(frame) << ": a frame of another type was not refused";
  }
  auto message = decode(frame, limits);
  Result<ResultAck> ack =
      message.ok() ? result_ack_from(message->body) : Result<ResultAck>(std::move(message).error());
  if (direct.ok() != ack.ok()) {
    return testing::AssertionFailure()
           << hex(frame) << ": direct " << (direct.ok() ? "ok" : direct.error().message)
           << ", general " << (ack.ok() ? "ok" : ack.error().message);
  }
  if (!direct.ok()) {
    if (direct.error().code == ack.error().code && direct.error().message == ack.error().message) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << hex(frame) << ": direct says \"" << direct.error().message
                                       << "\", general \"" << ack.error().message << "\"";
  }
  if (*direct != acked_attempts(*ack)) {
    return testing::AssertionFailure() << hex(frame) << ": the two paths read different entries";
  }
  return testing::AssertionSuccess();
}

// All decoders, both limits: whatever the frame's type, none may disagree.
testing::AssertionResult all_agree(std::string_view frame) {
  for (const DecodeLimits& limits : {DecodeLimits{}, tight_limits()}) {
    if (auto r = agree<WorkResult>(frame, limits); !r) return r;
    if (auto r = agree<WorkItem>(frame, limits); !r) return r;
    if (auto r = acks_agree(frame, limits); !r) return r;
  }
  return testing::AssertionSuccess();
}

// A body member as msgpack: its key and its value's bytes (raw, so that a test can put anything
// there).
struct Member {
  std::string key;
  std::string value;
};

Member member(std::string key, const Value& value) { return {std::move(key), encode_value(value)}; }

// [1, type, {members...}] with the members in the order given, repeats and all: our encoders only
// write sorted, unique keys.
std::string envelope(MessageType type, const std::vector<Member>& members) {
  std::string frame = encode(type, Value::object());
  frame.pop_back();  // the empty map
  EXPECT_LT(members.size(), 16u);
  frame.push_back(static_cast<char>(0x80 | members.size()));
  for (const auto& m : members) frame += encode_value(Value(m.key)) + m.value;
  return frame;
}

Value nested_result() {
  Value result;
  result["success"] = true;
  result["text"] = "hello";
  result["data"] = Value(Value::Array{Value(1), Value(-70000), Value(INT64_MAX), Value(2.5),
                                      Value(), Value(false), Value("x")});
  result["data_map"]["a"]["b"] = Value(Value::Array{Value(Value::Array{}), Value::object()});
  result["usage"]["input_tokens"] = 12;
  return result;
}

std::vector<Member> result_members() {
  return {member("attempt", Value(3)), member("id", Value("run/s1.i7.s0")),
          member("result", nested_result())};
}

Value item_input() {
  Value input;
  input["value"] = "{{loop.n}}";
  input["list"] = Value(Value::Array{Value(1), Value("two"), Value(Value::Array{Value(3.5)})});
  return input;
}

std::vector<Member> item_members() {
  Value context;
  context["workspace_dir"] = "/w";
  context["output_dir"] = "/w/out";
  return {member("attempt", Value(2)),       member("context", context),
          member("id", Value("run/s0")),     member("input", item_input()),
          member("run", Value("run")),       member("step", Value("loop[2].greet")),
          member("timeout_ms", Value(5000)), member("type", Value("echo"))};
}

std::vector<Member> without(std::vector<Member> members, const std::string& key) {
  members.erase(
      std::remove_if(members.begin(), members.end(), [&](const Member& m) { return m.key == key; }),
      members.end());
  return members;
}

std::vector<Member> with(std::vector<Member> members, const std::string& key, const Value& v) {
  for (auto& m : members) {
    if (m.key == key) m.value = encode_value(v);
  }
  return members;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The decoders take their identifiers out of the message rather than copying them; a reader
// that was only lent a body copies, and leaves the body whole.
TEST(BodyReaderStrings, ALentBodyIsCopiedFromAndAHandedOverOneIsTakenFrom) {
  Value body;
  body["id"] = std::string(40, 'i');
  body["n"] = 3;
  BodyReader lent(body, "msg");
  EXPECT_EQ(lent.take_string("id"), std::string(40, 'i'));
  EXPECT_EQ(body.get_string("id"), std::string(40, 'i'));

  BodyReader consuming = BodyReader::consuming(body, "msg");
  EXPECT_EQ(consuming.take_string("id"), std::string(40, 'i'));
  EXPECT_TRUE(consuming.ok());
  EXPECT_EQ(consuming.take_string("n"), "");
  EXPECT_FALSE(consuming.ok());
  EXPECT_EQ(consuming.status().error().message,
            "msg: field \"n\" is an integer, expected a string");
}

TEST(DirectWorkDecoding, AResultDecodesToWhatItWasEncodedFrom) {
  const Value result = nested_result();
  for (uint32_t attempt : {1u, 300u, 70000u, UINT32_MAX}) {
    const std::string frame = encode_work_result("run/s1.i70000.s0", attempt, result);
    auto decoded = decode_work_result(frame);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->item_id, "run/s1.i70000.s0");
    EXPECT_EQ(decoded->attempt, attempt);
    EXPECT_EQ(decoded->result, result);
    EXPECT_TRUE(agree<WorkResult>(frame));
  }
}

TEST(DirectWorkDecoding, AnItemDecodesToWhatItWasEncodedFrom) {
  Value context;
  context["workspace_dir"] = "/w";
  const WorkItem in{"run/s0",        4,      5000,         "run",
                    "loop[2].greet", "echo", item_input(), std::make_shared<const Value>(context),
                    std::nullopt};
  const std::string frame = encode_work_item(in.item_id, in.attempt, in.timeout_ms, in.run_id,
                                             in.step_name, in.step_type, in.input, context);
  auto decoded = decode_work_item(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->item_id, in.item_id);
  EXPECT_EQ(decoded->attempt, in.attempt);
  EXPECT_EQ(decoded->timeout_ms, in.timeout_ms);
  EXPECT_EQ(decoded->run_id, in.run_id);
  EXPECT_EQ(decoded->step_name, in.step_name);
  EXPECT_EQ(decoded->step_type, in.step_type);
  EXPECT_EQ(decoded->input, in.input);
  EXPECT_EQ(decoded->context_value(), context);
  EXPECT_TRUE(agree<WorkItem>(frame));
  EXPECT_TRUE(agree<WorkItem>(encode(MessageType::kWorkItem, to_body(in))));
}

// A run's items carry the same context: a worker decodes it once, and its items share it.
TEST(DirectWorkDecoding, ItemsWithTheSameContextShareOneDecodedFromTheCache) {
  Value first;
  first["workspace_dir"] = "/runs/a/workspace";
  first["pipeline_dir"] = "/pipelines";
  Value second = first;
  second["workspace_dir"] = "/runs/b/workspace";
  auto frame = [&](const char* id, const Value& context) {
    return encode_work_item(id, 1, 5000, "run", "s", "echo", item_input(), context);
  };
  WorkContextCache contexts;
  auto a1 = decode_work_item(frame("a1", first), {}, contexts);
  auto a2 = decode_work_item(frame("a2", first), {}, contexts);
  ASSERT_TRUE(a1.ok() && a2.ok());
  EXPECT_EQ(a1->context_value(), first);
  EXPECT_EQ(a1->context.get(), a2->context.get()) << "decoded again for the same bytes";

  auto b1 = decode_work_item(frame("b1", second), {}, contexts);
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(b1->context_value(), second);
  EXPECT_EQ(a1->context_value(), first) << "an item keeps the context it came with";
  auto a3 = decode_work_item(frame("a3", first), {}, contexts);
  ASSERT_TRUE(a3.ok());
  EXPECT_EQ(a3->context_value(), first);
  EXPECT_NE(a3->context.get(), b1->context.get());

  // The context checked before is taken without being read again only under the limits it was
  // checked under: under tighter ones it is read, and refused, as the general path refuses it.
  DecodeLimits tight;
  tight.max_string_bytes = 16;  // the keys and the item's strings pass, a 17-byte path does not
  const std::string short_strings =
      encode_work_item("a4", 1, 5000, "r", "s", "echo", Value(1), first);
  ASSERT_TRUE(decode_work_item(short_strings, {}, contexts).ok());
  auto refused = decode_work_item(short_strings, tight, contexts);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, decode(short_strings, tight).error().message);
  EXPECT_TRUE(decode_work_item(frame("a5", first), {}, contexts).ok());

  // Whatever came before, the cached path makes of a frame what the general path makes of it.
  for (const std::string& f : {frame("c", second), frame("d", Value()), frame("e", first),
                               envelope(MessageType::kWorkItem, item_members())}) {
    auto cached = decode_work_item(f, {}, contexts);
    auto general = work_item_from(std::move(decode(f)->body));
    ASSERT_TRUE(cached.ok() && general.ok());
    EXPECT_EQ(encode(MessageType::kWorkItem, to_body(*cached)),
              encode(MessageType::kWorkItem, to_body(*general)));
  }
}

TEST(DirectWorkDecoding, AnAckDecodesToTheAttemptsItWasEncodedFrom) {
  const std::vector<std::pair<std::string, uint32_t>> acks{
      {"run/s1.i0.s0", 1}, {std::string(60, 'x'), UINT32_MAX}, {"", 70000}};
  const std::string frame = encode_result_ack(acks);
  auto decoded = decode_acked_attempts(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), acks.size());
  for (size_t i = 0; i < acks.size(); ++i) {
    EXPECT_EQ((*decoded)[i].item_id, acks[i].first);
    EXPECT_EQ((*decoded)[i].attempt, acks[i].second);
  }
  EXPECT_TRUE(acks_agree(frame));
  EXPECT_TRUE(acks_agree(encode_result_ack({})));
}

// An entry that names no item (an id that is no string, an entry that is no map) is left out;
// an attempt that is not an integer counts as 0; a repeated key counts with its last value.
// What is not a list, or is missing, fails on both paths.
TEST(DirectWorkDecoding, AckEntriesOfAnotherShapeAreLeftOutAndAnythingButAListRefused) {
  const Value odd_entries = *parse_json(
      R"([{"id": 7, "attempt": 1}, 3, {"attempt": "one"}, {}, {"id": "a", "attempt": -2},
          {"id": "b", "attempt": 1.5, "note": [1, {"x": null}]}, ["c", 1]])");
  std::vector<Member> entry_members{member("id", Value("first")), member("attempt", Value(4)),
                                    member("id", Value("last")), member("attempt", Value(5))};
  std::string repeated = envelope(MessageType::kResultAck, {});  // [1, type, {}]
  repeated.pop_back();
  repeated +=
      "\x81\xa4"
      "acks"
      "\x91\x84";  // {acks: [{4 members}]}
  for (const auto& m : entry_members) repeated += encode_value(Value(m.key)) + m.value;
  for (const std::string& frame :
       {envelope(MessageType::kResultAck, {member("acks", odd_entries)}), repeated}) {
    auto decoded = decode_acked_attempts(frame);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_TRUE(acks_agree(frame));
    EXPECT_TRUE(acks_agree(frame, tight_limits()));
  }
  const std::vector<AckedAttempt> odd{{"a", -2}, {"b", 0}};
  EXPECT_EQ(
      *decode_acked_attempts(envelope(MessageType::kResultAck, {member("acks", odd_entries)})),
      odd);
  const std::vector<AckedAttempt> last{{"last", 5}};
  EXPECT_EQ(*decode_acked_attempts(repeated), last);

  for (const Value& bad : {Value(), Value("all"), Value::object(), Value(1)}) {
    const std::string frame = envelope(MessageType::kResultAck, {member("acks", bad)});
    auto refused = decode_acked_attempts(frame);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().message, "result_ack: acks is not a list");
    EXPECT_TRUE(acks_agree(frame));
  }
  const std::string none = envelope(MessageType::kResultAck, {member("other", Value(1))});
  ASSERT_FALSE(decode_acked_attempts(none).ok());
  EXPECT_EQ(decode_acked_attempts(none).error().message, "result_ack: field \"acks\" is missing");
  EXPECT_TRUE(acks_agree(none));
}

TEST(DirectWorkDecoding, AnItemCarriesWhatTheBrokerDoesIfItFails) {
  const RetryOutlook retry{2, {"timeout"}};
  const std::string frame = encode_work_item("run/s0", 1, 5000, "run", "s", "claude_robust",
                                             item_input(), Value(), &retry);
  auto decoded = decode_work_item(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_TRUE(decoded->retry.has_value());
  EXPECT_EQ(decoded->retry->retries_left, 2);
  EXPECT_EQ(decoded->retry->retry_on, std::vector<std::string>{"timeout"});
  EXPECT_TRUE(agree<WorkItem>(frame));
  EXPECT_FALSE(decoded->retry->max_retry_after_ms.has_value());  // a broker that does not say
  const RetryOutlook limited{2, {"timeout"}, 600000};
  const std::string with_limit = encode_work_item("run/s0", 1, 5000, "run", "s", "claude_robust",
                                                  item_input(), Value(), &limited);
  EXPECT_EQ(decode_work_item(with_limit)->retry->max_retry_after_ms, 600000);
  EXPECT_TRUE(agree<WorkItem>(with_limit));
  const std::string without =
      encode_work_item("run/s0", 1, 5000, "run", "s", "echo", item_input(), Value());
  EXPECT_FALSE(decode_work_item(without)->retry.has_value());
}

TEST(DirectWorkDecoding, ABadRetryOutlookIsRefusedByBothPaths) {
  Value body =
      to_body(WorkItem{"i", 1, 5000, "run", "s", "echo", item_input(), nullptr, std::nullopt});
  for (const char* bad :
       {R"("soon")", R"({"left": -1, "on": []})", R"({"left": 1})",
        R"({"left": 1, "on": "timeout"})", R"({"left": 1, "on": [3]})",
        R"({"left": 1, "on": [], "max_retry_after_ms": -1})",
        R"({"left": 1, "on": [], "max_retry_after_ms": "10m"})",
        R"({"left": 1, "max_retry_after_ms": 5, "more": 1})"}) {
    body["retry"] = *parse_json(bad);
    const std::string frame = encode(MessageType::kWorkItem, body);
    auto decoded = decode_work_item(frame);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_NE(decoded.error().message.find("field \"retry\""), std::string::npos);
    EXPECT_TRUE(agree<WorkItem>(frame)) << bad;
  }
}

// A newer broker may add to the outlook: an older worker runs the item on what it knows
// instead of refusing it (and leaving it to its deadline).
TEST(DirectWorkDecoding, ARetryOutlookKeyThisWorkerDoesNotKnowIsIgnoredByBothPaths) {
  Value body =
      to_body(WorkItem{"i", 1, 5000, "run", "s", "echo", item_input(), nullptr, std::nullopt});
  body["retry"] = *parse_json(R"({"left": 1, "on": ["timeout"], "max_retry_after_ms": 5, "more": {"x": 1}})");
  const std::string frame = encode(MessageType::kWorkItem, body);
  auto decoded = decode_work_item(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_TRUE(decoded->retry.has_value());
  EXPECT_EQ(decoded->retry->retries_left, 1);
  EXPECT_EQ(decoded->retry->retry_on, std::vector<std::string>{"timeout"});
  EXPECT_EQ(decoded->retry->max_retry_after_ms, 5);
  EXPECT_TRUE(agree<WorkItem>(frame));
}

TEST(DirectWorkDecoding, KeysInAnyOrderDecodeTheSame) {
  std::vector<Member> members = result_members();
  std::sort(members.begin(), members.end(), [](auto& a, auto& b) { return a.key < b.key; });
  int orders = 0;
  do {
    const std::string frame = envelope(MessageType::kWorkResult, members);
    ASSERT_TRUE(decode_work_result(frame).ok());
    EXPECT_TRUE(agree<WorkResult>(frame));
    ++orders;
  } while (std::next_permutation(members.begin(), members.end(),
                                 [](auto& a, auto& b) { return a.key < b.key; }));
  EXPECT_EQ(orders, 6);

  std::mt19937 rng(7);
  std::vector<Member> item = item_members();
  for (int round = 0; round < 200; ++round) {
    std::shuffle(item.begin(), item.end(), rng);
    const std::string frame = envelope(MessageType::kWorkItem, item);
    ASSERT_TRUE(decode_work_item(frame).ok());
    EXPECT_TRUE(agree<WorkItem>(frame));
  }
}

TEST(DirectWorkDecoding, UnknownKeysAreCheckedAndDropped) {
  std::vector<Member> members = result_members();
  members.insert(members.begin(), member("zz_extra", nested_result()));
  members.push_back(member("", Value(Value::Array{Value(1), Value::object()})));
  const std::string frame = envelope(MessageType::kWorkResult, members);
  ASSERT_TRUE(decode_work_result(frame).ok());
  EXPECT_TRUE(agree<WorkResult>(frame));

  // An unknown member is still read: a bad value there spoils the frame on both paths.
  members.push_back(Member{"bin", std::string("\xc4\x01\x00", 3)});
  const std::string bad = envelope(MessageType::kWorkResult, members);
  auto decoded = decode_work_result(bad);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("binary"), std::string::npos) << decoded.error().message;
  EXPECT_TRUE(agree<WorkResult>(bad));

  std::vector<Member> item = item_members();
  item.push_back(member("priority", Value(9)));
  EXPECT_TRUE(decode_work_item(envelope(MessageType::kWorkItem, item)).ok());
  EXPECT_TRUE(agree<WorkItem>(envelope(MessageType::kWorkItem, item)));
}

TEST(DirectWorkDecoding, ARepeatedKeyKeepsItsLastValueAsTheGeneralPathDoes) {
  std::vector<Member> members = result_members();
  members.insert(members.begin(), member("attempt", Value("one")));
  auto last_good = decode_work_result(envelope(MessageType::kWorkResult, members));
  ASSERT_TRUE(last_good.ok()) << last_good.error().message;
  EXPECT_EQ(last_good->attempt, 3u);
  EXPECT_TRUE(agree<WorkResult>(envelope(MessageType::kWorkResult, members)));

  members.push_back(member("attempt", Value("one")));
  auto last_bad = decode_work_result(envelope(MessageType::kWorkResult, members));
  ASSERT_FALSE(last_bad.ok());
  EXPECT_NE(last_bad.error().message.find("\"attempt\""), std::string::npos);
  EXPECT_TRUE(agree<WorkResult>(envelope(MessageType::kWorkResult, members)));

  Value second;
  second["success"] = false;
  std::vector<Member> two_results = result_members();
  two_results.push_back(member("result", second));
  auto decoded = decode_work_result(envelope(MessageType::kWorkResult, two_results));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->result, second);
  EXPECT_TRUE(agree<WorkResult>(envelope(MessageType::kWorkResult, two_results)));
}

TEST(DirectWorkDecoding, EachMissingFieldIsNamed) {
  for (const auto& key : {"id", "attempt", "result"}) {
    const std::string frame = envelope(MessageType::kWorkResult, without(result_members(), key));
    auto decoded = decode_work_result(frame);
    ASSERT_FALSE(decoded.ok()) << key;
    EXPECT_EQ(decoded.error().message,
              "work_result: field \"" + std::string(key) + "\" is missing");
    EXPECT_TRUE(agree<WorkResult>(frame));
  }
  for (const auto& key : {"id", "attempt", "timeout_ms", "run", "step", "type", "input"}) {
    const std::string frame = envelope(MessageType::kWorkItem, without(item_members(), key));
    auto decoded = decode_work_item(frame);
    ASSERT_FALSE(decoded.ok()) << key;
    EXPECT_EQ(decoded.error().message, "work_item: field \"" + std::string(key) + "\" is missing");
    EXPECT_TRUE(agree<WorkItem>(frame));
  }
  // The context is optional.
  const std::string no_context =
      envelope(MessageType::kWorkItem, without(item_members(), "context"));
  auto decoded = decode_work_item(no_context);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->context_value().is_null());
  EXPECT_TRUE(agree<WorkItem>(no_context));
  // An empty body names the first field.
  EXPECT_TRUE(agree<WorkResult>(envelope(MessageType::kWorkResult, {})));
  EXPECT_TRUE(agree<WorkItem>(envelope(MessageType::kWorkItem, {})));
}

TEST(DirectWorkDecoding, EachMistypedFieldIsNamed) {
  const std::vector<std::pair<std::string, Value>> bad_results{
      {"id", Value(7)},
      {"id", Value()},
      {"attempt", Value("1")},
      {"attempt", Value(-1)},
      {"attempt", Value(int64_t{1} << 32)},
      {"attempt", Value(1.0)},
      {"result", Value(Value::Array{Value(1)})},
      {"result", Value("ok")},
      {"result", Value()}};
  for (const auto& [key, value] : bad_results) {
    const std::string frame =
        envelope(MessageType::kWorkResult, with(result_members(), key, value));
    auto decoded = decode_work_result(frame);
    ASSERT_FALSE(decoded.ok()) << key;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(decoded.error().message.find("\"" + key + "\""), std::string::npos)
        << decoded.error().message;
    EXPECT_TRUE(agree<WorkResult>(frame));
  }
  // A uint64 over INT64_MAX is a double to the general path: "is a double, expected an integer".
  std::vector<Member> huge = result_members();
  huge[0].value = std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
  EXPECT_FALSE(decode_work_result(envelope(MessageType::kWorkResult, huge)).ok());
  EXPECT_TRUE(agree<WorkResult>(envelope(MessageType::kWorkResult, huge)));

  const std::vector<std::pair<std::string, Value>> bad_items{
      {"id", Value::object()},        {"attempt", Value(-3)}, {"timeout_ms", Value("5s")},
      {"timeout_ms", Value(1.5)},     {"run", Value(1)},      {"step", Value()},
      {"type", Value(Value::Array{})}};
  for (const auto& [key, value] : bad_items) {
    const std::string frame = envelope(MessageType::kWorkItem, with(item_members(), key, value));
    auto decoded = decode_work_item(frame);
    ASSERT_FALSE(decoded.ok()) << key;
    EXPECT_NE(decoded.error().message.find("\"" + key + "\""), std::string::npos)
        << decoded.error().message;
    EXPECT_TRUE(agree<WorkItem>(frame));
  }
  // Input and context may be anything, null included.
  for (const Value& any : {Value(), Value(1), Value("x"), Value(Value::Array{})}) {
    const std::string frame =
        envelope(MessageType::kWorkItem, with(with(item_members(), "input", any), "context", any));
    EXPECT_TRUE(decode_work_item(frame).ok());
    EXPECT_TRUE(agree<WorkItem>(frame));
  }
}

TEST(DirectWorkDecoding, EveryTruncationFailsAsTheGeneralPathDoes) {
  const std::string result = encode_work_result("id-1", 2, nested_result());
  const std::string item = envelope(MessageType::kWorkItem, item_members());
  const std::string ack = encode_result_ack({{"id-1", 2}, {"id-2", 1}});
  for (const std::string* frame : {&result, &item, &ack}) {
    for (size_t n = 0; n < frame->size(); ++n) {
      const std::string_view prefix = std::string_view(*frame).substr(0, n);
      EXPECT_FALSE(decode_work_result(prefix).ok()) << n;
      EXPECT_FALSE(decode_work_item(prefix).ok()) << n;
      EXPECT_TRUE(all_agree(prefix));
    }
  }
}

TEST(DirectWorkDecoding, EnvelopeErrorsAreDecodesErrors) {
  auto bytes = [](std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s.push_back(static_cast<char>(c));
    return s;
  };
  const std::vector<std::string> frames{
      "",
      bytes({0x93, 0x07, 0x66, 0x80}),              // version 7
      bytes({0x93, 0x01, 0xcd, 0x03, 0xe7, 0x80}),  // type 999
      bytes({0x92, 0x01, 0x66}),                    // two parts
      bytes({0x93, 0xa1, '1', 0x66, 0x80}),         // a string version
      bytes({0x93, 0x01, 0xa1, 'x', 0x80}),         // a string type
      bytes({0x80}),                                // a bare map
      bytes({0x93, 0x01, 0x66, 0x91, 0x01}),        // body [1]
      bytes({0x93, 0x01, 0x66, 0x92, 0x01}),        // body [1, ... truncated
      bytes({0x93, 0x01, 0x66, 0xc0}),              // body nil
      bytes({0x93, 0x01, 0x66, 0x81, 0x01, 0x02}),  // {1: 2}
      bytes({0x93, 0x01, 0x66, 0x80, 0x00}),        // a trailing byte
      bytes({0x93, 0x01, 0x66, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0x01}),  // 4G members
      bytes({0x93, 0x01, 0x66, 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff}),             // a 4 GiB key
      bytes({0x93, 0x01, 0x66, 0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}),
      bytes({0x93, 0x01, 0x66, 0x81, 0xa1, 'a', 0xd4, 0x01, 0x00}),  // an extension
      bytes({0x93, 0x01, 0x66, 0x81, 0xa1, 'a', 0xc1}),              // reserved 0xc1
  };
  for (const auto& frame : frames) {
    EXPECT_FALSE(decode_work_result(frame).ok()) << hex(frame);
    EXPECT_TRUE(all_agree(frame));
  }
  auto version = decode_work_result(bytes({0x93, 0x07, 0x66, 0x80}));
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().message, "protocol version 7, expected 1");

  // Deep nesting ends in an error on both paths, never in a stack overflow.
  std::string deep = bytes({0x93, 0x01, 0x66, 0x81, 0xa6, 'r', 'e', 's', 'u', 'l', 't'});
  deep.append(100000, static_cast<char>(0x81));
  EXPECT_FALSE(decode_work_result(deep).ok());
  EXPECT_TRUE(agree<WorkResult>(deep));
}

TEST(DirectWorkDecoding, LimitsCountTheSameOnBothPaths) {
  DecodeLimits limits;
  limits.max_depth = 4;  // the envelope, the body, the result and one map in it
  Value shallow;
  shallow["a"]["b"] = 1;
  Value deep;
  deep["a"]["b"]["c"] = 1;
  EXPECT_TRUE(decode_work_result(encode_work_result("i", 1, shallow), limits).ok());
  EXPECT_FALSE(decode_work_result(encode_work_result("i", 1, deep), limits).ok());
  EXPECT_TRUE(agree<WorkResult>(encode_work_result("i", 1, shallow), limits));
  EXPECT_TRUE(agree<WorkResult>(encode_work_result("i", 1, deep), limits));

  limits = DecodeLimits{};
  limits.max_frame_bytes = 40;
  Value long_text;
  long_text["text"] = std::string(100, 'x');
  auto too_large = decode_work_result(encode_work_result("i", 1, long_text), limits);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, ErrorCode::kTooLarge);
  EXPECT_TRUE(agree<WorkResult>(encode_work_result("i", 1, long_text), limits));
  EXPECT_TRUE(agree<WorkResult>(encode_work_result("i", 1, long_text), tight_limits()));
}

TEST(DirectWorkDecoding, AFrameOfAnotherTypeIsRefusedNamingBoth) {
  const std::string heartbeat = encode(MessageType::kWorkerHeartbeat, to_body(Heartbeat{1}));
  auto decoded = decode_work_result(heartbeat);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message, "message type worker_heartbeat, expected work_result");
  EXPECT_FALSE(decode_work_item(encode_work_result("i", 1, Value::object())).ok());
}

TEST(DirectWorkDecoding, PeekTypeReadsTheHeaderAlone) {
  std::string frame = encode_work_result("i", 1, nested_result());
  auto type = peek_type(frame);
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(*type, MessageType::kWorkResult);
  // A broken body does not matter to it; a broken header fails as decode() fails.
  frame.resize(frame.size() - 1);
  EXPECT_TRUE(peek_type(frame).ok());
  for (const std::string& bad : {std::string(), std::string("\x93\x07\x66\x80", 4),
                                 std::string("\x93\x01\xcd\x03\xe7\x80", 6)}) {
    auto peeked = peek_type(bad);
    auto decoded = decode(bad);
    ASSERT_FALSE(peeked.ok());
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(peeked.error().message, decoded.error().message);
  }
}

TEST(DirectWorkDecoding, EverySingleByteChangeOfAValidFrameDecodesAlike) {
  const std::vector<std::string> frames{encode_work_result("id-1", 2, nested_result()),
                                        envelope(MessageType::kWorkItem, item_members())};
  for (const auto& valid : frames) {
    for (size_t at = 0; at < valid.size(); ++at) {
      for (int byte : {0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0xa0, 0xc0, 0xc1, 0xc4, 0xcc, 0xcf, 0xd9,
                       0xdc, 0xde, 0xdf, 0xff, static_cast<unsigned char>(valid[at]) ^ 1}) {
        std::string frame = valid;
        frame[at] = static_cast<char>(byte);
        EXPECT_TRUE(all_agree(frame));
      }
    }
  }
}

// The fuzzers' seed inputs and regressions, whole, cut short and with single bytes changed.
TEST(DirectWorkDecoding, TheFuzzCorpusDecodesAlike) {
  const fs::path fuzz = fs::path(PIPELINE_SOURCE_DIR) / "tests" / "fuzz";
  int files = 0;
  int decoded = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const auto& entry : fs::directory_iterator(fuzz / kind / "envelope")) {
      if (!entry.is_regular_file() || entry.path().extension() == ".note") continue;
      const std::string frame = read_file(entry.path());
      ++files;
      if (decode_work_result(frame).ok() || decode_work_item(frame).ok()) ++decoded;
      EXPECT_TRUE(all_agree(frame)) << entry.path();
      for (size_t n = 0; n < frame.size(); ++n) {
        EXPECT_TRUE(all_agree(std::string_view(frame).substr(0, n))) << entry.path();
        for (int byte : {0x00, 0x80, 0xc0, 0xff}) {
          std::string changed = frame;
          changed[n] = static_cast<char>(byte);
          EXPECT_TRUE(all_agree(changed)) << entry.path();
        }
      }
    }
  }
  EXPECT_GT(files, 20);
  EXPECT_GE(decoded, 3) << "work_item.msgpack, work_item_fast.msgpack, work_result.msgpack";
}

}  // namespace
}  // namespace pl::protocol
