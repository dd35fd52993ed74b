// Checked reads of one mapping in a YamlDocument (a config section such as "/broker").
//
// Every problem is recorded with its file:line:column and reading goes on, so that one load
// reports all problems: unknown keys (with a did-you-mean), wrong kinds, values out of range.
// Missing optional keys take the fallback given.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/yaml_document.h"
#include "common/result.h"
#include "common/value.h"

namespace pl {

class SectionReader {
 public:
  // `path` is a JSON pointer to a mapping ("" for the root). A missing section reads as empty;
  // a section that is not a mapping is an error. Keys outside `known_keys` are errors.
  SectionReader(const YamlDocument& doc, std::string path, std::vector<std::string_view> known_keys);

  bool has(std::string_view key) const;
  int64_t integer(std::string_view key, int64_t fallback, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX);
  double number(std::string_view key, double fallback, double min, double max);
  bool boolean(std::string_view key, bool fallback);
  std::string string(std::string_view key, std::string_view fallback = {});
  // A ZeroMQ endpoint a program binds or connects: ipc://PATH or tcp://HOST:PORT (PORT 1 to
  // 65535, or * to bind any), or another of ZeroMQ's transports (SCHEME://...); "" when absent.
  // Checked here, so that --check and a reload refuse what the program would meet only when it
  // binds or connects ("garbage", port 99999).
  std::string endpoint(std::string_view key);
  // One of `choices`; an error lists them.
  std::string choice(std::string_view key, std::string_view fallback,
                     const std::vector<std::string_view>& choices);
  std::vector<std::string> string_list(std::string_view key);
  // A mapping of string to scalar (env: {K: v}); scalars are written as strings.
  std::vector<std::pair<std::string, std::string>> string_map(std::string_view key);
  Value value(std::string_view key) const;

  // Records a problem about `key` (at its value's location) found by the caller.
  void fail(std::string_view key, const std::string& what);

  const std::string& path() const { return path_; }
  const YamlDocument& document() const { return doc_; }
  // The dotted name of a key for messages: "broker.heartbeat_ms".
  std::string display(std::string_view key) const;

  const std::vector<std::string>& errors() const { return *errors_; }
  // kInvalidInput with every problem, one per line; ok when none.
  Status status() const;
  // Shares the error list with a reader for a nested section, so one status() reports all.
  SectionReader nested(std::string_view key, std::vector<std::string_view> known_keys);
  // The same for another section of the document (`path` from its root, as in the
  // constructor): for a process that reads a key of a section another one owns.
  SectionReader section(std::string path, std::vector<std::string_view> known_keys);

 private:
  SectionReader(const YamlDocument& doc, std::string path, std::vector<std::string_view> known,
                std::shared_ptr<std::vector<std::string>> errors);
  const Value* member(std::string_view key) const;
  void wrong_kind(std::string_view key, const Value& v, std::string_view expected);
  void check_keys(std::vector<std::string_view> known);

  const YamlDocument& doc_;
  std::string path_;
  const Value* section_ = nullptr;
  std::shared_ptr<std::vector<std::string>> errors_;
};

}  // namespace pl
