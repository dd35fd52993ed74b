#include "supervisor/config_loader.h"

#include <charconv>
#include <map>

#include "common/config/section_reader.h"
#include "common/fs.h"
#include "common/text.h"
#include "common/byte_size.h"
#include "supervisor/listen_address.h"

namespace pl::supervisor {
namespace fs = std::filesystem;
namespace {

// The supervisor's own sections, and those its programs read (checked by program_sections.h).
const std::vector<std::string_view> kTopLevelKeys = {"supervisor", "children", "broker", "worker",
                                                     "registry",   "providers", "pricing"};

const std::vector<std::string_view> kRootKeys = {
    "name", "strategy", "intensity", "period", "auto_shutdown", "state_dir", "metrics", "cgroup"};

const std::vector<std::string_view> kMetricsKeys = {"listen", "allow_remote", "broker_timeout_ms",
                                                    "max_connections"};

const std::vector<std::string_view> kWorkerKeys = {
    "name",     "type",    "restart",    "significant",  "command",
    "env",      "cwd",     "shutdown",   "ready",        "ready_timeout",
    "watchdog", "backoff", "max_memory", "memory_check", "rlimits"};

// The smallest max_memory taken: below it, a unit was most likely forgotten ("512").
constexpr uint64_t kMinMaxMemory = 1024 * 1024;

struct RlimitKey {
  std::string_view name;
  Resource resource;
  bool bytes;  // a size with units; otherwise a plain count (seconds, files, processes)
};
const RlimitKey kRlimitKeys[] = {{"cpu_seconds", Resource::kCpuSeconds, false},
                                 {"open_files", Resource::kOpenFiles, false},
                                 {"address_space", Resource::kAddressSpace, true},
                                 {"file_size", Resource::kFileSize, true},
                                 {"processes", Resource::kProcesses, false},
                                 {"core_size", Resource::kCoreSize, true},
                                 {"stack", Resource::kStack, true}};

const std::vector<std::string_view> kPoolExtraKeys = {"count", "max_children", "intensity",
                                                       "period"};

const std::vector<std::string_view> kSupervisorKeys = {
    "name",   "type",          "restart",  "significant", "strategy",
    "intensity", "period", "auto_shutdown", "children"};

const std::vector<std::string_view> kStrategies = {"one_for_one", "one_for_all", "rest_for_one"};
const std::vector<std::string_view> kRestarts = {"permanent", "transient", "temporary"};
const std::vector<std::string_view> kAutoShutdowns = {"never", "any_significant",
                                                      "all_significant"};
const std::vector<std::string_view> kTypes = {"worker", "pool", "supervisor"};

Strategy strategy_from(std::string_view s) {
  if (s == "one_for_all") return Strategy::kOneForAll;
  if (s == "rest_for_one") return Strategy::kRestForOne;
  return Strategy::kOneForOne;
}

RestartType restart_from(std::string_view s) {
  if (s == "transient") return RestartType::kTransient;
  if (s == "temporary") return RestartType::kTemporary;
  return RestartType::kPermanent;
}

AutoShutdown auto_shutdown_from(std::string_view s) {
  if (s == "any_significant") return AutoShutdown::kAnySignificant;
  if (s == "all_significant") return AutoShutdown::kAllSignificant;
  return AutoShutdown::kNever;
}

ChildType type_from(std::string_view s) {
  if (s == "pool") return ChildType::kPool;
  if (s == "supervisor") return ChildType::kSupervisor;
  return ChildType::kWorker;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

class TreeReader {
 public:
  TreeReader(const YamlDocument& doc, const CommandLookup& lookup, fs::path base_dir)
      : doc_(doc), lookup_(lookup), base_dir_(std::move(base_dir)) {}

  Result<TreeSpec> read() {
    SectionReader top(doc_, "", kTopLevelKeys);
    SectionReader sup = top.nested("supervisor", kRootKeys);
    TreeSpec tree;
    tree.root.name = sup.string("name", "root");
    if (!valid_name(tree.root.name)) {
      sup.fail("name", "\"" + tree.root.name + "\" is not a valid name (letters, digits, _ and -)");
    }
    tree.root.type = ChildType::kSupervisor;
    tree.root.flags = read_flags(sup, /*with_auto_shutdown=*/true);
    tree.state_dir = sup.string("state_dir");
    tree.cgroup = sup.choice("cgroup", "auto", {"auto", "off"}) == "off" ? CgroupMode::kOff
                                                                         : CgroupMode::kAuto;
    if (sup.has("metrics")) {
      SectionReader m = sup.nested("metrics", kMetricsKeys);
      tree.metrics.listen = m.string("listen");
      tree.metrics.allow_remote = m.boolean("allow_remote", false);
      tree.metrics.broker_timeout_ms = m.integer("broker_timeout_ms", 500, 10, 60'000);
      tree.metrics.max_connections = m.integer("max_connections", 16, 1, 1024);
      if (!tree.metrics.listen.empty()) {
        auto address = parse_listen_address(tree.metrics.listen);
        if (!address.ok()) {
          m.fail("listen", address.error().message);
        } else if (!address->loopback && !tree.metrics.allow_remote) {
          m.fail("listen", address->display() +
                               " is not a loopback address; set metrics.allow_remote: true to "
                               "serve metrics to other hosts");
        }
      }
    }
    errors_ = top.errors();
    tree.root.children = read_children("/children", tree.root.flags, 1);
    if (!errors_.empty()) return make_error(ErrorCode::kInvalidInput, join(errors_, "\n"));
    return tree;
  }

 private:
  SupervisorFlags read_flags(SectionReader& r, bool with_auto_shutdown) {
    SupervisorFlags f;
    f.strategy = strategy_from(r.choice("strategy", "one_for_one", kStrategies));
    f.intensity = r.integer("intensity", 1, 0, 1'000'000);
    f.period_s = r.integer("period", 5, 1, 86'400 * 365);
    if (with_auto_shutdown) {
      f.auto_shutdown = auto_shutdown_from(r.choice("auto_shutdown", "never", kAutoShutdowns));
    }
    return f;
  }

  // Reads the list at `path` (a JSON pointer) as children of a supervisor with `parent_flags`.
  std::vector<ChildSpec> read_children(const std::string& path, const SupervisorFlags& parent_flags,
                                       int depth) {
    std::vector<ChildSpec> out;
    const Value* list = find(path);
    if (!list || list->is_null()) return out;
    if (!list->is_array()) {
      fail_at(path, "expected a list of children, got " + a_kind(list->kind()));
      return out;
    }
    if (depth > kMaxTreeDepth) {
      fail_at(path, "supervisors are nested more than " + std::to_string(kMaxTreeDepth) + " deep");
      return out;
    }
    std::map<std::string, std::string> first_seen;  // name -> where
    for (size_t i = 0; i < list->as_array().size(); ++i) {
      const std::string child_path = pointer_append(path, i);
      const Value& raw = list->as_array()[i];
      if (!raw.is_object()) {
        fail_at(child_path, "a child is a mapping, not " + a_kind(raw.kind()));
        continue;
      }
      ChildType type = ChildType::kWorker;
      if (const Value* t = raw.find("type"); t && t->is_string()) type = type_from(t->as_string());
      std::vector<std::string_view> keys =
          type == ChildType::kSupervisor ? kSupervisorKeys : kWorkerKeys;
      if (type == ChildType::kPool) {
        keys.insert(keys.end(), kPoolExtraKeys.begin(), kPoolExtraKeys.end());
      }
      SectionReader r(doc_, child_path, keys);
      ChildSpec child = read_child(r, child_path, parent_flags, depth);
      if (!child.name.empty()) {
        const std::string here = to_string(doc_.where(pointer_append(child_path, "name")));
        auto [it, inserted] = first_seen.emplace(child.name, here);
        if (!inserted) {
          r.fail("name", "duplicate name \"" + child.name + "\" (first used at " + it->second + ")");
        }
      }
      errors_.insert(errors_.end(), r.errors().begin(), r.errors().end());
      out.push_back(std::move(child));
    }
    return out;
  }

  const Value* find(const std::string& path) const {
    const Value* v = &doc_.root();
    size_t pos = 0;
    while (v && pos < path.size()) {
      size_t next = path.find('/', pos + 1);
      const std::string seg = path.substr(pos + 1, next == std::string::npos ? std::string::npos
                                                                             : next - pos - 1);
      if (v->is_object()) {
        v = v->find(seg);
      } else if (v->is_array()) {
        // A segment that is not an index finds nothing (the root may be a list, say).
        size_t index = 0;
        const auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
        const bool is_index = ec == std::errc() && end == seg.data() + seg.size();
        v = is_index && index < v->as_array().size() ? &v->as_array()[index] : nullptr;
      } else {
        v = nullptr;
      }
      pos = next == std::string::npos ? path.size() : next;
    }
    return v;
  }

  void fail_at(const std::string& path, const std::string& what) {
    errors_.push_back(to_string(doc_.where(path)) + ": " + what);
  }

  ChildSpec read_child(SectionReader& r, const std::string& path,
                       const SupervisorFlags& parent_flags, int depth) {
    ChildSpec c;
    if (!r.has("name")) {
      fail_at(path, "a child needs a name");
    } else {
      c.name = r.string("name");
      if (!c.name.empty() && !valid_name(c.name)) {
        r.fail("name", "\"" + c.name + "\" is not a valid name (letters, digits, _ and -, at most 64)");
      }
    }
    c.type = type_from(r.choice("type", "worker", kTypes));
    c.restart = restart_from(r.choice("restart", "permanent", kRestarts));
    c.significant = r.boolean("significant", false);
    if (c.significant && c.restart == RestartType::kPermanent) {
      r.fail("significant", "a permanent child cannot be significant (make it transient or temporary)");
    } else if (c.significant && parent_flags.auto_shutdown == AutoShutdown::kNever) {
      r.fail("significant", "significant children need a supervisor whose auto_shutdown is "
                            "any_significant or all_significant");
    }
    if (c.significant && c.type == ChildType::kPool) {
      r.fail("significant", "a pool cannot be significant (its members come and go)");
    }
    if (c.type == ChildType::kSupervisor) {
      c.flags = read_flags(r, /*with_auto_shutdown=*/true);
      c.children = read_children(pointer_append(path, "children"), c.flags, depth + 1);
      return c;
    }
    c.process = read_process(r, path);
    if (c.type == ChildType::kPool) {
      c.flags.intensity = r.integer("intensity", parent_flags.intensity, 0, 1'000'000);
      c.flags.period_s = r.integer("period", parent_flags.period_s, 1, 86'400 * 365);
      c.max_children = r.integer("max_children", 64, 1, 10'000);
      c.count = r.integer("count", 1, 0, 10'000);
      if (c.count > c.max_children) {
        r.fail("count", std::to_string(c.count) + " is over max_children (" +
                            std::to_string(c.max_children) + ")");
      }
    }
    return c;
  }

  ProcessSpec read_process(SectionReader& r, const std::string& path) {
    ProcessSpec p;
    const std::string cwd = r.string("cwd", ".");
    fs::path cwd_path = absolute_path(fs::path(cwd).is_absolute() ? fs::path(cwd)
                                                                   : base_dir_ / cwd);
    if (!cwd_path.has_filename() && cwd_path.has_relative_path()) cwd_path = cwd_path.parent_path();
    p.cwd = cwd_path.string();
    std::error_code ec;
    if (r.has("cwd") && !fs::is_directory(cwd_path, ec)) {
      r.fail("cwd", p.cwd + " is not a directory");
    }
    if (!r.has("command")) {
      fail_at(path, "a child needs a command");
    } else {
      p.argv = r.string_list("command");
      if (p.argv.empty()) {
        // Not a list of strings has been reported by string_list.
        const Value command = r.value("command");
        if (command.is_array() && command.as_array().empty()) {
          r.fail("command", "the command is an empty list");
        }
      } else {
        auto resolved = lookup_.resolve(p.argv.front(), cwd_path);
        if (resolved.ok()) {
          p.executable = *resolved;
        } else {
          r.fail("command", resolved.error().message);
        }
      }
    }
    p.env = r.string_map("env");
    for (const auto& [k, v] : p.env) {
      if (k.empty() || k.find('=') != std::string::npos) {
        r.fail("env", "\"" + k + "\" is not a valid variable name");
      }
    }
    const Value shutdown = r.value("shutdown");
    if (shutdown.is_string() && shutdown.as_string() == "brutal_kill") {
      p.brutal_kill = true;
      p.shutdown_ms = 0;
    } else if (shutdown.is_string()) {  // one error for a word, not "expected an integer" too
      r.fail("shutdown",
             "expected milliseconds or brutal_kill, got \"" + shutdown.as_string() + "\"");
    } else if (!shutdown.is_null()) {
      p.shutdown_ms = r.integer("shutdown", 5000, 0, 3'600'000);
    }
    p.ready = r.choice("ready", "exec", {"exec", "notify"}) == "notify" ? ReadyMode::kNotify
                                                                        : ReadyMode::kExec;
    p.ready_timeout_ms = r.integer("ready_timeout", 10000, 1, 3'600'000);
    p.watchdog_ms = r.integer("watchdog", 0, 0, 3'600'000);
    if (r.has("backoff")) {
      SectionReader b = r.nested("backoff", {"initial_ms", "max_ms", "reset_after_ms"});
      p.backoff.initial_ms = b.integer("initial_ms", 0, 0, 3'600'000);
      p.backoff.max_ms = b.integer("max_ms", p.backoff.initial_ms, 0, 3'600'000);
      p.backoff.reset_after_ms = b.integer("reset_after_ms", 30000, 0, 86'400'000);
      if (p.backoff.max_ms < p.backoff.initial_ms) {
        b.fail("max_ms", "is less than initial_ms");
      }
    }
    read_memory(r, p);
    read_rlimits(r, p);
    return p;
  }

  void read_memory(SectionReader& r, ProcessSpec& p) {
    p.memory_check_ms = r.integer("memory_check", 1000, 10, 3'600'000);
    const Value v = r.value("max_memory");
    if (v.is_null()) return;
    std::optional<uint64_t> bytes;
    if (v.is_int() && v.as_int() > 0) {
      bytes = static_cast<uint64_t>(v.as_int());
    } else if (v.is_string()) {
      bytes = parse_byte_size(v.as_string());
    }
    if (!bytes) {
      r.fail("max_memory", "expected a size such as 512MiB or 2GiB");
    } else if (*bytes < kMinMaxMemory) {
      r.fail("max_memory",
             std::to_string(*bytes) + " bytes is under 1MiB: did you forget a unit (512MiB)?");
    } else {
      p.max_memory_bytes = *bytes;
    }
  }

  void read_rlimits(SectionReader& r, ProcessSpec& p) {
    if (!r.has("rlimits")) return;
    std::vector<std::string_view> names;
    for (const RlimitKey& k : kRlimitKeys) names.push_back(k.name);
    SectionReader l = r.nested("rlimits", names);
    for (const RlimitKey& k : kRlimitKeys) {
      const Value v = l.value(k.name);
      if (v.is_null()) continue;
      std::optional<uint64_t> value;
      if (v.is_string() && v.as_string() == "unlimited") {
        value = kUnlimited;
      } else if (v.is_int() && v.as_int() >= 0) {
        value = static_cast<uint64_t>(v.as_int());
      } else if (v.is_string() && k.bytes) {
        value = parse_byte_size(v.as_string());
      }
      if (!value) {
        l.fail(k.name, k.bytes ? "expected a size such as 64MiB, or unlimited"
                               : "expected a non-negative integer, or unlimited");
        continue;
      }
      if ((k.resource == Resource::kOpenFiles || k.resource == Resource::kCpuSeconds ||
           k.resource == Resource::kProcesses) &&
          *value == 0) {
        l.fail(k.name, "0 would stop the process at once; the least is 1");
        continue;
      }
      if ((k.resource == Resource::kAddressSpace || k.resource == Resource::kStack) &&
          *value != kUnlimited && *value < kMinMaxMemory) {
        // No process runs in under 1MiB of address space or stack: a forgotten unit (`stack: 8`
        // meant 8MiB). Small core and file sizes are meant, 0 included.
        l.fail(k.name, std::to_string(*value) + " bytes is under 1MiB: did you forget a unit (8MiB)?");
        continue;
      }
      p.rlimits.push_back(ResourceLimit{k.resource, *value});
    }
  }

  const YamlDocument& doc_;
  const CommandLookup& lookup_;
  fs::path base_dir_;
  std::vector<std::string> errors_;
};

}  // namespace

Result<TreeSpec> read_tree_spec(const YamlDocument& doc, const CommandLookup& lookup,
                                const fs::path& base_dir) {
  return TreeReader(doc, lookup, base_dir).read();
}

Result<TreeSpec> load_tree_spec(const fs::path& config_file, const CommandLookup& lookup,
                                const fs::path& base_dir) {
  auto doc = load_yaml_file(config_file);
  if (!doc.ok()) return std::move(doc).error();
  if (doc->root().is_null()) {  // an empty file, or one of comments only: a tree of nothing
    return make_error(ErrorCode::kInvalidInput,
                      config_file.string() +
                          ": the config is empty (a tree needs at least "
                          "children:, or start without --config for the default)");
  }
  auto tree = read_tree_spec(*doc, lookup, base_dir);
  if (!tree.ok()) return tree;
  tree->config_path = absolute_path(config_file).string();
  return tree;
}

}  // namespace pl::supervisor
