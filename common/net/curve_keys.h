// CURVE keys (ZeroMQ's CurveZMQ: Curve25519 keys, 32 bytes, written as 40 characters of Z85),
// the files they live in, and the allow-list of client public keys a server accepts
// (DESIGN.md §8; docs/multi-host.md documents the formats).
//
// Key files are text. Blank lines and comments are ignored; a comment is a line whose first
// non-blank character is '#' (a Z85 character, but never the first one of a valid key). A key
// line is the key's 40 Z85 characters, optionally followed by blanks and a "# comment" (for an
// allow-list entry, the comment is the key's label in logs).
//
//   NAME.key  the secret key, exactly one key line; mode 0600 (loading refuses a file that its
//             group or others may read: anyone holding it can act as NAME).
//   NAME.pub  the public key, exactly one key line; not secret.
//   allow-list: a file of any number of key lines (`cat node-b.pub >> allowed` works), or a
//             directory whose *.pub files are read (each labelled by its file name when its key
//             line has no comment); other files and hidden files are ignored.
//
// Everything here is pure apart from the load/write functions, which read and write files.
// Errors are kInvalidInput naming file:line:column (or file and what is wrong), kNotFound for a
// missing file, kIo when the system refuses.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pl::net {

inline constexpr size_t kCurveKeyBytes = 32;
inline constexpr size_t kCurveKeyZ85Chars = 40;

// A Curve25519 key: 32 bytes. Whether it is a public or a secret key is the holder's business.
struct CurveKey {
  std::array<uint8_t, kCurveKeyBytes> bytes{};

  // The key as 40 Z85 characters.
  std::string z85() const;
  // The 32 bytes as a string (what zmq_setsockopt takes).
  std::string raw() const { return std::string(bytes.begin(), bytes.end()); }
  friend auto operator<=>(const CurveKey&, const CurveKey&) = default;
};

// Decodes 40 Z85 characters. kInvalidInput saying what is wrong (length, a character outside
// Z85 and where, a group over 2^32 - 1).
Result<CurveKey> parse_z85_key(std::string_view text);
// A key from 32 raw bytes (a ZAP request's credential). kInvalidInput on another length.
Result<CurveKey> curve_key_from_raw(std::string_view bytes);

struct CurveKeyPair {
  CurveKey public_key;
  CurveKey secret_key;
};

// A fresh key pair from libsodium's random source (zmq_curve_keypair). kInternal when libzmq
// was built without CURVE.
Result<CurveKeyPair> generate_curve_keypair();
// The public key that belongs to a secret key (zmq_curve_public).
Result<CurveKey> curve_public_key(const CurveKey& secret);

// One key line of text with its label (the trailing comment, "" without one).
struct KeyLine {
  CurveKey key;
  std::string label;
  int line = 0;
};

// Every key line in `text`, which `source` names in errors ("source:line:column: ..."). At most
// `max_keys` key lines; more is an error.
Result<std::vector<KeyLine>> parse_key_lines(std::string_view text, const std::string& source,
                                             size_t max_keys = 100000);

// A file holding exactly one key line (a .key or .pub file). `source` names it in errors.
Result<CurveKey> parse_single_key(std::string_view text, const std::string& source);

// Reads a secret key file. Besides parse errors: kInvalidInput when the file is readable by its
// group or by others ("chmod 600 FILE"), or is not a regular file.
Result<CurveKeyPair> load_secret_key_file(const std::filesystem::path& path);
// Reads a public key file.
Result<CurveKey> load_public_key_file(const std::filesystem::path& path);

// What `pipelinectl keys generate` writes: the two files' contents for a key pair named `name`
// made at `made_at` (free text, e.g. an ISO 8601 time).
std::string secret_key_file_text(const CurveKeyPair& pair, std::string_view name,
                                 std::string_view made_at);
std::string public_key_file_text(const CurveKey& public_key, std::string_view name,
                                 std::string_view made_at);

// Whether `name` may name a key pair: 1 to 64 of [A-Za-z0-9_.-], not starting with '.'.
bool valid_key_name(std::string_view name);

// Writes DIR/NAME.key (mode 0600) and DIR/NAME.pub (mode 0644), each atomically, creating DIR
// (mode 0700) when missing. kConflict when either file exists and !overwrite. Returns the pair.
Result<CurveKeyPair> write_keypair_files(const std::filesystem::path& dir, std::string_view name,
                                         bool overwrite, std::string_view made_at);

// The client public keys a server accepts, each with a label for logs.
class AllowList {
 public:
  AllowList() = default;

  // From text (see the header comment); `source` names it in errors; `default_label` labels keys
  // whose line has no comment.
  static Result<AllowList> parse(std::string_view text, const std::string& source,
                                 std::string_view default_label = {});
  // From a file, or from the *.pub files of a directory. kNotFound when `path` does not exist.
  static Result<AllowList> load(const std::filesystem::path& path);

  // The label of `key` ("" when it has none), or nullopt when the key is not allowed.
  std::optional<std::string> find(const CurveKey& key) const;
  bool allows(const CurveKey& key) const { return find(key).has_value(); }
  size_t size() const { return keys_.size(); }

 private:
  std::map<CurveKey, std::string> keys_;
};

// A fingerprint of the allow-list's files as they are now (inode, size and modification time of
// the file, or of the directory and every *.pub in it), to notice changes cheaply; "" when
// `path` cannot be read.
std::string allow_list_stamp(const std::filesystem::path& path);

}  // namespace pl::net
