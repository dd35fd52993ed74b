#include "broker/run_store.h"

#include "common/protocol/envelope.h"

namespace pl::broker {

Status RunStore::for_each_item_result(
    const std::string& run_id, const std::function<void(std::string item_id, Value result)>& visit) {
  Status failed;
  Status walked = for_each_item_batch(run_id, [&](int64_t position, std::string_view bytes) {
    if (!failed.ok()) return;
    auto records = protocol::decode_records(bytes);
    if (!records.ok()) {
      failed = make_error(ErrorCode::kIo, "unreadable item results of " + run_id + " (batch " +
                                              std::to_string(position) +
                                              "): " + records.error().message);
      return;
    }
    for (auto& [id, result] : *records) visit(std::move(id), std::move(result));
  });
  return walked.ok() ? failed : walked;
}

}  // namespace pl::broker
