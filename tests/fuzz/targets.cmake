# The fuzz targets, shared by the fuzz build (tests/fuzz/CMakeLists.txt) and the replay test of
# the normal build (tests/unit/fuzz_regressions). Each name has a source tests/fuzz/fuzz_<name>.cpp,
# a seed corpus tests/fuzz/corpus/<name>/ and possibly tests/fuzz/<name>.dict and
# tests/fuzz/regressions/<name>/.
set(PL_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PL_FUZZ_TARGETS
  envelope
  pipeline
  template
  condition
  expression
  supervisor_config
  json
  csv
  json_schema
  tool_definition
)
# What the code under test lives in (static libraries: each target pulls in what it uses).
set(PL_FUZZ_LIBRARIES pl_common pl_pipeline pl_supervisor_core pl_registry_client pl_worker_data)
