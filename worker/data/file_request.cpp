#include "worker/data/file_request.h"

#include <algorithm>
#include <array>

#include "common/text.h"
#include "worker/data/value_order.h"

namespace pl::worker::data {
namespace {

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

struct OperationKeys {
  FileOperation op;
  std::string_view name;
  std::vector<std::string_view> keys;  // besides "operation"
};

const std::array<OperationKeys, 6>& operation_table() {
  static const std::array<OperationKeys, 6> kTable{{
      {FileOperation::kCopy, "copy", {"source", "destination", "pattern", "recursive"}},
      {FileOperation::kMove, "move", {"source", "destination", "pattern", "recursive"}},
      {FileOperation::kDelete, "delete", {"path", "files", "source", "pattern", "recursive"}},
      {FileOperation::kList, "list", {"path", "pattern", "recursive"}},
      {FileOperation::kValidate, "validate", {"files"}},
      {FileOperation::kConvert, "convert", {"source", "destination", "format"}},
  }};
  return kTable;
}

constexpr std::array<std::string_view, 8> kVocabulary{
    "operation", "source", "destination", "path", "files", "format", "pattern", "recursive"};

class Reader {
 public:
  Reader(const Value& input, std::string prefix) : input_(input), prefix_(std::move(prefix)) {}

  Error error(const std::string& message, ErrorCode code = ErrorCode::kInvalidInput) const {
    return make_error(code, prefix_ + message);
  }
  const Value* find(std::string_view key) const { return input_.find(key); }

  Result<UserPath> path_value(std::string_view key, const Value& v) const {
    if (!v.is_string()) {
      return error(quote(key) + " must be a path (a string), not " + kind_phrase(v));
    }
    auto parsed = parse_user_path(v.as_string());
    if (!parsed.ok()) return error(quote(key) + ": " + parsed.error().message);
    return std::move(*parsed);
  }

  Result<std::optional<UserPath>> path(std::string_view key, bool required) const {
    const Value* v = find(key);
    if (!v) {
      if (required) return error("needs " + quote(key));
      return std::optional<UserPath>();
    }
    auto p = path_value(key, *v);
    if (!p.ok()) return std::move(p).error();
    return std::optional<UserPath>(std::move(*p));
  }

  // A path or a list of paths.
  Status paths(std::string_view key, std::vector<UserPath>& out) const {
    const Value* v = find(key);
    if (!v) return ok_status();
    if (v->is_string()) {
      auto p = path_value(key, *v);
      if (!p.ok()) return std::move(p).error();
      out.push_back(std::move(*p));
    } else if (v->is_array()) {
      if (v->size() == 0) return error(quote(key) + " must not be an empty list");
      for (const Value& element : v->as_array()) {
        auto p = path_value(key, element);
        if (!p.ok()) return std::move(p).error();
        out.push_back(std::move(*p));
      }
    } else {
      return error(quote(key) + " must be a path or a list of paths, not " + kind_phrase(*v));
    }
    if (out.size() > kMaxPathsPerStep) {
      return error("more than " + std::to_string(kMaxPathsPerStep) + " paths (the limit)",
                   ErrorCode::kTooLarge);
    }
    return ok_status();
  }

 private:
  const Value& input_;
  std::string prefix_;
};

Result<std::optional<bool>> optional_bool(const Reader& r, const Value& map, std::string_view key,
                                          const std::string& where) {
  const Value* v = map.find(key);
  if (!v) return std::optional<bool>();
  if (!v->is_bool()) return r.error(where + quote(key) + " must be true or false");
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<int64_t>> optional_size(const Reader& r, const Value& map,
                                             std::string_view key, const std::string& where) {
  const Value* v = map.find(key);
  if (!v) return std::optional<int64_t>();
  if (!v->is_int() || v->as_int() < 0) {
    return r.error(where + quote(key) + " must be a whole number of bytes, 0 or more");
  }
  return std::optional<int64_t>(v->as_int());
}

Result<FileCheck> file_check(const Reader& r, const Value& entry, size_t i) {
  const std::string where = "files entry " + std::to_string(i) + ": ";
  FileCheck check;
  if (entry.is_string()) {
    auto p = r.path_value("files", entry);
    if (!p.ok()) return std::move(p).error();
    check.path = std::move(*p);
  } else if (entry.is_object()) {
    for (const auto& [key, value] : entry.as_object()) {
      static const std::vector<std::string_view> kKeys{"path", "must_exist", "must_be_dir",
                                                       "min_size", "max_size"};
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        return r.error(where + "unknown key " + quote(key) + did_you_mean(key, kKeys));
      }
    }
    const Value* path = entry.find("path");
    if (!path) return r.error(where + "needs \"path\"");
    auto p = r.path_value("path", *path);
    if (!p.ok()) return std::move(p).error();
    check.path = std::move(*p);
    auto must_exist = optional_bool(r, entry, "must_exist", where);
    if (!must_exist.ok()) return std::move(must_exist).error();
    check.must_exist = must_exist->value_or(true);
    auto must_be_dir = optional_bool(r, entry, "must_be_dir", where);
    if (!must_be_dir.ok()) return std::move(must_be_dir).error();
    check.must_be_dir = *must_be_dir;
    auto min_size = optional_size(r, entry, "min_size", where);
    if (!min_size.ok()) return std::move(min_size).error();
    check.min_size = *min_size;
    auto max_size = optional_size(r, entry, "max_size", where);
    if (!max_size.ok()) return std::move(max_size).error();
    check.max_size = *max_size;
    if (!check.must_exist && (check.must_be_dir || check.min_size || check.max_size)) {
      return r.error(where + "must_exist: false cannot be combined with other checks");
    }
  } else {
    return r.error(where + "must be a path or a map, not " + kind_phrase(entry));
  }
  if (check.path.has_wildcards) {
    return r.error(where + "validate takes plain paths, not globs: " + quote(check.path.text()));
  }
  return check;
}

}  // namespace

std::string_view operation_name(FileOperation op) {
  for (const OperationKeys& entry : operation_table()) {
    if (entry.op == op) return entry.name;
  }
  return "?";
}

std::string_view conversion_name(Conversion c) {
  return c == Conversion::kCsvToJson ? "csv_to_json" : "json_to_csv";
}

Result<FileOpsRequest> parse_file_ops_request(const Value& input) {
  if (!input.is_object()) {
    return make_error(ErrorCode::kInvalidInput,
                      "file_ops: the step's options must be a map, not " + kind_phrase(input));
  }
  const Value* name = input.find("operation");
  std::vector<std::string_view> names;
  for (const OperationKeys& entry : operation_table()) names.push_back(entry.name);
  if (!name || !name->is_string()) {
    return make_error(ErrorCode::kInvalidInput,
                      "file_ops needs \"operation\" (copy, move, delete, list, validate, convert)");
  }
  const OperationKeys* entry = nullptr;
  for (const OperationKeys& candidate : operation_table()) {
    if (candidate.name == name->as_string()) entry = &candidate;
  }
  if (!entry) {
    return make_error(ErrorCode::kInvalidInput, "file_ops: unknown operation " +
                                                    quote(name->as_string()) +
                                                    did_you_mean(name->as_string(), names));
  }
  const Reader r(input, "file_ops (" + std::string(entry->name) + "): ");
  for (std::string_view key : kVocabulary) {
    if (key == "operation" || !input.find(key)) continue;
    if (std::find(entry->keys.begin(), entry->keys.end(), key) == entry->keys.end()) {
      return r.error("key " + quote(key) + " does not apply to " + std::string(entry->name));
    }
  }

  FileOpsRequest out;
  out.operation = entry->op;
  if (const Value* recursive = input.find("recursive")) {
    if (!recursive->is_bool()) return r.error("\"recursive\" must be true or false");
    out.recursive = recursive->as_bool();
  }
  if (const Value* pattern = input.find("pattern")) {
    if (!pattern->is_string()) {
      return r.error("\"pattern\" must be a string, not " + kind_phrase(*pattern));
    }
    auto parsed = parse_pattern(pattern->as_string());
    if (!parsed.ok()) return r.error(parsed.error().message);
    out.pattern = std::move(*parsed);
    out.pattern_text = pattern->as_string();
  }

  switch (out.operation) {
    case FileOperation::kCopy:
    case FileOperation::kMove: {
      if (!input.find("source")) return r.error("needs \"source\"");
      Status s = r.paths("source", out.sources);
      if (!s.ok()) return s.error();
      // A list whose length depends on the data (a rendered template) must not change what
      // destination means when it happens to hold one path.
      out.source_is_list = input.find("source")->is_array();
      auto destination = r.path("destination", true);
      if (!destination.ok()) return std::move(destination).error();
      out.destination = std::move(*destination);
      if (out.destination->has_wildcards) {
        return r.error("\"destination\" cannot be a glob: " + quote(out.destination->text()));
      }
      if (out.pattern && (out.sources.size() != 1 || out.sources[0].has_wildcards)) {
        return r.error("with \"pattern\", \"source\" must be one directory (not a list or glob)");
      }
      break;
    }
    case FileOperation::kDelete: {
      if (!input.find("path") && !input.find("files") && !input.find("source")) {
        return r.error("needs one of \"path\", \"files\", \"source\"");
      }
      for (std::string_view key : {"path", "source"}) {
        Status s = r.paths(key, out.sources);
        if (!s.ok()) return s.error();
      }
      if (const Value* files = input.find("files")) {
        if (!files->is_array() && !files->is_string()) {
          return r.error("\"files\" must be a path or a list, not " + kind_phrase(*files));
        }
        const Value::Array one{*files};
        const Value::Array& list = files->is_array() ? files->as_array() : one;
        for (const Value& f : list) {
          // validate-style entries {path: ...} are accepted for their path.
          const Value* p = f.is_object() ? f.find("path") : &f;
          if (!p) return r.error("a \"files\" entry needs \"path\"");
          auto parsed = r.path_value("files", *p);
          if (!parsed.ok()) return std::move(parsed).error();
          out.sources.push_back(std::move(*parsed));
        }
      }
      if (out.sources.size() > kMaxPathsPerStep) {
        return r.error("more than " + std::to_string(kMaxPathsPerStep) + " paths (the limit)",
                       ErrorCode::kTooLarge);
      }
      if (out.pattern && (out.sources.size() != 1 || out.sources[0].has_wildcards)) {
        return r.error("with \"pattern\", give one directory to delete from (not a list or glob)");
      }
      break;
    }
    case FileOperation::kList: {
      auto path = r.path("path", true);
      if (!path.ok()) return std::move(path).error();
      out.path = std::move(*path);
      if (out.path->has_wildcards) {
        return r.error("\"path\" is the directory to list, not a glob (use \"pattern\"): " +
                       quote(out.path->text()));
      }
      break;
    }
    case FileOperation::kValidate: {
      const Value* files = input.find("files");
      if (!files) return r.error("needs \"files\"");
      const Value::Array one{*files};
      if (!files->is_array() && !files->is_string() && !files->is_object()) {
        return r.error("\"files\" must be a list, not " + kind_phrase(*files));
      }
      const Value::Array& list = files->is_array() ? files->as_array() : one;
      if (list.empty()) return r.error("\"files\" must not be empty");
      if (list.size() > kMaxPathsPerStep) {
        return r.error("more than " + std::to_string(kMaxPathsPerStep) + " files (the limit)",
                       ErrorCode::kTooLarge);
      }
      for (size_t i = 0; i < list.size(); ++i) {
        auto check = file_check(r, list[i], i);
        if (!check.ok()) return std::move(check).error();
        out.checks.push_back(std::move(*check));
      }
      break;
    }
    case FileOperation::kConvert: {
      auto source = r.path("source", true);
      if (!source.ok()) return std::move(source).error();
      auto destination = r.path("destination", true);
      if (!destination.ok()) return std::move(destination).error();
      for (const UserPath* p : {&**source, &**destination}) {
        if (p->has_wildcards)
          return r.error("convert takes plain paths, not globs: " + quote(p->text()));
      }
      out.sources.push_back(std::move(**source));
      out.destination = std::move(*destination);
      const Value* format = input.find("format");
      if (!format) return r.error("needs \"format\" (csv_to_json or json_to_csv)");
      if (format->is_string() && format->as_string() == "csv_to_json") {
        out.format = Conversion::kCsvToJson;
      } else if (format->is_string() && format->as_string() == "json_to_csv") {
        out.format = Conversion::kJsonToCsv;
      } else {
        return r.error("\"format\" must be csv_to_json or json_to_csv");
      }
      break;
    }
  }
  return out;
}

}  // namespace pl::worker::data
