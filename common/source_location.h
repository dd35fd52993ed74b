// Where something is in a file, for error messages: "file:line:column".
#pragma once

#include <string>

namespace pl {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

// "file:line:column", or "file" when the line is unknown.
inline std::string to_string(const SourceLocation& where) {
  if (where.line <= 0) return where.file;
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

}  // namespace pl
