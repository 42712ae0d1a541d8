#include "tls/name_index.h"

#include <gtest/gtest.h>

namespace portico::tls {
namespace {

TEST(NameIndexTest, ExactThenOneLabelWildcard) {
  NameIndex index;
  index.add("a.example.com", 1);
  index.add("*.example.com", 2);
  index.add("example.com", 3);
  EXPECT_EQ(index.find("a.example.com"), 1u);
  EXPECT_EQ(index.find("b.example.com"), 2u);
  EXPECT_EQ(index.find("B.Example.COM."), 2u);
  EXPECT_EQ(index.find("example.com"), 3u);
  EXPECT_EQ(index.find("x.b.example.com"), std::nullopt);
  EXPECT_EQ(index.find(".example.com"), std::nullopt);
  EXPECT_EQ(index.find(""), std::nullopt);
  EXPECT_EQ(index.find(std::string(300, 'a')), std::nullopt);
}

TEST(NameIndexTest, TheFirstGroupToClaimANameKeepsIt) {
  NameIndex index;
  index.add("shared.test", 0);
  index.add("shared.test", 4);
  EXPECT_EQ(index.find("shared.test"), 0u);
}

}  // namespace
}  // namespace portico::tls
