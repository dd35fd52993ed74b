#include "common/sqlite/damage_mark.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <optional>
#include <string>

#include "common/fs.h"
#include "common/sqlite/database.h"

namespace pl::sqlite {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFileLine = "file ";

fs::path mark_of(const fs::path& db) { return fs::path(db.string() + ".damaged"); }

// "file DEVICE:INODE": which file it is, whatever its name. (Not its size or times: the
// process that marks it may still write it as it closes.)
std::optional<std::string> identity_line(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::string(kFileLine) + std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
         std::to_string(static_cast<uint64_t>(st.st_ino));
}

}  // namespace

bool reports_damage(std::string_view message) {
  return message.find(kDamagedNote) != std::string_view::npos;
}

void mark_damaged(const fs::path& db, std::string_view what) {
  const auto identity = identity_line(db);
  if (!identity) return;  // nothing there to refuse later
  const std::string text = *identity + "\n" + std::string(what) + "\n";
  if (Status st = write_file_atomic(mark_of(db), text, 0600); !st.ok()) {
    spdlog::error("{} could not be marked damaged: {}", db.string(), st.error().message);
    return;
  }
  spdlog::critical("{} is marked damaged ({}): it will not be used again until it is restored "
                   "from a backup or moved aside",
                   db.string(), mark_of(db).string());
}

Status refuse_if_marked_damaged(const fs::path& db) {
  const fs::path mark = mark_of(db);
  auto text = read_file(mark, 64 * 1024);
  if (!text.ok()) {
    if (text.error().code == ErrorCode::kNotFound) return ok_status();
    return text.error();
  }
  const size_t end = text->find('\n');
  const std::string first = text->substr(0, end);
  const std::string why = end == std::string::npos ? "" : text->substr(end + 1);
  const auto identity = identity_line(db);
  if (!identity || first != *identity) {
    // Another file (restored, or new where the damaged one was moved aside): the mark is stale.
    std::error_code ec;
    fs::remove(mark, ec);
    spdlog::info("{} is not the file marked damaged; {} removed", db.string(), mark.string());
    return ok_status();
  }
  std::string said = why;
  while (!said.empty() && said.back() == '\n') said.pop_back();
  // `said` ends with what to do (database.cpp's note): restore the file, or move it aside.
  return make_error(ErrorCode::kInvalidInput,
                    db.string() + " was found damaged while in use (" + mark.string() +
                        "), and is not used again: " + said +
                        "; a file restored in place by hand (cp over it) is the same file: "
                        "remove the mark then");
}

}  // namespace pl::sqlite
