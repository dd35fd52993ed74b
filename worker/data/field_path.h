// FieldPath: where a data_transform operation reads or writes inside one item.
//
// A field path is written as names separated by dots: "score", "user.team", "tags.0". Each
// segment names a member of a map; a segment of decimal digits also indexes a list (0-based)
// when the value it is applied to is a list. A member whose name contains a dot cannot be
// named. Paths are parsed once per operation and are immutable afterwards.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/value.h"

namespace pl::worker::data {

inline constexpr size_t kMaxFieldPathSegments = 32;

class FieldPath {
 public:
  // Parses `text`. Errors (kInvalidInput): empty text, an empty segment ("a..b", ".a", "a."),
  // more than kMaxFieldPathSegments segments.
  [[nodiscard]] static Result<FieldPath> parse(std::string_view text);

  // The value at this path inside `item`; nullptr when some segment is missing (a member that
  // does not exist, an index out of range, or a step into something that is neither a map nor
  // a list). Never fails otherwise.
  const Value* find(const Value& item) const;

  // Sets the value at this path, creating missing maps along the way (a missing member, or a
  // null, becomes an empty map). Errors (kInvalidInput) name the segment that is neither a map
  // nor null: `"user" is a string, not a map`. A list is stepped into by index but never grown.
  [[nodiscard]] Status assign(Value& item, Value value) const;

  // Whether writing both paths into one map would clash: one is the other or lies inside it
  // ("user" and "user.team"), comparing whole segments ("user" and "username" do not).
  bool overlaps(const FieldPath& other) const;

  // As written: "user.team".
  const std::string& text() const { return text_; }

 private:
  FieldPath(std::string text, std::vector<std::string> segments)
      : text_(std::move(text)), segments_(std::move(segments)) {}

  std::string text_;
  std::vector<std::string> segments_;
};

}  // namespace pl::worker::data
