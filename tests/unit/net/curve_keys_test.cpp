#include "common/net/curve_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "tests/support/harness.h"

namespace pl::net {
namespace {

namespace fs = std::filesystem;

// RFC 32's test vector, four times: 86 4F D2 6F B5 59 F7 5B is "HelloWorld".
constexpr const char* kHelloWorld4 = "HelloWorldHelloWorldHelloWorldHelloWorld";

CurveKey hello_world_key() {
  CurveKey key;
  const uint8_t bytes[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
  for (size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = bytes[i % 8];
  return key;
}

CurveKey fresh_public() {
  auto pair = generate_curve_keypair();
  EXPECT_TRUE(pair.ok());
  return pair->public_key;
}

int mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return static_cast<int>(st.st_mode & 0777);
}

TEST(CurveKey, EncodesTheRfcTestVector) { EXPECT_EQ(hello_world_key().z85(), kHelloWorld4); }

TEST(CurveKey, DecodesTheRfcTestVector) {
  auto key = parse_z85_key(kHelloWorld4);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(*key, hello_world_key());
}

TEST(CurveKey, RoundTripsAGeneratedKeyThroughZ85) {
  const CurveKey key = fresh_public();
  auto again = parse_z85_key(key.z85());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, key);
}

TEST(CurveKey, AKeyOfTheWrongLengthIsRefused) {
  auto key = parse_z85_key("HelloWorld");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(key.error().message.find("40 Z85 characters, this one has 10"), std::string::npos)
      << key.error().message;
  EXPECT_FALSE(parse_z85_key(std::string(41, '0')).ok());
  EXPECT_FALSE(parse_z85_key("").ok());
}

TEST(CurveKey, ACharacterOutsideZ85IsRefusedWithItsPosition) {
  std::string text = kHelloWorld4;
  text[12] = '~';
  auto key = parse_z85_key(text);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("character 13"), std::string::npos) << key.error().message;
  text[12] = '"';
  EXPECT_FALSE(parse_z85_key(text).ok());
  text[12] = ' ';
  EXPECT_FALSE(parse_z85_key(text).ok());
}

TEST(CurveKey, AGroupOverTwoToTheThirtySecondIsRefused) {
  // "#####" is 85^5 - 1, far above 2^32 - 1.
  auto key = parse_z85_key(std::string("#####") + std::string(kHelloWorld4).substr(5));
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("characters 1-5"), std::string::npos) << key.error().message;
}

TEST(CurveKey, RawBytesOfTheWrongLengthAreRefused) {
  EXPECT_FALSE(curve_key_from_raw(std::string(31, 'x')).ok());
  EXPECT_FALSE(curve_key_from_raw(std::string(33, 'x')).ok());
  auto key = curve_key_from_raw(hello_world_key().raw());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, hello_world_key());
}

TEST(CurveKeyPair, ThePublicKeyIsDerivedFromTheSecretKey) {
  auto pair = generate_curve_keypair();
  ASSERT_TRUE(pair.ok());
  auto derived = curve_public_key(pair->secret_key);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, pair->public_key);
  EXPECT_NE(pair->public_key, pair->secret_key);
}

TEST(KeyLines, SkipsBlankLinesAndCommentsAndLabelsKeysByTheirTrailingComment) {
  const std::string text = std::string("# allowed workers\n\n   \n#\n\t# indented comment\n") +
                           kHelloWorld4 + "   # node-b  \n" + fresh_public().z85() + "\r\n";
  auto lines = parse_key_lines(text, "allowed");
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].key, hello_world_key());
  EXPECT_EQ((*lines)[0].label, "node-b");
  EXPECT_EQ((*lines)[0].line, 6);
  EXPECT_EQ((*lines)[1].label, "");
}

TEST(KeyLines, AnyLineStartingWithAHashIsACommentSinceNoKeyStartsWithOne) {
  auto lines = parse_key_lines("#no-blank-needed\n  #indented\n", "allowed");
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  EXPECT_TRUE(lines->empty());
  // '#' is the largest Z85 digit: as the first of a group it overflows 32 bits.
  EXPECT_FALSE(parse_z85_key("#" + std::string(39, '0')).ok());
}

TEST(KeyLines, TextAfterAKeyMustBeAComment) {
  auto lines = parse_key_lines(std::string("\n") + kHelloWorld4 + " node-b\n", "allowed");
  ASSERT_FALSE(lines.ok());
  EXPECT_NE(lines.error().message.find("allowed:2:42:"), std::string::npos)
      << lines.error().message;
}

TEST(KeyLines, ABadKeyIsReportedAtItsLineAndColumn) {
  auto lines = parse_key_lines("# ok\n   tooshort\n", "keys.txt");
  ASSERT_FALSE(lines.ok());
  EXPECT_NE(lines.error().message.find("keys.txt:2:4:"), std::string::npos)
      << lines.error().message;
  // A character that is not Z85 is pointed at itself.
  std::string key = std::string(kHelloWorld4);
  key[3] = ',';
  auto bad = parse_key_lines("  " + key + "\n", "keys.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("keys.txt:1:6: character 4 of the key", 0), 0u)
      << bad.error().message;
}

TEST(KeyLines, MoreKeysThanTheLimitIsAnError) {
  std::string text;
  for (int i = 0; i < 3; ++i) text += fresh_public().z85() + "\n";
  EXPECT_FALSE(parse_key_lines(text, "f", 2).ok());
  EXPECT_TRUE(parse_key_lines(text, "f", 3).ok());
}

TEST(SingleKey, AFileWithNoKeyOrTwoKeysIsRefused) {
  EXPECT_FALSE(parse_single_key("# nothing here\n", "a.pub").ok());
  auto two = parse_single_key(fresh_public().z85() + "\n" + fresh_public().z85() + "\n", "a.pub");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("a.pub:2:1: a second key"), std::string::npos)
      << two.error().message;
}

TEST(KeyFiles, GenerateWritesASecretFileOnlyItsOwnerCanReadAndAPublicFile) {
  test::TempDir dir;
  auto pair = write_keypair_files(dir.path() / "keys", "node-b", false, "2025-01-01T00:00:00Z");
  ASSERT_TRUE(pair.ok()) << pair.error().message;
  EXPECT_EQ(mode_of(dir.path() / "keys"), 0700);
  EXPECT_EQ(mode_of(dir.path() / "keys" / "node-b.key"), 0600);
  auto secret = load_secret_key_file(dir.path() / "keys" / "node-b.key");
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ(secret->secret_key, pair->secret_key);
  EXPECT_EQ(secret->public_key, pair->public_key);
  auto public_key = load_public_key_file(dir.path() / "keys" / "node-b.pub");
  ASSERT_TRUE(public_key.ok()) << public_key.error().message;
  EXPECT_EQ(*public_key, pair->public_key);
  // A .pub file is a valid allow-list, labelled with the key's name.
  auto list = AllowList::load(dir.path() / "keys" / "node-b.pub");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->find(pair->public_key), "node-b");
}

TEST(KeyFiles, GenerateRefusesToOverwriteWithoutForce) {
  test::TempDir dir;
  auto first = write_keypair_files(dir.path(), "a", false, "t");
  ASSERT_TRUE(first.ok());
  auto again = write_keypair_files(dir.path(), "a", false, "t");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto unchanged = load_secret_key_file(dir.path() / "a.key");
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->secret_key, first->secret_key);
  auto forced = write_keypair_files(dir.path(), "a", true, "t");
  ASSERT_TRUE(forced.ok());
  EXPECT_NE(forced->secret_key, first->secret_key);
}

TEST(KeyFiles, GenerateRefusesABadName) {
  test::TempDir dir;
  for (const char* name : {"", ".hidden", "a/b", "a b", "../x"}) {
    auto pair = write_keypair_files(dir.path(), name, false, "t");
    ASSERT_FALSE(pair.ok()) << name;
    EXPECT_EQ(pair.error().code, ErrorCode::kInvalidInput);
  }
}

TEST(KeyFiles, ASecretKeyReadableByOthersIsRefused) {
  test::TempDir dir;
  ASSERT_TRUE(write_keypair_files(dir.path(), "a", false, "t").ok());
  const fs::path path = dir.path() / "a.key";
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto loaded = load_secret_key_file(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("chmod 600"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("0640"), std::string::npos);
}

TEST(KeyFiles, APublicKeyFileIsRefusedAsASecretKeyAndTheOtherWayRound) {
  test::TempDir dir;
  ASSERT_TRUE(write_keypair_files(dir.path(), "a", false, "t").ok());
  // Private, so that the refusal is for what the file holds, not for its mode.
  const fs::path public_copy = dir.path() / "copy-of-a.pub";
  fs::copy_file(dir.path() / "a.pub", public_copy);
  ASSERT_EQ(::chmod(public_copy.c_str(), 0600), 0);
  auto as_secret = load_secret_key_file(public_copy);
  ASSERT_FALSE(as_secret.ok());
  EXPECT_EQ(as_secret.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(
      as_secret.error().message.find(public_copy.string() + ":1:1: this is a public key file"),
      std::string::npos)
      << as_secret.error().message;

  auto as_public = load_public_key_file(dir.path() / "a.key");
  ASSERT_FALSE(as_public.ok());
  EXPECT_NE(as_public.error().message.find("a.key:1:1: this is a secret key file"),
            std::string::npos)
      << as_public.error().message;
  // Nor can a secret key join an allow-list, as a file or as a .pub file in a directory.
  EXPECT_FALSE(AllowList::load(dir.path() / "a.key").ok());
  fs::copy_file(dir.path() / "a.key", dir.path() / "b.pub");
  auto list = AllowList::load(dir.path());
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find("b.pub:1:1: this is a secret key file"), std::string::npos)
      << list.error().message;
}

TEST(KeyFiles, AMissingKeyFileIsNotFound) {
  test::TempDir dir;
  EXPECT_EQ(load_secret_key_file(dir.path() / "none.key").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(load_public_key_file(dir.path() / "none.pub").error().code, ErrorCode::kNotFound);
}

TEST(AllowList, AllowsListedKeysOnly) {
  const CurveKey listed = fresh_public();
  auto list = AllowList::parse(listed.z85() + " # w1\n", "allowed");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->allows(listed));
  EXPECT_EQ(list->find(listed), "w1");
  EXPECT_FALSE(list->allows(fresh_public()));
  EXPECT_EQ(list->size(), 1u);
}

TEST(AllowList, AnEmptyListAllowsNobody) {
  auto list = AllowList::parse("# nobody yet\n", "allowed");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 0u);
  EXPECT_FALSE(list->allows(fresh_public()));
}

TEST(AllowList, ADirectoryContributesItsPubFilesLabelledByName) {
  test::TempDir dir;
  const CurveKey b = fresh_public();
  const CurveKey c = fresh_public();
  const CurveKey ignored = fresh_public();
  ASSERT_TRUE(write_file_atomic(dir.path() / "node-b.pub", b.z85() + "\n").ok());
  ASSERT_TRUE(write_file_atomic(dir.path() / "node-c.pub", c.z85() + " # C\n").ok());
  ASSERT_TRUE(write_file_atomic(dir.path() / ".hidden.pub", ignored.z85() + "\n").ok());
  ASSERT_TRUE(write_file_atomic(dir.path() / "notes.txt", ignored.z85() + "\n").ok());
  auto list = AllowList::load(dir.path());
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(list->find(b), "node-b");
  EXPECT_EQ(list->find(c), "C");
  EXPECT_FALSE(list->allows(ignored));
}

TEST(AllowList, ABadFileInADirectoryIsReportedByName) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.path() / "good.pub", fresh_public().z85() + "\n").ok());
  ASSERT_TRUE(write_file_atomic(dir.path() / "bad.pub", "# x\nnot-a-key\n").ok());
  auto list = AllowList::load(dir.path());
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find((dir.path() / "bad.pub").string() + ":2:1:"),
            std::string::npos)
      << list.error().message;
}

TEST(AllowList, AMissingPathIsNotFound) {
  test::TempDir dir;
  EXPECT_EQ(AllowList::load(dir.path() / "nope").error().code, ErrorCode::kNotFound);
}

TEST(AllowList, TheStampChangesWhenTheFileIsReplaced) {
  test::TempDir dir;
  const fs::path file = dir.path() / "allowed";
  ASSERT_TRUE(write_file_atomic(file, fresh_public().z85() + "\n").ok());
  const std::string before = allow_list_stamp(file);
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(allow_list_stamp(file), before);
  ASSERT_TRUE(write_file_atomic(file, fresh_public().z85() + "\n").ok());
  EXPECT_NE(allow_list_stamp(file), before);
  EXPECT_EQ(allow_list_stamp(dir.path() / "missing"), "");
}

TEST(AllowList, TheStampOfADirectoryChangesWhenAPubFileIsAdded) {
  test::TempDir dir;
  const std::string before = allow_list_stamp(dir.path());
  ASSERT_TRUE(write_file_atomic(dir.path() / "x.pub", fresh_public().z85() + "\n").ok());
  EXPECT_NE(allow_list_stamp(dir.path()), before);
}

}  // namespace
}  // namespace pl::net
