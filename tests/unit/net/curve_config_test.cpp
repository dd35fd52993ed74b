// CURVE settings in config files: an endpoint on the network without keys is an error at that
// endpoint, key file problems are config errors, relative paths follow the config file. Checked
// through the broker's, registry's and worker's own config loaders.
#include "common/net/curve_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "broker/broker_config.h"
#include "common/fs.h"
#include "registry/registry_config.h"
#include "tests/support/harness.h"
#include "worker/worker_config.h"

namespace pl::net {
namespace {

namespace fs = std::filesystem;

class CurveConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_keypair_files(dir_.path() / "keys", "server", false, "t").ok());
    ASSERT_TRUE(write_keypair_files(dir_.path() / "keys", "node-b", false, "t").ok());
    ASSERT_TRUE(write_file_atomic(dir_.path() / "keys" / "allowed",
                                  read_text(dir_.path() / "keys" / "node-b.pub"))
                    .ok());
  }
  // Writes the config and returns its path.
  std::string config(const std::string& text) {
    const fs::path path = dir_.path() / "c.yaml";
    EXPECT_TRUE(write_file_atomic(path, text).ok());
    return path.string();
  }
  std::string read_text(const fs::path& path) { return test::read_text(path); }

  test::TempDir dir_;
};

TEST_F(CurveConfig, ATcpWorkersEndpointWithoutKeysIsAnErrorAtThatEndpoint) {
  auto c =
      broker::load_broker_config(config("broker:\n  heartbeat_ms: 500\n"
                                        "  workers_endpoint: tcp://10.0.0.1:7001\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(
      c.error().message.find("c.yaml:3:21: broker.workers_endpoint: an endpoint on the network "
                             "requires CURVE: set broker.curve.secret_key and "
                             "broker.curve.allow_list"),
      std::string::npos)
      << c.error().message;
}

TEST_F(CurveConfig, IpcEndpointsNeedNoKeys) {
  auto c = broker::load_broker_config(config("broker:\n  workers_endpoint: ipc:///tmp/x.sock\n"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->curve.has_value());
}

TEST_F(CurveConfig, TheBrokerReadsItsKeysRelativeToTheConfigFile) {
  auto c = broker::load_broker_config(
      config("broker:\n  workers_endpoint: tcp://10.0.0.1:7001\n"
             "  curve: {secret_key: keys/server.key, allow_list: keys/allowed}\n"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->curve.has_value());
  auto server = load_secret_key_file(dir_.path() / "keys" / "server.key");
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(c->curve->server.public_key, server->public_key);
  EXPECT_EQ(c->curve->allow_list, dir_.path() / "keys" / "allowed");
}

TEST_F(CurveConfig, AMissingSecretKeyFileIsAConfigErrorNamingIt) {
  auto c = broker::load_broker_config(
      config("broker:\n  workers_endpoint: tcp://10.0.0.1:7001\n"
             "  curve:\n    secret_key: keys/nope.key\n    allow_list: keys/allowed\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("c.yaml:4:17: broker.curve.secret_key:"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("nope.key: no such file"), std::string::npos);
}

TEST_F(CurveConfig, ASecretKeyOthersCanReadIsAConfigError) {
  ASSERT_EQ(::chmod((dir_.path() / "keys" / "server.key").c_str(), 0644), 0);
  auto c = broker::load_broker_config(
      config("broker:\n  workers_endpoint: tcp://10.0.0.1:7001\n"
             "  curve: {secret_key: keys/server.key, allow_list: keys/allowed}\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("chmod 600"), std::string::npos) << c.error().message;
}

TEST_F(CurveConfig, ABadAllowListIsAConfigErrorWithItsOwnLineAndColumn) {
  ASSERT_TRUE(write_file_atomic(dir_.path() / "keys" / "allowed", "# ok\nbad\n").ok());
  auto c = broker::load_broker_config(
      config("broker:\n  workers_endpoint: tcp://10.0.0.1:7001\n"
             "  curve: {secret_key: keys/server.key, allow_list: keys/allowed}\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("broker.curve.allow_list:"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("allowed:2:1:"), std::string::npos) << c.error().message;
}

TEST_F(CurveConfig, ACurveSectionWithoutAnAllowListIsAnError) {
  auto c =
      broker::load_broker_config(config("broker:\n  workers_endpoint: tcp://10.0.0.1:7001\n  "
                                        "curve: {secret_key: keys/server.key}\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("allow_list is required"), std::string::npos)
      << c.error().message;
}

TEST_F(CurveConfig, AnUnknownCurveKeyIsAnError) {
  auto c = broker::load_broker_config(config(
      "broker:\n  curve: {secret_key: keys/server.key, allow_list: keys/allowed, allowlist: x}\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unknown key \"broker.curve.allowlist\""), std::string::npos)
      << c.error().message;
}

TEST_F(CurveConfig, TheRegistryTcpEndpointRequiresKeys) {
  auto bad =
      registry::load_registry_config(config("registry:\n  tcp_endpoint: tcp://10.0.0.1:7003\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.error().message.find("registry.tcp_endpoint: an endpoint on the network requires CURVE"),
      std::string::npos)
      << bad.error().message;
  auto good = registry::load_registry_config(
      config("registry:\n  tcp_endpoint: tcp://10.0.0.1:7003\n"
             "  curve: {secret_key: keys/server.key, allow_list: keys}\n"));
  ASSERT_TRUE(good.ok()) << good.error().message;
  ASSERT_TRUE(good->curve.has_value());
  EXPECT_EQ(good->tcp_endpoint, "tcp://10.0.0.1:7003");
  auto not_tcp = registry::load_registry_config(config("registry:\n  tcp_endpoint: ipc:///x\n"));
  EXPECT_FALSE(not_tcp.ok());
}

TEST_F(CurveConfig, AWorkerWithATcpBrokerNeedsItsKeyAndTheBrokersPublicKey) {
  auto none =
      worker::load_worker_config(config("worker:\n  broker_endpoint: tcp://10.0.0.1:7001\n"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(
      none.error().message.find("c.yaml:2:20: worker.broker_endpoint: an endpoint on the network "
                                "requires CURVE"),
      std::string::npos)
      << none.error().message;

  auto no_server_key = worker::load_worker_config(config(
      "worker:\n  broker_endpoint: tcp://10.0.0.1:7001\n  curve: {secret_key: keys/node-b.key}\n"));
  ASSERT_FALSE(no_server_key.ok());
  EXPECT_NE(no_server_key.error().message.find("requires the server's public key: set "
                                               "worker.curve.broker_public_key"),
            std::string::npos)
      << no_server_key.error().message;

  auto good = worker::load_worker_config(
      config("worker:\n  broker_endpoint: tcp://10.0.0.1:7001\n  host: node-b\n"
             "  curve: {secret_key: keys/node-b.key, broker_public_key: keys/server.pub}\n"));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->host, "node-b");
  ASSERT_TRUE(good->curve.has_value());
  auto keys = good->curve->keys_for("broker_public_key");
  ASSERT_TRUE(keys.has_value());
  auto server = load_public_key_file(dir_.path() / "keys" / "server.pub");
  auto node = load_secret_key_file(dir_.path() / "keys" / "node-b.key");
  EXPECT_EQ(keys->server_public_key, server->raw());
  EXPECT_EQ(keys->public_key, node->public_key.raw());
  EXPECT_EQ(keys->secret_key, node->secret_key.raw());
  EXPECT_FALSE(good->curve->keys_for("registry_public_key").has_value());
}

TEST_F(CurveConfig, AWorkerTakesItsHostNameFromTheSystemByDefault) {
  auto c = worker::load_worker_config(config("worker:\n  slots: 1\n"));
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->host.empty());
}

TEST(CurveSockets, OnlyIpcAndInprocCountAsOffTheNetwork) {
  EXPECT_FALSE(is_network_endpoint(""));
  EXPECT_FALSE(is_network_endpoint("ipc:///tmp/x.sock"));
  EXPECT_FALSE(is_network_endpoint("inproc://zeromq.zap.01"));
  EXPECT_TRUE(is_network_endpoint("tcp://10.0.0.1:7001"));
  EXPECT_TRUE(is_network_endpoint("ws://10.0.0.1:7001"));
  EXPECT_TRUE(is_network_endpoint("pgm://eth0;239.1.1.1:5555"));
  EXPECT_TRUE(is_network_endpoint("IPC:///tmp/x.sock"));  // not what libzmq calls ipc either
}

TEST_F(CurveConfig, AnyNetworkTransportNeedsKeysNotOnlyTcp) {
  auto c = broker::load_broker_config(config("broker:\n  workers_endpoint: ws://10.0.0.1:7001\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("requires CURVE"), std::string::npos) << c.error().message;
}

TEST(CurveSockets, ASocketRefusesToListenOnTcpWithoutCurve) {
  Context context;
  Socket socket(context, SocketKind::kRouter);
  auto st = socket.bind("tcp://127.0.0.1:*");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("without CURVE"), std::string::npos) << st.error().message;
}

TEST(CurveSockets, ASocketRefusesToConnectToTcpWithoutCurve) {
  Context context;
  Socket socket(context, SocketKind::kDealer);
  EXPECT_FALSE(socket.connect("tcp://127.0.0.1:1").ok());
}

TEST(CurveSockets, ACurveServerSocketNeedsAZapDomain) {
  Context context;
  SocketOptions options;
  options.curve_server = CurveServerKeys{generate_curve_keypair()->secret_key.raw(), ""};
  Socket socket(context, SocketKind::kRouter, options);
  EXPECT_FALSE(socket.bind("tcp://127.0.0.1:*").ok());
}

}  // namespace
}  // namespace pl::net
