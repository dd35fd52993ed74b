#include "worker/data/csv.h"

#include <map>

#include "common/json.h"
#include "worker/data/value_order.h"

namespace pl::worker::data {
namespace {

Error at(size_t line, size_t column, const std::string& message) {
  return make_error(ErrorCode::kInvalidInput, "line " + std::to_string(line) + ", column " +
                                                  std::to_string(column) + ": " + message);
}

// Walks the text keeping line and column (in code points) of the next character.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool peek_is(char c) const { return !done() && text_[pos_] == c; }
  size_t line() const { return line_; }
  size_t column() const { return column_; }
  // Consumes one byte; a line break (CRLF, LF or CR) moves to the next line.
  char take() {
    const char c = text_[pos_++];
    if (c == '\n' || (c == '\r' && !peek_is('\n'))) {
      ++line_;
      column_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && c != '\r') {
      ++column_;
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
    return text_.find_first_not_of("\r\n", pos_) == std::string_view::npos;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t column_ = 1;
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

Result<std::vector<CsvRecord>> parse_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> records;
  Cursor in(text);
  while (!in.done() && !in.only_line_breaks_left()) {
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
    records.push_back(std::move(record));
  }
  return records;
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

Result<Value> csv_to_records(std::string_view text) {
  auto records = parse_csv(text);
  if (!records.ok()) return std::move(records).error();
  Value out = Value::array();
  if (records->empty()) return out;
  const CsvRecord& header = records->front();
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
  for (size_t r = 1; r < records->size(); ++r) {
    const CsvRecord& record = (*records)[r];
    if (record.fields.size() != header.fields.size()) {
      return make_error(ErrorCode::kInvalidInput,
                        "line " + std::to_string(record.line) + ": record " + std::to_string(r) +
                            " has " + std::to_string(record.fields.size()) + " field" +
                            (record.fields.size() == 1 ? "" : "s") + ", the header has " +
                            std::to_string(header.fields.size()));
    }
    Value row = Value::object();
    for (size_t c = 0; c < record.fields.size(); ++c) row[header.fields[c]] = record.fields[c];
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::string> records_to_csv(const Value& records) {
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
  std::string out;
  if (records.size() == 0) return out;
  if (header.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "json_to_csv: the maps have no keys, so there are no columns");
  }
  for (size_t c = 0; c < header.size(); ++c) {
    if (c) out.push_back(',');
    out += csv_field(header[c]);
  }
  out += "\r\n";
  for (const Value& record : records.as_array()) {
    for (size_t c = 0; c < header.size(); ++c) {
      if (c) out.push_back(',');
      const Value* v = record.find(header[c]);
      const std::string text = v ? cell_text(*v) : std::string();
      // A lone empty field would read back as an empty line: quote it.
      out += header.size() == 1 && text.empty() ? "\"\"" : csv_field(text);
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace pl::worker::data
