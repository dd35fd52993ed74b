// The client <-> broker messages that carry more than ids: what a submission keeps and refuses.
#include <gtest/gtest.h>

#include "common/protocol/client.h"

namespace pl::protocol {
namespace {

SubmitRun a_submission() {
  SubmitRun m;
  m.request = "q1";
  m.pipeline_path = "/p.yaml";
  m.pipeline_yaml = "workflow: {}";
  m.inputs = Value::object();
  return m;
}

TEST(SubmitRunMessage, AnIdempotencyKeyGoesAndComesBackAndNoneIsNoField) {
  SubmitRun m = a_submission();
  EXPECT_EQ(to_body(m).find("idempotency_key"), nullptr) << "older brokers see what they knew";
  m.idempotency_key = "job-42";
  auto back = submit_run_from(to_body(m));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->idempotency_key, "job-42");
}

TEST(SubmitRunMessage, AKeyTooLongOrWithAControlCharacterIsRefusedNamingTheField) {
  SubmitRun m = a_submission();
  m.idempotency_key = std::string(kMaxIdempotencyKeyBytes, 'k');
  EXPECT_TRUE(submit_run_from(to_body(m)).ok());
  m.idempotency_key.push_back('k');
  auto long_key = submit_run_from(to_body(m));
  ASSERT_FALSE(long_key.ok());
  EXPECT_EQ(long_key.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(long_key.error().message.find("\"idempotency_key\" is 201 bytes"), std::string::npos)
      << long_key.error().message;
  m.idempotency_key = "job\n42";
  auto control = submit_run_from(to_body(m));
  ASSERT_FALSE(control.ok());
  EXPECT_NE(control.error().message.find("control character"), std::string::npos);
  Value body = to_body(a_submission());
  body["idempotency_key"] = 42;
  auto number = submit_run_from(body);
  ASSERT_FALSE(number.ok());
  EXPECT_NE(number.error().message.find("idempotency_key"), std::string::npos)
      << number.error().message;
}

}  // namespace
}  // namespace pl::protocol
