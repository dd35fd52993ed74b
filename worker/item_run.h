// One attempt of one item, from executor to the result the broker receives. The only place that
// shapes a result, so an item run inline on the loop thread and one run on a slot thread produce
// the same fields.
#pragma once

#include <optional>
#include <utility>

#include "common/clock.h"
#include "common/protocol/work.h"
#include "worker/executor.h"

namespace pl::worker {

// An attempt's result as it leaves the slot it ran on, with its timing, which the core stamps
// into the result as it packs it (protocol::ResultStamp) rather than as two more map members.
// (A WorkResult itself: tests and the core read it as one.)
struct FinishedItem : protocol::WorkResult {
  FinishedItem() = default;
  FinishedItem(protocol::WorkResult result,  // NOLINT: implicit, a result that never ran here
               std::optional<protocol::AttemptTiming> ran = std::nullopt)
      : protocol::WorkResult(std::move(result)), timing(ran) {}

  std::optional<protocol::AttemptTiming> timing;  // none: the attempt never ran here
};

// The failure (io) of an item whose step could not get the memory it asked for
// (std::bad_alloc), naming the worker's `address_space` limit in bytes, or the machine when
// there is none.
Error out_of_memory(const protocol::WorkItem& item, std::optional<uint64_t> address_space);

// Runs `item` with `executor` (nullptr: its type has no executor here) and returns its result:
// the executor's fields (a non-map result becomes {}) plus success, and the attempt's timing;
// on an Error, success false with error and error_code, and retry_after_ms when the error
// carries a wait a provider asked for (the broker waits at least that long before the next
// attempt); a failed_result (executor.h) as it is. An executor that throws fails the item with
// kInternal instead of taking the worker down; one that runs out of memory, with out_of_memory.
FinishedItem run_item(StepExecutor* executor, const protocol::WorkItem& item,
                      const ExecutionContext& context, const Clock& clock);

}  // namespace pl::worker
