// pipelinectl tools ... and sessions ... against a real registry.
#include <gtest/gtest.h>

#include <fstream>

#include "common/ids.h"
#include "common/json.h"
#include "tests/integration/registry/registry_process.h"

namespace pl::test {
namespace {

class RegistryCli : public ::testing::Test {
 protected:
  void SetUp() override { registry_.start(); }
  void TearDown() override {
    registry_.stop();
    EXPECT_TRUE(wait_until([&] { return processes_with_env(tag_).empty(); }, 10s));
  }

  CommandResult ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{binary("pipelinectl"), "--state-dir", registry_.state_dir().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions options;
    options.env = {tag_};
    return run_command(argv, 60s, options);
  }

  static std::string example(const std::string& name) {
    return (source_dir() / "configs/tools" / (name + ".yaml")).string();
  }

  TempDir dir_;
  std::string tag_ = "PIPELINE_TEST_TAG=" + new_id("t");
  RegistryUnderTest registry_{dir_.path() / "state", dir_.path() / "registry.log", tag_};
};

TEST_F(RegistryCli, ToolsAreRegisteredListedShownAndRemoved) {
  for (const char* name : {"word_count", "list_files", "file_sha256"}) {
    auto r = ctl({"tools", "register", example(name)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("registered tool " + std::string(name) + " (revision 1)"), std::string::npos);
  }
  auto again = ctl({"tools", "register", example("word_count")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is already registered (revision 1); pipelinectl tools register "
                           "--replace FILE replaces it"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(ctl({"tools", "register", "--replace", example("word_count")}).exit_code, 0);

  auto list = ctl({"tools", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto listed = parse_json(list.out);
  ASSERT_TRUE(listed.ok()) << list.out;
  ASSERT_EQ(listed->find("tools")->size(), 3u);
  EXPECT_EQ(listed->find("tools")->as_array()[2].get_string("name"), "word_count");
  EXPECT_EQ(listed->find("tools")->as_array()[2].get_int("revision"), 2);

  auto show = ctl({"tools", "show", "word_count", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(parse_json(show.out)->find("definition")->get_string("stdin"), "{{args.text}}");
  EXPECT_NE(ctl({"tools", "show", "word_count"}).out.find("command: [\"wc\",\"-w\"]"), std::string::npos);

  EXPECT_EQ(ctl({"tools", "remove", "word_count"}).exit_code, 0);
  auto gone = ctl({"tools", "show", "word_count"});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.err.find("no tool \"word_count\""), std::string::npos);
}

TEST_F(RegistryCli, ABadToolFileIsRefusedNamingFileLineAndColumn) {
  const auto file = dir_.path() / "bad.yaml";
  std::ofstream(file) << "name: bad\ncommand: [cat, \"{{args.path}}\"]\ninput_schema:\n  type: object\n"
                         "timeout: 5\n";
  auto r = ctl({"tools", "register", file.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(file.string() + ":5:1: timeout: unknown key"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(ctl({"tools", "register", (dir_.path() / "missing.yaml").string()}).exit_code, 2);
}

TEST_F(RegistryCli, SessionsAreListedShownExportedAndDeleted) {
  RegistryClient client(registry_.client_options());
  ASSERT_TRUE(client.create_session("chat", 10).ok());
  SessionMessage q{"user", Value("What is 2+2?"), {}, 0};
  SessionMessage a{"assistant", Value("4"), TokenUsage{12, 1}, 0};
  ASSERT_TRUE(client.append_turn({"chat", 0, {q, a}, 0, false, "", ""}).ok());

  auto list = ctl({"sessions", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("chat  1 turn(s) of at most 10, tokens 12 in / 1 out"), std::string::npos) << list.out;

  auto show = ctl({"sessions", "show", "chat"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("user: What is 2+2?\nassistant: 4"), std::string::npos) << show.out;

  const auto exported = dir_.path() / "out/chat.json";
  auto ex = ctl({"sessions", "export", "chat", "--output", exported.string()});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  auto file = parse_json(read_text(exported));
  ASSERT_TRUE(file.ok());
  auto session = session_from(*file);
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(session->info.version, 1);
  EXPECT_EQ(session->messages().at(1).content, Value("4"));
  EXPECT_EQ(*parse_json(ctl({"sessions", "show", "chat", "--json"}).out), *file);

  EXPECT_EQ(ctl({"sessions", "delete", "chat"}).exit_code, 0);
  auto missing = ctl({"sessions", "show", "chat"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no session \"chat\""), std::string::npos);
  EXPECT_NE(ctl({"sessions", "list"}).out.find("no sessions"), std::string::npos);
}

TEST_F(RegistryCli, ASessionOverOneReplyIsExportedWhole) {
  RegistryClient client(registry_.client_options());
  // 10 turns of ~1 MB: more than the 8 MiB one reply may carry.
  for (int64_t i = 0; i < 10; ++i) {
    const SessionMessage m{"user", Value(std::to_string(i) + std::string(1'000'000, 'x')),
                           std::nullopt, 0};
    ASSERT_TRUE(client.append_turn({"long", i, {m}, 0, true, "", ""}).ok());
  }
  EXPECT_EQ(client.get_session("long").error().code, ErrorCode::kTooLarge);

  const auto exported = dir_.path() / "long.json";
  auto ex = ctl({"sessions", "export", "long", "--output", exported.string()});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  auto session = session_from(*parse_json(read_text(exported)));
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(session->info.version, 10);
  ASSERT_EQ(session->turns.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(session->turns[static_cast<size_t>(i)].index, i + 1);
    EXPECT_EQ(session->turns[static_cast<size_t>(i)].messages.at(0).content.as_string().substr(0, 1),
              std::to_string(i));
  }
}

TEST_F(RegistryCli, ExportToADashWritesStdoutAsShowJsonDoes) {
  RegistryClient client(registry_.client_options());
  SessionMessage q{"user", Value("What is 2+2?"), {}, 0};
  SessionMessage a{"assistant", Value("4"), TokenUsage{12, 1}, 0};
  ASSERT_TRUE(client.append_turn({"chat", 0, {q, a}, 3, true, "", ""}).ok());
  ASSERT_TRUE(client.append_turn({"chat", 1, {q, a}, 3, false, "", ""}).ok());
  auto whole = client.get_session("chat");
  ASSERT_TRUE(whole.ok());

  auto ex = ctl({"sessions", "export", "chat", "-o", "-"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(ex.out, to_json(to_value(*whole), JsonStyle::kPretty) + "\n");  // written in pages
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::current_path() / "-"));
  EXPECT_EQ(ctl({"sessions", "show", "chat", "--json"}).out, ex.out);
}

TEST_F(RegistryCli, NoRegistryOnTheStateDirectoryMeansExit69) {
  TempDir empty;
  SpawnOptions options;
  options.env = {tag_};
  auto r = run_command({binary("pipelinectl"), "--state-dir", empty.path().string(), "tools", "list"}, 60s, options);
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_NE(r.err.find("no registry runs on"), std::string::npos) << r.err;
  registry_.kill9();  // a stale socket file: nobody answers
  auto stale = ctl({"sessions", "list"});
  EXPECT_EQ(stale.exit_code, 69) << stale.err;
  registry_.start();
}

}  // namespace
}  // namespace pl::test
