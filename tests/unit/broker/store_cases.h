// The RunStore implementations, for tests that hold for each: INSTANTIATE_TEST_SUITE_P(Stores,
// SomeTest, all_stores(), store_name).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "broker/run_store.h"
#include "common/protocol/envelope.h"

namespace pl::broker {

struct StoreCase {
  std::string name;
  // Opens the store at `path` (the memory store ignores it); nullptr when it cannot.
  std::function<std::unique_ptr<RunStore>(const std::filesystem::path& path)> open;
};

// Test listings name the store rather than dumping the struct's bytes.
// A running run with a placeholder pipeline: for what the store does, not what a run does.
inline StoredRun minimal_run(const std::string& id) {
  StoredRun r;
  r.id = id;
  r.pipeline_name = "p";
  r.pipeline_path = "/p.yaml";
  r.pipeline_yaml = "x";
  r.inputs = Value::object();
  r.state = "running";
  return r;
}

inline void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.name; }

inline auto all_stores() {
  return ::testing::Values(
      StoreCase{"memory", [](const std::filesystem::path&) { return make_memory_run_store(); }},
      StoreCase{"sqlite", [](const std::filesystem::path& p) -> std::unique_ptr<RunStore> {
                  auto s = open_sqlite_run_store(p.string());
                  return s.ok() ? std::move(*s) : nullptr;
                }});
}

inline std::string store_name(const ::testing::TestParamInfo<StoreCase>& info) {
  return info.param.name;
}

// Every item result of a run one at a time, decoded, in record order (for_each_item_batch's
// records); a batch that does not decode is an error naming it.
inline Status for_each_item_result(RunStore& store, const std::string& run_id,
                                   const std::function<void(std::string item_id, Value result)>& visit) {
  Status failed;
  Status walked = store.for_each_item_batch(run_id, [&](int64_t position, std::string_view bytes) {
    if (!failed.ok()) return;
    auto records = protocol::decode_records(bytes);
    if (!records.ok()) {
      failed = make_error(ErrorCode::kIo, "unreadable item results of " + run_id + " (batch " +
                                              std::to_string(position) +
                                              "): " + records.error().message);
      return;
    }
    for (auto& [id, result] : *records) visit(std::move(id), std::move(result));
  });
  return walked.ok() ? failed : walked;
}

}  // namespace pl::broker
