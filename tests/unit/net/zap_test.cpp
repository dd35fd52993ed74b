#include "common/net/zap.h"

#include <gtest/gtest.h>

namespace pl::net {
namespace {

const std::set<std::string> kDomains{"pipeline.broker.workers"};

struct Keys {
  CurveKey allowed = generate_curve_keypair()->public_key;
  CurveKey stranger = generate_curve_keypair()->public_key;
  AllowList list = *AllowList::parse(allowed.z85() + " # node-b\n", "allowed");
};

Frames request(const std::string& mechanism, std::vector<std::string> credentials,
               const std::string& domain = "pipeline.broker.workers") {
  Frames frames{"1.0", "req-7", domain, "10.0.0.2", "", mechanism};
  frames.insert(frames.end(), credentials.begin(), credentials.end());
  return frames;
}

TEST(ZapDecision, ACurveClientWithAnAllowedKeyIsLetIn) {
  Keys k;
  ZapDecision d = decide_zap(request("CURVE", {k.allowed.raw()}), k.list, kDomains);
  EXPECT_EQ(d.verdict, ZapVerdict::kAllowed);
  EXPECT_EQ(d.reply.status_code, "200");
  EXPECT_EQ(d.reply.request_id, "req-7");
  EXPECT_EQ(d.reply.user_id, k.allowed.z85());
  EXPECT_EQ(d.label, "node-b");
  EXPECT_EQ(d.address, "10.0.0.2");
}

TEST(ZapDecision, ACurveClientWithAnUnknownKeyIsRefusedAndItsKeyReported) {
  Keys k;
  ZapDecision d = decide_zap(request("CURVE", {k.stranger.raw()}), k.list, kDomains);
  EXPECT_EQ(d.verdict, ZapVerdict::kUnknownKey);
  EXPECT_EQ(d.reply.status_code, "400");
  EXPECT_EQ(d.reply.request_id, "req-7");
  EXPECT_EQ(d.key_z85, k.stranger.z85());
  EXPECT_TRUE(d.reply.user_id.empty());
}

TEST(ZapDecision, EveryMechanismButCurveIsRefused) {
  Keys k;
  for (const auto& [mechanism, credentials] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"NULL", {}},
           {"PLAIN", {"user", "password"}},
           {"curve", {k.allowed.raw()}},
           {"GSSAPI", {k.allowed.raw()}},
           {"", {}}}) {
    ZapDecision d = decide_zap(request(mechanism, credentials), k.list, kDomains);
    EXPECT_EQ(d.verdict, ZapVerdict::kWrongMechanism) << mechanism;
    EXPECT_EQ(d.reply.status_code, "400") << mechanism;
  }
}

TEST(ZapDecision, AnUnknownDomainIsRefusedEvenWithAnAllowedKey) {
  Keys k;
  ZapDecision d = decide_zap(request("CURVE", {k.allowed.raw()}, "other"), k.list, kDomains);
  EXPECT_EQ(d.verdict, ZapVerdict::kUnknownDomain);
  EXPECT_EQ(d.reply.status_code, "400");
  EXPECT_EQ(decide_zap(request("CURVE", {k.allowed.raw()}, ""), k.list, kDomains).verdict,
            ZapVerdict::kUnknownDomain);
}

TEST(ZapDecision, GarbageIsRefusedWithAReplyAllTheSame) {
  Keys k;
  for (const Frames& frames : std::vector<Frames>{
           {},
           {"1.0"},
           {"1.0", "r"},
           {"1.0", "r", "pipeline.broker.workers", "10.0.0.2", ""},  // no mechanism
           {"\xff\xfe", "r", "pipeline.broker.workers", "a", "", "CURVE", k.allowed.raw()},
           {"2.0", "r", "pipeline.broker.workers", "a", "", "CURVE", k.allowed.raw()},
           Frames(50, "x"),
       }) {
    ZapDecision d = decide_zap(frames, k.list, kDomains);
    EXPECT_EQ(d.verdict, ZapVerdict::kMalformed) << frames.size();
    EXPECT_EQ(d.reply.status_code, "400");
    EXPECT_EQ(encode_zap_reply(d.reply).size(), 6u);
  }
}

TEST(ZapDecision, ACurveCredentialOfTheWrongSizeOrCountIsRefused) {
  Keys k;
  EXPECT_EQ(decide_zap(request("CURVE", {}), k.list, kDomains).verdict, ZapVerdict::kMalformed);
  EXPECT_EQ(decide_zap(request("CURVE", {k.allowed.raw().substr(1)}), k.list, kDomains).verdict,
            ZapVerdict::kMalformed);
  EXPECT_EQ(
      decide_zap(request("CURVE", {k.allowed.raw(), k.allowed.raw()}), k.list, kDomains).verdict,
      ZapVerdict::kMalformed);
  EXPECT_EQ(decide_zap(request("CURVE", {k.allowed.z85()}), k.list, kDomains).verdict,
            ZapVerdict::kMalformed);
}

TEST(ZapDecision, AnOversizedFrameIsRefused) {
  Keys k;
  Frames frames = request("CURVE", {k.allowed.raw()});
  frames[3] = std::string(5000, 'a');
  EXPECT_EQ(decide_zap(frames, k.list, kDomains).verdict, ZapVerdict::kMalformed);
}

TEST(ZapDecision, PeerTextIsMadePrintableForLogs) {
  Keys k;
  Frames frames = request("CURVE", {k.stranger.raw()});
  frames[3] = "10.0.0.2\n\x1b[31m";
  ZapDecision d = decide_zap(frames, k.list, kDomains);
  EXPECT_EQ(d.address.find('\n'), std::string::npos);
  EXPECT_EQ(d.address.find('\x1b'), std::string::npos);
}

TEST(ZapRequest, ParsesTheFixedFramesAndTheCredentials) {
  auto r = parse_zap_request({"1.0", "id", "dom", "1.2.3.4", "rid", "CURVE", "cred"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->request_id, "id");
  EXPECT_EQ(r->domain, "dom");
  EXPECT_EQ(r->address, "1.2.3.4");
  EXPECT_EQ(r->routing_id, "rid");
  EXPECT_EQ(r->mechanism, "CURVE");
  ASSERT_EQ(r->credentials.size(), 1u);
  EXPECT_EQ(r->credentials[0], "cred");
}

TEST(ZapReply, HasTheSixFramesOfRfc27) {
  Frames f = encode_zap_reply({"id", "200", "OK", "user"});
  EXPECT_EQ(f, (Frames{"1.0", "id", "200", "OK", "user", ""}));
}

}  // namespace
}  // namespace pl::net
