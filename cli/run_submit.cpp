#include "cli/run_submit.h"

#include <signal.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "cli/tree_sockets.h"
#include "common/clock.h"
#include "common/signals.h"

namespace pl::cli {
namespace {

using namespace std::chrono_literals;
using protocol::MessageType;

// How long one submission may wait for its answer before it is sent again.
constexpr auto kSubmitAttempt = 15s;
// How long the broker may take to say what it supports before it is taken for an older one.
constexpr auto kFeaturesWait = 2s;

// Whether the broker answered its status without kFeatureIdempotentSubmit.
bool older_broker(net::RequestClient& broker, std::chrono::milliseconds wait,
                  const std::function<bool()>& stop) {
  Value request;
  request["request"] = "";
  auto status = broker.call(MessageType::kBrokerStatusRequest, request, wait, stop);
  if (!status.ok() || status->type != MessageType::kBrokerStatus) return false;
  const Value* features = status->body.find("features");
  if (!features || !features->is_array()) return true;
  return std::none_of(features->as_array().begin(), features->as_array().end(), [](const Value& f) {
    return f.is_string() && f.as_string() == protocol::kFeatureIdempotentSubmit;
  });
}

}  // namespace

SubmitOutcome submit_run(net::RequestClient& broker, const protocol::SubmitRun& submit,
                         const SubmitWait& wait) {
  SubmitOutcome out;
  const auto stop = [&] {
    for (int sig : read_signals(wait.signal_fd)) {
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) out.signal = sig;
    }
    return out.signal != 0;
  };
  const auto give_up = SteadyClock::now() + std::chrono::seconds(wait.silence_timeout_s);
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(give_up - SteadyClock::now());
  };
  // At most a quarter of the budget: the submission itself must have time to be answered.
  out.older_broker =
      older_broker(broker, std::min<std::chrono::milliseconds>(kFeaturesWait, left() / 4), stop);
  auto delay = 200ms;
  for (;;) {
    if (stop()) return out;  // before sending: a run asked to stop is not submitted
    const auto attempt = std::min<std::chrono::milliseconds>(kSubmitAttempt, left());
    out.answer = broker.call(MessageType::kSubmitRun, protocol::to_body(submit),
                             std::max(attempt, std::chrono::milliseconds(1)), stop);
    // kUnavailable or kIo: it could not even be queued. Any other error: it went out, and no
    // answer came (the wait timed out, or was ended).
    const bool unanswered = !out.answer.ok() && out.answer.error().code != ErrorCode::kIo &&
                            out.answer.error().code != ErrorCode::kUnavailable;
    out.maybe_stored |= unanswered;
    if (out.signal) return out;
    const bool busy =
        out.answer.ok() && out.answer->type == MessageType::kClientError &&
        out.answer->body.get_int("code") == static_cast<int64_t>(ErrorCode::kRetryLater);
    const bool silent = !out.answer.ok() && out.answer.error().code == ErrorCode::kTimeout;
    if (!busy && !silent) return out;
    if (silent) {
      if (auto running = tree_running(wait.state_dir); running.ok() && !*running) {
        out.tree_stopped = true;
        return out;
      }
      if (out.older_broker) return out;  // sent again, it could run twice
    }
    const auto pause = busy ? delay : 0ms;
    if (left() <= pause) return out;
    if (busy) {
      std::cerr << "pipelinectl: " << out.answer->body.get_string("message") << "; retrying in "
                << delay.count() << " ms\n";
      for (const auto until = SteadyClock::now() + delay; SteadyClock::now() < until;) {
        if (stop()) return out;
        std::this_thread::sleep_for(std::min<Duration>(until - SteadyClock::now(), 50ms));
      }
      delay = std::min<std::chrono::milliseconds>(delay * 2, 5s);
    } else {
      std::cerr << "pipelinectl: no answer from the broker in "
                << std::chrono::duration_cast<std::chrono::seconds>(attempt).count()
                << " s; sending the submission again (idempotency key " << submit.idempotency_key
                << ": it runs once)\n";
    }
  }
}

}  // namespace pl::cli
