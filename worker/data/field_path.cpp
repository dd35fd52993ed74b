#include "worker/data/field_path.h"

#include <algorithm>
#include <charconv>
#include <cstddef>

#include "worker/data/value_order.h"

namespace pl::worker::data {
namespace {

// The index a segment names, or -1 when it is not all decimal digits (or absurdly large).
int64_t index_of(const std::string& segment) {
  int64_t index = -1;
  const char* end = segment.data() + segment.size();
  auto [ptr, ec] = std::from_chars(segment.data(), end, index);
  if (ec != std::errc() || ptr != end || index < 0) return -1;
  return index;
}

}  // namespace

Result<FieldPath> FieldPath::parse(std::string_view text) {
  if (text.empty()) return make_error(ErrorCode::kInvalidInput, "a field path must not be empty");
  std::vector<std::string> segments;
  size_t start = 0;
  for (;;) {
    const size_t dot = text.find('.', start);
    const std::string_view segment =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (segment.empty()) {
      return make_error(ErrorCode::kInvalidInput,
                        "field path \"" + std::string(text) + "\" has an empty segment");
    }
    segments.emplace_back(segment);
    if (segments.size() > kMaxFieldPathSegments) {
      return make_error(ErrorCode::kInvalidInput,
                        "field path \"" + std::string(text) + "\" has more than " +
                            std::to_string(kMaxFieldPathSegments) + " segments");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return FieldPath(std::string(text), std::move(segments));
}

const Value* FieldPath::find(const Value& item) const {
  const Value* current = &item;
  for (const std::string& segment : segments_) {
    if (current->is_object()) {
      current = current->find(segment);
    } else if (current->is_array()) {
      const int64_t index = index_of(segment);
      const auto& list = current->as_array();
      current = index >= 0 && static_cast<size_t>(index) < list.size()
                    ? &list[static_cast<size_t>(index)]
                    : nullptr;
    } else {
      current = nullptr;
    }
    if (!current) return nullptr;
  }
  return current;
}

Status FieldPath::assign(Value& item, Value value) const {
  Value* current = &item;
  std::string walked;
  for (const std::string& segment : segments_) {
    if (current->is_array()) {
      const int64_t index = index_of(segment);
      auto& list = current->as_array();
      if (index < 0 || static_cast<size_t>(index) >= list.size()) {
        return make_error(ErrorCode::kInvalidInput,
                          (walked.empty() ? std::string("the item") : "\"" + walked + "\"") +
                              " is a list without an element " + segment);
      }
      current = &list[static_cast<size_t>(index)];
    } else if (current->is_null() || current->is_object()) {
      current = &(*current)[segment];
    } else {
      return make_error(ErrorCode::kInvalidInput,
                        (walked.empty() ? std::string("the item") : "\"" + walked + "\"") + " is " +
                            kind_phrase(*current) + ", not a map");
    }
    walked += (walked.empty() ? "" : ".") + segment;
  }
  *current = std::move(value);
  return ok_status();
}

bool FieldPath::overlaps(const FieldPath& other) const {
  const size_t common = std::min(segments_.size(), other.segments_.size());
  return std::equal(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(common),
                    other.segments_.begin());
}

}  // namespace pl::worker::data
