// The ZeroMQ Authentication Protocol (ZAP, RFC 27) as pure functions: reading a request,
// deciding it against an allow-list, writing the reply. No sockets here; ZapHandler
// (zap_handler.h) carries them out.
//
// A request (as a REP socket receives it, the envelope delimiter stripped) is the frames
//   "1.0", request id, domain, peer address, routing id, mechanism, credentials...
// and a reply is
//   "1.0", request id, status code, status text, user id, metadata.
//
// The decision fails closed: 200 only for version 1.0, a known domain, mechanism CURVE with
// exactly one 32-byte credential that is in the allow-list. Anything else (garbage, too few or
// too many frames, another mechanism such as NULL or PLAIN, an unknown domain, a key not in the
// list) is 400 with a reason. ZeroMQ refuses the connection on anything but 200.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/net/curve_keys.h"
#include "common/net/zmq_socket.h"
#include "common/result.h"

namespace pl::net {

inline constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

struct ZapRequest {
  std::string version;
  std::string request_id;
  std::string domain;
  std::string address;  // the peer's IP address as the server saw it
  std::string routing_id;
  std::string mechanism;  // "NULL", "PLAIN", "CURVE"
  std::vector<std::string> credentials;
};

// Reads the frames of a request. kInvalidInput when there are fewer than the six fixed frames
// or more than a few credentials.
Result<ZapRequest> parse_zap_request(const Frames& frames);

struct ZapReply {
  std::string request_id;
  std::string status_code;  // "200", "400" (client refused), "500" (handler's fault)
  std::string status_text;
  std::string user_id;  // a ZeroMQ message's "User-Id" property on accepted connections
};

Frames encode_zap_reply(const ZapReply& reply);

enum class ZapVerdict {
  kAllowed,
  kUnknownKey,      // CURVE with a key not in the allow-list
  kWrongMechanism,  // NULL, PLAIN or anything but CURVE
  kUnknownDomain,   // a socket we did not expect to authenticate
  kMalformed,       // frames that are not a ZAP 1.0 request, or a bad credential
};

std::string_view zap_verdict_name(ZapVerdict verdict);

struct ZapDecision {
  ZapVerdict verdict = ZapVerdict::kMalformed;
  ZapReply reply;
  std::string domain;
  std::string address;
  std::string mechanism;
  std::string key_z85;  // the client's public key, when it sent a readable one
  std::string label;    // the allow-list's label of the key (allowed only)
  std::string reason;   // why it was refused, for logs
};

// Decides one request. `domains` are the ZAP domains of our CURVE sockets. Always gives a reply
// to send, also for garbage (with whatever request id could be read).
ZapDecision decide_zap(const Frames& frames, const AllowList& allowed,
                       const std::set<std::string>& domains);

}  // namespace pl::net
