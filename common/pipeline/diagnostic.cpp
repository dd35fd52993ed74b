#include "common/pipeline/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace pl::pipeline {

std::string to_string(const SourceLocation& where) {
  if (where.line <= 0) return where.file;
  std::string text = where.file;
  text += ':' + std::to_string(where.line);
  if (where.column > 0) text += ':' + std::to_string(where.column);
  return text;
}

std::string format_diagnostic(const Diagnostic& diagnostic) {
  std::string text = to_string(diagnostic.where);
  text += diagnostic.severity == Severity::kError ? ": error: " : ": warning: ";
  text += diagnostic.message;
  return text;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

void sort_in_file_order(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.where.file, a.where.line, a.where.column) <
                            std::tie(b.where.file, b.where.line, b.where.column);
                   });
}

}  // namespace pl::pipeline
