#include "common/net/zap_handler.h"

#include <spdlog/spdlog.h>

namespace pl::net {
namespace {

constexpr size_t kMaxLogStates = 4096;
constexpr int kMaxRequestsPerTurn = 1024;

}  // namespace

Result<std::unique_ptr<ZapHandler>> ZapHandler::start_if_configured(
    Context& context, const std::optional<CurveServerSetup>& setup, const Clock& clock) {
  if (!setup) return std::unique_ptr<ZapHandler>();
  return start(context, *setup, clock);
}

Result<std::unique_ptr<ZapHandler>> ZapHandler::start(Context& context, CurveServerSetup setup,
                                                      const Clock& clock, Duration log_interval) {
  std::unique_ptr<ZapHandler> handler(
      new ZapHandler(context, std::move(setup), clock, log_interval));
  handler->loaded_stamp_ = allow_list_stamp(handler->setup_.allow_list);
  auto list = AllowList::load(handler->setup_.allow_list);
  if (!list.ok()) return std::move(list).error().with_context("loading the allow-list");
  handler->allowed_ = std::move(*list);
  if (auto st = handler->socket_.bind(kZapEndpoint); !st.ok()) {
    return st.error().with_context("starting the ZAP handler");
  }
  spdlog::info("ZAP handler: {} allowed client key(s) from {}; server key {}",
               handler->allowed_.size(), handler->setup_.allow_list.string(),
               handler->server_public_z85_);
  if (handler->allowed_.size() == 0) {
    spdlog::warn("the allow-list {} is empty: no client can connect over tcp://",
                 handler->setup_.allow_list.string());
  }
  return handler;
}

ZapHandler::ZapHandler(Context& context, CurveServerSetup setup, const Clock& clock,
                       Duration log_interval)
    : context_(context),
      setup_(std::move(setup)),
      clock_(clock),
      log_interval_(log_interval),
      socket_(context_, SocketKind::kRep),
      server_public_z85_(setup_.server.public_key.z85()) {}

ZapHandler::~ZapHandler() = default;

CurveServerKeys ZapHandler::server_keys(const std::string& domain) {
  domains_.insert(domain);
  return CurveServerKeys{setup_.server.secret_key.raw(), domain};
}

Status ZapHandler::watch(Socket& socket, const std::string& name) {
  auto monitor = std::make_unique<HandshakeMonitor>(context_, socket);
  if (!monitor->status().ok()) return monitor->status();
  watched_.push_back(Watched{name, std::move(monitor)});
  return ok_status();
}

void ZapHandler::add_poll_entries(std::vector<PollEntry>& entries) const {
  entries.push_back({socket_.raw(), -1, false});
  for (const auto& w : watched_) entries.push_back({w.monitor->raw(), -1, false});
}

void ZapHandler::on_poll(const std::vector<PollEntry>& entries, size_t first) {
  if (first < entries.size() && entries[first].readable) serve();
  for (size_t i = 0; i < watched_.size() && first + 1 + i < entries.size(); ++i) {
    if (!entries[first + 1 + i].readable) continue;
    for (const auto& event : watched_[i].monitor->drain()) log_handshake(watched_[i].name, event);
  }
}

void ZapHandler::serve() {
  for (int n = 0; n < kMaxRequestsPerTurn; ++n) {
    auto frames = socket_.receive();
    if (!frames.ok()) {
      spdlog::error("ZAP handler: {}", frames.error().message);
      return;
    }
    if (!frames->has_value()) return;
    reload_if_changed();
    ZapDecision decision = decide_zap(**frames, allowed_, domains_);
    if (decision.verdict == ZapVerdict::kAllowed) {
      ++counters_.allowed;
      spdlog::debug("ZAP: allowed {} ({}) from {} on {}", decision.key_z85, decision.label,
                    decision.address, decision.domain);
    } else {
      ++counters_.refused;
      log_refusal(decision);
    }
    // REP: every request gets its reply before the next is read. A reply that cannot be sent
    // leaves that handshake unanswered, which ZeroMQ treats as a refusal.
    auto sent = socket_.send(encode_zap_reply(decision.reply));
    if (!sent.ok()) spdlog::error("ZAP handler reply: {}", sent.error().message);
  }
}

Status ZapHandler::reload() {
  loaded_stamp_ = allow_list_stamp(setup_.allow_list);
  auto list = AllowList::load(setup_.allow_list);
  if (!list.ok()) {
    spdlog::error("the allow-list was not reloaded, the previous one ({} keys) stays in force: {}",
                  allowed_.size(), list.error().message);
    return std::move(list).error();
  }
  allowed_ = std::move(*list);
  ++counters_.reloads;
  spdlog::info("allow-list reloaded from {}: {} key(s)", setup_.allow_list.string(),
               allowed_.size());
  return ok_status();
}

void ZapHandler::reload_if_changed() {
  if (allow_list_stamp(setup_.allow_list) == loaded_stamp_) return;
  (void)reload();
}

bool ZapHandler::should_log(const std::string& key, uint64_t& suppressed) {
  const TimePoint now = clock_.now();
  if (log_state_.size() >= kMaxLogStates && !log_state_.count(key)) log_state_.clear();
  LogState& state = log_state_[key];
  if (state.last != TimePoint{} && now - state.last < log_interval_) {
    ++state.suppressed;
    ++counters_.logs_suppressed;
    return false;
  }
  suppressed = state.suppressed;
  state.suppressed = 0;
  state.last = now;
  return true;
}

void ZapHandler::log_refusal(const ZapDecision& d) {
  uint64_t suppressed = 0;
  const std::string who = d.key_z85.empty() ? "address " + d.address : "key " + d.key_z85;
  if (!should_log(who, suppressed)) return;
  spdlog::warn("refused a client on {}: {} ({}) from {}: {}{}", d.domain.empty() ? "?" : d.domain,
               d.key_z85.empty() ? "no key" : d.key_z85, zap_verdict_name(d.verdict),
               d.address.empty() ? "?" : d.address, d.reason,
               suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
}

void ZapHandler::log_handshake(const std::string& name, const HandshakeEvent& event) {
  // ZAP refusals are logged with their key by log_refusal; successes are not news.
  if (event.kind == HandshakeEvent::Kind::kSucceeded ||
      event.kind == HandshakeEvent::Kind::kFailedAuth) {
    return;
  }
  ++counters_.handshake_failures;
  uint64_t suppressed = 0;
  if (!should_log(name + "/" + std::to_string(static_cast<int>(event.kind)) + "/" +
                      std::to_string(event.value),
                  suppressed)) {
    return;
  }
  spdlog::warn("{} ({}): {}{}", name, event.endpoint, describe_handshake(event, true),
               suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
}

}  // namespace pl::net
