#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

namespace pl {

void init_logging(std::string_view process_name, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt(std::string(process_name));
  const bool collected = std::getenv("PIPELINE_CHILD_NAME") || std::getenv("JOURNAL_STREAM");
  logger->set_pattern(collected ? "%l %v" : "%Y-%m-%d %H:%M:%S.%e %n %l %v");
  const char* env_level = std::getenv("PIPELINE_LOG_LEVEL");
  logger->set_level(spdlog::level::from_str(env_level ? env_level : std::string(level)));
  // Every line goes out at once: a crash must not take buffered lines with it.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace pl
