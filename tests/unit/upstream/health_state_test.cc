#include "upstream/health_state.h"

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

using Change = HealthState::Change;

TEST(HealthStateTest, StartsHealthyAndNeedsConsecutiveFailures) {
  HealthState s(2, 3);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_EQ(s.record(true), Change::None);  // resets the failure count
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.record(false), Change::None);  // already unhealthy: no second transition
}

TEST(HealthStateTest, RecoversAfterConsecutiveSuccesses) {
  HealthState s(2, 1);
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_EQ(s.record(false), Change::None);  // resets the success count
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_EQ(s.record(true), Change::BecameHealthy);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.record(true), Change::None);
}

TEST(HealthStateTest, ThresholdOfOneFlipsAtOnce) {
  HealthState s(1, 1);
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_EQ(s.record(true), Change::BecameHealthy);
}

}  // namespace
}  // namespace portico::upstream
