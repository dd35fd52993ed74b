// pipelinectl keys: the files it writes, and that it never replaces a key by accident.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/net/curve_keys.h"
#include "tests/support/harness.h"

namespace pl::test {
namespace {

CommandResult pipelinectl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{binary("pipelinectl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 60s);
}

TEST(KeysCommand, GenerateWritesAPrivateSecretKeyAndPrintsThePublicKey) {
  TempDir dir;
  auto r =
      pipelinectl({"keys", "generate", "--out", (dir.path() / "k").string(), "--name", "node-b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "k" / "node-b.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto pub = net::load_public_key_file(dir.path() / "k" / "node-b.pub");
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_EQ(r.out, pub->z85() + "\n");
  auto shown = pipelinectl({"keys", "public", (dir.path() / "k" / "node-b.key").string()});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, r.out);
}

TEST(KeysCommand, GenerateRefusesToReplaceAKeyWithoutForce) {
  TempDir dir;
  const std::string out = dir.path().string();
  ASSERT_EQ(pipelinectl({"keys", "generate", "--out", out, "--name", "a"}).exit_code, 0);
  const std::string before = read_text(dir.path() / "a.key");
  auto again = pipelinectl({"keys", "generate", "--out", out, "--name", "a"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("exists; use --force"), std::string::npos) << again.err;
  EXPECT_EQ(read_text(dir.path() / "a.key"), before);
  EXPECT_EQ(pipelinectl({"keys", "generate", "--out", out, "--name", "a", "--force"}).exit_code, 0);
  EXPECT_NE(read_text(dir.path() / "a.key"), before);
}

TEST(KeysCommand, BadNamesAndBadKeyFilesAreUsageErrors) {
  TempDir dir;
  EXPECT_EQ(
      pipelinectl({"keys", "generate", "--out", dir.path().string(), "--name", "../x"}).exit_code,
      2);
  auto empty = pipelinectl({"keys", "generate", "--out", dir.path().string(), "--name", ""});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("--name is empty"), std::string::npos) << empty.err;
  ASSERT_EQ(
      pipelinectl({"keys", "generate", "--out", dir.path().string(), "--name", "a"}).exit_code, 0);
  ASSERT_EQ(::chmod((dir.path() / "a.key").c_str(), 0644), 0);
  auto open = pipelinectl({"keys", "public", (dir.path() / "a.key").string()});
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_NE(open.err.find("chmod 600"), std::string::npos) << open.err;
}

}  // namespace
}  // namespace pl::test
