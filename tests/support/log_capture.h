// What is logged while a LogCapture lives, kept in place of the default logger's output: for
// tests of what a component says (and how often). Header-only test support.
#pragma once

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

namespace pl::test {

class LogCapture {
 public:
  explicit LogCapture(size_t keep = 64)
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(keep)),
        saved_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(saved_->level());
    spdlog::set_default_logger(std::move(logger));
  }
  ~LogCapture() { spdlog::set_default_logger(saved_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // The last `keep` lines, oldest first.
  std::vector<std::string> lines() const { return sink_->last_formatted(); }
  // How many of them contain `text`.
  size_t count(const std::string& text) const {
    size_t n = 0;
    for (const auto& line : lines()) n += line.find(text) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> saved_;
};

}  // namespace pl::test
