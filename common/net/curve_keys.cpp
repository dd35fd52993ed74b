#include "common/net/curve_keys.h"

#include <sys/stat.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "common/fs.h"

namespace pl::net {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr size_t kMaxAllowListFiles = 10000;

int z85_value(char c) {
  const size_t at = kZ85Alphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string where(const std::string& source, int line, size_t column) {
  return source + ":" + std::to_string(line) + ":" + std::to_string(column);
}

constexpr std::string_view kSecretHeader = "# Pipeline CURVE secret key";
constexpr std::string_view kPublicHeader = "# Pipeline CURVE public key";

// The files `keys generate` writes say what they hold on their first line. A public key given
// where a secret one belongs parses as a key all the same (any 40 Z85 characters do), and the
// other way round would put a secret into an allow-list: both are refused by that line.
enum class KeyKind { kSecret, kPublic };

Status check_key_kind(std::string_view text, const std::string& source, KeyKind wanted) {
  const bool want_secret = wanted == KeyKind::kSecret;
  const std::string_view first_line = text.substr(0, text.find('\n'));
  const std::string_view other = want_secret ? kPublicHeader : kSecretHeader;
  if (first_line.substr(0, other.size()) != other) return ok_status();
  return make_error(
      ErrorCode::kInvalidInput,
      where(source, 1, 1) + (want_secret
                                 ? ": this is a public key file; a secret key is the NAME.key "
                                   "file that `pipelinectl keys generate` writes beside it"
                                 : ": this is a secret key file; give the public key (NAME.pub) "
                                   "here and keep the secret one on its own host"));
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::string CurveKey::z85() const {
  std::string out;
  out.reserve(kCurveKeyZ85Chars);
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t value = (uint32_t{bytes[i]} << 24) | (uint32_t{bytes[i + 1]} << 16) |
                     (uint32_t{bytes[i + 2]} << 8) | uint32_t{bytes[i + 3]};
    char group[5];
    for (int j = 4; j >= 0; --j) {
      group[j] = kZ85Alphabet[value % 85];
      value /= 85;
    }
    out.append(group, 5);
  }
  return out;
}

Result<CurveKey> parse_z85_key(std::string_view text) {
  if (text.size() != kCurveKeyZ85Chars) {
    return make_error(ErrorCode::kInvalidInput,
                      "a CURVE key is " + std::to_string(kCurveKeyZ85Chars) +
                          " Z85 characters, this one has " + std::to_string(text.size()));
  }
  CurveKey key;
  for (size_t group = 0; group < kCurveKeyZ85Chars / 5; ++group) {
    uint64_t value = 0;
    for (size_t j = 0; j < 5; ++j) {
      const size_t at = group * 5 + j;
      const int digit = z85_value(text[at]);
      if (digit < 0) {
        return make_error(ErrorCode::kInvalidInput, "character " + std::to_string(at + 1) +
                                                        " of the key is not a Z85 character");
      }
      value = value * 85 + static_cast<uint64_t>(digit);
    }
    if (value > 0xFFFFFFFFu) {
      return make_error(ErrorCode::kInvalidInput, "characters " + std::to_string(group * 5 + 1) +
                                                      "-" + std::to_string(group * 5 + 5) +
                                                      " of the key are not valid Z85");
    }
    for (size_t j = 0; j < 4; ++j) {
      key.bytes[group * 4 + j] = static_cast<uint8_t>(value >> (8 * (3 - j)));
    }
  }
  return key;
}

Result<CurveKey> curve_key_from_raw(std::string_view bytes) {
  if (bytes.size() != kCurveKeyBytes) {
    return make_error(ErrorCode::kInvalidInput,
                      "a CURVE key is 32 bytes, got " + std::to_string(bytes.size()));
  }
  CurveKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes.begin());
  return key;
}

Result<CurveKeyPair> generate_curve_keypair() {
  char public_text[kCurveKeyZ85Chars + 1] = {};
  char secret_text[kCurveKeyZ85Chars + 1] = {};
  if (zmq_curve_keypair(public_text, secret_text) != 0) {
    return make_error(ErrorCode::kInternal, std::string("zmq_curve_keypair: ") +
                                                zmq_strerror(zmq_errno()) +
                                                " (is libzmq built with CURVE?)");
  }
  auto public_key = parse_z85_key(public_text);
  auto secret_key = parse_z85_key(secret_text);
  if (!public_key.ok() || !secret_key.ok()) {
    return make_error(ErrorCode::kInternal, "zmq_curve_keypair returned an unreadable key");
  }
  return CurveKeyPair{*public_key, *secret_key};
}

Result<CurveKey> curve_public_key(const CurveKey& secret) {
  const std::string secret_text = secret.z85();
  char public_text[kCurveKeyZ85Chars + 1] = {};
  if (zmq_curve_public(public_text, secret_text.c_str()) != 0) {
    return make_error(ErrorCode::kInternal,
                      std::string("zmq_curve_public: ") + zmq_strerror(zmq_errno()));
  }
  return parse_z85_key(public_text);
}

Result<std::vector<KeyLine>> parse_key_lines(std::string_view text, const std::string& source,
                                             size_t max_keys) {
  std::vector<KeyLine> keys;
  int line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_number;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;

    size_t start = 0;
    while (start < line.size() && is_blank(line[start])) ++start;
    if (start == line.size()) continue;
    // A comment. No key starts with '#': as a group's first digit it is 84 x 85^4 > 2^32.
    if (line[start] == '#') continue;

    size_t token_end = start;
    while (token_end < line.size() && !is_blank(line[token_end])) ++token_end;
    const std::string_view token = line.substr(start, token_end - start);
    auto key = parse_z85_key(token);
    if (!key.ok()) {
      // Point at the first character that is not Z85 when there is one, else at the key.
      size_t column = start + 1;
      for (size_t i = 0; i < token.size(); ++i) {
        if (z85_value(token[i]) < 0) {
          column = start + i + 1;
          break;
        }
      }
      return make_error(ErrorCode::kInvalidInput,
                        where(source, line_number, column) + ": " + key.error().message);
    }
    size_t rest = token_end;
    while (rest < line.size() && is_blank(line[rest])) ++rest;
    std::string label;
    if (rest < line.size()) {
      if (line[rest] != '#') {
        return make_error(
            ErrorCode::kInvalidInput,
            where(source, line_number, rest + 1) +
                ": expected a comment (\"# ...\") or the end of the line after the key");
      }
      size_t label_start = rest + 1;
      while (label_start < line.size() && is_blank(line[label_start])) ++label_start;
      size_t label_end = line.size();
      while (label_end > label_start && is_blank(line[label_end - 1])) --label_end;
      label = std::string(line.substr(label_start, label_end - label_start));
    }
    if (keys.size() >= max_keys) {
      return make_error(ErrorCode::kInvalidInput, where(source, line_number, start + 1) +
                                                      ": more than " + std::to_string(max_keys) +
                                                      " keys");
    }
    keys.push_back(KeyLine{*key, std::move(label), line_number});
  }
  return keys;
}

Result<CurveKey> parse_single_key(std::string_view text, const std::string& source) {
  auto lines = parse_key_lines(text, source, 16);
  if (!lines.ok()) return std::move(lines).error();
  if (lines->empty()) return make_error(ErrorCode::kInvalidInput, source + ": holds no key");
  if (lines->size() > 1) {
    return make_error(ErrorCode::kInvalidInput,
                      source + ":" + std::to_string((*lines)[1].line) +
                          ":1: a second key; this file holds exactly one");
  }
  return lines->front().key;
}

Result<CurveKeyPair> load_secret_key_file(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) return make_error(ErrorCode::kNotFound, path.string() + ": no such file");
    return errno_error("stat " + path.string(), err);
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorCode::kInvalidInput, path.string() + ": not a regular file");
  }
  auto text = read_file(path, kMaxKeyFileBytes);
  if (!text.ok()) return std::move(text).error();
  if (auto kind = check_key_kind(*text, path.string(), KeyKind::kSecret); !kind.ok())
    return kind.error();
  if ((st.st_mode & 077) != 0) {
    return make_error(ErrorCode::kInvalidInput,
                      path.string() + ": a secret key must not be readable by others (mode " +
                          mode_text(st.st_mode) + "); chmod 600 " + path.string());
  }
  auto secret = parse_single_key(*text, path.string());
  if (!secret.ok()) return std::move(secret).error();
  auto public_key = curve_public_key(*secret);
  if (!public_key.ok()) return std::move(public_key).error();
  return CurveKeyPair{*public_key, *secret};
}

Result<CurveKey> load_public_key_file(const fs::path& path) {
  auto text = read_file(path, kMaxKeyFileBytes);
  if (!text.ok()) return std::move(text).error();
  if (auto kind = check_key_kind(*text, path.string(), KeyKind::kPublic); !kind.ok())
    return kind.error();
  return parse_single_key(*text, path.string());
}

std::string secret_key_file_text(const CurveKeyPair& pair, std::string_view name,
                                 std::string_view made_at) {
  std::string text = "# Pipeline CURVE secret key \"" + std::string(name) + "\", made " +
                     std::string(made_at) + ".\n";
  text += "# Keep it private (mode 0600): whoever holds it can act as " + std::string(name) + ".\n";
  text += "# Its public key (" + std::string(name) + ".pub): " + pair.public_key.z85() + "\n";
  text += pair.secret_key.z85() + "\n";
  return text;
}

std::string public_key_file_text(const CurveKey& public_key, std::string_view name,
                                 std::string_view made_at) {
  return "# Pipeline CURVE public key \"" + std::string(name) + "\", made " + std::string(made_at) +
         ".\n" + public_key.z85() + "  # " + std::string(name) + "\n";
}

bool valid_key_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

Result<CurveKeyPair> write_keypair_files(const fs::path& dir, std::string_view name, bool overwrite,
                                         std::string_view made_at) {
  if (!valid_key_name(name)) {
    return make_error(ErrorCode::kInvalidInput,
                      "a key name is 1 to 64 of A-Z a-z 0-9 _ . - and does not start with '.': \"" +
                          std::string(name) + "\"");
  }
  const fs::path secret_path = dir / (std::string(name) + ".key");
  const fs::path public_path = dir / (std::string(name) + ".pub");
  if (!overwrite) {
    for (const auto& path : {secret_path, public_path}) {
      std::error_code ec;
      if (fs::exists(fs::symlink_status(path, ec))) {
        return make_error(ErrorCode::kConflict,
                          path.string() + " exists; use --force to replace it");
      }
    }
  }
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      return make_error(ErrorCode::kIo, "create directory " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  auto pair = generate_curve_keypair();
  if (!pair.ok()) return pair;
  if (auto st = write_file_atomic(secret_path, secret_key_file_text(*pair, name, made_at), 0600);
      !st.ok()) {
    return std::move(st).error();
  }
  // The mode of a file created under a strict umask can be stricter; never looser than 0600.
  ::chmod(secret_path.c_str(), 0600);
  if (auto st = write_file_atomic(public_path,
                                  public_key_file_text(pair->public_key, name, made_at), 0644);
      !st.ok()) {
    return std::move(st).error();
  }
  return pair;
}

Result<AllowList> AllowList::parse(std::string_view text, const std::string& source,
                                   std::string_view default_label) {
  if (auto kind = check_key_kind(text, source, KeyKind::kPublic); !kind.ok()) return kind.error();
  auto lines = parse_key_lines(text, source);
  if (!lines.ok()) return std::move(lines).error();
  AllowList list;
  for (auto& line : *lines) {
    std::string label = line.label.empty() ? std::string(default_label) : std::move(line.label);
    list.keys_.emplace(line.key, std::move(label));  // a repeated key keeps its first label
  }
  return list;
}

Result<AllowList> AllowList::load(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    return make_error(ErrorCode::kNotFound, path.string() + ": no such file or directory");
  }
  if (!fs::is_directory(status)) {
    auto text = read_file(path, kMaxKeyFileBytes * 16);
    if (!text.ok()) return std::move(text).error();
    return parse(*text, path.string());
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& file = it->path();
    const std::string name = file.filename().string();
    if (name.empty() || name[0] == '.' || file.extension() != ".pub") continue;
    if (files.size() >= kMaxAllowListFiles) {
      return make_error(
          ErrorCode::kInvalidInput,
          path.string() + ": more than " + std::to_string(kMaxAllowListFiles) + " .pub files");
    }
    files.push_back(file);
  }
  if (ec)
    return make_error(ErrorCode::kIo, "read directory " + path.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  AllowList list;
  for (const auto& file : files) {
    auto text = read_file(file, kMaxKeyFileBytes);
    if (!text.ok()) return std::move(text).error();
    auto part = parse(*text, file.string(), file.stem().string());
    if (!part.ok()) return std::move(part).error();
    for (auto& [key, label] : part->keys_) list.keys_.emplace(key, std::move(label));
  }
  return list;
}

std::optional<std::string> AllowList::find(const CurveKey& key) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

std::string allow_list_stamp(const fs::path& path) {
  auto stamp_of = [](const fs::path& p, std::string& out) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return false;
    out += p.filename().string() + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ";";
    return true;
  };
  std::string stamp;
  if (!stamp_of(path, stamp)) return "";
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return stamp;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".pub") files.push_back(it->path());
    if (files.size() > kMaxAllowListFiles) break;
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) stamp_of(file, stamp);
  return stamp;
}

}  // namespace pl::net
