// The directories `pipelinectl backup` makes in STATE_DIR/backups: each named by the UTC time it
// was made ("20261124T124227.531Z", which sorts as time does, and two backups a second apart do
// not collide), holding broker.db and registry.db once both copies succeeded. The CLI names and
// prunes them; the supervisor reports the newest complete one in its metrics.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace pl {

// The name of a backup made at `t` (to the millisecond).
std::string backup_stamp(WallTime t);
// The time a backup's name says; nullopt for any other name (a stamp that backup_stamp would not
// write, such as month 13, is not one).
std::optional<WallTime> parse_backup_stamp(std::string_view name);

// The backup directories in `backups`, oldest first: directories named by backup_stamp. Anything
// else there is not ours and is not listed. A missing `backups` has none.
Result<std::vector<std::string>> list_backup_dirs(const std::filesystem::path& backups);

// The files a backup holds when both copies succeeded.
inline constexpr std::string_view kBackupFiles[] = {"broker.db", "registry.db"};

struct BackupSummary {
  size_t complete = 0;             // backup directories holding every kBackupFiles
  std::optional<WallTime> newest;  // the newest of those, by its name
};
// What `backups` holds. A copy exists under its own name only once complete (it is written as
// NAME.partial, then renamed), so a directory holding both files is a whole backup.
Result<BackupSummary> summarize_backups(const std::filesystem::path& backups);

}  // namespace pl
