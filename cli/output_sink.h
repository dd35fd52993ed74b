// Where a command's long output goes: stdout as it comes, or a file that replaces FILE only once
// complete (an AtomicFile), so that a reader sees the previous content or the new one, never a
// part; an interrupted command leaves no temporary file behind. "" and "-" mean stdout.
#pragma once

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/remove_on_signal.h"
#include "common/fs.h"

namespace pl::cli {

class OutputSink {
 public:
  static Result<OutputSink> open(const std::string& output) {
    if (output.empty() || output == "-") return OutputSink(std::nullopt);
    auto file = AtomicFile::create(output);
    if (!file.ok()) return std::move(file).error();
    return OutputSink(std::move(*file));
  }

  bool to_file() const { return file_.has_value(); }

  Status write(std::string_view text) {
    if (file_) return file_->write(text);
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!std::cout) return make_error(ErrorCode::kIo, "write stdout failed");
    return ok_status();
  }

  // Replaces the file (or flushes stdout). Without it, the file is left as it was.
  Status finish() {
    if (file_) return file_->commit();
    std::cout.flush();
    if (!std::cout) return make_error(ErrorCode::kIo, "write stdout failed");
    return ok_status();
  }

 private:
  explicit OutputSink(std::optional<AtomicFile> file) : file_(std::move(file)) {
    if (file_) interrupted_ = std::make_unique<RemoveOnSignal>(file_->temp_path());
  }

  // Declared first, so destroyed last: the handlers stay until the file's destructor has removed
  // an uncommitted temporary file.
  std::unique_ptr<RemoveOnSignal> interrupted_;
  std::optional<AtomicFile> file_;
};

}  // namespace pl::cli
