#include "common/sqlite/database.h"

#include <sqlite3.h>
#include <unistd.h>

#include <mutex>

#include "common/byte_size.h"
#include "common/fs.h"

namespace pl::sqlite {
namespace {

// What an operator can do about the error, when SQLite's own message does not say. A full
// disk: the free and total bytes of the file system that holds the database (or the page limit
// SQLite hit, when the disk still has room). A damaged file: what to do with it. Empty for
// other errors and for a database without a file.
std::string operator_note(sqlite3* db) {
  if (!db) return {};
  const int code = sqlite3_extended_errcode(db) & 0xff;
  if (code != SQLITE_FULL && code != SQLITE_CORRUPT && code != SQLITE_NOTADB) return {};
  const char* file = sqlite3_db_filename(db, "main");
  if (!file || !*file) return {};
  if (code != SQLITE_FULL) {
    return std::string(" (") + file + std::string(kDamagedNote) +
           ": restore it from a backup, or move it aside to start without what it held)";
  }
  const std::string dir = std::filesystem::path(file).parent_path().string();
  const auto room = file_system_room(dir);
  if (!room) return {};
  return " (" + dir + ": " + describe(*room) + ")";
}

}  // namespace

std::string one_line(std::string_view sql, size_t max_chars) {
  std::string out;
  for (char c : sql) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    if (out.size() == max_chars) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      return out + "...";
    }
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Error sqlite_error(sqlite3* db, std::string_view what) {
  std::string text(what);
  text.append(": ").append(db ? sqlite3_errmsg(db) : "out of memory").append(operator_note(db));
  return make_error(ErrorCode::kIo, std::move(text));
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_status_(std::move(other.bind_status_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    bind_status_ = std::move(other.bind_status_);
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = sqlite_error(db_, "bind");
  return *this;
}

Statement& Statement::bind(int index, int64_t number) {
  if (sqlite3_bind_int64(stmt_, index, number) != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = sqlite_error(db_, "bind");
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = sqlite_error(db_, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = sqlite_error(db_, "bind");
  }
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_status_.ok()) {
    Error e = bind_status_.error();
    reset();
    return e;
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    reset();
    return false;
  }
  Error e = sqlite_error(db_, one_line(sqlite3_sql(stmt_), 80));
  reset();
  return e;
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return ok_status();
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = ok_status();
}

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
  const void* text = column_is_blob(index) ? sqlite3_column_blob(stmt_, index)
                                           : static_cast<const void*>(sqlite3_column_text(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);  // after the pointer, as SQLite asks
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size))
              : std::string();
}

bool Statement::column_is_blob(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_BLOB;
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

void configure_sqlite() {
  static std::once_flag once;
  // SQLITE_MISUSE when SQLite has started already: then its defaults stay, which is only slower.
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path) {
  configure_sqlite();
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw, "opening " + path.string());
    sqlite3_close(raw);
    return e;
  }
  sqlite3_extended_result_codes(raw, 1);
  // SQLite opens a file it may not write read-only without a word; the first write then fails
  // as a "disk I/O error", which sends the operator to the disk rather than to the file's mode.
  if (sqlite3_db_readonly(raw, "main") == 1) {
    sqlite3_close(raw);
    return make_error(ErrorCode::kInvalidInput,
                      path.string() + " cannot be written by this process (uid " +
                          std::to_string(::geteuid()) + "): check the owner and mode of it, of " +
                          "its -wal and -shm files, and of its directory");
  }
  return std::unique_ptr<Database>(new Database(raw));
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string what = message ? message : "error";
    sqlite3_free(message);
    return make_error(ErrorCode::kIo, "sqlite: " + what + operator_note(db_) +
                                          " (in: " + one_line(text, 80) + ")");
  }
  return ok_status();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, "prepare \"" + one_line(sql, 60) + "\"");
  }
  return Statement(db_, stmt);
}

Result<std::string> Database::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt.ok()) return std::move(stmt).error();
  auto row = stmt->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::string();
  std::string value = stmt->column_text(0);
  stmt->reset();
  return value;
}

int64_t Database::changes() const { return sqlite3_changes64(db_); }

}  // namespace pl::sqlite
