// A thin RAII layer over SQLite: a connection and prepared statements, errors as values.
// Statements are prepared once and reused (reset after each use); values are always bound,
// never spliced into SQL. Not thread-safe: one thread owns a Database and its statements.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pl::registry {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds parameter `index` (1-based). The text is copied.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_null(int index);

  // Steps once: true when a row is ready, false when done. kIo on an error (the message is
  // SQLite's). Resets the statement when done or failed.
  Result<bool> step();
  // Runs a statement that returns no rows, then resets it.
  Status run();
  // Resets the statement and clears its bindings, ready for the next use.
  void reset();

  // Column reads of the current row (0-based).
  int64_t integer(int column) const;
  std::string text(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;
};

class Database {
 public:
  // Opens (creating if needed) the database at `path`. kIo names the file and SQLite's reason.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without parameters (schema, pragmas, BEGIN/COMMIT).
  Status exec(const std::string& sql);
  Result<Statement> prepare(std::string_view sql);
  // The first column of the first row of a parameterless query (e.g. a PRAGMA's value).
  Result<std::string> query_text(const std::string& sql);

  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace pl::registry
