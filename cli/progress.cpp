#include "cli/progress.h"

#include <algorithm>

#include "cli/progress_format.h"

namespace pl::cli {
namespace {

constexpr std::chrono::seconds kRateWindow{10};

// Room kept for the text after a bar, so that the bar does not change length as it moves.
constexpr size_t kBarTail = 36;

std::string counts(const LoopSample& l) {
  return std::to_string(l.done) + "/" + std::to_string(l.total);
}

// An ETA in whole seconds: "<1s" below one.
std::string eta(std::optional<double> seconds) {
  if (seconds && *seconds < 1) return "<1s";
  return format_duration_s(seconds);
}

}  // namespace

std::vector<LoopSample> loops_from(const Value& progress) {
  std::vector<LoopSample> out;
  const Value* loops = progress.find("loops");
  if (loops == nullptr || !loops->is_array()) return out;
  for (const Value& l : loops->as_array()) {
    if (!l.is_object()) continue;
    LoopSample s;
    s.step = l.get_string("step");
    s.done = l.get_int("done");
    s.failed = l.get_int("failed");
    s.total = l.get_int("total");
    s.finished = l.get_bool("finished");
    if (s.step.empty() || s.total < 0 || s.done < 0) continue;
    out.push_back(std::move(s));
  }
  return out;
}

void ProgressTracker::update(const std::vector<LoopSample>& loops, TimePoint now) {
  std::map<std::string, History> next;
  order_.clear();
  for (const LoopSample& l : loops) {
    if (next.count(l.step)) continue;  // the same name twice: the first one speaks
    History h;
    if (auto it = loops_.find(l.step);
        it != loops_.end() && it->second.last.total == l.total && it->second.last.done <= l.done) {
      h = std::move(it->second);
    }
    h.last = l;
    h.points.emplace_back(now, l.done);
    while (h.points.size() > 2 && now - h.points[1].first >= kRateWindow) h.points.pop_front();
    order_.push_back(l.step);
    next.emplace(l.step, std::move(h));
  }
  loops_ = std::move(next);
}

std::vector<LoopView> ProgressTracker::view() const {
  std::vector<LoopView> out;
  for (const auto& step : order_) {
    const History& h = loops_.at(step);
    LoopView v;
    v.loop = h.last;
    const auto& first = h.points.front();
    const auto& last = h.points.back();
    const double seconds = std::chrono::duration<double>(last.first - first.first).count();
    if (seconds >= 0.2) {
      v.rate = static_cast<double>(last.second - first.second) / seconds;
      if (*v.rate > 0) v.eta_s = static_cast<double>(h.last.total - h.last.done) / *v.rate;
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::string render_plain_line(const LoopView& v) {
  const LoopSample& l = v.loop;
  std::string line = "progress: " + l.step + " " + counts(l) + " done";
  if (l.total > 0) line += " (" + std::to_string(l.done * 100 / l.total) + "%)";
  if (l.failed > 0) line += ", " + std::to_string(l.failed) + " failed";
  if (v.rate) line += ", " + format_rate(*v.rate);
  if (l.finished && l.done < l.total) {
    line += ", ended early";
  } else if (v.eta_s && l.done < l.total) {
    line += ", ETA " + eta(v.eta_s);
  }
  return line;
}

std::string render_bar_line(const LoopView& v, size_t width) {
  const LoopSample& l = v.loop;
  std::string tail = "  " + counts(l);
  if (l.failed > 0) tail += "  " + std::to_string(l.failed) + " failed";
  tail += "  " + (v.rate ? format_rate(*v.rate) : std::string("-/s"));
  if (l.finished && l.done < l.total) {
    tail += "  ended early";
  } else if (l.done < l.total) {
    tail += "  ETA " + eta(v.eta_s);
  }
  if (tail.size() < kBarTail) tail.append(kBarTail - tail.size(), ' ');
  std::string name = l.step;
  const size_t name_room = std::max<size_t>(8, width / 4);
  if (name.size() > name_room) name = name.substr(0, name_room - 1) + "~";
  // name, two spaces, [bar], tail: the bar takes what is left (at least 10).
  const size_t fixed = name.size() + 2 + 2 + tail.size();
  const size_t bar = width > fixed + 10 ? width - fixed : 10;
  const size_t filled = l.total > 0
                            ? static_cast<size_t>(static_cast<double>(bar) *
                                                  static_cast<double>(std::min(l.done, l.total)) /
                                                  static_cast<double>(l.total))
                            : 0;
  std::string line =
      name + "  [" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" + tail;
  if (line.size() > width && width > 0) line.resize(width);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

ProgressDisplay::ProgressDisplay(ProgressMode mode, std::FILE* out,
                                 std::chrono::milliseconds interval, size_t width)
    : mode_(mode), out_(out), interval_(interval), width_(std::max<size_t>(width, 20)) {}

ProgressDisplay::~ProgressDisplay() { finish(); }

void ProgressDisplay::erase() {
  // Up to the first bar line, clearing each on the way.
  for (size_t i = 0; i < drawn_; ++i) std::fputs("\x1b[1A\r\x1b[2K", out_);
  drawn_ = 0;
}

void ProgressDisplay::update(const Value& progress, TimePoint now) {
  if (mode_ == ProgressMode::kOff) return;
  tracker_.update(loops_from(progress), now);
  const std::vector<LoopView> views = tracker_.view();
  if (mode_ == ProgressMode::kBar) {
    erase();
    for (const LoopView& v : views) {
      std::fputs((render_bar_line(v, width_ - 1) + "\n").c_str(), out_);
      ++drawn_;
    }
    std::fflush(out_);
    return;
  }
  for (const LoopView& v : views) {
    const bool complete = v.loop.finished || (v.loop.total > 0 && v.loop.done >= v.loop.total);
    auto it = printed_.find(v.loop.step);
    bool due = false;
    if (it == printed_.end()) {
      due = true;  // it has just shown up
    } else if (complete) {
      due = !it->second.complete;
    } else {
      due = v.loop.done != it->second.done && now - it->second.at >= interval_;
    }
    if (!due) continue;
    printed_[v.loop.step] = Printed{now, v.loop.done, complete};
    std::fputs((render_plain_line(v) + "\n").c_str(), out_);
  }
  std::fflush(out_);
}

void ProgressDisplay::finish(const Value& final_progress, TimePoint now) {
  if (mode_ == ProgressMode::kLines) update(final_progress, now);
  finish();
}

void ProgressDisplay::finish() {
  if (mode_ == ProgressMode::kBar && drawn_ > 0) {
    erase();
    std::fflush(out_);
  }
}

}  // namespace pl::cli
