#include "http/header_map.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(HeaderMapTest, LookupIsCaseInsensitiveAndKeepsCase) {
  HeaderMap h;
  h.add("Content-Type", "text/plain");
  h.add("X-Thing", "a");
  ASSERT_TRUE(h.get("content-type").has_value());
  EXPECT_EQ(*h.get("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(h.at(0).name, "Content-Type");
  EXPECT_FALSE(h.get("missing").has_value());
}

TEST(HeaderMapTest, SetReplacesAllAndRemoveCounts) {
  HeaderMap h;
  h.add("Via", "1");
  h.add("via", "2");
  h.add("Other", "x");
  EXPECT_EQ(h.count("VIA"), 2u);
  h.set("Via", "3");
  EXPECT_EQ(h.count("via"), 1u);
  EXPECT_EQ(*h.get("via"), "3");
  EXPECT_EQ(h.remove("via"), 1u);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.byteSize(), 6u);
}

TEST(HeaderMapTest, SetFromOwnValueIsSafe) {
  HeaderMap h;
  h.add("A", "value-of-a");
  h.set("B", *h.get("A"));
  EXPECT_EQ(*h.get("B"), "value-of-a");
}

TEST(HeaderMapTest, RepeatedSetDoesNotGrowWithoutBound) {
  HeaderMap h;
  for (int i = 0; i < 10000; ++i) h.set("X-Counter", std::string(100, 'a' + i % 26));
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.byteSize(), 9u + 100u);
}

TEST(HeaderMapTest, ClearEmpties) {
  HeaderMap h;
  h.add("A", "b");
  h.clear();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.byteSize(), 0u);
}

}  // namespace
}  // namespace portico::http
