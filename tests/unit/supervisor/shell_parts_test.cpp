// The pure parts of the shell: line splitting, the notify protocol, the child environment.
#include <gtest/gtest.h>

#include "supervisor/child_environment.h"
#include "supervisor/notify_socket.h"
#include "supervisor/output_capture.h"

namespace pl::supervisor {
namespace {

std::vector<std::string> split(LineSplitter& s, std::string_view bytes, bool flush = false) {
  std::vector<std::string> lines;
  auto emit = [&](std::string_view l) { lines.emplace_back(l); };
  s.feed(bytes, emit);
  if (flush) s.flush(emit);
  return lines;
}

TEST(LineSplitter, JoinsPiecesIntoLines) {
  LineSplitter s;
  EXPECT_TRUE(split(s, "hel").empty());
  EXPECT_EQ(split(s, "lo\nwor"), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(split(s, "ld\n\nx"), (std::vector<std::string>{"world", ""}));
  EXPECT_EQ(split(s, "", true), (std::vector<std::string>{"x"}));
}

TEST(LineSplitter, CutsOverlongLines) {
  LineSplitter s(4);
  EXPECT_EQ(split(s, "abcdefghij\nxy\n"), (std::vector<std::string>{"abcd", "efgh", "ij", "xy"}));
  EXPECT_EQ(split(s, "abcd\nef\n"), (std::vector<std::string>{"abcd", "ef"}));
}

TEST(NotifyProtocol, ParsesTheAssignmentsWeHonour) {
  auto n = parse_notify(42, "READY=1\nSTATUS=serving 3 clients\nWATCHDOG=1\nMAINPID=7\n");
  EXPECT_EQ(n.pid, 42);
  EXPECT_TRUE(n.ready);
  EXPECT_TRUE(n.watchdog);
  EXPECT_FALSE(n.watchdog_trigger);
  EXPECT_EQ(n.status, "serving 3 clients");
  EXPECT_TRUE(parse_notify(1, "WATCHDOG=trigger").watchdog_trigger);
  EXPECT_TRUE(parse_notify(1, "STOPPING=1").stopping);
  auto junk = parse_notify(1, "READY=0\nREADY=12\n\x01\x02");
  EXPECT_FALSE(junk.ready);
}

TEST(NotifyProtocol, ReadsAnExtensionOnlyWhenItIsAWholeNumberOfMicroseconds) {
  EXPECT_EQ(parse_notify(1, "EXTEND_TIMEOUT_USEC=30000000\nSTATUS=recovering").extend_timeout_us,
            30000000);
  EXPECT_EQ(parse_notify(1, "EXTEND_TIMEOUT_USEC=0").extend_timeout_us, 0);
  for (const char* bad : {"EXTEND_TIMEOUT_USEC=", "EXTEND_TIMEOUT_USEC=-5", "EXTEND_TIMEOUT_USEC=5s",
                          "EXTEND_TIMEOUT_USEC= 5", "EXTEND_TIMEOUT_USEC=99999999999999999999"}) {
    EXPECT_FALSE(parse_notify(1, bad).extend_timeout_us) << bad;
  }
}

TEST(ChildEnvironment, AddsTheContractAndDropsTheSupervisorsOwn) {
  char a[] = "PATH=/bin";
  char b[] = "NOTIFY_SOCKET=/run/systemd/notify";
  char c[] = "WATCHDOG_USEC=1000";
  char d[] = "KEEP=1";
  char e[] = "OVERRIDE=old";
  char* env[] = {a, b, c, d, e, nullptr};
  ChildEnvironment ce;
  ce.inherited = ChildEnvironment::filter_inherited(env);
  ce.notify_socket = "/s/notify.sock";
  ce.state_dir = "/s";
  ce.config_path = "/c.yaml";
  ProcessSpec spec;
  spec.env = {{"OVERRIDE", "new"}, {"PIPELINE_CHILD_NAME", "spoofed"}};
  spec.watchdog_ms = 250;
  auto out = ce.build("sub.x", spec);
  auto has = [&](const std::string& kv) { return std::find(out.begin(), out.end(), kv) != out.end(); };
  EXPECT_TRUE(has("PATH=/bin"));
  EXPECT_TRUE(has("KEEP=1"));
  EXPECT_TRUE(has("OVERRIDE=new"));
  EXPECT_FALSE(has("OVERRIDE=old"));
  EXPECT_TRUE(has("NOTIFY_SOCKET=/s/notify.sock"));
  EXPECT_FALSE(has("NOTIFY_SOCKET=/run/systemd/notify"));
  EXPECT_TRUE(has("PIPELINE_CHILD_NAME=sub.x"));
  EXPECT_FALSE(has("PIPELINE_CHILD_NAME=spoofed"));
  EXPECT_TRUE(has("PIPELINE_STATE_DIR=/s"));
  EXPECT_TRUE(has("PIPELINE_CONFIG=/c.yaml"));
  EXPECT_TRUE(has("WATCHDOG_USEC=250000"));
  EXPECT_FALSE(has("WATCHDOG_USEC=1000"));
  spec.watchdog_ms = 0;
  out = ce.build("x", spec);
  EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](const std::string& kv) {
    return kv.rfind("WATCHDOG_USEC=", 0) == 0;
  }));
}

}  // namespace
}  // namespace pl::supervisor
