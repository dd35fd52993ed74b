#include "common/net/zap.h"

namespace pl::net {
namespace {

constexpr size_t kFixedFrames = 6;
constexpr size_t kMaxCredentials = 4;
constexpr size_t kMaxFrameBytes = 1024;

// Peer-supplied text in a log line: printable ASCII only, and not too long.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

Result<ZapRequest> parse_zap_request(const Frames& frames) {
  if (frames.size() < kFixedFrames) {
    return make_error(ErrorCode::kInvalidInput, "a ZAP request has at least " +
                                                    std::to_string(kFixedFrames) + " frames, got " +
                                                    std::to_string(frames.size()));
  }
  if (frames.size() > kFixedFrames + kMaxCredentials) {
    return make_error(ErrorCode::kInvalidInput,
                      "a ZAP request with " + std::to_string(frames.size()) + " frames");
  }
  for (const auto& frame : frames) {
    if (frame.size() > kMaxFrameBytes) {
      return make_error(ErrorCode::kInvalidInput,
                        "a ZAP request frame of " + std::to_string(frame.size()) + " bytes");
    }
  }
  ZapRequest request;
  request.version = frames[0];
  request.request_id = frames[1];
  request.domain = frames[2];
  request.address = frames[3];
  request.routing_id = frames[4];
  request.mechanism = frames[5];
  request.credentials.assign(frames.begin() + kFixedFrames, frames.end());
  if (request.version != "1.0") {
    return make_error(ErrorCode::kInvalidInput,
                      "ZAP version \"" + printable(request.version) + "\", expected 1.0");
  }
  return request;
}

Frames encode_zap_reply(const ZapReply& reply) {
  return {"1.0", reply.request_id, reply.status_code, reply.status_text, reply.user_id, ""};
}

std::string_view zap_verdict_name(ZapVerdict verdict) {
  switch (verdict) {
    case ZapVerdict::kAllowed:
      return "allowed";
    case ZapVerdict::kUnknownKey:
      return "unknown_key";
    case ZapVerdict::kWrongMechanism:
      return "wrong_mechanism";
    case ZapVerdict::kUnknownDomain:
      return "unknown_domain";
    case ZapVerdict::kMalformed:
      return "malformed";
  }
  return "malformed";
}

ZapDecision decide_zap(const Frames& frames, const AllowList& allowed,
                       const std::set<std::string>& domains) {
  ZapDecision d;
  d.reply.status_code = "400";
  d.reply.request_id = frames.size() > 1 && frames[1].size() <= kMaxFrameBytes ? frames[1] : "";
  auto refuse = [&](ZapVerdict verdict, std::string reason) {
    d.verdict = verdict;
    d.reason = std::move(reason);
    d.reply.status_text = d.reason;
    return d;
  };
  auto request = parse_zap_request(frames);
  if (!request.ok()) return refuse(ZapVerdict::kMalformed, request.error().message);
  d.domain = printable(request->domain);
  d.address = printable(request->address);
  d.mechanism = printable(request->mechanism);
  if (!domains.count(request->domain)) {
    return refuse(ZapVerdict::kUnknownDomain, "unknown ZAP domain \"" + d.domain + "\"");
  }
  if (request->mechanism != "CURVE") {
    return refuse(ZapVerdict::kWrongMechanism,
                  "mechanism " + d.mechanism + " refused: only CURVE is accepted");
  }
  if (request->credentials.size() != 1) {
    return refuse(
        ZapVerdict::kMalformed,
        "a CURVE request with " + std::to_string(request->credentials.size()) + " credentials");
  }
  auto key = curve_key_from_raw(request->credentials[0]);
  if (!key.ok()) return refuse(ZapVerdict::kMalformed, key.error().message);
  d.key_z85 = key->z85();
  auto label = allowed.find(*key);
  if (!label) return refuse(ZapVerdict::kUnknownKey, "key not in the allow-list");
  d.verdict = ZapVerdict::kAllowed;
  d.label = *label;
  d.reply.status_code = "200";
  d.reply.status_text = "OK";
  d.reply.user_id = d.key_z85;
  return d;
}

}  // namespace pl::net
