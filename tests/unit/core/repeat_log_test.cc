#include "core/repeat_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::log {
namespace {

// A hand-driven clock and a writer that keeps the lines.
struct Harness {
  int64_t now = 1000;
  std::vector<std::string> lines;
  RepeatLog log{Level::Warn, 10000, [this] { return now; },
                [this](Level, std::string_view line) { lines.emplace_back(line); }};
};

TEST(RepeatLog, FirstOccurrenceIsWrittenAtOnce) {
  Harness h;
  h.log.log("accept: {}", "Too many open files");
  EXPECT_EQ(h.lines, std::vector<std::string>{"accept: Too many open files"});
  EXPECT_EQ(h.log.msUntilFlush(), -1);  // nothing held back
}

TEST(RepeatLog, RepeatsWithinTheIntervalAreCountedAndReportedOnce) {
  Harness h;
  h.log.log("refused");
  for (int i = 0; i < 5; ++i) {
    h.now += 1000;
    h.log.log("refused");
  }
  EXPECT_EQ(h.lines.size(), 1u);
  EXPECT_EQ(h.log.msUntilFlush(), 5000);
  h.now += 4999;
  h.log.flush();
  EXPECT_EQ(h.lines.size(), 1u);  // the window is not over yet
  h.now += 1;
  EXPECT_EQ(h.log.msUntilFlush(), 0);
  h.log.flush();
  ASSERT_EQ(h.lines.size(), 2u);
  EXPECT_EQ(h.lines[1], "refused (repeated 5 times in the last 10s)");
  EXPECT_EQ(h.log.msUntilFlush(), -1);
}

TEST(RepeatLog, OneRepeatIsSingular) {
  Harness h;
  h.log.log("refused");
  h.log.log("refused");
  h.now += 10000;
  h.log.flush();
  EXPECT_EQ(h.lines.back(), "refused (repeated 1 time in the last 10s)");
}

TEST(RepeatLog, ASteadyFloodCostsOneLinePerInterval) {
  Harness h;
  for (int i = 0; i < 300; ++i) {  // one per 100 ms for 30 s
    h.log.log("refused");
    h.now += 100;
    h.log.flush();
  }
  // The first, then one summary per finished window.
  EXPECT_EQ(h.lines,
            (std::vector<std::string>{"refused", "refused (repeated 99 times in the last 10s)",
                                      "refused (repeated 100 times in the last 10s)",
                                      "refused (repeated 100 times in the last 10s)"}));
}

TEST(RepeatLog, AfterAQuietWindowTheNextOccurrenceIsWrittenInFull) {
  Harness h;
  h.log.log("refused");
  h.now += 10000;
  h.log.flush();  // no repeats: nothing to say
  EXPECT_EQ(h.lines.size(), 1u);
  h.now += 60000;
  h.log.log("refused");
  EXPECT_EQ(h.lines, (std::vector<std::string>{"refused", "refused"}));
}

TEST(RepeatLog, RepeatsAreReportedEvenWithoutAFlushWhenTheNextOneComesLate) {
  Harness h;
  h.log.log("refused");
  h.log.log("refused");
  h.now += 25000;  // the owner's flush timer never ran
  h.log.log("refused");
  ASSERT_EQ(h.lines.size(), 2u);
  EXPECT_EQ(h.lines[1], "refused (repeated 1 time in the last 25s)");
  // The late one opened a new window and is counted there.
  EXPECT_EQ(h.log.msUntilFlush(), 10000);
}

TEST(RepeatLog, ADifferentMessageReportsThePendingCountFirst) {
  Harness h;
  h.log.log("accept: {}", "Too many open files");
  h.log.log("accept: {}", "Too many open files");
  h.now += 2000;
  h.log.log("accept: {}", "Cannot allocate memory");
  EXPECT_EQ(h.lines, (std::vector<std::string>{
                         "accept: Too many open files",
                         "accept: Too many open files (repeated 1 time in the last 2s)",
                         "accept: Cannot allocate memory"}));
  EXPECT_EQ(h.log.msUntilFlush(), -1);
}

TEST(RepeatLog, MessagesWithTheSameKeyAreRepeatsOfOneCondition) {
  Harness h;
  h.log.logAs("closed a flooding connection", "closed a flooding connection from 10.0.0.1:1");
  h.now += 1000;
  h.log.logAs("closed a flooding connection", "closed a flooding connection from 10.0.0.2:2");
  h.log.logAs("closed a flooding connection", "closed a flooding connection from 10.0.0.3:3");
  h.now += 9000;
  h.log.flush();
  h.log.logAs("something else", "something else, in detail");
  EXPECT_EQ(h.lines, (std::vector<std::string>{
                         "closed a flooding connection from 10.0.0.1:1",
                         "closed a flooding connection (repeated 2 times in the last 10s)",
                         "something else, in detail"}));
}

TEST(RepeatLog, DisabledLevelWritesNothing) {
  std::vector<std::string> lines;
  RepeatLog debug{Level::Debug, 10000, [] { return int64_t{0}; },
                  [&lines](Level, std::string_view line) { lines.emplace_back(line); }};
  ASSERT_FALSE(enabled(Level::Debug));  // the default level is info
  debug.log("refused");
  debug.log("refused");
  debug.flush();
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(debug.msUntilFlush(), -1);
}

}  // namespace
}  // namespace portico::log
