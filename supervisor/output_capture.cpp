#include "supervisor/output_capture.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

namespace pl::supervisor {

void LineSplitter::feed(std::string_view bytes, const Emit& emit) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const size_t take = nl == std::string_view::npos ? bytes.size() : nl;
    const size_t room = max_line_ - partial_.size();
    if (take >= room) {
      partial_.append(bytes.substr(0, room));
      emit(partial_);
      partial_.clear();
      bytes.remove_prefix(room);
      if (!bytes.empty() && bytes.front() == '\n' && take == room) bytes.remove_prefix(1);
      continue;
    }
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      return;
    }
    if (partial_.empty()) {
      emit(bytes.substr(0, nl));
    } else {
      partial_.append(bytes.substr(0, nl));
      emit(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush(const Emit& emit) {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

OutputStream::OutputStream(std::string child_name, UniqueFd fd)
    : name_(std::move(child_name)), fd_(std::move(fd)) {}

bool OutputStream::drain() {
  char buf[16384];
  auto emit = [this](std::string_view line) { log_line(line); };
  // Bounded, so that a child writing without pause cannot hold the loop: the rest is read on
  // the next turn.
  for (size_t taken = 0; taken < kMaxBytesPerDrain;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      lines_.feed(std::string_view(buf, static_cast<size_t>(n)), emit);
      taken += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    lines_.flush(emit);  // end-of-file or a broken pipe
    return false;
  }
  return true;
}

void OutputStream::log_line(std::string_view line) const {
  // Our own programs log "<level> <message>" under a supervisor (common/log.h): keep the level.
  struct Prefix {
    std::string_view word;
    spdlog::level::level_enum level;
  };
  static constexpr Prefix kPrefixes[] = {
      {"trace ", spdlog::level::trace}, {"debug ", spdlog::level::debug},
      {"info ", spdlog::level::info},   {"warning ", spdlog::level::warn},
      {"error ", spdlog::level::err},   {"critical ", spdlog::level::critical}};
  spdlog::level::level_enum level = spdlog::level::info;
  for (const auto& p : kPrefixes) {
    if (line.substr(0, p.word.size()) == p.word) {
      level = p.level;
      line.remove_prefix(p.word.size());
      break;
    }
  }
  spdlog::log(level, "[{}] {}", name_, line);
}

}  // namespace pl::supervisor
