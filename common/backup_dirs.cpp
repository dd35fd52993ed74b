#include "common/backup_dirs.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace pl {

namespace fs = std::filesystem;

std::string backup_stamp(WallTime t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y%m%dT%H%M%S") << '.' << std::setw(3) << std::setfill('0') << millis
      << 'Z';
  return out.str();
}

std::optional<WallTime> parse_backup_stamp(std::string_view name) {
  if (name.size() != 20 || name[8] != 'T' || name[15] != '.' || name[19] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](size_t from, size_t digits) -> std::optional<int> {
    int v = 0;
    for (size_t i = from; i < from + digits; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(name[i]))) return std::nullopt;
      v = v * 10 + (name[i] - '0');
    }
    return v;
  };
  const auto year = number(0, 4), month = number(4, 2), day = number(6, 2), hour = number(9, 2),
             minute = number(11, 2), second = number(13, 2), millis = number(16, 3);
  if (!year || !month || !day || !hour || !minute || !second || !millis) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const WallTime t =
      std::chrono::system_clock::from_time_t(::timegm(&tm)) + std::chrono::milliseconds(*millis);
  // timegm carries an out-of-range field over (month 13 is January): only a name that reads
  // back the same is a stamp.
  if (backup_stamp(t) != name) return std::nullopt;
  return t;
}

Result<std::vector<std::string>> list_backup_dirs(const fs::path& backups) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::exists(backups, ec) && !ec) return names;
  for (const auto& entry : fs::directory_iterator(backups, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code not_a_directory;  // something else of that name is not ours
    if (parse_backup_stamp(name) && entry.is_directory(not_a_directory)) names.push_back(name);
  }
  if (ec) return make_error(ErrorCode::kIo, "list " + backups.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

Result<BackupSummary> summarize_backups(const fs::path& backups) {
  auto names = list_backup_dirs(backups);
  if (!names.ok()) return std::move(names).error();
  BackupSummary summary;
  const std::string* newest = nullptr;  // names are sorted: the last whole one is the newest
  for (const std::string& name : *names) {
    const bool whole =
        std::all_of(std::begin(kBackupFiles), std::end(kBackupFiles), [&](auto file) {
          std::error_code ec;
          return fs::is_regular_file(backups / name / file, ec);
        });
    if (!whole) continue;
    ++summary.complete;
    newest = &name;
  }
  if (newest) summary.newest = parse_backup_stamp(*newest);
  return summary;
}

}  // namespace pl
