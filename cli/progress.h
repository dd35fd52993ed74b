// Progress of a run's loops and batches, as `pipelinectl run` shows it on stderr while it waits.
//
// The broker's watch replies carry progress.loops: [{step, done, failed, total, finished?}] for
// the loops and batches running now and those that finished in the last few seconds (the final
// status of a run, those that ended with it). ProgressTracker turns successive samples into a rate
// (items per second over the last ~10 s) and an ETA; it is pure (the caller passes the time). The
// renderers make one line per loop; ProgressDisplay writes them:
// - kBar (stderr is a terminal): one line per active loop, redrawn in place, erased at the end
//   so that what follows starts on a clean line;
// - kLines (stderr is a file or pipe): a plain line when a loop first shows up, then at most
//   every `interval` while it moves, and when it is complete or has finished (stopped early by
//   an error, a timeout or a cancel: "ended early");
// - kOff: nothing.
// Standard output is never touched: it carries the run's result only.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/value.h"

namespace pl::cli {

struct LoopSample {
  std::string step;
  int64_t done = 0;
  int64_t failed = 0;
  int64_t total = 0;
  bool finished = false;  // the loop has ended (complete or not)
};

// progress.loops of a run status (anything malformed is skipped).
std::vector<LoopSample> loops_from(const Value& progress);

struct LoopView {
  LoopSample loop;
  std::optional<double> rate;   // items per second; nullopt until two samples apart in time
  std::optional<double> eta_s;  // nullopt without a rate (or a rate of 0)
};

class ProgressTracker {
 public:
  // The current samples; loops not in `loops` are forgotten.
  void update(const std::vector<LoopSample>& loops, TimePoint now);
  std::vector<LoopView> view() const;

 private:
  struct History {
    LoopSample last;
    std::deque<std::pair<TimePoint, int64_t>> points;  // (time, done), the last ~10 s
  };
  std::vector<std::string> order_;
  std::map<std::string, History> loops_;
};

// "work  [#########...........]  12/30  1 failed  3.2/s  ETA 6s", at most `width` columns.
std::string render_bar_line(const LoopView& v, size_t width);
// "progress: work 12/30 done (40%), 1 failed, 3.2/s, ETA 6s".
std::string render_plain_line(const LoopView& v);

enum class ProgressMode { kBar, kLines, kOff };

class ProgressDisplay {
 public:
  // `width`: terminal columns for kBar.
  ProgressDisplay(ProgressMode mode, std::FILE* out, std::chrono::milliseconds interval,
                  size_t width = 80);
  ~ProgressDisplay();  // finish()

  // A new status: redraws (kBar) or prints the lines that are due (kLines).
  void update(const Value& progress, TimePoint now);
  // Erases the bar lines (kBar); idempotent.
  void finish();
  // The run's final status: the last lines that are due (kLines), then finish().
  void finish(const Value& final_progress, TimePoint now);
  ProgressMode mode() const { return mode_; }

 private:
  void erase();

  ProgressMode mode_;
  std::FILE* out_;
  std::chrono::milliseconds interval_;
  size_t width_;
  ProgressTracker tracker_;
  size_t drawn_ = 0;  // bar lines on screen
  struct Printed {
    TimePoint at;
    int64_t done = -1;
    bool complete = false;
  };
  std::map<std::string, Printed> printed_;  // kLines: what was printed last, per loop
};

}  // namespace pl::cli
