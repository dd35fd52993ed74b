#include "worker/data/csv.h"

#include <functional>
#include <map>

#include "common/json.h"
#include "worker/data/value_order.h"

namespace pl::worker::data {
namespace {

Error at(size_t line, size_t column, const std::string& message) {
  return make_error(ErrorCode::kInvalidInput, "line " + std::to_string(line) + ", column " +
                                                  std::to_string(column) + ": " + message);
}

// Walks the text keeping line and column (in code points) of the next character, in a
// CsvPosition that outlives it (a CsvReader's, between records).
class Cursor {
 public:
  Cursor(std::string_view text, CsvPosition& at) : text_(text), at_(at) {}
  bool done() const { return at_.offset >= text_.size(); }
  char peek() const { return text_[at_.offset]; }
  bool peek_is(char c) const { return !done() && text_[at_.offset] == c; }
  size_t line() const { return at_.line; }
  size_t column() const { return at_.column; }
  // Consumes one byte; a line break (CRLF, LF or CR) moves to the next line.
  char take() {
    const char c = text_[at_.offset++];
    if (c == '\n' || (c == '\r' && !peek_is('\n'))) {
      ++at_.line;
      at_.column = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && c != '\r') {
      ++at_.column;
    }
    return c;
  }
  // Consumes a line break at the cursor, if there is one.
  bool take_line_break() {
    if (peek_is('\r')) {
      take();
      if (peek_is('\n')) take();
      return true;
    }
    if (peek_is('\n')) {
      take();
      return true;
    }
    return false;
  }
  // Whether only line breaks remain.
  bool only_line_breaks_left() const {
    return text_.find_first_not_of("\r\n", at_.offset) == std::string_view::npos;
  }

 private:
  std::string_view text_;
  CsvPosition& at_;
};

std::string printable(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
    static const char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[(c >> 4) & 0xf] + kHex[c & 0xf];
  }
  return "\"" + std::string(1, c) + "\"";
}

// The text of a cell for json_to_csv.
std::string cell_text(const Value& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  return to_json(v);
}

}  // namespace

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);
}

Result<std::optional<CsvRecord>> CsvReader::next() {
  Cursor in(text_, at_);
  if (in.done() || in.only_line_breaks_left()) return std::optional<CsvRecord>();
  CsvRecord record;
  record.line = in.line();
  for (;;) {  // one field
    std::string field;
    if (in.peek_is('"')) {
      const size_t open_line = in.line(), open_column = in.column();
      in.take();
      for (;;) {
        if (in.done()) {
          return at(open_line, open_column,
                    "unterminated quoted field (opened here); the text ends inside it");
        }
        const char c = in.take();
        if (c != '"') {
          field.push_back(c);
        } else if (in.peek_is('"')) {
          in.take();
          field.push_back('"');
        } else {
          break;
        }
      }
      if (!in.done() && !in.peek_is(',') && !in.peek_is('\r') && !in.peek_is('\n')) {
        return at(in.line(), in.column(),
                  printable(in.peek()) +
                      " after a closing quote; expected a comma or the end of the line");
      }
    } else {
      while (!in.done() && !in.peek_is(',') && !in.peek_is('\r') && !in.peek_is('\n')) {
        if (in.peek_is('"')) {
          return at(in.line(), in.column(),
                    "a quote inside an unquoted field (quote the whole field and double it)");
        }
        field.push_back(in.take());
      }
    }
    record.fields.push_back(std::move(field));
    if (in.peek_is(',')) {
      in.take();
      continue;
    }
    in.take_line_break();
    break;
  }
  return std::optional<CsvRecord>(std::move(record));
}

Result<std::vector<CsvRecord>> parse_csv(std::string_view text) {
  CsvReader reader(text);
  std::vector<CsvRecord> records;
  for (;;) {
    auto record = reader.next();
    if (!record.ok()) return std::move(record).error();
    if (!*record) return records;
    records.push_back(std::move(**record));
  }
}

std::string csv_field(std::string_view text) {
  // A field that starts with a byte order mark is quoted too: as the first field of a file, the
  // reader would skip the mark.
  const bool starts_with_bom = text.substr(0, 3) == "\xEF\xBB\xBF";
  if (text.find_first_of(",\"\r\n") == std::string_view::npos && !starts_with_bom) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

// Checks the header's column names: none empty, none repeated.
Status check_header(const CsvRecord& header) {
  std::map<std::string, size_t, std::less<>> columns;
  for (size_t c = 0; c < header.fields.size(); ++c) {
    const std::string& name = header.fields[c];
    if (name.empty()) {
      return make_error(ErrorCode::kInvalidInput, "line " + std::to_string(header.line) +
                                                      ": column " + std::to_string(c + 1) +
                                                      " of the header has no name");
    }
    auto [it, inserted] = columns.emplace(name, c);
    if (!inserted) {
      return make_error(ErrorCode::kInvalidInput,
                        "line " + std::to_string(header.line) + ": column " +
                            std::to_string(c + 1) + " has the same name as column " +
                            std::to_string(it->second + 1) + ": \"" + name + "\"");
    }
  }
  return ok_status();
}

// Record `r` (1 for the first after the header) as a map of column name to text.
Result<Value> record_to_map(const CsvRecord& header, const CsvRecord& record, size_t r) {
  if (record.fields.size() != header.fields.size()) {
    return make_error(ErrorCode::kInvalidInput,
                      "line " + std::to_string(record.line) + ": record " + std::to_string(r) +
                          " has " + std::to_string(record.fields.size()) + " field" +
                          (record.fields.size() == 1 ? "" : "s") + ", the header has " +
                          std::to_string(header.fields.size()));
  }
  Value row = Value::object();
  for (size_t c = 0; c < record.fields.size(); ++c) row[header.fields[c]] = record.fields[c];
  return row;
}

// Reads the records after the header one by one, handing each to `each` as a map.
Result<size_t> for_each_csv_row(std::string_view text,
                                const std::function<Status(const Value&)>& each) {
  CsvReader reader(text);
  auto header = reader.next();
  if (!header.ok()) return std::move(header).error();
  if (!*header) return size_t{0};
  if (Status s = check_header(**header); !s.ok()) return s.error();
  for (size_t r = 1;; ++r) {
    auto record = reader.next();
    if (!record.ok()) return std::move(record).error();
    if (!*record) return r - 1;
    auto row = record_to_map(**header, **record, r);
    if (!row.ok()) return std::move(row).error();
    if (Status s = each(*row); !s.ok()) return s.error();
  }
}

}  // namespace

Result<Value> csv_to_records(std::string_view text) {
  Value out = Value::array();
  auto count = for_each_csv_row(text, [&](const Value& row) {
    out.push_back(row);
    return ok_status();
  });
  if (!count.ok()) return std::move(count).error();
  return out;
}

Result<size_t> write_csv_as_json(std::string_view text, const TextSink& sink) {
  // The bytes to_json(csv_to_records(text), kPretty) + "\n" gives, one record at a time, so
  // that a large file is never held as one Value or one string.
  bool any = false;
  auto count = for_each_csv_row(text, [&](const Value& row) {
    std::string part = any ? ",\n  " : "[\n  ";
    any = true;
    append_pretty_json_at(part, row, 1);
    return sink(part);
  });
  if (!count.ok()) return count;
  Status s = sink(any ? "\n]\n" : "[]\n");
  if (!s.ok()) return s.error();
  return count;
}

Result<size_t> write_records_as_csv(const Value& records, const TextSink& sink) {
  if (!records.is_array()) {
    return make_error(ErrorCode::kInvalidInput,
                      "json_to_csv needs a list of maps, not " + kind_phrase(records));
  }
  std::vector<std::string> header;
  std::map<std::string, size_t, std::less<>> seen;
  for (size_t i = 0; i < records.size(); ++i) {
    const Value& record = records.as_array()[i];
    if (!record.is_object()) {
      return make_error(ErrorCode::kInvalidInput, "element " + std::to_string(i) + " is " +
                                                      kind_phrase(record) + ", not a map");
    }
    for (const auto& [key, value] : record.as_object()) {
      if (seen.emplace(key, header.size()).second) header.push_back(key);
    }
  }
  if (records.size() == 0) return size_t{0};
  if (header.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "json_to_csv: the maps have no keys, so there are no columns");
  }
  std::string line;
  for (size_t c = 0; c < header.size(); ++c) {
    if (c) line.push_back(',');
    line += csv_field(header[c]);
  }
  line += "\r\n";
  if (Status s = sink(line); !s.ok()) return s.error();
  for (const Value& record : records.as_array()) {
    line.clear();
    for (size_t c = 0; c < header.size(); ++c) {
      if (c) line.push_back(',');
      const Value* v = record.find(header[c]);
      const std::string text = v ? cell_text(*v) : std::string();
      // A lone empty field would read back as an empty line: quote it.
      line += header.size() == 1 && text.empty() ? "\"\"" : csv_field(text);
    }
    line += "\r\n";
    if (Status s = sink(line); !s.ok()) return s.error();
  }
  return records.size();
}

Result<std::string> records_to_csv(const Value& records) {
  std::string out;
  auto written = write_records_as_csv(records, [&out](std::string_view part) {
    out += part;
    return ok_status();
  });
  if (!written.ok()) return std::move(written).error();
  return out;
}

}  // namespace pl::worker::data
