// CSV (RFC 4180) reading and writing, and the file_ops conversions csv_to_json / json_to_csv.
// Pure functions over text.
//
// Reading follows RFC 4180 with two allowances: records may end in CRLF, LF or a lone CR, and a
// UTF-8 byte order mark at the start is skipped. A field is either unquoted (no `"`, no line
// break, no comma) or quoted (`"..."`, where `""` is one quote and commas and line breaks are
// data). Trailing line breaks at the end of the text do not make empty records; an empty line
// in the middle is a record with one empty field.
//
// Errors (kInvalidInput) name the line and column where the problem is, counting from 1, the
// column in characters (UTF-8 code points):
//   line 3, column 7: a quote inside an unquoted field (quote the whole field and double it)
//   line 2, column 5: unterminated quoted field (opened here); the text ends inside it
//   line 4, column 9: "x" after a closing quote; expected a comma or the end of the line
//   line 5: record 4 has 2 fields, the header has 3
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl::worker::data {

struct CsvRecord {
  size_t line = 1;  // where the record starts
  std::vector<std::string> fields;
};

// Where a CsvReader is in its text.
struct CsvPosition {
  size_t offset = 0;
  size_t line = 1;
  size_t column = 1;
};

// Reads the records of `text` one at a time, so a conversion holds one record, not all.
// REQUIRES: `text` outlives the reader.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text);  // skips a byte order mark
  // The next record; nullopt at the end. Errors as described above.
  [[nodiscard]] Result<std::optional<CsvRecord>> next();

 private:
  std::string_view text_;
  CsvPosition at_;
};

// Splits `text` into records. Errors as described above.
[[nodiscard]] Result<std::vector<CsvRecord>> parse_csv(std::string_view text);

// Receives the parts of a converted document in order (a file being written, a string). An
// error stops the conversion and is returned as it is (an output limit, a failed write).
using TextSink = std::function<Status(std::string_view part)>;

// One field as RFC 4180 writes it: quoted (with `"` doubled) when it holds a comma, a quote, CR
// or LF, or starts with a byte order mark; as is otherwise.
std::string csv_field(std::string_view text);

// csv_to_json: the first record names the columns; every other record becomes a map from
// column name to the field's text (values stay strings: "007" is not a number). Empty text, or
// a header alone, is an empty list. Errors: the parse errors; an empty or duplicate column name
// (`line 1: column 3 has the same name as column 1: "id"`); a record whose field count differs
// from the header's (`line 5: record 4 has 2 fields, the header has 3`).
[[nodiscard]] Result<Value> csv_to_records(std::string_view text);

// csv_to_records streamed: the bytes of to_json(csv_to_records(text), kPretty) followed by a
// line break, handed to `sink` one record at a time (never the whole document at once).
// Returns the number of records. Errors: csv_to_records's, or the first the sink returns.
[[nodiscard]] Result<size_t> write_csv_as_json(std::string_view text, const TextSink& sink);

// json_to_csv: `records` must be a list of maps. The header is every key that appears, in the
// order first seen (each map's keys in sorted order). A missing key or null is an empty field;
// strings are written as is; numbers and bools as JSON writes them; lists and maps as compact
// JSON. Records end in CRLF. An empty list gives empty text. With a single column, an empty
// field is written `""` so that it does not read back as a blank line. Errors (kInvalidInput):
// `element 3 is a string, not a map`, a non-list, maps without any key.
[[nodiscard]] Result<std::string> records_to_csv(const Value& records);

// records_to_csv streamed: its text handed to `sink` one line at a time (the header, then each
// record). Returns the number of records. Errors: records_to_csv's, or the sink's.
[[nodiscard]] Result<size_t> write_records_as_csv(const Value& records, const TextSink& sink);

}  // namespace pl::worker::data
