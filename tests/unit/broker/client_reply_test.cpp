#include <gtest/gtest.h>

#include "broker/client_api.h"
#include "common/protocol/client.h"

namespace pl::broker {
namespace {

using protocol::MessageType;

Value status_with_result_of(size_t text_bytes) {
  Value result;
  result["success"] = false;
  result["error"] = "step \"lp\" failed";
  result["usage"]["input_tokens"] = 12;
  result["steps"]["lp"]["text"] = std::string(text_bytes, 'a');
  Value body;
  body["request"] = "q1";
  body["run"] = "run-1";
  body["state"] = "failed";
  body["result"] = std::move(result);
  return body;
}

TEST(ClientReply, AReplyThatFitsIsSentAsItIs) {
  const Value body = status_with_result_of(100);
  EXPECT_EQ(encode_client_reply(MessageType::kRunStatus, body, 1000),
            protocol::encode(MessageType::kRunStatus, body));
}

// Over the limit the client would drop the message and wait for its deadline: it gets the
// status without the result instead, and can tell.
TEST(ClientReply, AReplyTooLargeForAClientGoesWithoutTheRunsResult) {
  const std::string envelope =
      encode_client_reply(MessageType::kRunStatus, status_with_result_of(5000), 1000);
  EXPECT_LE(envelope.size(), 1000u);
  auto reply = protocol::decode(envelope);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->type, MessageType::kRunStatus);
  EXPECT_EQ(reply->body.get_string("request"), "q1");
  EXPECT_EQ(reply->body.get_string("state"), "failed");
  const Value* result = reply->body.find("result");
  ASSERT_NE(result, nullptr);
  EXPECT_FALSE(result->get_bool("success", true));
  EXPECT_EQ(result->get_string("error"), "step \"lp\" failed");
  EXPECT_EQ(result->find("usage")->get_int("input_tokens"), 12);
  EXPECT_GT(result->get_int("result_omitted_bytes"), 5000);
  EXPECT_EQ(result->find("steps"), nullptr);
}

TEST(ClientReply, AReplyTooLargeEvenWithoutAResultIsAnErrorSayingSo) {
  Value body;
  body["request"] = "q2";
  body["runs"] = std::string(5000, 'r');
  auto reply = protocol::decode(encode_client_reply(MessageType::kRunList, body, 1000));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->type, MessageType::kClientError);
  auto error = protocol::client_error_from(reply->body);
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->request, "q2");
  EXPECT_EQ(error->code, ErrorCode::kTooLarge);
  EXPECT_NE(error->message.find("more than a client takes"), std::string::npos) << error->message;
}

}  // namespace
}  // namespace pl::broker

namespace pl::protocol {
namespace {

TEST(RunExportPage, TakingThePageFromItsBodyGivesWhatCopyingGives) {
  Value body;
  body["request"] = "q1";
  body["run"]["id"] = "run-1";
  body["next"] = 7;
  body["items"] = Value::array();
  body["items"].push_back(Value(Value::Object{{"id", Value("run-1/s0")}}));
  auto copied = run_export_page_from(body);
  auto taken = run_export_page_from(Value(body));
  ASSERT_TRUE(copied.ok() && taken.ok());
  EXPECT_EQ(taken->items, copied->items);
  EXPECT_EQ(taken->run, copied->run);
  EXPECT_EQ(taken->next, copied->next);

  body["items"] = "not a list";  // refused the same way by both
  auto copied_bad = run_export_page_from(body);
  auto taken_bad = run_export_page_from(Value(body));
  ASSERT_FALSE(copied_bad.ok());
  ASSERT_FALSE(taken_bad.ok());
  EXPECT_EQ(taken_bad.error().message, copied_bad.error().message);
}

}  // namespace
}  // namespace pl::protocol
