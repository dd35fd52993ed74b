#include "common/protocol/message_type.h"

namespace pl::protocol {
namespace {

struct TypeName {
  MessageType type;
  std::string_view name;
};

constexpr TypeName kNames[] = {
    {MessageType::kWorkerHello, "worker_hello"},
    {MessageType::kWorkerHeartbeat, "worker_heartbeat"},
    {MessageType::kWorkResult, "work_result"},
    {MessageType::kWorkerBye, "worker_bye"},
    {MessageType::kBrokerHeartbeat, "broker_heartbeat"},
    {MessageType::kWorkItem, "work_item"},
    {MessageType::kCancelItem, "cancel_item"},
    {MessageType::kWelcome, "welcome"},
    {MessageType::kReconnect, "reconnect"},
    {MessageType::kResultAck, "result_ack"},
    {MessageType::kSubmitRun, "submit_run"},
    {MessageType::kWatchRun, "watch_run"},
    {MessageType::kCancelRun, "cancel_run"},
    {MessageType::kListRuns, "list_runs"},
    {MessageType::kBrokerStatusRequest, "broker_status_request"},
    {MessageType::kRunDetailRequest, "run_detail_request"},
    {MessageType::kResumeRun, "resume_run"},
    {MessageType::kExportRun, "export_run"},
    {MessageType::kRunAccepted, "run_accepted"},
    {MessageType::kRunStatus, "run_status"},
    {MessageType::kRunList, "run_list"},
    {MessageType::kBrokerStatus, "broker_status"},
    {MessageType::kRunDetail, "run_detail"},
    {MessageType::kRunExport, "run_export"},
    {MessageType::kDeleteRun, "delete_run"},
    {MessageType::kRunDeleted, "run_deleted"},
    {MessageType::kBackupRequest, "backup_request"},
    {MessageType::kBackupStatus, "backup_status"},
    {MessageType::kClientError, "client_error"},
    {MessageType::kControlRequest, "control_request"},
    {MessageType::kControlReply, "control_reply"},
    {MessageType::kChildEvent, "child_event"},
    {MessageType::kRegistryRequest, "registry_request"},
    {MessageType::kRegistryReply, "registry_reply"},
};

}  // namespace

std::string_view message_type_name(MessageType type) {
  for (const auto& entry : kNames) {
    if (entry.type == type) return entry.name;
  }
  return "unknown";
}

bool is_known_message_type(uint16_t code) {
  for (const auto& entry : kNames) {
    if (static_cast<uint16_t>(entry.type) == code) return true;
  }
  return false;
}

}  // namespace pl::protocol
