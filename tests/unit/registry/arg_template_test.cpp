// {{args.x}} templates: parsing and rendering, one element in, one element out.
#include "common/registry/arg_template.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace pl {
namespace {

Value args() { return *parse_json(R"({"s": "a b; rm -rf / $(x) `y` 'q' \"d\"", "n": 3, "o": {"k": [1, true]}})"); }

TEST(ArgTemplate, StringsAreSubstitutedAsTheyAre) {
  auto r = render_arg_template("--name={{args.s}}", args());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "--name=a b; rm -rf / $(x) `y` 'q' \"d\"");
}

TEST(ArgTemplate, OtherValuesBecomeCompactJson) {
  EXPECT_EQ(*render_arg_template("{{ args.n }}", args()), "3");
  EXPECT_EQ(*render_arg_template("{{args.o}}", args()), R"({"k":[1,true]})");
  EXPECT_EQ(*render_arg_template("{{args.o.k}}", args()), "[1,true]");
}

TEST(ArgTemplate, DigitsPickAnElementOfAList) {
  EXPECT_EQ(*render_arg_template("{{args.o.k.0}}-{{args.o.k.1}}", args()), "1-true");
  auto past = render_arg_template("{{args.o.k.2}}", args());
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().message, "args.o.k.2 is not given");
  EXPECT_FALSE(render_arg_template("{{args.o.k.first}}", args()).ok());
}

TEST(ArgTemplate, AnAbsentArgumentIsAnErrorNamingIt) {
  auto r = render_arg_template("{{args.missing}}", args());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "args.missing is not given");
}

TEST(ArgTemplate, OnlyArgsReferencesAreAllowed) {
  auto other = parse_arg_template("{{inputs.x}}");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("only {{args.NAME}}"), std::string::npos);
  EXPECT_FALSE(parse_arg_template("{{args.x").ok());
  EXPECT_FALSE(parse_arg_template("{{args..x}}").ok());
  EXPECT_FALSE(parse_arg_template("{{args.x y}}").ok());
}

TEST(ArgTemplate, LiteralTextHasNoReferences) {
  auto parts = parse_arg_template("plain -- text");
  ASSERT_TRUE(parts.ok());
  EXPECT_FALSE(has_references(*parts));
  EXPECT_EQ(*render_arg_template(*parts, Value()), "plain -- text");
}

}  // namespace
}  // namespace pl
