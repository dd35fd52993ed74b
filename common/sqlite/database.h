// A thin SQLite wrapper: a connection, prepared statements, errors as values.
// No SQL is ever built from input: values go through bind().
// Not thread-safe: one thread owns a Database and its statements.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pl::sqlite {

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Binds by 1-based index. Text and blobs are copied by SQLite.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t number);
  Statement& bind_null(int index);

  // Runs one step: true when a row is ready (read it with column_*), false when done.
  Result<bool> step();
  // Runs to completion, ignoring rows (INSERT, UPDATE, DELETE).
  Status run();
  // Readies the statement for new bindings.
  void reset();

  int64_t column_int(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  Status bind_status_;  // the first bind error, reported by step()
};

class Database {
 public:
  // Opens (creating when missing) the database at `path`, in WAL mode with the given
  // synchronous level ("FULL" makes a commit survive power loss) and a busy timeout.
  static Result<std::unique_ptr<Database>> open(const std::string& path,
                                                std::string_view synchronous = "FULL");
  ~Database();

  // Runs SQL with no parameters (schema, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  int64_t changes() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// kIo with SQLite's own message: "what: <sqlite message>".
Error sqlite_error(sqlite3* db, std::string_view what);

}  // namespace pl::sqlite
