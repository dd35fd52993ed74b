// The `registry:` config section.
#include "registry/registry_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/harness.h"

namespace pl::registry {
namespace {

TEST(RegistryConfig, TheDefaultTreeConfigLoads) {
  auto c = load_registry_config((pl::test::source_dir() / "configs/local.yaml").string());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->store.sync, SyncMode::kFull);
  EXPECT_EQ(c->limits.keep_applied_ids, 100000);
  EXPECT_EQ(c->limits.min_applied_age_ms, 60000);
}

TEST(RegistryConfig, MistakesAreReportedWithFileLineAndColumn) {
  pl::test::TempDir dir;
  const auto file = dir.path() / "c.yaml";
  std::ofstream(file) << "registry:\n  synchronous: sometimes\n  idempotency:\n    ttl_s: 1\n    min_age_s: 5\n"
                         "  max_bach: 3\n";
  auto c = load_registry_config(file.string());
  ASSERT_FALSE(c.ok());
  const std::string& m = c.error().message;
  EXPECT_NE(m.find(file.string() + ":2:16"), std::string::npos) << m;
  EXPECT_NE(m.find("max_bach"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean \"max_batch\""), std::string::npos) << m;
  EXPECT_NE(m.find("must not be shorter than min_age_s"), std::string::npos) << m;
}

TEST(RegistryConfig, IdleSessionsAreKeptForEverUnlessARetentionIsSet) {
  auto defaults = load_registry_config((pl::test::source_dir() / "configs/local.yaml").string());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->limits.keep_idle_sessions_ms, 0);
  pl::test::TempDir dir;
  const auto file = dir.path() / "c.yaml";
  std::ofstream(file) << "registry:\n  keep_idle_sessions_days: 30\n";
  auto c = load_registry_config(file.string());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->limits.keep_idle_sessions_ms, 30LL * 24 * 3600 * 1000);
}

}  // namespace
TEST(RegistryConfig, DeferredSyncWithoutFullSyncIsAMistakeNotASilentNoOp) {
  pl::test::TempDir dir;
  const auto file = dir.path() / "c.yaml";
  std::ofstream(file) << "registry:\n  synchronous: normal\n  deferred_sync: true\n";
  auto c = load_registry_config(file.string());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(file.string() + ":3:18"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("applies only with synchronous: full"), std::string::npos);
}

}  // namespace pl::registry
