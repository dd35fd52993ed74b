// Submitting a run to the broker: once, and again with the same idempotency key (so never a
// second run) while the broker says it is busy or does not answer, until the silence timeout.
// A signal or the tree stopping ends the wait early.
#pragma once

#include <filesystem>

#include "common/net/request_client.h"
#include "common/protocol/client.h"

namespace pl::cli {

struct SubmitWait {
  int silence_timeout_s = 60;       // how long the broker may stay silent in all
  int signal_fd = -1;               // SIGINT, SIGTERM and SIGHUP end the wait
  std::filesystem::path state_dir;  // whose tree is looked at when the broker is silent
};

struct SubmitOutcome {
  // The broker's last answer, or why none came (kTimeout: sent, not answered).
  Result<protocol::Message> answer = make_error(ErrorCode::kInternal, "not sent");
  // The broker said it predates idempotency keys (broker_status without the feature): a
  // submission sent to it again could run twice, so it gets one. A broker too busy to say is
  // taken for a current one: older ones are the exception (an upgrade under way).
  bool older_broker = false;
  int signal = 0;             // the signal that ended the wait, 0 when none did
  // A submission went out that got no answer (timed out, or the wait for it was ended): the
  // broker may have stored the run. False when every one sent was refused, or none was sent.
  bool maybe_stored = false;
  bool tree_stopped = false;  // the wait ended because no supervisor holds the state directory
};

SubmitOutcome submit_run(net::RequestClient& broker, const protocol::SubmitRun& submit,
                         const SubmitWait& wait);

}  // namespace pl::cli
