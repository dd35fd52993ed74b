// A child's stdout and stderr, read from their pipes and logged line by line, tagged with the
// child's name: "[workers.2] listening". A stream lives until its pipe reaches end-of-file,
// which may be after the child has exited (what it wrote before dying is still in the pipe:
// nothing is lost), and a last line without a newline is logged at end-of-file.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "supervisor/unique_fd.h"

namespace pl::supervisor {

// Splits bytes into lines. Lines longer than `max_line` are cut into pieces of that size, so a
// child writing without newlines cannot make us buffer without bound. Pure.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = 16 * 1024) : max_line_(max_line) {}
  using Emit = std::function<void(std::string_view line)>;
  void feed(std::string_view bytes, const Emit& emit);
  // Emits what is left (a last line without '\n').
  void flush(const Emit& emit);

 private:
  size_t max_line_;
  std::string partial_;
};

class OutputStream {
 public:
  // Lines are logged at info, or at the level a line starts with ("warning ...").
  OutputStream(std::string child_name, UniqueFd fd);
  int fd() const { return fd_.get(); }
  const std::string& child_name() const { return name_; }

  // Reads and logs what is waiting, up to kMaxBytesPerDrain. Returns false once the pipe is at
  // end-of-file (or broken): the stream is then done.
  bool drain();
  static constexpr size_t kMaxBytesPerDrain = 1 << 20;

 private:
  void log_line(std::string_view line) const;
  std::string name_;
  UniqueFd fd_;
  LineSplitter lines_;
};

}  // namespace pl::supervisor
