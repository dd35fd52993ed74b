#include "broker/run_retention.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/run_coordinator.h"

namespace pl::broker {

Duration RetentionSettings::check_every() const {
  const Duration minute = std::chrono::minutes(1);
  if (!keep_finished) return minute;
  return std::clamp<Duration>(*keep_finished / 4, std::chrono::milliseconds(1), minute);
}

RunRetention::RunRetention(RunCoordinator& coordinator, RetentionSettings settings)
    : coordinator_(coordinator), settings_(settings) {}

void RunRetention::on_turn(Instant now) {
  if (settings_.keep_finished && now.steady >= next_check_) expire(now);
  if (now.steady >= next_free_) free_some(now);
}

TimePoint RunRetention::next_deadline() const {
  const TimePoint check = settings_.keep_finished ? next_check_ : TimePoint::max();
  return std::min(check, more_to_free_ ? next_free_ : TimePoint::max());
}

void RunRetention::expire(Instant now) {
  const int64_t cutoff = unix_millis(now.wall) - settings_.keep_finished->count();
  auto expired = coordinator_.store().finished_before(cutoff, settings_.runs_per_turn);
  if (!expired.ok()) {
    ++counters_.store_errors;
    spdlog::error("retention: cannot list finished runs: {}", expired.error().message);
    next_check_ = now.steady + settings_.check_every();
    return;
  }
  for (const std::string& run_id : *expired) {
    auto deleted = coordinator_.delete_run(run_id);
    if (!deleted.ok()) {
      ++counters_.store_errors;
      spdlog::error("retention: cannot delete run {}: {}", run_id, deleted.error().message);
      next_check_ = now.steady + settings_.check_every();
      return;
    }
    ++counters_.runs_expired;
  }
  // A full list may have more behind it: the next turn goes on.
  next_check_ = expired->size() == settings_.runs_per_turn ? now.steady
                                                           : now.steady + settings_.check_every();
}

void RunRetention::free_some(Instant now) {
  auto more = coordinator_.store().purge_deleted(settings_.batches_per_turn);
  if (!more.ok()) {
    ++counters_.store_errors;
    spdlog::error("retention: cannot free what deleted runs left: {}", more.error().message);
    next_free_ = now.steady + settings_.check_every();  // neither a spin nor a log per turn
    more_to_free_ = true;
    return;
  }
  if (*more && !freeing_since_) freeing_since_ = now.steady;
  if (!*more && freeing_since_) {
    spdlog::info("retention: what deleted runs left is freed ({} ms of turns)",
                 std::chrono::duration_cast<std::chrono::milliseconds>(now.steady - *freeing_since_)
                     .count());
    freeing_since_.reset();
  }
  more_to_free_ = *more;
}

}  // namespace pl::broker
