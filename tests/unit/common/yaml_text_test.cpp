#include "common/config/yaml_text.h"

#include <gtest/gtest.h>

#include <string>

#include "common/utf8.h"

namespace pl {
namespace {

TEST(Utf8, WellFormedSequencesAreTakenWholeAndAnythingElseIsNot) {
  EXPECT_EQ(first_invalid_utf8("plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80"),
            std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("ab\xFF"), 2u);
  EXPECT_EQ(first_invalid_utf8("\xC3\x28"), 0u);          // a continuation byte missing
  EXPECT_EQ(first_invalid_utf8("\xC0\xAF"), 0u);          // overlong "/"
  EXPECT_EQ(first_invalid_utf8("x\xED\xA0\x80"), 1u);     // a surrogate
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xE2\x82"), 0u);          // cut short
}

TEST(YamlText, ABadByteIsNamedAtItsLineAndColumnCountedInCharacters) {
  auto fault = yaml_text_fault("a: 1\nb: \xC3\xA9\xFFx\n");
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->line, 2);
  EXPECT_EQ(fault->column, 5);  // "b", ":", " ", "é", then the bad byte
  EXPECT_EQ(fault->message, "the file is not UTF-8 text: byte 0xFF does not begin a UTF-8 character");
}

TEST(YamlText, ControlCharactersOtherThanTabNewlineAndReturnAreRefused) {
  EXPECT_FALSE(yaml_text_fault("a:\tb\r\nc: d\n"));
  auto nul = yaml_text_fault(std::string("name: d\0x\n", 10));
  ASSERT_TRUE(nul);
  EXPECT_EQ(nul->line, 1);
  EXPECT_EQ(nul->column, 8);
  EXPECT_EQ(nul->message, "control character 0x00 is not allowed in YAML");
  ASSERT_TRUE(yaml_text_fault("a: \x7f"));
}

TEST(YamlText, AUtf16TextIsLeftToTheParserThatDecodesIt) {
  EXPECT_FALSE(yaml_text_fault(std::string("\xFF\xFE" "a\0:\0 \0b\0", 10)));
}

TEST(YamlText, ASyntaxErrorAfterATabIndentedLineNamesThatLine) {
  const std::string text = "a:\n  b: 1\n\tc: 2\n  d: 3\n";
  EXPECT_EQ(tab_indentation_hint(text, 3), "; line 3 indents with a tab (YAML indents with spaces only)");
  EXPECT_EQ(tab_indentation_hint(text, 2), "");           // the error comes before it
  EXPECT_EQ(tab_indentation_hint("a:\n  b: x\tz\n", 2), "");  // a tab inside a value
  // A block scalar's tab-indented content further up is not what the error is about.
  EXPECT_EQ(tab_indentation_hint("s: |\n  \tcode\nt:\n\tu: 1\n", 4),
            "; line 4 indents with a tab (YAML indents with spaces only)");
}

}  // namespace
}  // namespace pl
