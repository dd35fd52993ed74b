#include "registry/sqlite_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sysexits.h>

#include <algorithm>

#include "common/json.h"

namespace pl::registry {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tools(
  name TEXT PRIMARY KEY, definition TEXT NOT NULL, revision INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions(
  name TEXT PRIMARY KEY, version INTEGER NOT NULL, max_turns INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS turns(
  session TEXT NOT NULL, idx INTEGER NOT NULL, time_ms INTEGER NOT NULL, messages TEXT NOT NULL,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, origin TEXT NOT NULL,
  UNIQUE(session, idx));
CREATE TABLE IF NOT EXISTS applied(
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, op TEXT NOT NULL, reply TEXT NOT NULL,
  time_ms INTEGER NOT NULL);
)sql";

Result<Value> parse_stored(const std::string& text, std::string_view what) {
  auto v = parse_json(text);
  if (!v.ok()) return make_error(ErrorCode::kIo, "registry.db holds a damaged " + std::string(what) +
                                                     ": " + v.error().message);
  return v;
}

// The first column of a one-row query, or `fallback` when there is no row.
Result<int64_t> single_integer(sqlite::Statement& s, int64_t fallback) {
  auto row = s.step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return fallback;
  const int64_t v = s.column_is_null(0) ? fallback : s.column_int(0);
  s.reset();
  return v;
}

}  // namespace

struct SqliteStore::Statements {
  sqlite::Statement begin, commit, rollback, savepoint, release, rollback_to;
  sqlite::Statement get_tool, list_tools, put_tool, remove_tool;
  sqlite::Statement get_session, list_sessions, put_session, remove_session, remove_session_turns;
  sqlite::Statement idle_sessions;
  sqlite::Statement get_turns, turn_sizes, add_turn, remove_turns_after;
  sqlite::Statement get_applied, put_applied, max_applied_seq, first_applied_since, forget_applied;
  sqlite::Statement counts;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path,
                                                       const SqliteStoreOptions& options) {
  auto db = sqlite::Database::open(path);
  if (!db.ok()) return std::move(db).error();
  sqlite::Database& d = **db;
  const bool deferred = options.sync == SyncMode::kFull && options.deferred_sync;
  const std::string sync = deferred ? "OFF" : options.sync == SyncMode::kFull ? "FULL" : "NORMAL";
  // locking_mode before journal_mode: the WAL index then lives in this process's memory, and the
  // file stays locked by us until we exit.
  for (const std::string& pragma :
       {"PRAGMA busy_timeout=" + std::to_string(options.busy_timeout_ms),
        std::string("PRAGMA locking_mode=EXCLUSIVE"), "PRAGMA synchronous=" + sync,
        // Deferred: none until DeferredWalSync takes checkpoints over; one before it, with
        // synchronous=OFF, could copy a predecessor's unsynced commits past its first sync.
        "PRAGMA wal_autocheckpoint=" +
            std::to_string(deferred ? 0 : options.wal_autocheckpoint_pages),
        std::string("PRAGMA foreign_keys=OFF"), std::string("PRAGMA temp_store=MEMORY"),
        std::string("PRAGMA cache_size=-32768"),  // 32 MiB of pages: sessions' tails stay cached
        "PRAGMA page_size=" + std::to_string(options.page_size)}) {
    if (auto st = d.exec(pragma); !st.ok()) return st.error().with_context(path.string());
  }
  auto mode = d.query_text("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.error().with_context(path.string());
  if (*mode != "wal") {
    return make_error(ErrorCode::kIo, path.string() + ": cannot use WAL journal mode (got " + *mode + ")");
  }
  auto version = d.query_text("PRAGMA user_version");
  if (!version.ok()) return version.error().with_context(path.string());
  if (std::stoi(version->empty() ? "0" : *version) > kSchemaVersion) {
    return make_error(ErrorCode::kInvalidInput, path.string() + " has schema version " + *version +
                                                    ", newer than this registry's " +
                                                    std::to_string(kSchemaVersion));
  }
  // Takes the exclusive lock now (and keeps it), creating the schema on the way.
  if (auto st = d.exec(std::string("BEGIN IMMEDIATE;") + kSchema + "PRAGMA user_version=" +
                       std::to_string(kSchemaVersion) + ";COMMIT;");
      !st.ok()) {
    return st.error().with_context(path.string());
  }

  auto q = std::make_unique<Statements>();
  struct Prepared {
    sqlite::Statement* target;
    const char* sql;
  };
  const Prepared all[] = {
      {&q->begin, "BEGIN IMMEDIATE"},
      {&q->commit, "COMMIT"},
      {&q->rollback, "ROLLBACK"},
      {&q->savepoint, "SAVEPOINT op"},
      {&q->release, "RELEASE op"},
      {&q->rollback_to, "ROLLBACK TO op"},
      {&q->get_tool, "SELECT definition, revision, created_ms, updated_ms FROM tools WHERE name=?1"},
      {&q->list_tools,
       "SELECT name, definition, revision, created_ms, updated_ms FROM tools ORDER BY name LIMIT ?1"},
      {&q->put_tool,
       "INSERT INTO tools(name, definition, revision, created_ms, updated_ms) VALUES(?1,?2,?3,?4,?5) "
       "ON CONFLICT(name) DO UPDATE SET definition=?2, revision=?3, created_ms=?4, updated_ms=?5"},
      {&q->remove_tool, "DELETE FROM tools WHERE name=?1"},
      {&q->get_session,
       "SELECT version, max_turns, created_ms, updated_ms, input_tokens, output_tokens FROM sessions "
       "WHERE name=?1"},
      {&q->list_sessions,
       "SELECT name, version, max_turns, created_ms, updated_ms, input_tokens, output_tokens FROM "
       "sessions ORDER BY name LIMIT ?1"},
      {&q->put_session,
       "INSERT INTO sessions(name, version, max_turns, created_ms, updated_ms, input_tokens, "
       "output_tokens) VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(name) DO UPDATE SET version=?2, "
       "max_turns=?3, created_ms=?4, updated_ms=?5, input_tokens=?6, output_tokens=?7"},
      {&q->remove_session, "DELETE FROM sessions WHERE name=?1"},
      {&q->remove_session_turns, "DELETE FROM turns WHERE session=?1"},
      {&q->idle_sessions, "SELECT name FROM sessions WHERE updated_ms<?1 LIMIT ?2"},
      {&q->get_turns,
       "SELECT idx, time_ms, messages, input_tokens, output_tokens, origin FROM turns WHERE session=?1 AND "
       "idx>?2 ORDER BY idx"},
      // Bytes, not characters: the reply limit counts bytes.
      {&q->turn_sizes,
       "SELECT idx, length(CAST(messages AS BLOB)) FROM turns WHERE session=?1 AND idx>?2 "
       "ORDER BY idx DESC"},
      {&q->add_turn,
       "INSERT INTO turns(session, idx, time_ms, messages, input_tokens, output_tokens, origin) "
       "VALUES(?1,?2,?3,?4,?5,?6,?7)"},
      {&q->remove_turns_after, "DELETE FROM turns WHERE session=?1 AND idx>?2"},
      {&q->get_applied, "SELECT op, reply, time_ms FROM applied WHERE id=?1"},
      {&q->put_applied, "INSERT INTO applied(id, op, reply, time_ms) VALUES(?1,?2,?3,?4)"},
      {&q->max_applied_seq, "SELECT MAX(seq) FROM applied"},
      {&q->first_applied_since, "SELECT seq FROM applied WHERE time_ms>=?1 ORDER BY seq LIMIT 1"},
      {&q->forget_applied, "DELETE FROM applied WHERE seq<=?1"},
      {&q->counts,
       "SELECT (SELECT COUNT(*) FROM tools), (SELECT COUNT(*) FROM sessions), "
       "(SELECT COUNT(*) FROM turns), (SELECT COUNT(*) FROM applied)"},
  };
  for (const auto& p : all) {
    auto stmt = d.prepare(p.sql);
    if (!stmt.ok()) return std::move(stmt).error();
    *p.target = std::move(*stmt);
  }
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*db), std::move(q)));
  if (deferred) {
    auto wal_sync = sqlite::DeferredWalSync::attach(*store->db_, path, options.wal_autocheckpoint_pages);
    if (!wal_sync.ok()) return std::move(wal_sync).error();
    store->wal_sync_ = std::move(*wal_sync);
  }
  // A disk that does not finish a commit ends the registry as a stuck deferred sync does.
  store->commit_deadline_ =
      std::make_unique<sqlite::CommitDeadline>(path.filename().string(), EX_TEMPFAIL);
  return store;
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Database> db, std::unique_ptr<Statements> statements)
    : db_(std::move(db)), q_(std::move(statements)) {}

SqliteStore::~SqliteStore() {
  if (in_transaction_) rollback();
  wal_sync_.reset();
  q_.reset();  // statements are finalized before the connection closes
}

Status SqliteStore::begin() {
  auto st = q_->begin.run();
  if (st.ok()) in_transaction_ = true;
  return st;
}

Status SqliteStore::commit() {
  commit_deadline_->begin();  // the commit and its checkpoint may wait on the disk
  Status st = q_->commit.run();
  if (!st.ok()) {
    rollback();
  } else {
    in_transaction_ = false;
    // The batch is committed whatever happens here; a failed checkpoint only lets the WAL grow.
    if (auto ck = wal_sync_ ? wal_sync_->after_commit() : ok_status(); !ck.ok()) {
      spdlog::warn("registry.db checkpoint: {}", ck.error().message);
    }
  }
  commit_deadline_->end();
  return st;
}

Status SqliteStore::sync() { return wal_sync_ ? wal_sync_->sync() : ok_status(); }

void SqliteStore::rollback() {
  if (sqlite3_get_autocommit(db_->raw()) == 0) (void)q_->rollback.run();
  in_transaction_ = false;
}

Status SqliteStore::savepoint() { return q_->savepoint.run(); }

Status SqliteStore::release_savepoint() { return q_->release.run(); }

void SqliteStore::rollback_to_savepoint() {
  // ROLLBACK TO keeps the savepoint open; RELEASE ends it (committing nothing more).
  (void)q_->rollback_to.run();
  (void)q_->release.run();
}

Result<std::optional<ToolRecord>> SqliteStore::tool(std::string_view name) {
  sqlite::Statement& s = q_->get_tool;
  s.bind(1, name);
  auto row = s.step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<ToolRecord>();
  auto definition = parse_stored(s.column_text(0), "tool definition");
  ToolRecord t{std::string(name), Value(), s.column_int(1), s.column_int(2), s.column_int(3)};
  s.reset();
  if (!definition.ok()) return std::move(definition).error();
  t.definition = std::move(*definition);
  return std::optional<ToolRecord>(std::move(t));
}

Result<std::vector<ToolRecord>> SqliteStore::tools(size_t limit) {
  sqlite::Statement& s = q_->list_tools;
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<ToolRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    auto definition = parse_stored(s.column_text(1), "tool definition");
    if (!definition.ok()) {
      s.reset();
      return std::move(definition).error();
    }
    out.push_back(ToolRecord{s.column_text(0), std::move(*definition), s.column_int(2), s.column_int(3), s.column_int(4)});
  }
}

Status SqliteStore::put_tool(const ToolRecord& t) {
  return q_->put_tool.bind(1, t.name)
      .bind(2, to_json(t.definition))
      .bind(3, t.revision)
      .bind(4, t.created_ms)
      .bind(5, t.updated_ms)
      .run();
}

Status SqliteStore::remove_tool(std::string_view name) { return q_->remove_tool.bind(1, name).run(); }

Result<std::optional<SessionRecord>> SqliteStore::session(std::string_view name) {
  sqlite::Statement& s = q_->get_session;
  s.bind(1, name);
  auto row = s.step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<SessionRecord>();
  SessionRecord r{std::string(name), s.column_int(0), s.column_int(1), s.column_int(2), s.column_int(3),
                  TokenUsage{s.column_int(4), s.column_int(5)}};
  s.reset();
  return std::optional<SessionRecord>(std::move(r));
}

Result<std::vector<SessionRecord>> SqliteStore::sessions(size_t limit) {
  sqlite::Statement& s = q_->list_sessions;
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<SessionRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    out.push_back(SessionRecord{s.column_text(0), s.column_int(1), s.column_int(2), s.column_int(3), s.column_int(4),
                                TokenUsage{s.column_int(5), s.column_int(6)}});
  }
}

Result<std::vector<std::string>> SqliteStore::sessions_idle_since(int64_t before_ms, size_t limit) {
  sqlite::Statement& s = q_->idle_sessions;
  s.bind(1, before_ms).bind(2, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  for (;;) {
    auto row = s.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    out.push_back(s.column_text(0));
  }
}

Status SqliteStore::put_session(const SessionRecord& r) {
  return q_->put_session.bind(1, r.name)
      .bind(2, r.version)
      .bind(3, r.max_turns)
      .bind(4, r.created_ms)
      .bind(5, r.updated_ms)
      .bind(6, r.usage.input_tokens)
      .bind(7, r.usage.output_tokens)
      .run();
}

Status SqliteStore::remove_session(std::string_view name) {
  if (auto st = q_->remove_session_turns.bind(1, name).run(); !st.ok()) return st;
  return q_->remove_session.bind(1, name).run();
}

Result<std::vector<TurnRecord>> SqliteStore::turns(std::string_view session, int64_t after,
                                                   int64_t max_bytes) {
  sqlite::Statement& s = q_->get_turns;
  s.bind(1, session).bind(2, after);
  std::vector<TurnRecord> out;
  int64_t bytes = 0;
  for (;;) {
    auto row = s.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return out;
    out.push_back(
        TurnRecord{s.column_int(0), s.column_int(1), s.column_text(2), TokenUsage{s.column_int(3), s.column_int(4)}, s.column_text(5)});
    bytes += static_cast<int64_t>(out.back().messages.size());
    if (bytes > max_bytes) {
      s.reset();
      return out;
    }
  }
}

Result<int64_t> SqliteStore::newest_turns_within(std::string_view session, int64_t after,
                                                 int64_t max_bytes) {
  sqlite::Statement& s = q_->turn_sizes;
  s.bind(1, session).bind(2, after);
  int64_t bytes = 0;
  for (;;) {
    auto row = s.step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return after;
    bytes += s.column_int(1);
    if (bytes > max_bytes) {
      const int64_t from = s.column_int(0);
      s.reset();
      return from;
    }
  }
}

Status SqliteStore::add_turn(std::string_view session, const TurnRecord& t) {
  return q_->add_turn.bind(1, session)
      .bind(2, t.index)
      .bind(3, t.time_ms)
      .bind(4, t.messages)
      .bind(5, t.usage.input_tokens)
      .bind(6, t.usage.output_tokens)
      .bind(7, t.origin)
      .run();
}

Status SqliteStore::remove_turns_after(std::string_view session, int64_t keep) {
  return q_->remove_turns_after.bind(1, session).bind(2, keep).run();
}

Result<std::optional<AppliedRecord>> SqliteStore::applied(std::string_view id) {
  sqlite::Statement& s = q_->get_applied;
  s.bind(1, id);
  auto row = s.step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<AppliedRecord>();
  AppliedRecord r{std::string(id), s.column_text(0), {}, s.column_int(2)};
  const std::string reply_text = s.column_text(1);
  s.reset();
  auto body = parse_stored(reply_text, "recorded reply");
  if (!body.ok()) return std::move(body).error();
  auto reply = protocol::registry_reply_from(*body);
  if (!reply.ok()) return make_error(ErrorCode::kIo, "registry.db holds a damaged recorded reply: " +
                                                         reply.error().message);
  r.reply = std::move(*reply);
  return std::optional<AppliedRecord>(std::move(r));
}

Status SqliteStore::record_applied(const AppliedRecord& r) {
  // Stored without the request id it answered (a retry brings its own).
  Value reply = protocol::to_body(r.reply);
  reply["request"] = "";
  return q_->put_applied.bind(1, r.id)
      .bind(2, r.op)
      .bind(3, to_json(reply))
      .bind(4, r.time_ms)
      .run();
}

Result<int64_t> SqliteStore::forget_applied(int64_t keep, int64_t expire_before_ms,
                                            int64_t protect_since_ms) {
  auto max_seq = single_integer(q_->max_applied_seq, 0);
  if (!max_seq.ok()) return std::move(max_seq).error();
  // Sequence numbers grow with time, so "the first id recorded at or after T" splits the table.
  auto first_protected = single_integer(q_->first_applied_since.bind(1, protect_since_ms), *max_seq + 1);
  if (!first_protected.ok()) return std::move(first_protected).error();
  auto first_unexpired = single_integer(q_->first_applied_since.bind(1, expire_before_ms), *max_seq + 1);
  if (!first_unexpired.ok()) return std::move(first_unexpired).error();
  const int64_t cut = std::max(std::min(*max_seq - keep, *first_protected - 1), *first_unexpired - 1);
  if (cut <= 0) return int64_t{0};
  if (auto st = q_->forget_applied.bind(1, cut).run(); !st.ok()) return std::move(st).error();
  return static_cast<int64_t>(sqlite3_changes64(db_->raw()));
}

Result<StoreCounts> SqliteStore::counts() {
  sqlite::Statement& s = q_->counts;
  auto row = s.step();
  if (!row.ok()) return std::move(row).error();
  StoreCounts c;
  if (*row) {
    c = StoreCounts{s.column_int(0), s.column_int(1), s.column_int(2), s.column_int(3)};
    s.reset();
  }
  return c;
}

}  // namespace pl::registry
