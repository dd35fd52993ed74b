#include "broker/consolidation.h"

namespace pl::broker {

Consolidation::Consolidation(std::filesystem::path file, size_t max_bytes)
    : path_(std::move(file)), max_bytes_(max_bytes) {}

void Consolidation::add(size_t index, std::string section) {
  if (index != next_) {
    waiting_.emplace(index, std::move(section));
    return;
  }
  append(section);
  ++next_;
  for (auto it = waiting_.begin(); it != waiting_.end() && it->first == next_;
       it = waiting_.erase(it)) {
    append(it->second);
    ++next_;
  }
}

void Consolidation::append(std::string_view section) {
  if (section.empty() || !status_.ok()) return;
  bytes_ += section.size();
  if (!file_) {
    if (text_.size() + section.size() <= max_bytes_) {
      text_ += section;
      return;
    }
    auto file = AtomicFile::create(path_);
    if (!file.ok()) {
      status_ = std::move(file).error();
      return;
    }
    file_.emplace(std::move(*file));
    status_ = file_->write(text_);
    std::string().swap(text_);
    if (!status_.ok()) return;
  }
  status_ = file_->write(section);
}

Result<Consolidation::Outcome> Consolidation::finish() {
  for (auto& [index, section] : waiting_) append(section);
  waiting_.clear();
  if (file_ && status_.ok()) status_ = file_->commit();
  if (!status_.ok()) return status_.error().with_context("consolidated text " + path_.string());
  Outcome out;
  out.bytes = bytes_;
  out.in_file = file_.has_value();
  if (!out.in_file) out.text = std::move(text_);
  return out;
}

}  // namespace pl::broker
