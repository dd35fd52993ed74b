// A database that SQLite found damaged while a process used it.
//
// A damaged page that only a write reaches lets the process start again, run until that write,
// exit, and be restarted by its supervisor: at one restart a second or slower, for ever, since
// no restart intensity counts that slowly. So the process that meets the damage leaves a mark
// beside the file (NAME.damaged: the file's inode and what SQLite said), and each later start
// refuses at once while the mark names the same file, which trips the intensity within a
// second. A file restored from a backup (pipelinectl restore), or a new one where the damaged
// one was moved aside, is another file: its mark is removed and the start goes on. One whose
// content was copied over it in place is the same file: the operator removes the mark.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.h"

namespace pl::sqlite {

// Whether an error from this library (sqlite_error, Database::exec) says the file is damaged
// (SQLITE_CORRUPT, SQLITE_NOTADB).
bool reports_damage(std::string_view message);

// Marks `db` damaged, with `what` (the error) as the reason. Best effort: a mark that cannot be
// written is logged, and the process exits as it would anyway.
void mark_damaged(const std::filesystem::path& db, std::string_view what);

// kInvalidInput, saying what was found and what to do, when `db` carries the mark of its own
// damage; ok otherwise (a stale mark of another file is removed).
Status refuse_if_marked_damaged(const std::filesystem::path& db);

}  // namespace pl::sqlite
