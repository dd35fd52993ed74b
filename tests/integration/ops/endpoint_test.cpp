// The metrics endpoint of a supervisor on its own (no broker): what it serves, how it refuses,
// that no client can hold it up, and that a port already taken does not take the tree down.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/json.h"
#include "tests/integration/ops/http_get.h"
#include "tests/integration/supervisor/tree_fixture.h"

namespace pl::test {
namespace {

std::string tree_with_metrics(const std::string& listen = "127.0.0.1:0") {
  return "supervisor:\n"
         "  metrics: {listen: \"" +
         listen +
         "\", broker_timeout_ms: 200, max_connections: 4}\n"
         "children:\n"
         "  - {name: a, command: " +
         child_command("--ready") +
         ", ready: notify}\n"
         "  - {name: bounded, command: " +
         child_command("--ready") + ", ready: notify, max_memory: 1GiB}\n";
}

int endpoint_port(Tree& tree) {
  auto status = tree.status();
  if (!status) return 0;
  const Value* metrics = status->find("metrics");
  return metrics ? port_of(metrics->get_string("listen")) : 0;
}

TEST(MetricsEndpoint, ReportsThePortItGotInStatusAndTheLog) {
  Tree tree(tree_with_metrics());
  tree.start_and_wait();
  const int port = endpoint_port(tree);
  ASSERT_GT(port, 0) << tree.log();
  EXPECT_TRUE(
      tree.wait_log("metrics endpoint on http://127.0.0.1:" + std::to_string(port) + "/metrics"));
}

TEST(MetricsEndpoint, ServesTheTreeAndAsksNoBrokerWhereNoneRuns) {
  Tree tree(tree_with_metrics());
  tree.start_and_wait();
  const int port = endpoint_port(tree);
  ASSERT_GT(port, 0);
  HttpReply r = http_get(port, "/metrics");
  ASSERT_EQ(r.status, 200) << r.headers;
  EXPECT_NE(r.headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos)
      << r.headers;
  EXPECT_EQ(metric(r.body, "pipeline_tree_up"), 1) << r.body;
  EXPECT_EQ(metric(r.body, "pipeline_child_up{child=\"a\",type=\"worker\"}"), 1) << r.body;
  EXPECT_EQ(metric(r.body, "pipeline_child_restarts_total{child=\"a\"}"), 0) << r.body;
  EXPECT_GT(metric(r.body, "pipeline_child_resident_memory_bytes{child=\"a\"}"), 0) << r.body;
  EXPECT_EQ(metric(r.body, "pipeline_child_memory_limit_bytes{child=\"bounded\"}"), 1 << 30)
      << r.body;
  // No broker in this tree (as on a worker host): none is asked, none is reported down, and
  // the tree's health is its own.
  EXPECT_EQ(r.body.find("pipeline_broker_up"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("pipeline_items_queued"), std::string::npos);

  HttpReply health = http_get(port, "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(health.headers.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(health.body.find("\"broker\":\"none\""), std::string::npos) << health.body;
}

TEST(MetricsEndpoint, AnswersMistakesWithTheRightStatus) {
  Tree tree(tree_with_metrics());
  tree.start_and_wait();
  const int port = endpoint_port(tree);
  ASSERT_GT(port, 0);
  EXPECT_EQ(http_get(port, "/nothing").status, 404);
  EXPECT_EQ(http_raw(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status, 405);
  EXPECT_EQ(http_raw(port, "garbage\r\n\r\n").status, 400);
  EXPECT_EQ(http_raw(port, "GET / HTTP/1.1\r\nX: " + std::string(20000, 'x') + "\r\n\r\n").status,
            431);
  HttpReply head = http_raw(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(http_get(port, "/").status, 200);
}

TEST(MetricsEndpoint, ASilentClientHoldsUpNeitherTheEndpointNorTheTree) {
  Tree tree(tree_with_metrics());
  tree.start_and_wait();
  const int port = endpoint_port(tree);
  ASSERT_GT(port, 0);
  // A connection that sends half a request and stays open, another that sends nothing.
  const int half = http_connect(port);
  ::send(half, "GET /metr", 9, MSG_NOSIGNAL);
  const int silent = http_connect(port);
  EXPECT_EQ(http_get(port, "/metrics").status, 200);
  // The supervisor still does its job meanwhile: a restart of a child.
  Value args = Value::object();
  args["name"] = "a";
  auto reply = tree.call("restart", args);
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->ok) << reply->message;
  // Over max_connections (4, four held): the next one is answered 503 at once.
  const int third = http_connect(port);
  const int fourth = http_connect(port);
  HttpReply refused = http_get(port, "/metrics");
  EXPECT_EQ(refused.status, 503) << refused.body;
  for (int fd : {half, silent, third, fourth}) ::close(fd);
  // The endpoint serves again once they are gone.
  EXPECT_TRUE(wait_until([&] { return http_get(port, "/metrics").status == 200; },
                         std::chrono::seconds(30)));
}

TEST(MetricsEndpoint, APortAlreadyTakenLeavesTheTreeRunningAndSaysWhy) {
  const int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);

  Tree tree(tree_with_metrics("127.0.0.1:" + std::to_string(port)));
  tree.start_and_wait();
  auto status = tree.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(status->find("metrics")->get_string("error").find("Address already in use"),
            std::string::npos)
      << to_json(*status->find("metrics"));
  EXPECT_EQ(status->get_string("state"), "running");
  // Said in the plain status too, where an operator looks first.
  auto plain =
      run_command({binary("pipelinectl"), "--state-dir", tree.state_dir().string(), "status"});
  EXPECT_NE(plain.out.find("metrics: not served: bind 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << plain.out << plain.err;
  ::close(taken);
}

TEST(MetricsEndpoint, ANonLoopbackAddressIsRefusedUnlessAllowed) {
  Tree tree(tree_with_metrics("0.0.0.0:0"));
  auto check =
      run_command({binary("pipeline-supervisor"), "--check", "--config", tree.config().string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find("is not a loopback address"), std::string::npos) << check.err;

  Tree plain("children:\n  - {name: a, command: " + child_command("--ready") +
             ", ready: notify}\n");
  auto flag = run_command(
      {binary("pipeline-supervisor"), "--config", plain.config().string(), "--state-dir",
       plain.state_dir().string(), "--metrics-listen", "0.0.0.0:0"},
      std::chrono::seconds(30), SpawnOptions{{}, {"NOTIFY_SOCKET"}, {}, {}, plain.dir()});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("allow_remote"), std::string::npos) << flag.err;
}

TEST(MetricsEndpoint, IsOffUnlessAsked) {
  Tree tree("children:\n  - {name: a, command: " + child_command("--ready") + ", ready: notify}\n");
  tree.start_and_wait();
  auto status = tree.status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->find("metrics")->size(), 0u);
  EXPECT_EQ(status->get_string("memory_enforcement"), "rss");
}

}  // namespace
}  // namespace pl::test
