// Elements of loops and batches read from JSONL files.
#include "broker/item_source.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "tests/support/harness.h"

namespace pl::broker {
namespace {

TEST(JsonlFileSource, ALineThatCannotBeReadFailsItsElementOnlyAndTheNextIsRead) {
  test::TempDir dir;
  const auto path = dir.path() / "items.jsonl";
  ASSERT_TRUE(write_file_atomic(path, "1\n[\"far too long\"]\n{oops\n4\n").ok());
  auto source = jsonl_file_source(path, {}, /*max_line_bytes=*/8);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->total(), 4u);
  auto first = (*source)->next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((**first).as_int(), 1);
  auto too_long = (*source)->next();
  ASSERT_FALSE(too_long.ok());
  EXPECT_TRUE(element_error(too_long.error()));
  EXPECT_NE(too_long.error().message.find("items.jsonl:2: line longer than 8 bytes"),
            std::string::npos)
      << too_long.error().message;
  auto not_json = (*source)->next();
  ASSERT_FALSE(not_json.ok());
  EXPECT_TRUE(element_error(not_json.error()));
  EXPECT_NE(not_json.error().message.find("items.jsonl:3"), std::string::npos);
  auto last = (*source)->next();
  ASSERT_TRUE(last.ok() && last->has_value()) << (last.ok() ? "" : last.error().message);
  EXPECT_EQ((**last).as_int(), 4);
  auto end = (*source)->next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

}  // namespace
}  // namespace pl::broker
