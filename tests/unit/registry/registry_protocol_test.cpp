// Registry messages: encode, decode, refuse.
#include "common/protocol/registry.h"

#include <gtest/gtest.h>

#include "common/protocol/envelope.h"

namespace pl::protocol {
namespace {

TEST(RegistryProtocol, RequestsAndRepliesSurviveTheEnvelope) {
  RegistryRequest request{"q1", "session.append", "m-1", Value::object()};
  request.args["name"] = "chat";
  auto decoded = decode(encode(MessageType::kRegistryRequest, to_body(request)));
  ASSERT_TRUE(decoded.ok());
  auto back = registry_request_from(decoded->body);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->op, "session.append");
  EXPECT_EQ(back->id, "m-1");
  EXPECT_EQ(back->args, request.args);

  RegistryReply failure = RegistryReply::failure(make_error(ErrorCode::kConflict, "at version 2, expected 1"));
  failure.request = "q1";
  auto reply = registry_reply_from(to_body(failure));
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->code, ErrorCode::kConflict);
  EXPECT_EQ(reply->to_result().error().message, "at version 2, expected 1");
}

TEST(RegistryProtocol, ARequestWithArgsThatAreNotAMapIsRefusedNamingTheField) {
  Value body;
  body["op"] = "ping";
  body["args"] = Value::array();
  auto r = registry_request_from(body);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\"args\""), std::string::npos);
  Value no_op;
  no_op["args"] = Value::object();
  EXPECT_FALSE(registry_request_from(no_op).ok());
}

TEST(RegistryProtocol, EveryOpNameMapsBackToItsOp) {
  for (auto op : {RegistryOp::kPing, RegistryOp::kToolRegister, RegistryOp::kSessionAppend,
                  RegistryOp::kSessionDelete}) {
    EXPECT_EQ(registry_op_from_name(registry_op_name(op)), op);
  }
  EXPECT_FALSE(registry_op_from_name("drop_tables").has_value());
  EXPECT_TRUE(is_mutation(RegistryOp::kSessionAppend));
  EXPECT_FALSE(is_mutation(RegistryOp::kSessionGet));
}

}  // namespace
}  // namespace pl::protocol
