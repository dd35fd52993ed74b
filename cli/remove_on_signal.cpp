#include "cli/remove_on_signal.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <iterator>

namespace pl::cli {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
// What the handler removes: a plain buffer, since the handler may only make async-signal-safe
// calls (unlink, raise) and must not touch a std::string being changed.
char g_path[4096];
struct sigaction g_previous[std::size(kSignals)];

void remove_then_die(int sig) {
  ::unlink(g_path);
  // SA_RESETHAND put the default action back; the signal, blocked while this handler runs, is
  // delivered again when it returns, and ends the process.
  ::raise(sig);
}

}  // namespace

RemoveOnSignal::RemoveOnSignal(const std::filesystem::path& path) {
  const std::string& text = path.native();
  if (text.size() >= sizeof g_path) {
    std::cerr << "pipelinectl: " << text << " is left behind if this command is interrupted\n";
    return;
  }
  std::memcpy(g_path, text.c_str(), text.size() + 1);
  struct sigaction action {};
  action.sa_handler = remove_then_die;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &action, &g_previous[i]);
  installed_ = true;
}

RemoveOnSignal::~RemoveOnSignal() {
  if (!installed_) return;
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
}

}  // namespace pl::cli
