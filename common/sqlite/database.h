// A thin RAII layer over SQLite: a connection and prepared statements, errors as values.
// Statements are prepared once and reused; values are always bound, never spliced into SQL.
// Not thread-safe: one thread owns a Database and its statements.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pl::sqlite {

// What an error says of a file SQLite found damaged (SQLITE_CORRUPT, SQLITE_NOTADB), after the
// file's name (damage_mark.h looks for it).
inline constexpr std::string_view kDamagedNote = " is damaged or not an SQLite database";

class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds by 1-based index. Text is copied by SQLite. A failed bind is reported by step().
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t number);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // Runs one step: true when a row is ready (read it with column_*), false when done. Resets the
  // statement when done or failed, so that it never holds a read transaction open.
  Result<bool> step();
  // Runs to completion, ignoring rows (INSERT, UPDATE, DELETE), then resets.
  Status run();
  // Readies the statement for new bindings (after reading the rows one wanted).
  void reset();

  // Columns of the current row, 0-based.
  int64_t column_int(int index) const;
  std::string column_text(int index) const;  // a blob's bytes too
  bool column_is_null(int index) const;
  bool column_is_blob(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;  // the first bind error, reported by step()
};

class Database {
 public:
  // Opens (creating when missing) the database at `path`, with extended result codes and
  // nothing else: journal mode, synchronous level and locking are the owner's to set.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without parameters (schema, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // The first column of the first row of a parameterless query (a PRAGMA's value); "" if none.
  Result<std::string> query_text(std::string_view sql);
  int64_t changes() const;
  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// Process-wide SQLite settings, applied once before SQLite starts; every place that opens a
// connection calls it first. Turns off SQLite's memory statistics, which nothing here reads and
// which take a process-wide mutex on each of SQLite's allocations (about 7 % of the registry's
// instructions per append). Does nothing once SQLite has started.
void configure_sqlite();

// kIo with SQLite's own message: "what: <sqlite message>". When the database or its disk is full
// (SQLITE_FULL) the message says how much room its file system has left; when the file is
// damaged or not a database, what to do with it.
Error sqlite_error(sqlite3* db, std::string_view what);

// A statement's text for a one-line message: runs of white space as one space, cut after
// `max_chars` characters with "..." (a schema statement spans many lines).
std::string one_line(std::string_view sql, size_t max_chars);

}  // namespace pl::sqlite
