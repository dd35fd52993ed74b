// Helpers shared by the pipeline library's tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/pipeline/diagnostic.h"
#include "common/pipeline/loader.h"
#include "common/value.h"

namespace pl::pipeline::testing {

inline constexpr const char* kFile = "p.yaml";

// JSON text as a Value; fails the test on bad JSON.
inline Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : Value();
}

inline LoadResult load(std::string_view yaml) { return load_pipeline_text(yaml, kFile); }

inline std::string all_messages(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += format_diagnostic(d) + "\n";
  return out;
}

// The diagnostics whose formatted text contains `needle`.
inline std::vector<Diagnostic> matching(const std::vector<Diagnostic>& diagnostics,
                                        std::string_view needle) {
  std::vector<Diagnostic> out;
  for (const auto& d : diagnostics) {
    if (format_diagnostic(d).find(needle) != std::string::npos) out.push_back(d);
  }
  return out;
}

// Exactly one diagnostic contains `needle`, with this severity and line:column.
inline ::testing::AssertionResult has_one(const std::vector<Diagnostic>& diagnostics,
                                          Severity severity, int line, int column,
                                          std::string_view needle) {
  auto found = matching(diagnostics, needle);
  if (found.size() != 1) {
    return ::testing::AssertionFailure()
           << found.size() << " diagnostics contain \"" << needle << "\"; all:\n"
           << all_messages(diagnostics);
  }
  const Diagnostic& d = found[0];
  if (d.severity != severity || d.where.line != line || d.where.column != column ||
      d.where.file != kFile) {
    return ::testing::AssertionFailure() << "got " << format_diagnostic(d) << ", wanted "
                                         << (severity == Severity::kError ? "error" : "warning")
                                         << " at " << line << ":" << column;
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult has_error(const std::vector<Diagnostic>& diagnostics, int line,
                                            int column, std::string_view needle) {
  return has_one(diagnostics, Severity::kError, line, column, needle);
}

inline ::testing::AssertionResult has_warning(const std::vector<Diagnostic>& diagnostics, int line,
                                              int column, std::string_view needle) {
  return has_one(diagnostics, Severity::kWarning, line, column, needle);
}

inline size_t count_errors(const std::vector<Diagnostic>& diagnostics) {
  size_t n = 0;
  for (const auto& d : diagnostics) n += d.severity == Severity::kError;
  return n;
}

}  // namespace pl::pipeline::testing
