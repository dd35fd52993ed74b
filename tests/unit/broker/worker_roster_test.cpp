#include "broker/worker_roster.h"

#include <gtest/gtest.h>

namespace pl::broker {
namespace {

TEST(HeldAttempts, TwoAttemptsOfOneItemEachTakeASlotAndAnAnswerFreesOnlyItsOwn) {
  WorkerRecord worker;
  worker.slots = 2;
  EXPECT_TRUE(worker.held.insert("a", 1));
  EXPECT_FALSE(worker.held.insert("a", 1)) << "the same attempt twice is one slot";
  EXPECT_TRUE(worker.held.insert("a", 2));
  EXPECT_EQ(worker.free_slots(), 0u);
  EXPECT_FALSE(worker.held.erase("a", 3));
  EXPECT_TRUE(worker.held.erase("a", 1));
  EXPECT_FALSE(worker.held.contains("a", 1));
  EXPECT_TRUE(worker.held.contains("a", 2));
  EXPECT_EQ(worker.free_slots(), 1u);
  EXPECT_FALSE(worker.held.erase("a", 1));
}

}  // namespace
}  // namespace pl::broker
