// Every input the fuzzers keep (the seed corpus) or found a bug with (the regressions), replayed
// through the same entry functions libFuzzer calls: none may crash, report a finding, or take
// long. A regression input is tests/fuzz/regressions/<target>/<name> with a one-line
// <name>.note saying what it found and what fixed it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entry.h"

namespace pl::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(PIPELINE_SOURCE_DIR) / "tests" / "fuzz";
constexpr const char* kNoteSuffix = ".note";

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_note(const fs::path& path) { return path.extension() == kNoteSuffix; }

// The inputs of one target in `kind` ("corpus" or "regressions"), in name order.
std::vector<fs::path> inputs(std::string_view kind, std::string_view target) {
  std::vector<fs::path> out;
  const fs::path dir = kFuzzDir / kind / target;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && !is_note(entry.path())) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string target_name(const testing::TestParamInfo<Target>& info) { return info.param.name; }

class FuzzReplay : public testing::TestWithParam<Target> {
 protected:
  void replay(const std::vector<fs::path>& files) {
    for (const fs::path& file : files) {
      // A hang is ctest's timeout; a slow input is the fuzzers' -timeout (make fuzz).
      const Finding finding = GetParam().entry(read_all(file));
      EXPECT_FALSE(finding.has_value()) << file << ": " << finding.value_or("");
    }
  }
};

TEST_P(FuzzReplay, SeedCorpusInputsPassCleanly) {
  const auto files = inputs("corpus", GetParam().name);
  EXPECT_FALSE(files.empty()) << "no seed corpus in tests/fuzz/corpus/" << GetParam().name;
  replay(files);
}

TEST_P(FuzzReplay, RegressionInputsPassCleanly) { replay(inputs("regressions", GetParam().name)); }

TEST_P(FuzzReplay, EveryRegressionInputSaysWhatItFound) {
  for (const fs::path& file : inputs("regressions", GetParam().name)) {
    fs::path note = file;
    note += kNoteSuffix;
    EXPECT_TRUE(fs::exists(note)) << file << " has no " << note.filename();
    if (fs::exists(note)) {
      EXPECT_FALSE(read_all(note).empty()) << note << " is empty";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, testing::ValuesIn(all_targets()), target_name);

TEST(FuzzReplayLayout, EveryInputDirectoryNamesATarget) {
  std::set<std::string> names;
  for (const Target& t : all_targets()) names.insert(t.name);
  for (const char* kind : {"corpus", "regressions"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(kFuzzDir / kind, ec)) {
      EXPECT_TRUE(entry.is_directory() && names.count(entry.path().filename().string()))
          << entry.path() << " is not the directory of a fuzz target";
    }
  }
}

}  // namespace
}  // namespace pl::fuzz
