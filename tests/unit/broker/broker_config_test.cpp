// The broker's settings as the config file writes them.
#include "broker/broker_config.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "tests/support/harness.h"

namespace pl::broker {
namespace {

class BrokerConfigTest : public ::testing::Test {
 protected:
  Result<BrokerConfig> load(const std::string& text) {
    const auto path = dir_.path() / "c.yaml";
    EXPECT_TRUE(write_file_atomic(path, text).ok());
    return load_broker_config(path.string());
  }
  test::TempDir dir_;
};

TEST_F(BrokerConfigTest, FinishedRunsAreKeptThirtyDaysUnlessTheConfigSaysOtherwise) {
  auto defaults = load("broker: {}\n");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->retention.keep_finished, std::chrono::hours(24 * 30));

  auto hours = load("broker:\n  keep_finished_runs_hours: 1.5\n");
  ASSERT_TRUE(hours.ok()) << hours.error().message;
  EXPECT_EQ(hours->retention.keep_finished, std::chrono::minutes(90));

  auto forever = load("broker:\n  keep_finished_runs_hours: 0\n");
  ASSERT_TRUE(forever.ok()) << forever.error().message;
  EXPECT_FALSE(forever->retention.keep_finished.has_value());
}

TEST_F(BrokerConfigTest, TheLongestProviderWaitHonouredIsTenMinutesUnlessSet) {
  auto defaults = load("broker: {}\n");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->max_retry_after, std::chrono::minutes(10));
  auto set = load("broker:\n  max_retry_after_ms: 90000\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->max_retry_after, std::chrono::seconds(90));
}

TEST_F(BrokerConfigTest, TheDefaultLlmProviderIsTheWorkersProvidersDefault) {
  auto unset = load("broker: {}\n");
  ASSERT_TRUE(unset.ok()) << unset.error().message;
  EXPECT_EQ(unset->default_llm_provider, "openai");
  // Only default_provider is the broker's to read: the other keys are the workers' to check.
  auto set =
      load("providers:\n  default_provider: anthropic\n  force_mock: true\n  anthropc: {}\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->default_llm_provider, "anthropic");
}

TEST_F(BrokerConfigTest, AnUnknownDefaultLlmProviderIsAnErrorAtItsPlace) {
  auto c = load("broker:\n  liveness: 0\nproviders:\n  default_provider: claude\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("c.yaml:4:21: providers.default_provider: \"claude\" is not "
                                   "one of anthropic, gemini, openai, mock"),
            std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("c.yaml:2:13: broker.liveness"), std::string::npos)
      << c.error().message;  // reported together with the broker section's own
}

TEST_F(BrokerConfigTest, ANegativeOrWordyRetentionIsAnErrorAtItsPlace) {
  for (const char* value : {"-1", "forever"}) {
    auto c = load(std::string("broker:\n  keep_finished_runs_hours: ") + value + "\n");
    ASSERT_FALSE(c.ok()) << value;
    EXPECT_NE(c.error().message.find("c.yaml:2:29: broker.keep_finished_runs_hours"),
              std::string::npos)
        << c.error().message;
  }
}

}  // namespace
}  // namespace pl::broker
