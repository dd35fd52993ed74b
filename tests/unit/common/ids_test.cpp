#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace pl {
namespace {

TEST(Ids, HavePrefixAndFixedLength) {
  auto id = new_id("run-");
  EXPECT_EQ(id.rfind("run-", 0), 0u);
  EXPECT_EQ(id.size(), 4u + 26u);
}

TEST(Ids, AreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(new_id("")).second);
}

TEST(Ids, SortByCreationTime) {
  const auto t = std::chrono::system_clock::now();
  EXPECT_LT(new_id("", t), new_id("", t + std::chrono::milliseconds(1)));
}

TEST(Ids, ShortOnesFitAStringsInlineBufferUseTheAlphabetAndAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = new_short_id("w-");
    ASSERT_EQ(id.size(), 15u) << id;  // std::string keeps up to 15 characters inline
    EXPECT_EQ(id.rfind("w-", 0), 0u);
    EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ", 2), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

}  // namespace
}  // namespace pl
