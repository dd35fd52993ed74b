#include "worker/data/file_operations.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "common/fs.h"
#include "common/json.h"
#include "worker/data/csv.h"

namespace pl::worker::data {
namespace {

namespace fs = std::filesystem;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

enum class EntryType { kMissing, kFile, kDirectory, kSymlink, kOther };

std::string_view type_name(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDirectory:
      return "directory";
    case EntryType::kSymlink:
      return "symlink";
    case EntryType::kOther:
      return "other";
    case EntryType::kMissing:
      break;
  }
  return "missing";
}

struct FileStat {
  EntryType type = EntryType::kMissing;
  uint64_t size = 0;
  mode_t mode = 0;
};

// lstat (follow = false) or stat; a missing path is a value, not an error.
Result<FileStat> stat_path(const fs::path& p, bool follow) {
  struct stat st {};
  if ((follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return FileStat{};
    return errno_error("stat " + p.string(), err);
  }
  FileStat out;
  out.mode = st.st_mode;
  out.size = static_cast<uint64_t>(st.st_size);
  if (S_ISREG(st.st_mode)) {
    out.type = EntryType::kFile;
  } else if (S_ISDIR(st.st_mode)) {
    out.type = EntryType::kDirectory;
    out.size = 0;
  } else if (S_ISLNK(st.st_mode)) {
    out.type = EntryType::kSymlink;
  } else {
    out.type = EntryType::kOther;
  }
  return out;
}

UserPath child_of(const UserPath& parent, const std::vector<std::string>& rel) {
  UserPath out = parent;
  out.trailing_slash = false;
  out.has_wildcards = false;
  out.segments.insert(out.segments.end(), rel.begin(), rel.end());
  return out;
}

// The name a source keeps when it goes into a destination directory.
std::string base_name(const ResolvedPath& p) {
  return p.user.segments.empty() ? p.root.filename().string() : p.user.segments.back();
}

// One entry met while walking a directory.
struct Entry {
  std::vector<std::string> rel;  // relative to the directory walked
  fs::path real;                 // the entry itself (a link is not followed)
  FileStat stat;                 // lstat
};

// Everything one operation shares: the request, the seams, the limits, the counters.
class Op {
 public:
  Op(const FileOpsRequest& request, const Workspace& workspace, const FileOpsLimits& limits,
     const FileStopCheck& stop, const FileRename& rename)
      : request_(request), workspace_(workspace), limits_(limits), stop_(stop), rename_(rename) {}

  const FileOpsRequest& request() const { return request_; }
  const Workspace& workspace() const { return workspace_; }
  const FileOpsLimits& limits() const { return limits_; }
  // rename(2), or the seam given instead: 0, or -1 with errno set.
  int rename(const fs::path& from, const fs::path& to) const {
    return rename_ ? rename_(from, to) : ::rename(from.c_str(), to.c_str());
  }

  Error error(const std::string& message, ErrorCode code = ErrorCode::kInvalidInput) const {
    return make_error(code, prefix() + message);
  }
  Error wrap(const Error& e) const { return make_error(e.code, prefix() + e.message); }
  std::string prefix() const {
    return "file_ops (" + std::string(operation_name(request_.operation)) + "): ";
  }

  Result<ResolvedPath> resolve(const UserPath& p, FollowLast follow,
                               CreateRoot create = CreateRoot::kNo) const {
    auto r = workspace_.resolve(p, follow, create);
    if (!r.ok()) return wrap(r.error());
    return r;
  }

  std::string show(const ResolvedPath& p) const { return quote(p.user.text()); }
  std::string display(const ResolvedPath& base, const fs::path& real) const {
    return display_path(base.user.root, base.root, real);
  }

  // The same operation with its counters at zero, for entries planned a second time (a
  // move's copy across file systems counts what it copies, apart from what it moved).
  Op recount() const { return Op(request_, workspace_, limits_, stop_, rename_); }

  // Counts one entry the operation will act on.
  Status count_entry() {
    if (++entries_ > limits_.max_entries) {
      return error("more than " + std::to_string(limits_.max_entries) +
                       " files and directories (the limit for one step)",
                   ErrorCode::kTooLarge);
    }
    return ok_status();
  }
  // Counts one entry looked at while walking; also the place to notice a stop request.
  Status count_scan() {
    if (stop_ && stop_()) return error("stopped (cancelled or out of time)", ErrorCode::kCancelled);
    if (++scanned_ > limits_.max_entries * 100) {
      return error("more than " + std::to_string(limits_.max_entries * 100) +
                       " entries looked at (the limit for one step)",
                   ErrorCode::kTooLarge);
    }
    return ok_status();
  }
  Status count_bytes(uint64_t size, const std::string& what) {
    if (size > limits_.max_file_bytes) {
      return error(what + " is " + std::to_string(size) + " bytes, over the limit of " +
                       std::to_string(limits_.max_file_bytes) + " bytes per file",
                   ErrorCode::kTooLarge);
    }
    bytes_ += size;
    if (bytes_ > limits_.max_total_bytes) {
      return error("more than " + std::to_string(limits_.max_total_bytes) +
                       " bytes in all (the limit for one step)",
                   ErrorCode::kTooLarge);
    }
    return ok_status();
  }

  // Walks `dir` (a real directory) depth first, names sorted, never through symbolic links.
  // Descends while the depth is under `levels`; deeper directories are an error when
  // `deeper_is_error`, otherwise not entered.
  Status walk(const fs::path& dir, size_t levels, bool deeper_is_error,
              const std::function<Status(const Entry&)>& visit) {
    std::vector<std::string> rel;
    return walk_level(dir, levels, deeper_is_error, visit, rel);
  }

  // Whether the directory at `p` has anything in it.
  Result<bool> is_empty_dir(const fs::path& p) const {
    std::error_code ec;
    fs::directory_iterator it(p, ec);
    if (ec)
      return make_error(ErrorCode::kIo, prefix() + "read " + p.string() + ": " + ec.message());
    return it == fs::directory_iterator();
  }

 private:
  Status walk_level(const fs::path& dir, size_t levels, bool deeper_is_error,
                    const std::function<Status(const Entry&)>& visit,
                    std::vector<std::string>& rel) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      Status s = count_scan();
      if (!s.ok()) return s;
      names.push_back(it->path().filename().string());
    }
    if (ec) return error("read directory " + dir.string() + ": " + ec.message(), ErrorCode::kIo);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      Entry entry;
      entry.real = dir / name;
      auto st = stat_path(entry.real, false);
      if (!st.ok()) return wrap(st.error());
      if (st->type == EntryType::kMissing) continue;  // gone meanwhile
      entry.stat = *st;
      rel.push_back(name);
      entry.rel = rel;
      Status s = visit(entry);
      if (s.ok() && entry.stat.type == EntryType::kDirectory) {
        if (rel.size() < levels) {
          s = walk_level(entry.real, levels, deeper_is_error, visit, rel);
        } else if (deeper_is_error) {
          s = error("directories nest deeper than " + std::to_string(limits_.max_depth) +
                        " levels (the limit)",
                    ErrorCode::kTooLarge);
        }
      }
      rel.pop_back();
      if (!s.ok()) return s;
    }
    return ok_status();
  }

  const FileOpsRequest& request_;
  const Workspace& workspace_;
  const FileOpsLimits& limits_;
  const FileStopCheck& stop_;
  const FileRename& rename_;
  size_t entries_ = 0;
  size_t scanned_ = 0;
  uint64_t bytes_ = 0;
};

// The matches of a glob path, sorted. A base directory that does not exist matches nothing.
Result<std::vector<ResolvedPath>> expand_glob(Op& op, const UserPath& glob, FollowLast follow) {
  size_t k = 0;
  while (k < glob.segments.size() && !has_glob_characters(glob.segments[k])) ++k;
  UserPath base = glob;
  base.segments.resize(k);
  base.has_wildcards = false;
  base.trailing_slash = false;
  const std::vector<std::string> pattern(glob.segments.begin() + static_cast<ptrdiff_t>(k),
                                         glob.segments.end());
  auto base_r = op.resolve(base, FollowLast::kYes);
  if (!base_r.ok()) return std::move(base_r).error();
  auto st = stat_path(base_r->real, false);
  if (!st.ok()) return op.wrap(st.error());
  std::vector<ResolvedPath> out;
  if (st->type != EntryType::kDirectory) return out;
  const bool any_depth = std::find(pattern.begin(), pattern.end(), "**") != pattern.end();
  const size_t levels = any_depth ? op.limits().max_depth : pattern.size();
  Status s = op.walk(base_r->real, levels, any_depth, [&](const Entry& e) -> Status {
    if (!glob_match(pattern, e.rel)) return ok_status();
    auto r = op.resolve(child_of(base, e.rel), follow);
    if (!r.ok()) return std::move(r).error();
    out.push_back(std::move(*r));
    return ok_status();
  });
  if (!s.ok()) return s.error();
  return out;
}

// Sources of copy/move/delete: globs expanded, plain paths resolved. A plain path that does not
// exist is kNotFound; so is a glob that matches nothing, unless `glob_may_be_empty`.
Result<std::vector<ResolvedPath>> resolve_sources(Op& op, FollowLast follow,
                                                  bool glob_may_be_empty) {
  std::vector<ResolvedPath> out;
  for (const UserPath& source : op.request().sources) {
    if (source.has_wildcards) {
      auto matches = expand_glob(op, source, follow);
      if (!matches.ok()) return std::move(matches).error();
      if (matches->empty() && !glob_may_be_empty) {
        return op.error("source " + quote(source.text()) + " matches nothing",
                        ErrorCode::kNotFound);
      }
      for (ResolvedPath& m : *matches) out.push_back(std::move(m));
      continue;
    }
    auto r = op.resolve(source, follow);
    if (!r.ok()) return std::move(r).error();
    auto st = stat_path(r->real, false);
    if (!st.ok()) return op.wrap(st.error());
    if (st->type == EntryType::kMissing) {
      return op.error(quote(source.text()) + " does not exist", ErrorCode::kNotFound);
    }
    out.push_back(std::move(*r));
  }
  return out;
}

// Whether a single-segment pattern matches names at any depth (recursive) or the path.
std::vector<std::string> effective_pattern(const FileOpsRequest& request) {
  std::vector<std::string> pattern = *request.pattern;
  if (request.recursive && pattern.size() == 1 && pattern[0] != "**") {
    pattern.insert(pattern.begin(), "**");
  }
  return pattern;
}

// How deep a search under a directory walks.
struct Reach {
  size_t levels = 1;
  bool deeper_is_error = false;  // a tree deeper than the limit is an error, not cut short
};

// With `recursive`, or a "**" in the pattern, every level up to the limit; otherwise as deep as
// the pattern has segments ("pkg/*.py" reaches two levels, like a glob in `source`), or only
// the direct entries without a pattern.
Reach search_reach(const Op& op, const std::vector<std::string>* pattern) {
  const bool any_depth =
      op.request().recursive ||
      (pattern && std::find(pattern->begin(), pattern->end(), "**") != pattern->end());
  if (any_depth) return {op.limits().max_depth, true};
  return {pattern ? std::max<size_t>(pattern->size(), 1) : 1, false};
}

// The files under the one source directory that `pattern` selects, as (resolved, rel).
Result<std::vector<std::pair<ResolvedPath, std::vector<std::string>>>> pattern_matches(
    Op& op, FollowLast follow, bool files_only) {
  const UserPath& source = op.request().sources.front();
  auto base = op.resolve(source, FollowLast::kYes);
  if (!base.ok()) return std::move(base).error();
  auto st = stat_path(base->real, false);
  if (!st.ok()) return op.wrap(st.error());
  if (st->type == EntryType::kMissing) {
    return op.error(op.show(*base) + " does not exist", ErrorCode::kNotFound);
  }
  if (st->type != EntryType::kDirectory) {
    return op.error(op.show(*base) + " is not a directory; \"pattern\" searches a directory");
  }
  const std::vector<std::string> pattern = effective_pattern(op.request());
  const auto [levels, deeper] = search_reach(op, &pattern);
  std::vector<std::pair<ResolvedPath, std::vector<std::string>>> out;
  Status s = op.walk(base->real, levels, deeper, [&](const Entry& e) -> Status {
    if (files_only && e.stat.type == EntryType::kDirectory) return ok_status();
    if (!glob_match(pattern, e.rel)) return ok_status();
    UserPath user = base->user;
    user.trailing_slash = false;
    auto r = op.resolve(child_of(user, e.rel), follow);
    if (!r.ok()) return std::move(r).error();
    out.emplace_back(std::move(*r), e.rel);
    return ok_status();
  });
  if (!s.ok()) return s.error();
  return out;
}

// A (source, destination) pair of copy or move.
struct Transfer {
  ResolvedPath source;
  UserPath destination;
};

// Pairs each source with its destination by the rules in the header.
Result<std::vector<Transfer>> plan_transfers(Op& op, FollowLast follow) {
  const FileOpsRequest& request = op.request();
  const UserPath& dest = *request.destination;
  std::vector<Transfer> out;
  if (request.pattern) {
    auto matches = pattern_matches(op, follow, true);
    if (!matches.ok()) return std::move(matches).error();
    if (matches->empty()) {
      return op.error("pattern " + quote(request.pattern_text) + " matches nothing in " +
                          quote(request.sources.front().text()),
                      ErrorCode::kNotFound);
    }
    for (auto& [source, rel] : *matches) out.push_back({std::move(source), child_of(dest, rel)});
  } else {
    auto sources = resolve_sources(op, follow, false);
    if (!sources.ok()) return std::move(sources).error();
    const bool many = request.source_is_list || request.sources.size() > 1 ||
                      request.sources.front().has_wildcards;
    // The destination's root is made here as where the files go would make it: "output:x"
    // before anything was written to the run's output directory is a directory to create.
    auto dest_r = op.resolve(dest, FollowLast::kYes, CreateRoot::kYes);
    if (!dest_r.ok()) return std::move(dest_r).error();
    auto dest_st = stat_path(dest_r->real, false);
    if (!dest_st.ok()) return op.wrap(dest_st.error());
    const bool into = many || dest.trailing_slash || dest_st->type == EntryType::kDirectory;
    if (into && dest_st->type != EntryType::kMissing && dest_st->type != EntryType::kDirectory) {
      return op.error("destination " + quote(dest.text()) + " is not a directory");
    }
    for (ResolvedPath& source : *sources) {
      UserPath to = into ? child_of(dest, {base_name(source)}) : dest;
      out.push_back({std::move(source), std::move(to)});
    }
  }
  std::set<std::vector<std::string>> seen;
  for (const Transfer& t : out) {
    std::vector<std::string> key = t.destination.segments;
    key.insert(key.begin(), t.destination.root == Root::kOutput ? "output:" : "");
    if (!seen.insert(key).second) {
      return op.error("two sources would both go to " + quote(t.destination.text()));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// copy

struct FileCopy {
  fs::path from;
  fs::path to;
  mode_t mode = 0644;
};

struct CopyPlan {
  std::vector<fs::path> directories;  // to create, parents first
  std::vector<FileCopy> files;
  std::vector<std::string> dangling;  // links inside a directory that point at nothing: skipped
};

// Plans copying `source` to `destination`: a file, or a directory whole (whether a directory
// may be copied at all is the caller's rule: copy's `recursive`). Counts every entry and byte
// against the limits, so a plan that fails has written nothing.
Status plan_copy(Op& op, const ResolvedPath& source, const UserPath& destination, size_t depth,
                 CopyPlan& plan) {
  if (depth > op.limits().max_depth) {
    return op.error("directories nest deeper than " + std::to_string(op.limits().max_depth) +
                        " levels (the limit; a symbolic link loop?)",
                    ErrorCode::kTooLarge);
  }
  auto st = stat_path(source.real, false);
  if (!st.ok()) return op.wrap(st.error());
  auto to = op.resolve(destination, FollowLast::kYes, CreateRoot::kYes);
  if (!to.ok()) return to.error();
  auto to_st = stat_path(to->real, false);
  if (!to_st.ok()) return op.wrap(to_st.error());
  Status s = op.count_entry();
  if (!s.ok()) return s;
  switch (st->type) {
    case EntryType::kFile: {
      if (to_st->type == EntryType::kDirectory) {
        return op.error("cannot copy the file " + op.show(source) + " over the directory " +
                        quote(destination.text()));
      }
      if (to->real == source.real) {
        return op.error(op.show(source) + " and " + quote(destination.text()) +
                        " are the same file");
      }
      s = op.count_bytes(st->size, op.show(source));
      if (!s.ok()) return s;
      plan.files.push_back({source.real, to->real, st->mode});
      return ok_status();
    }
    case EntryType::kDirectory: {
      if (to_st->type != EntryType::kMissing && to_st->type != EntryType::kDirectory) {
        return op.error("cannot copy the directory " + op.show(source) + " over the file " +
                        quote(destination.text()));
      }
      if (Workspace::is_within(to->real, source.real)) {
        return op.error("cannot copy " + op.show(source) + " into itself (" +
                        quote(destination.text()) + ")");
      }
      plan.directories.push_back(to->real);
      std::vector<std::pair<std::string, EntryType>> names;
      Status walked = op.walk(source.real, 1, false, [&](const Entry& e) -> Status {
        names.emplace_back(e.rel.back(), e.stat.type);
        return ok_status();
      });
      if (!walked.ok()) return walked;
      for (const auto& [name, type] : names) {
        // Through the workspace again: a link inside is followed only to places inside.
        auto child = op.resolve(child_of(source.user, {name}), FollowLast::kYes);
        if (!child.ok()) return child.error();
        if (type == EntryType::kSymlink) {
          // A link to a place inside that does not exist yet is fine (docs/data-steps.md):
          // there is nothing to copy, and the result says so.
          auto target = stat_path(child->real, false);
          if (!target.ok()) return op.wrap(target.error());
          if (target->type == EntryType::kMissing) {
            plan.dangling.push_back(child->user.text());
            continue;
          }
        }
        s = plan_copy(op, *child, child_of(destination, {name}), depth + 1, plan);
        if (!s.ok()) return s;
      }
      return ok_status();
    }
    case EntryType::kMissing:
      return op.error(op.show(source) + " does not exist (a dangling symbolic link?)",
                      ErrorCode::kNotFound);
    default:
      return op.error(op.show(source) + " is not a regular file or a directory");
  }
}

// Writes a copied file atomically with its source's permission bits, whatever the worker's
// umask (set-id bits are not copied).
Status write_copy(const fs::path& to, std::string_view data, int mode) {
  auto file = AtomicFile::create(to, mode);
  if (!file.ok()) return std::move(file).error();
  Status s = file->set_mode(mode);
  if (s.ok()) s = file->write(data);
  if (s.ok()) s = file->commit();
  return s;
}

Status apply_copy(Op& op, const CopyPlan& plan) {
  for (const fs::path& dir : plan.directories) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return op.error("create directory " + dir.string() + ": " + ec.message(), ErrorCode::kIo);
  }
  for (const FileCopy& f : plan.files) {
    auto data = read_file(f.from, op.limits().max_file_bytes);
    if (!data.ok()) return op.wrap(data.error());
    Status s = write_copy(f.to, *data, static_cast<int>(f.mode & 0777));
    if (!s.ok()) return op.wrap(s.error());
  }
  return ok_status();
}

Result<Value> run_copy(Op& op) {
  auto transfers = plan_transfers(op, FollowLast::kYes);
  if (!transfers.ok()) return std::move(transfers).error();
  CopyPlan plan;
  Value copied = Value::array();
  for (const Transfer& t : *transfers) {
    auto st = stat_path(t.source.real, false);
    if (!st.ok()) return op.wrap(st.error());
    if (st->type == EntryType::kDirectory && !op.request().recursive) {
      return op.error(op.show(t.source) + " is a directory; copying one needs recursive: true");
    }
    Status s = plan_copy(op, t.source, t.destination, 0, plan);
    if (!s.ok()) return s.error();
    Value pair = Value::object();
    pair["source"] = t.source.user.text();
    pair["destination"] = t.destination.text();
    copied.push_back(std::move(pair));
  }
  Status s = apply_copy(op, plan);
  if (!s.ok()) return s.error();
  uint64_t bytes = 0;
  for (const FileCopy& f : plan.files) {
    auto st = stat_path(f.to, false);
    if (st.ok()) bytes += st->size;
  }
  Value out = Value::object();
  out["operation"] = "copy";
  out["copied"] = std::move(copied);
  out["files"] = static_cast<int64_t>(plan.files.size());
  out["bytes"] = static_cast<int64_t>(bytes);
  if (!plan.dangling.empty()) {
    Value skipped = Value::array();
    for (const std::string& path : plan.dangling) {
      Value entry = Value::object();
      entry["path"] = path;
      entry["reason"] = "a dangling symbolic link";
      skipped.push_back(std::move(entry));
    }
    out["skipped"] = std::move(skipped);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// move

// Refuses to act on a root or on a directory that holds one.
Status check_not_root(const Op& op, const ResolvedPath& p, std::string_view verb) {
  for (const fs::path& root : op.workspace().existing_roots()) {
    if (Workspace::is_within(root, p.real)) {
      return op.error("refusing to " + std::string(verb) + " " + op.show(p) + ": " +
                      (p.real == root ? "it is the " + std::string(root_name(p.user.root))
                                      : "it holds the workspace or the output directory"));
    }
  }
  return ok_status();
}

Result<Value> run_move(Op& op) {
  auto transfers = plan_transfers(op, FollowLast::kNo);
  if (!transfers.ok()) return std::move(transfers).error();
  struct Move {
    fs::path from;
    fs::path to;
  };
  std::vector<Move> moves;
  Value moved = Value::array();
  for (const Transfer& t : *transfers) {
    Status s = check_not_root(op, t.source, "move");
    if (!s.ok()) return s.error();
    auto st = stat_path(t.source.real, false);
    if (!st.ok()) return op.wrap(st.error());
    if (st->type == EntryType::kSymlink) {
      return op.error(op.show(t.source) +
                      " is a symbolic link; move does not move links (a "
                      "relative link would point elsewhere); copy it instead");
    }
    s = op.count_entry();
    if (!s.ok()) return s.error();
    if (st->type == EntryType::kDirectory) {
      s = op.walk(t.source.real, op.limits().max_depth, true, [&](const Entry& e) -> Status {
        if (e.stat.type == EntryType::kSymlink) {
          return op.error(op.show(t.source) + " holds the symbolic link " +
                          quote(child_of(t.source.user, e.rel).text()) +
                          "; move refuses directories with links (copy instead)");
        }
        return op.count_entry();
      });
      if (!s.ok()) return s.error();
    }
    auto to = op.resolve(t.destination, FollowLast::kNo, CreateRoot::kYes);
    if (!to.ok()) return std::move(to).error();
    if (to->real == t.source.real) {
      return op.error(op.show(t.source) + " and " + quote(t.destination.text()) +
                      " are the same path");
    }
    if (Workspace::is_within(to->real, t.source.real)) {
      return op.error("cannot move " + op.show(t.source) + " into itself");
    }
    auto to_st = stat_path(to->real, false);
    if (!to_st.ok()) return op.wrap(to_st.error());
    if (to_st->type == EntryType::kDirectory) {
      return op.error("destination " + quote(t.destination.text()) + " is an existing directory");
    }
    if (to_st->type != EntryType::kMissing && st->type == EntryType::kDirectory) {
      return op.error("cannot move the directory " + op.show(t.source) + " over the file " +
                      quote(t.destination.text()));
    }
    moves.push_back({t.source.real, to->real});
    Value pair = Value::object();
    pair["source"] = t.source.user.text();
    pair["destination"] = t.destination.text();
    moved.push_back(std::move(pair));
  }
  Op copier = op.recount();
  for (size_t i = 0; i < moves.size(); ++i) {
    const Move& m = moves[i];
    std::error_code ec;
    fs::create_directories(m.to.parent_path(), ec);
    if (ec) {
      return op.error("create directory " + m.to.parent_path().string() + ": " + ec.message(),
                      ErrorCode::kIo);
    }
    if (op.rename(m.from, m.to) == 0) continue;
    const int err = errno;
    if (err != EXDEV) {
      return op.wrap(errno_error("rename " + m.from.string() + " to " + m.to.string(), err));
    }
    // Another file system (the output directory on another mount): copy, a directory whole,
    // planned and checked against the limits before anything is written; then delete.
    const Transfer& t = (*transfers)[i];
    auto source = copier.resolve(t.source.user, FollowLast::kYes);
    if (!source.ok()) return std::move(source).error();
    CopyPlan plan;
    Status s = plan_copy(copier, *source, t.destination, 0, plan);
    if (s.ok()) s = apply_copy(copier, plan);
    if (!s.ok()) return s.error();
    fs::remove_all(m.from, ec);
    if (ec)
      return op.error("remove " + m.from.string() + " after copying it: " + ec.message(),
                      ErrorCode::kIo);
  }
  Value out = Value::object();
  out["operation"] = "move";
  out["moved"] = std::move(moved);
  out["count"] = static_cast<int64_t>(moves.size());
  return out;
}

// ---------------------------------------------------------------------------------------------
// delete

Result<Value> run_delete(Op& op) {
  std::vector<ResolvedPath> targets;
  if (op.request().pattern) {
    auto matches = pattern_matches(op, FollowLast::kNo, true);
    if (!matches.ok()) return std::move(matches).error();
    for (auto& [r, rel] : *matches) targets.push_back(std::move(r));
  } else {
    auto sources = resolve_sources(op, FollowLast::kNo, true);
    if (!sources.ok()) return std::move(sources).error();
    targets = std::move(*sources);
  }
  // Drop repeats and paths inside another target (deleted with it).
  std::sort(targets.begin(), targets.end(),
            [](const ResolvedPath& a, const ResolvedPath& b) { return a.real < b.real; });
  std::vector<ResolvedPath> unique;
  for (ResolvedPath& t : targets) {
    if (!unique.empty() && Workspace::is_within(t.real, unique.back().real)) continue;
    unique.push_back(std::move(t));
  }
  std::vector<EntryType> types;
  for (const ResolvedPath& t : unique) {
    Status s = check_not_root(op, t, "delete");
    if (!s.ok()) return s.error();
    auto st = stat_path(t.real, false);
    if (!st.ok()) return op.wrap(st.error());
    s = op.count_entry();
    if (!s.ok()) return s.error();
    if (st->type == EntryType::kDirectory) {
      auto empty = op.is_empty_dir(t.real);
      if (!empty.ok()) return std::move(empty).error();
      if (!*empty && !op.request().recursive) {
        return op.error(op.show(t) +
                        " is a directory that is not empty; deleting it needs "
                        "recursive: true");
      }
      s = op.walk(t.real, op.limits().max_depth, true,
                  [&](const Entry&) -> Status { return op.count_entry(); });
      if (!s.ok()) return s.error();
    }
    types.push_back(st->type);
  }
  Value deleted = Value::array();
  for (size_t i = 0; i < unique.size(); ++i) {
    const ResolvedPath& t = unique[i];
    if (types[i] == EntryType::kDirectory) {
      std::error_code ec;
      fs::remove_all(t.real, ec);  // does not follow links inside
      if (ec) return op.error("delete " + op.show(t) + ": " + ec.message(), ErrorCode::kIo);
    } else if (::unlink(t.real.c_str()) != 0 && errno != ENOENT) {
      return op.wrap(errno_error("delete " + op.show(t), errno));
    }
    deleted.push_back(t.user.text());
  }
  Value out = Value::object();
  out["operation"] = "delete";
  out["deleted"] = std::move(deleted);
  out["count"] = static_cast<int64_t>(unique.size());
  return out;
}

// ---------------------------------------------------------------------------------------------
// list

Result<Value> run_list(Op& op) {
  auto base = op.resolve(*op.request().path, FollowLast::kYes);
  if (!base.ok()) return std::move(base).error();
  auto st = stat_path(base->real, false);
  if (!st.ok()) return op.wrap(st.error());
  if (st->type == EntryType::kMissing) {
    return op.error(op.show(*base) + " does not exist", ErrorCode::kNotFound);
  }
  if (st->type != EntryType::kDirectory) return op.error(op.show(*base) + " is not a directory");
  std::optional<std::vector<std::string>> pattern;
  if (op.request().pattern) pattern = effective_pattern(op.request());
  const auto [levels, deeper] = search_reach(op, pattern ? &*pattern : nullptr);
  Value files = Value::array();
  Status s = op.walk(base->real, levels, deeper, [&](const Entry& e) -> Status {
    if (pattern && !glob_match(*pattern, e.rel)) return ok_status();
    Status counted = op.count_entry();
    if (!counted.ok()) {
      return op.error("more than " + std::to_string(op.limits().max_entries) +
                          " entries match (the limit); narrow the listing with \"pattern\"",
                      ErrorCode::kTooLarge);
    }
    Value entry = Value::object();
    entry["path"] = op.display(*base, e.real);
    entry["size"] = static_cast<int64_t>(e.stat.size);
    entry["type"] = std::string(type_name(e.stat.type));
    files.push_back(std::move(entry));
    return ok_status();
  });
  if (!s.ok()) return s.error();
  Value out = Value::object();
  out["operation"] = "list";
  out["path"] = base->user.text();
  out["count"] = static_cast<int64_t>(files.size());
  out["files"] = std::move(files);
  return out;
}

// ---------------------------------------------------------------------------------------------
// validate

Result<Value> run_validate(Op& op) {
  Value results = Value::array();
  std::vector<std::string> problems;
  const auto& checks = op.request().checks;
  for (size_t i = 0; i < checks.size(); ++i) {
    const FileCheck& check = checks[i];
    auto r = op.workspace().resolve(check.path, FollowLast::kYes);
    if (!r.ok())
      return op.error("files entry " + std::to_string(i) + ": " + r.error().message,
                      r.error().code);
    auto st = stat_path(r->real, false);
    if (!st.ok()) return op.wrap(st.error());
    const std::string name = quote(check.path.text());
    const bool exists = st->type != EntryType::kMissing;
    const size_t before = problems.size();
    if (check.must_exist && !exists) problems.push_back(name + " does not exist");
    if (!check.must_exist && exists) problems.push_back(name + " exists but must not");
    if (exists && check.must_be_dir) {
      const bool dir = st->type == EntryType::kDirectory;
      if (*check.must_be_dir && !dir) problems.push_back(name + " is not a directory");
      if (!*check.must_be_dir && dir) problems.push_back(name + " is a directory");
    }
    if (exists && (check.min_size || check.max_size)) {
      if (st->type != EntryType::kFile) {
        problems.push_back(name + " is not a regular file (min_size and max_size are for files)");
      } else {
        const auto size = static_cast<int64_t>(st->size);
        if (check.min_size && size < *check.min_size) {
          problems.push_back(name + " is " + std::to_string(size) + " bytes, under min_size " +
                             std::to_string(*check.min_size));
        }
        if (check.max_size && size > *check.max_size) {
          problems.push_back(name + " is " + std::to_string(size) + " bytes, over max_size " +
                             std::to_string(*check.max_size));
        }
      }
    }
    Value result = Value::object();
    result["path"] = check.path.text();
    result["exists"] = exists;
    result["type"] = exists ? Value(std::string(type_name(st->type))) : Value();
    result["size"] = static_cast<int64_t>(st->size);
    result["valid"] = problems.size() == before;
    results.push_back(std::move(result));
  }
  if (!problems.empty()) {
    std::string message =
        std::to_string(problems.size()) + " problem" + (problems.size() == 1 ? "" : "s") + " in " +
        std::to_string(checks.size()) + " check" + (checks.size() == 1 ? "" : "s") + ": ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return op.error(message, ErrorCode::kStepFailed);
  }
  Value out = Value::object();
  out["operation"] = "validate";
  out["valid"] = true;
  out["results"] = std::move(results);
  return out;
}

// ---------------------------------------------------------------------------------------------
// convert

// The file a conversion writes, bounded like the file it reads (FileOpsLimits::max_file_bytes)
// so that a conversion that swells (a wide CSV header repeated in every JSON record) fails
// instead of filling the disk. Parts are gathered into chunks to spare system calls.
class ConvertedOutput {
 public:
  ConvertedOutput(AtomicFile& file, uint64_t limit, std::string shown)
      : file_(file), limit_(limit), shown_(std::move(shown)) {}

  Status add(std::string_view part) {
    written_ += part.size();
    if (written_ > limit_) {
      return make_error(ErrorCode::kTooLarge,
                        "the output " + shown_ + " would be over the limit of " +
                            std::to_string(limit_) + " bytes per file; nothing was written");
    }
    chunk_ += part;
    return chunk_.size() >= kChunkBytes ? flush() : ok_status();
  }

  // Writes what is left and replaces the destination.
  Status finish() {
    Status s = flush();
    return s.ok() ? file_.commit() : s;
  }

 private:
  static constexpr size_t kChunkBytes = 64 * 1024;

  Status flush() {
    Status s = file_.write(chunk_);
    chunk_.clear();
    return s;
  }

  AtomicFile& file_;
  uint64_t limit_;
  std::string shown_;
  uint64_t written_ = 0;
  std::string chunk_;
};

Result<Value> run_convert(Op& op) {
  const FileOpsRequest& request = op.request();
  auto source = op.resolve(request.sources.front(), FollowLast::kYes);
  if (!source.ok()) return std::move(source).error();
  auto st = stat_path(source->real, false);
  if (!st.ok()) return op.wrap(st.error());
  if (st->type == EntryType::kMissing) {
    return op.error(op.show(*source) + " does not exist", ErrorCode::kNotFound);
  }
  if (st->type != EntryType::kFile) return op.error(op.show(*source) + " is not a regular file");
  Status s = op.count_bytes(st->size, op.show(*source));
  if (!s.ok()) return s.error();
  auto destination = op.resolve(*request.destination, FollowLast::kYes, CreateRoot::kYes);
  if (!destination.ok()) return std::move(destination).error();
  auto dest_st = stat_path(destination->real, false);
  if (!dest_st.ok()) return op.wrap(dest_st.error());
  if (dest_st->type == EntryType::kDirectory) {
    return op.error("destination " + op.show(*destination) + " is a directory");
  }
  if (destination->real == source->real) {
    return op.error("source and destination are the same file");
  }
  auto text = read_file(source->real, op.limits().max_file_bytes);
  if (!text.ok()) return op.wrap(text.error());

  const std::string what =
      std::string(conversion_name(request.format)) + " " + op.show(*source) + ": ";
  auto file = AtomicFile::create(destination->real);
  if (!file.ok()) return op.wrap(file.error());
  // Written as it is converted: memory holds the input and one record, not the output. Until
  // commit the parts go to a temporary file, removed when the output is refused.
  ConvertedOutput output(*file, op.limits().max_file_bytes, op.show(*destination));
  const TextSink sink = [&output](std::string_view part) { return output.add(part); };
  Result<size_t> records = size_t{0};
  if (request.format == Conversion::kCsvToJson) {
    records = write_csv_as_json(*text, sink);
  } else {
    auto json = parse_json(*text);
    if (!json.ok()) return op.error(what + json.error().message, json.error().code);
    text->clear();
    text->shrink_to_fit();
    records = write_records_as_csv(*json, sink);
  }
  if (!records.ok()) return op.error(what + records.error().message, records.error().code);
  s = output.finish();
  if (!s.ok()) return op.wrap(s.error());
  Value out = Value::object();
  out["operation"] = "convert";
  out["format"] = std::string(conversion_name(request.format));
  out["source"] = source->user.text();
  out["destination"] = destination->user.text();
  out["records"] = static_cast<int64_t>(*records);
  return out;
}

}  // namespace

Result<Value> run_file_operation(const FileOpsRequest& request, const Workspace& workspace,
                                 const FileOpsLimits& limits, const FileStopCheck& stop,
                                 const FileRename& rename) {
  Op op(request, workspace, limits, stop, rename);
  switch (request.operation) {
    case FileOperation::kCopy:
      return run_copy(op);
    case FileOperation::kMove:
      return run_move(op);
    case FileOperation::kDelete:
      return run_delete(op);
    case FileOperation::kList:
      return run_list(op);
    case FileOperation::kValidate:
      return run_validate(op);
    case FileOperation::kConvert:
      return run_convert(op);
  }
  return op.error("unknown operation", ErrorCode::kInternal);
}

}  // namespace pl::worker::data
