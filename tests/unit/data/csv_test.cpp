#include "worker/data/csv.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "test_util.h"

namespace pl::worker::data {
namespace {

using testing::json;

std::vector<std::vector<std::string>> fields(std::string_view text) {
  auto r = parse_csv(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  std::vector<std::vector<std::string>> out;
  if (r.ok()) {
    for (const CsvRecord& record : *r) out.push_back(record.fields);
  }
  return out;
}

std::string parse_error(std::string_view text) {
  auto r = parse_csv(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error().message;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(Csv, SplitsRecordsAndFields) {
  EXPECT_EQ(fields("a,b\n1,2\n"), (Rows{{"a", "b"}, {"1", "2"}}));
}

TEST(Csv, AcceptsCrlfLfAndLoneCrLineEnds) {
  EXPECT_EQ(fields("a\r\nb\nc\rd"), (Rows{{"a"}, {"b"}, {"c"}, {"d"}}));
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  EXPECT_EQ(fields("\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n"),
            (Rows{{"a,b", "say \"hi\"", "two\r\nlines"}}));
}

TEST(Csv, EmptyFieldsAreEmptyStrings) {
  EXPECT_EQ(fields(",,\n\"\",x,\n"), (Rows{{"", "", ""}, {"", "x", ""}}));
}

TEST(Csv, TrailingLineBreaksMakeNoRecords) {
  EXPECT_EQ(fields("a\n\n\r\n"), (Rows{{"a"}}));
  EXPECT_EQ(fields(""), Rows{});
  EXPECT_EQ(fields("\n\n"), Rows{});
}

TEST(Csv, AnEmptyLineInTheMiddleIsARecordWithOneEmptyField) {
  EXPECT_EQ(fields("a\n\nb\n"), (Rows{{"a"}, {""}, {"b"}}));
}

TEST(Csv, AByteOrderMarkIsSkipped) {
  EXPECT_EQ(fields("\xEF\xBB\xBF"
                   "a,b\n"),
            (Rows{{"a", "b"}}));
}

TEST(Csv, RecordsKnowTheLineTheyStartOn) {
  auto r = parse_csv("a\n\"x\ny\"\nz\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].line, 1u);
  EXPECT_EQ((*r)[1].line, 2u);
  EXPECT_EQ((*r)[2].line, 4u);
}

TEST(Csv, AQuoteInsideAnUnquotedFieldNamesLineAndColumn) {
  EXPECT_EQ(parse_error("a,b\nxy,ab\"c\n"),
            "line 2, column 6: a quote inside an unquoted field (quote the whole field and "
            "double it)");
}

TEST(Csv, AnUnterminatedQuoteNamesWhereItOpened) {
  EXPECT_EQ(parse_error("a,b\n1,\"open\n\nstill"),
            "line 2, column 3: unterminated quoted field (opened here); the text ends inside it");
}

TEST(Csv, TextAfterAClosingQuoteNamesLineAndColumn) {
  EXPECT_EQ(
      parse_error("\"ab\"x,1"),
      "line 1, column 5: \"x\" after a closing quote; expected a comma or the end of the line");
}

TEST(Csv, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(parse_error("\xC3\xA9\xC3\xA9\"\n"),
            "line 1, column 3: a quote inside an unquoted field (quote the whole field and "
            "double it)");
}

TEST(Csv, FieldsAreQuotedOnlyWhenTheyMustBe) {
  EXPECT_EQ(csv_field("plain text"), "plain text");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
  EXPECT_EQ(csv_field(""), "");
}

TEST(CsvToJson, TheHeaderNamesTheColumnsAndValuesStayStrings) {
  EXPECT_EQ(*csv_to_records("id,name\n007,ann\n2,\"b, c\"\n"),
            json(R"([{"id": "007", "name": "ann"}, {"id": "2", "name": "b, c"}])"));
}

TEST(CsvToJson, EmptyTextOrAHeaderAloneIsAnEmptyList) {
  EXPECT_EQ(*csv_to_records(""), json("[]"));
  EXPECT_EQ(*csv_to_records("a,b\r\n"), json("[]"));
}

TEST(CsvToJson, RaggedRecordsAreAnErrorNamingTheLine) {
  auto r = csv_to_records("a,b,c\n1,2,3\n\"x\ny\",2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "line 3: record 2 has 2 fields, the header has 3");
  EXPECT_EQ(csv_to_records("a,b\n1,2,3\n").error().message,
            "line 2: record 1 has 3 fields, the header has 2");
  EXPECT_EQ(csv_to_records("a,b\n1\n").error().message,
            "line 2: record 1 has 1 field, the header has 2");
}

TEST(CsvToJson, DuplicateAndEmptyColumnNamesAreRefused) {
  EXPECT_EQ(csv_to_records("id,x,id\n").error().message,
            "line 1: column 3 has the same name as column 1: \"id\"");
  EXPECT_EQ(csv_to_records("id,,x\n").error().message,
            "line 1: column 2 of the header has no name");
}

TEST(CsvToJson, ParseErrorsPassThrough) {
  EXPECT_EQ(csv_to_records("a\n\"x").error().message.rfind("line 2, column 1: unterminated", 0),
            0u);
}

// The streamed conversion writes exactly what converting the whole document at once would.
std::string streamed_json(std::string_view csv) {
  std::string out;
  auto n = write_csv_as_json(csv, [&out](std::string_view part) {
    out += part;
    return ok_status();
  });
  EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
  return out;
}

TEST(CsvToJson, StreamingWritesTheSameBytesAsTheWholeDocument) {
  for (std::string_view csv :
       {"", "a,b\n", "id,name\n1,\"Smith, J\"\n2,\"multi\nline\"\n", "\xEF\xBB\xBFx\n\"\"\n"}) {
    auto whole = csv_to_records(csv);
    ASSERT_TRUE(whole.ok()) << csv;
    EXPECT_EQ(streamed_json(csv), to_json(*whole, JsonStyle::kPretty) + "\n") << csv;
  }
}

TEST(CsvToJson, StreamingStopsAtTheFirstErrorOfTheSink) {
  int parts = 0;
  auto n = write_csv_as_json("a\n1\n2\n3\n", [&parts](std::string_view) {
    return ++parts == 2 ? Status(make_error(ErrorCode::kTooLarge, "full")) : ok_status();
  });
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message, "full");
  EXPECT_EQ(parts, 2);
}

TEST(JsonToCsv, WritesAHeaderOfEveryKeyInFirstSeenOrder) {
  EXPECT_EQ(*records_to_csv(json(R"([{"b": 1, "a": "x"}, {"c": true, "a": "y"}])")),
            "a,b,c\r\nx,1,\r\ny,,true\r\n");
}

TEST(JsonToCsv, QuotesWhatNeedsQuotingAndWritesNestedValuesAsJson) {
  EXPECT_EQ(*records_to_csv(json(R"([{"t": "a,b", "n": null, "l": [1, "x"], "q": "say \"hi\""}])")),
            "l,n,q,t\r\n\"[1,\"\"x\"\"]\",,\"say \"\"hi\"\"\",\"a,b\"\r\n");
}

TEST(JsonToCsv, AnEmptyListIsEmptyText) { EXPECT_EQ(*records_to_csv(json("[]")), ""); }

TEST(JsonToCsv, ALoneEmptyFieldIsQuotedSoItReadsBack) {
  const std::string text = *records_to_csv(json(R"([{"a": "x"}, {"a": ""}])"));
  EXPECT_EQ(text, "a\r\nx\r\n\"\"\r\n");
  EXPECT_EQ(*csv_to_records(text), json(R"([{"a": "x"}, {"a": ""}])"));
}

TEST(JsonToCsv, RefusesWhatIsNotAListOfMaps) {
  EXPECT_EQ(records_to_csv(json(R"({"a": 1})")).error().message,
            "json_to_csv needs a list of maps, not a map");
  EXPECT_EQ(records_to_csv(json(R"([{"a": 1}, 2])")).error().message,
            "element 1 is an integer, not a map");
  EXPECT_FALSE(records_to_csv(json("[{}, {}]")).ok());
}

TEST(JsonToCsv, RoundTripsThroughCsvToJsonForStrings) {
  const Value records = json(R"([{"a": "1", "b": "line\nbreak", "c": "q\"uote"},
                                 {"a": "", "b": ",", "c": " spaced "}])");
  EXPECT_EQ(*csv_to_records(*records_to_csv(records)), records);
}

}  // namespace
}  // namespace pl::worker::data
