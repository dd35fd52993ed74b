// Diagnostics: what the pipeline loader and validator say about a file.
//
// A Diagnostic names where (file:line:column, 1-based) and what is wrong, in words a user can act
// on. Loading and validation never stop at the first problem: they return every diagnostic they
// found, errors and warnings, in file order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pl::pipeline {

// A place in a pipeline file. line and column are 1-based; 0 means unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

// "file:line:column", or just "file" when the line is unknown.
std::string to_string(const SourceLocation& where);

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLocation where;
  std::string message;
};

// "hello.yaml:3:5: error: unknown step type \"ecko\" (did you mean \"echo\"?)"
std::string format_diagnostic(const Diagnostic& diagnostic);

// Whether any diagnostic is an error (warnings alone do not stop a run).
bool has_errors(const std::vector<Diagnostic>& diagnostics);

// `text` in double quotes, as messages name keys, steps and values: "text".
std::string quote(std::string_view text);

// Orders diagnostics by file, line and column, keeping the relative order of equal positions.
void sort_in_file_order(std::vector<Diagnostic>& diagnostics);

}  // namespace pl::pipeline
