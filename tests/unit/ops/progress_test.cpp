// pipelinectl's displays: progress lines and bars of `run`, the frames of `top`.
#include "cli/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "cli/progress_format.h"
#include "cli/top_command.h"
#include "common/json.h"

namespace pl::cli {
namespace {

using namespace std::chrono_literals;

Value progress_of(int64_t done, int64_t total, int64_t failed = 0, const std::string& step = "work",
                  bool finished = false) {
  Value loop;
  loop["step"] = step;
  loop["done"] = done;
  loop["failed"] = failed;
  loop["total"] = total;
  if (finished) loop["finished"] = true;
  Value p;
  p["loops"] = Value(Value::Array{loop});
  return p;
}

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[512];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressFormat, SaysDurationsRatesAndSizesShortly) {
  EXPECT_EQ(format_duration_s(0.25), "250ms");
  EXPECT_EQ(format_duration_s(12.4), "12s");
  EXPECT_EQ(format_duration_s(185), "3m05s");
  EXPECT_EQ(format_duration_s(7800), "2h10m");
  EXPECT_EQ(format_duration_s(std::nullopt), "-");
  EXPECT_EQ(format_rate(3.21), "3.2/s");
  EXPECT_EQ(format_rate(1500), "1.5k/s");
  EXPECT_EQ(format_micros(1234), "1.2ms");
  EXPECT_EQ(format_utc(1795489212345), "2026-11-24 03:00:12Z");  // UTC, the milliseconds dropped
}

TEST(ProgressTracker, ComputesRateAndEtaFromSamplesOverTime) {
  ProgressTracker t;
  FakeClock clock;
  t.update({{"work", 0, 0, 100}}, clock.now());
  EXPECT_FALSE(t.view()[0].rate.has_value());
  clock.advance(2s);
  t.update({{"work", 20, 0, 100}}, clock.now());
  const LoopView v = t.view()[0];
  ASSERT_TRUE(v.rate.has_value());
  EXPECT_DOUBLE_EQ(*v.rate, 10.0);
  ASSERT_TRUE(v.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*v.eta_s, 8.0);
}

TEST(ProgressTracker, ForgetsLoopsThatEndedAndStartsOverForANewOne) {
  ProgressTracker t;
  FakeClock clock;
  t.update({{"a", 5, 0, 10}, {"b", 1, 0, 3}}, clock.now());
  clock.advance(1s);
  t.update({{"b", 2, 0, 3}}, clock.now());
  ASSERT_EQ(t.view().size(), 1u);
  EXPECT_EQ(t.view()[0].loop.step, "b");
  clock.advance(1s);
  t.update({{"b", 0, 0, 50}}, clock.now());  // a new loop under the same name
  EXPECT_FALSE(t.view()[0].rate.has_value());
}

TEST(ProgressLines, ReadAsSentences) {
  LoopView v;
  v.loop = {"work", 12, 1, 30};
  v.rate = 3.2;
  v.eta_s = 5.6;
  EXPECT_EQ(render_plain_line(v), "progress: work 12/30 done (40%), 1 failed, 3.2/s, ETA 6s");
  const std::string bar = render_bar_line(v, 60);
  EXPECT_LE(bar.size(), 60u);
  EXPECT_EQ(bar.rfind("work  [", 0), 0u) << bar;
  EXPECT_NE(bar.find("12/30  1 failed  3.2/s  ETA 6s"), std::string::npos) << bar;
}

TEST(ProgressDisplay, PlainLinesComeWhenALoopAppearsAtMostEveryIntervalAndWhenComplete) {
  std::FILE* f = std::tmpfile();
  {
    ProgressDisplay d(ProgressMode::kLines, f, 5000ms);
    FakeClock clock;
    d.update(progress_of(0, 10), clock.now());
    clock.advance(1s);
    d.update(progress_of(3, 10), clock.now());  // too soon
    clock.advance(4s);
    d.update(progress_of(6, 10), clock.now());  // 5 s since the last line
    clock.advance(1s);
    d.update(progress_of(6, 10), clock.now());   // no change
    d.update(progress_of(10, 10), clock.now());  // complete
    d.update(progress_of(10, 10), clock.now());
  }
  const std::string out = contents(f);
  std::fclose(f);
  EXPECT_EQ(out,
            "progress: work 0/10 done (0%)\n"
            "progress: work 6/10 done (60%), 1.2/s, ETA 3s\n"
            "progress: work 10/10 done (100%), 1.7/s\n")
      << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

// The broker's final status shows how each loop that ended with the run ended: the last line
// comes from it, also for a loop that ended before all its items (stopped by an error, say).
TEST(ProgressDisplay, TheFinalStatusGivesEachLoopItsLastLine) {
  std::FILE* f = std::tmpfile();
  const auto watch = [f](const Value& running, const Value& final_status) {
    ProgressDisplay d(ProgressMode::kLines, f, 5000ms);
    FakeClock clock;
    d.update(running, clock.now());
    clock.advance(1s);
    d.finish(final_status, clock.now());
  };
  watch(progress_of(16, 24), progress_of(24, 24, 0, "work", true));
  watch(progress_of(3, 10, 0, "other"), progress_of(5, 10, 2, "other", true));
  const std::string out = contents(f);
  std::fclose(f);
  EXPECT_EQ(out,
            "progress: work 16/24 done (66%)\n"
            "progress: work 24/24 done (100%), 8.0/s\n"
            "progress: other 3/10 done (30%)\n"
            "progress: other 5/10 done (50%), 2 failed, 2.0/s, ended early\n")
      << out;
}

TEST(ProgressDisplay, ABarIsRedrawnInPlaceAndErasedAtTheEnd) {
  std::FILE* f = std::tmpfile();
  {
    ProgressDisplay d(ProgressMode::kBar, f, 5000ms, 60);
    FakeClock clock;
    d.update(progress_of(1, 4), clock.now());
    clock.advance(1s);
    d.update(progress_of(2, 4), clock.now());
    d.finish();
  }
  const std::string out = contents(f);
  std::fclose(f);
  // Drawn, moved up and cleared, drawn again, cleared at the end.
  EXPECT_EQ(out.find("work  ["), 0u) << out;
  size_t clears = 0;
  for (size_t p = 0; (p = out.find("\x1b[1A\r\x1b[2K", p)) != std::string::npos; ++p) ++clears;
  EXPECT_EQ(clears, 2u);
  EXPECT_NE(out.find("2/4"), std::string::npos);
}

TEST(ProgressDisplay, OffWritesNothing) {
  std::FILE* f = std::tmpfile();
  {
    ProgressDisplay d(ProgressMode::kOff, f, 5000ms);
    d.update(progress_of(1, 4), SteadyClock::now());
  }
  EXPECT_EQ(contents(f), "");
  std::fclose(f);
}

// ---- top
// -----------------------------------------------------------------------------------------

Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.ok()) << text;
  return *v;
}

TEST(TopFrame, ComputesThroughputFromTheChangeOfTheCounters) {
  const Value sup = json(R"({"name": "root", "state": "running", "children": []})");
  Value before_broker = json(R"({"counters": {"completed": 10, "failed": 1, "dispatched": 12}})");
  Value after_broker = json(R"({"counters": {"completed": 30, "failed": 1, "dispatched": 40}})");
  const Value first = top_frame(sup, "", before_broker, "", Value(), 1000, "/s");
  EXPECT_TRUE(first.find("rates")->is_null());
  const Value second = top_frame(sup, "", after_broker, "", first, 3000, "/s");
  const Value* rates = second.find("rates");
  ASSERT_TRUE(rates->is_object());
  EXPECT_DOUBLE_EQ(rates->find("succeeded_per_s")->as_double(), 10.0);
  EXPECT_DOUBLE_EQ(rates->find("dispatched_per_s")->as_double(), 14.0);
  // A restarted broker counts from zero again: no rate across it.
  const Value third = top_frame(sup, "", before_broker, "", second, 4000, "/s");
  EXPECT_TRUE(third.find("rates")->is_null());
}

TEST(TopFrame, RendersTheTreeTheBrokerAndWhatDoesNotAnswer) {
  const Value sup = json(R"({"name": "root", "state": "running", "uptime_ms": 5000, "pid": 9,
      "memory_enforcement": "rss", "metrics": {"listen": "127.0.0.1:9464"},
      "children": [{"name": "broker", "type": "worker", "pid": 10, "state": "running",
                    "uptime_ms": 4000, "restarts": 2, "rss_bytes": 12582912, "max_memory": 536870912}]})");
  const Value broker = json(R"({"workers": [{"slots": 2, "held": ["x"], "draining": true},
                        {"slots": 4, "held": [], "untracked": 3}], "queued": 7,
      "in_flight": 1, "waiting_retry": 0, "outstanding": 8, "runs_running": 1,
      "counters": {"dispatched": 3, "completed": 2},
      "item_latency": {"count": 2, "p50_us": 1500, "p90_us": 2000, "p99_us": 2000, "max_us": 2100},
      "providers": {"anthropic": {"state": "half_open", "in_flight": 1, "max_concurrency": 4,
                                   "consecutive_failures": 3, "times_opened": 1, "errors": 5}}})");
  const std::string text = render_top(top_frame(sup, "", broker, "", Value(), 0, "/var/x"), 0);
  for (const char* part :
       {"tree root running, up 5s", "metrics http://127.0.0.1:9464/metrics", "broker",
        "12 MiB / 512 MiB", "2 connected, 6 slots, 1 busy, 1 draining, 3 busy with earlier work",
        "queued 7, in flight 1", "p50 1.5ms", "anthropic", "half_open", "1/4"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
  const std::string down =
      render_top(top_frame(sup, "", std::nullopt, "no reply within 1000 ms", Value(), 0, "/x"), 0);
  EXPECT_NE(down.find("broker: no reply within 1000 ms"), std::string::npos) << down;
}

TEST(TopFrame, ShowsTheLoadOfEachHostAndTheCurveClientsWhenThereAreSeveral) {
  const Value sup = json(R"({"name": "root", "state": "running", "children": []})");
  const Value broker = json(R"({"workers": [
      {"host": "host-b", "slots": 2, "held": ["x"]}, {"host": "host-b", "slots": 2, "held": []},
      {"host": "host-c", "slots": 1, "held": ["y"]}],
      "counters": {"curve_allowed": 3, "curve_refused": 1, "curve_handshake_failures": 2}})");
  const std::string text = render_top(top_frame(sup, "", broker, "", Value(), 0, "/x"), 0);
  EXPECT_NE(text.find("hosts       host-b 2 (1/4 busy), host-c 1 (1/1 busy)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("curve       allowed 3, refused 1, handshakes failed 2"), std::string::npos)
      << text;

  const Value one_host =
      json(R"({"workers": [{"host": "host-a", "slots": 1, "held": []}], "counters": {}})");
  const std::string local = render_top(top_frame(sup, "", one_host, "", Value(), 0, "/x"), 0);
  EXPECT_EQ(local.find("hosts "), std::string::npos) << local;
  EXPECT_EQ(local.find("curve "), std::string::npos) << local;
}

TEST(TopFrame, CutsLinesAtTheTerminalWidth) {
  const Value sup =
      json(R"({"name": "a-rather-long-tree-name", "state": "running", "children": []})");
  const std::string text = render_top(top_frame(sup, "", std::nullopt, "x", Value(), 0, "/x"), 20);
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    EXPECT_LE(end - start, 20u);
    start = end + 1;
  }
}

}  // namespace
}  // namespace pl::cli
