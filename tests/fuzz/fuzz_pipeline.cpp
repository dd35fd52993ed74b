// Pipeline files: the loader, the static validator and input binding, on untrusted YAML.
//
// Properties: loading never crashes or throws and reports every failure as an error diagnostic
// with a location in the file; no diagnostic comes from a caught exception; a loaded pipeline
// validates without crashing (child pipeline files resolve against configs/pipelines, so
// `pipeline_file: components/...` reaches real files) and binds inputs given in every form; a
// file with errors is validated past them (validate_partial) without crashing.
#include <filesystem>

#include "common/pipeline/loader.h"
#include "common/pipeline/validate.h"
#include "tests/fuzz/fuzz_entry.h"
#include "tests/fuzz/fuzz_support.h"

#ifndef PIPELINE_SOURCE_DIR
#error "PIPELINE_SOURCE_DIR must name the repository root"
#endif

namespace pl::fuzz {
namespace {

constexpr const char* kDisplayName = "fuzz.yaml";

Finding check_diagnostics(const std::vector<pipeline::Diagnostic>& diagnostics,
                          std::string_view what) {
  for (const auto& d : diagnostics) {
    if (d.message.empty()) return std::string(what) + ": a diagnostic without a message";
    if (d.message.rfind("could not load the pipeline", 0) == 0 ||
        d.message.rfind("could not parse YAML", 0) == 0 ||
        d.message.rfind("could not read YAML", 0) == 0) {
      return std::string(what) + ": an exception became a diagnostic: " + d.message;
    }
    if (d.where.line < 0 || d.where.column < 0) {
      return std::string(what) + ": a diagnostic with a negative position: " + d.message;
    }
  }
  return std::nullopt;
}

// Given inputs in the forms they arrive in: strings from the command line, typed JSON values.
std::vector<Value> given_inputs(const pipeline::Pipeline& p) {
  const Value samples[] = {Value("42"),  Value("true"), Value("no"),   Value("[1, \"a\"]"),
                           Value("{\"k\": {}}"), Value("x"), Value(int64_t{-3}), Value(2.5),
                           Value(false), Value(Value::Array{Value(1)}), Value(Value::Object{}),
                           Value()};
  std::vector<Value> out;
  out.push_back(Value());
  for (const Value& sample : samples) {
    Value given = Value::object();
    for (const auto& input : p.inputs) given[input.name] = sample;
    out.push_back(std::move(given));
  }
  out.push_back(Value(Value::Object{{"undeclared", Value("x")}}));
  out.push_back(Value("not a map"));
  return out;
}

}  // namespace

Finding pipeline(std::string_view input) {
  pipeline::LoadResult loaded = pipeline::load_pipeline_text(input, kDisplayName);
  if (Finding f = check_diagnostics(loaded.diagnostics, "load")) return f;
  const bool errors = pipeline::has_errors(loaded.diagnostics);
  pipeline::ValidateOptions options;
  options.base_dir = std::filesystem::path(PIPELINE_SOURCE_DIR) / "configs" / "pipelines";
  options.follow_pipeline_files = true;
  if (!loaded.ok()) {
    if (!errors) {
      std::string said;
      for (const auto& d : loaded.diagnostics) said += "\n  " + pipeline::format_diagnostic(d);
      return "load failed without an error diagnostic; it said:" + said;
    }
    // What pipelinectl validate reads past the errors must not crash either.
    return check_diagnostics(pipeline::validate_partial(loaded, options), "validate_partial");
  }
  if (errors) return "load succeeded with an error diagnostic";

  auto diagnostics = pipeline::validate_pipeline(*loaded.pipeline, options);
  if (Finding f = check_diagnostics(diagnostics, "validate")) return f;

  for (const Value& given : given_inputs(*loaded.pipeline)) {
    auto bound = pipeline::bind_inputs(*loaded.pipeline, given);
    if (!bound.ok()) {
      if (Finding f = check_error(bound.error(), "bind_inputs")) return f;
      continue;
    }
    if (!bound->is_object()) return "bind_inputs returned something that is not a map";
  }
  return std::nullopt;
}

}  // namespace pl::fuzz

PL_FUZZ_TARGET(pipeline)
