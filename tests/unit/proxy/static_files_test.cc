#include "proxy/static_files.h"

#include <gtest/gtest.h>

namespace portico::proxy {
namespace {

TEST(StaticFilesTest, SafeRelativePathNormalisesAndRejectsEscapes) {
  EXPECT_EQ(*safeRelativePath("/a/b.txt"), "a/b.txt");
  EXPECT_EQ(*safeRelativePath("//a/./b//c"), "a/b/c");
  EXPECT_EQ(*safeRelativePath("/a%20b"), "a b");
  EXPECT_EQ(*safeRelativePath("/"), "");
  for (const char* bad : {"/../etc/passwd", "/a/../../x", "/%2e%2e/x", "/.%2E/x", "/%2E./x",
                          "/a/%2e%2e", "/a%2f..%2fb", "/a%00b", "/%zz", "/%2"}) {
    EXPECT_FALSE(safeRelativePath(bad).has_value()) << bad;
  }
}

TEST(StaticFilesTest, ParseRange) {
  ByteRange r;
  ASSERT_EQ(parseRange("bytes=0-9", 100, &r), RangeResult::Satisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(parseRange("bytes=90-", 100, &r), RangeResult::Satisfiable);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(parseRange("bytes=-5", 100, &r), RangeResult::Satisfiable);
  EXPECT_EQ(r.first, 95u);
  ASSERT_EQ(parseRange("bytes=50-1000", 100, &r), RangeResult::Satisfiable);
  EXPECT_EQ(r.length, 50u);
  EXPECT_EQ(parseRange("bytes=100-", 100, &r), RangeResult::Unsatisfiable);
  EXPECT_EQ(parseRange("bytes=-0", 100, &r), RangeResult::Unsatisfiable);
  EXPECT_EQ(parseRange("bytes=5-1", 100, &r), RangeResult::None);
  EXPECT_EQ(parseRange("bytes=0-1,5-6", 100, &r), RangeResult::None);
  EXPECT_EQ(parseRange("items=0-1", 100, &r), RangeResult::None);
  EXPECT_EQ(parseRange("bytes=x-1", 100, &r), RangeResult::None);
}

// RFC 9110 14.1.1: a last position beyond the end is clamped, however many digits it has; a
// first position beyond the end is unsatisfiable.
TEST(StaticFilesTest, ParseRangeWithHugeNumbers) {
  ByteRange r;
  for (const char* last : {"18446744073709551615", "18446744073709551616", "99999999999999999999",
                           "123456789012345678901234567890"}) {
    ASSERT_EQ(parseRange(std::string("bytes=10-") + last, 100, &r), RangeResult::Satisfiable)
        << last;
    EXPECT_EQ(r.first, 10u);
    EXPECT_EQ(r.length, 90u);
  }
  ASSERT_EQ(parseRange("bytes=-99999999999999999999", 100, &r), RangeResult::Satisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 100u);
  EXPECT_EQ(parseRange("bytes=99999999999999999999-", 100, &r), RangeResult::Unsatisfiable);
  EXPECT_EQ(parseRange("bytes=18446744073709551616-99999999999999999999", 100, &r),
            RangeResult::Unsatisfiable);
  // Still invalid (ignored) when the last position is below the first.
  EXPECT_EQ(parseRange("bytes=99999999999999999999-5", 100, &r), RangeResult::None);
}

TEST(StaticFilesTest, ContentTypes) {
  EXPECT_EQ(contentTypeFor("/x/index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(contentTypeFor("/a.png"), "image/png");
  EXPECT_EQ(contentTypeFor("/dir.d/file"), "application/octet-stream");
}

}  // namespace
}  // namespace portico::proxy
