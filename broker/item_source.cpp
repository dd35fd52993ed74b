#include "broker/item_source.h"

#include <cerrno>
#include <cstring>

#include "common/json.h"

namespace pl::broker {
namespace {

class ListSource final : public ItemSource {
 public:
  explicit ListSource(Value list) : list_(std::move(list)) {}
  size_t total() const override { return list_.as_array().size(); }
  Result<std::optional<Value>> next() override {
    auto& elements = list_.as_array();
    if (next_ >= elements.size()) return std::optional<Value>();
    // Each element is handed out once: move it, so the list does not stay twice in memory.
    return std::optional<Value>(std::move(elements[next_++]));
  }

 private:
  Value list_;
  size_t next_ = 0;
};

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

Result<Value> parse_json_line(std::string_view text, const std::string& file, size_t line) {
  auto value = parse_json(text);
  if (!value.ok()) {
    return make_error(ErrorCode::kInvalidInput,
                      file + ":" + std::to_string(line) + ": " + value.error().message);
  }
  return value;
}

class JsonlSource final : public ItemSource {
 public:
  JsonlSource(std::filesystem::path path, FILE* file, size_t total, size_t max_line,
              LineReader reader)
      : path_(std::move(path)),
        file_(file),
        total_(total),
        max_line_(max_line),
        reader_(reader ? std::move(reader) : LineReader(parse_json_line)) {}
  ~JsonlSource() override {
    if (file_) std::fclose(file_);
  }
  size_t total() const override { return total_; }

  Result<std::optional<Value>> next() override {
    std::string& line = line_;  // kept between calls: its buffer serves every line
    for (;;) {
      line.clear();
      int c;
      bool too_long = false;
      while ((c = getc_unlocked(file_)) != EOF && c != '\n') {
        if (line.size() >= max_line_) {
          too_long = true;  // read on to the line's end: the next element starts after it
          continue;
        }
        line.push_back(static_cast<char>(c));
      }
      if (c == EOF && line.empty()) {
        if (std::ferror(file_)) return errno_error("read " + path_.string(), errno);
        return std::optional<Value>();
      }
      ++line_no_;
      if (too_long) {
        return make_error(ErrorCode::kTooLarge,
                          where() + ": line longer than " + std::to_string(max_line_) + " bytes");
      }
      if (blank(line)) continue;
      auto value = reader_(line, path_.string(), line_no_);
      if (!value.ok()) return std::move(value).error();
      return std::optional<Value>(std::move(*value));
    }
  }

 private:
  std::string where() const { return path_.string() + ":" + std::to_string(line_no_); }

  std::filesystem::path path_;
  FILE* file_;
  size_t total_;
  size_t max_line_;
  LineReader reader_;
  size_t line_no_ = 0;
  std::string line_;
};

}  // namespace

bool element_error(const Error& error) {
  return error.code == ErrorCode::kInvalidInput || error.code == ErrorCode::kTooLarge;
}

std::unique_ptr<ItemSource> list_source(Value list) {
  if (!list.is_array()) list = Value::array();
  return std::make_unique<ListSource>(std::move(list));
}

Result<std::unique_ptr<ItemSource>> jsonl_file_source(const std::filesystem::path& path,
                                                      LineReader reader, size_t max_line_bytes) {
  FILE* file = std::fopen(path.c_str(), "re");
  if (!file) {
    const int err = errno;
    if (err == ENOENT) return make_error(ErrorCode::kNotFound, path.string() + ": no such file");
    return errno_error("open " + path.string(), err);
  }
  // Count the elements (non-blank lines) in one pass with a fixed buffer.
  size_t total = 0;
  bool content = false;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      const char c = buffer[i];
      if (c == '\n') {
        total += content ? 1 : 0;
        content = false;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        content = true;
      }
    }
  }
  total += content ? 1 : 0;
  if (std::ferror(file)) {
    const int err = errno;
    std::fclose(file);
    return errno_error("read " + path.string(), err);
  }
  std::rewind(file);
  return std::unique_ptr<ItemSource>(
      std::make_unique<JsonlSource>(path, file, total, max_line_bytes, std::move(reader)));
}

}  // namespace pl::broker
