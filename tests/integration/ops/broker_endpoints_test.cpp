// Where the broker listens for clients: the state directory's socket always, and
// `broker.clients_endpoint` besides, so that pipelinectl and the health probe reach the broker
// whatever that key says.
#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/net/curve_keys.h"
#include "common/net/request_client.h"
#include "common/protocol/envelope.h"
#include "tests/integration/ops/http_get.h"
#include "tests/integration/tree.h"

namespace pl::test {
namespace {

std::string config_with_broker(const std::string& broker_extra) {
  return "supervisor:\n"
         "  name: root\n"
         "  intensity: 50\n"
         "  period: 10\n"
         "  metrics: {listen: \"127.0.0.1:0\", broker_timeout_ms: 2000}\n"
         "children:\n"
         "  - {name: registry, command: [pipeline-registry], ready: notify}\n"
         "  - {name: broker, command: [pipeline-broker], ready: notify}\n"
         "  - {name: workers, type: pool, count: 1, command: [pipeline-worker], ready: notify, "
         "shutdown: 2000}\n"
         "broker:\n"
         "  heartbeat_ms: 1000\n" +
         broker_extra + "worker:\n  slots: 1\n";
}

// What every local tool needs from the broker, checked on a tree whose clients_endpoint is
// elsewhere: the runs commands, top, and a healthy /health.
void expect_local_tools_reach_the_broker(Tree& tree) {
  auto runs = tree.pipelinectl({"runs", "list"}, 30s);
  EXPECT_EQ(runs.exit_code, 0) << runs.out << runs.err << tree.log();
  auto top = tree.pipelinectl({"top", "--once"}, 30s);
  EXPECT_EQ(top.exit_code, 0) << top.out << top.err;
  EXPECT_EQ(top.out.find("no reply"), std::string::npos) << top.out;
  const int port = tree.metrics_port();
  ASSERT_GT(port, 0) << tree.log();
  HttpReply health = http_get(port, "/health");
  EXPECT_EQ(health.status, 200) << health.body;
}

TEST(BrokerClientsEndpoint, AnIpcEndpointElsewhereIsServedBesideTheStateDirectorySocket) {
  TempDir elsewhere;
  const std::string other = "ipc://" + (elsewhere.path() / "other-clients.sock").string();
  Tree tree(config_with_broker("  clients_endpoint: " + other + "\n"), 1);
  expect_local_tools_reach_the_broker(tree);

  // The configured endpoint answers too.
  net::Context context;
  net::RequestClient client(context, other);
  auto reply = client.call(protocol::MessageType::kBrokerStatusRequest, Value::object(), 10s);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->type, protocol::MessageType::kBrokerStatus);
}

TEST(BrokerClientsEndpoint, ATcpEndpointLeavesLocalToolsAndHealthOnTheStateDirectorySocket) {
  TempDir keys;
  auto server = net::write_keypair_files(keys.path(), "broker", false, "test");
  ASSERT_TRUE(server.ok()) << server.error().message;
  ASSERT_TRUE(write_file_atomic(keys.path() / "allowed", "").ok());
  Tree tree(config_with_broker("  clients_endpoint: \"tcp://127.0.0.1:*\"\n"
                               "  curve:\n"
                               "    secret_key: " + (keys.path() / "broker.key").string() + "\n"
                               "    allow_list: " + (keys.path() / "allowed").string() + "\n"),
            1);
  expect_local_tools_reach_the_broker(tree);
  auto status = tree.pipelinectl({"status"});
  EXPECT_NE(status.out.find("clients_endpoint=tcp://127.0.0.1:"), std::string::npos)
      << status.out;
}

}  // namespace
}  // namespace pl::test
