// Fuzz targets as plain functions.
//
// Each tests/fuzz/fuzz_<name>.cpp defines one entry `Finding <name>(std::string_view input)` that
// feeds the bytes to the code under test, plus PL_FUZZ_TARGET(<name>). Built with PL_FUZZ_MAIN
// (the fuzz build, PIPELINE_FUZZ=ON) the macro defines libFuzzer's LLVMFuzzerTestOneInput over
// the entry; built without it (the normal build) the file is a plain function that the replay
// test (tests/unit/fuzz_regressions) calls on every committed corpus and regression input.
//
// What an entry checks itself is the properties a crash cannot show: a decoded message that
// does not encode back to the same value, an exception that surfaced as an internal error, an
// ok result that is not sane. Crashes, hangs, leaks and sanitizer reports are the fuzzer's and
// the sanitizers' to find.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pl::fuzz {

// nullopt when the input showed nothing wrong (whatever the code under test returned); else what
// broke, in words.
using Finding = std::optional<std::string>;
using Entry = Finding (*)(std::string_view input);

// The targets; each name is also its corpus directory, tests/fuzz/corpus/<name>/.
Finding envelope(std::string_view input);           // protocol::decode + the typed body decoders
Finding pipeline(std::string_view input);           // load_pipeline_text, validate, bind_inputs
Finding template_render(std::string_view input);    // template.h: first line, JSON scope after
Finding condition(std::string_view input);          // condition.h: first line, JSON scope after
Finding expression(std::string_view input);         // expression.h: first line, JSON scope after
Finding supervisor_config(std::string_view input);  // config YAML + read_tree_spec
Finding json(std::string_view input);               // parse_json, to_json
Finding csv(std::string_view input);                // the file_ops CSV reader and writer
Finding json_schema(std::string_view input);        // check_schema + validate: schema line, instance
Finding tool_definition(std::string_view input);    // tool files: YAML + tool_definition_from_value

struct Target {
  const char* name;
  Entry entry;
};

// Every target above, by name (fuzz_targets.cpp; the replay test's table).
const std::vector<Target>& all_targets();

namespace detail {

// libFuzzer's side of an entry: a finding is reported and turned into a crash, so that the fuzzer
// saves the input.
inline int run_one(Entry entry, const uint8_t* data, size_t size) {
  Finding finding = entry(std::string_view(reinterpret_cast<const char*>(data), size));
  if (finding) {
    std::fprintf(stderr, "==FUZZ FINDING== %s\n", finding->c_str());
    std::abort();
  }
  return 0;
}

}  // namespace detail
}  // namespace pl::fuzz

#ifdef PL_FUZZ_MAIN
#define PL_FUZZ_TARGET(entry)                                                       \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {       \
    return ::pl::fuzz::detail::run_one(&::pl::fuzz::entry, data, size);           \
  }
#else
#define PL_FUZZ_TARGET(entry)
#endif
