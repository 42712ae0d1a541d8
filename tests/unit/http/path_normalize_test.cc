#include "http/path_normalize.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

// The normalized path, or "ERR:<reason>".
std::string norm(std::string path, PathOptions options = {}) {
  PathError e = normalizePath(path, options);
  return e == PathError::None ? path : std::string("ERR:") + describe(e);
}

PathOptions withSlashes(EscapedSlashes s, bool merge = true) {
  PathOptions o;
  o.escaped_slashes = s;
  o.merge_slashes = merge;
  return o;
}

TEST(PathNormalizeTest, PlainPathsAreUnchanged) {
  for (const char* p : {"/", "/a", "/a/b.txt", "/a/", "/.hidden", "/a/...", "/a..b/c.", "/a;b=c",
                        "/~user/x-y_z", "/a\\b"}) {
    EXPECT_EQ(norm(p), p) << p;
  }
}

TEST(PathNormalizeTest, RemovesDotSegments) {
  EXPECT_EQ(norm("/a/./b"), "/a/b");
  EXPECT_EQ(norm("/a/b/../c"), "/a/c");
  EXPECT_EQ(norm("/a/b/.."), "/a/");
  EXPECT_EQ(norm("/a/b/."), "/a/b/");
  EXPECT_EQ(norm("/."), "/");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("/fault/echo_head/../../admin"), "/admin");
  EXPECT_EQ(norm("/a/b/c/./../../g"), "/a/g");  // RFC 3986 5.2.4 example
}

TEST(PathNormalizeTest, DotDotAboveRootStaysAtRoot) {
  EXPECT_EQ(norm("/.."), "/");
  EXPECT_EQ(norm("/../a"), "/a");
  EXPECT_EQ(norm("/a/../../../b"), "/b");
}

TEST(PathNormalizeTest, EncodedDotsAreDotSegments) {
  EXPECT_EQ(norm("/fault/echo_head/%2e%2e/%2e%2e/admin"), "/admin");
  EXPECT_EQ(norm("/a/.%2E/b"), "/b");
  EXPECT_EQ(norm("/a/%2E./b"), "/b");
  EXPECT_EQ(norm("/a/%2e/b"), "/a/b");
  EXPECT_EQ(norm("/a/%2E%2e"), "/");
}

TEST(PathNormalizeTest, DecodesUnreservedAndUppercasesTheRest) {
  EXPECT_EQ(norm("/%7Euser/%41%62%63%2d%5f%2E%30"), "/~user/Abc-_.0");
  EXPECT_EQ(norm("/a%20b"), "/a%20b");
  EXPECT_EQ(norm("/a%3fb%3Db%23c%25"), "/a%3Fb%3Db%23c%25");
  EXPECT_EQ(norm("/caf%c3%a9"), "/caf%C3%A9");
  // Decoding happens once: an escaped percent stays an escape.
  EXPECT_EQ(norm("/%252e%252e/x"), "/%252e%252e/x");
}

TEST(PathNormalizeTest, InvalidEscapesAndNulAreErrors) {
  for (const char* p : {"/%", "/a%2", "/%zz", "/%g0", "/%0g", "/a%%41"}) {
    EXPECT_EQ(norm(p), "ERR:invalid percent-escape") << p;
  }
  EXPECT_EQ(norm("/a%00b"), "ERR:encoded NUL byte");
}

TEST(PathNormalizeTest, EscapedSlashesFollowTheOption) {
  for (const char* p : {"/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/..%2f..%2fetc"}) {
    EXPECT_EQ(norm(p), "ERR:escaped slash or backslash (%2F, %5C)") << p;
  }
  PathOptions keep = withSlashes(EscapedSlashes::Keep);
  EXPECT_EQ(norm("/a%2fb", keep), "/a%2Fb");
  EXPECT_EQ(norm("/a%5cb", keep), "/a%5Cb");
  // Kept escaped, "..%2F.." is one ordinary segment.
  EXPECT_EQ(norm("/x/..%2f../y", keep), "/x/..%2F../y");
  PathOptions unescape = withSlashes(EscapedSlashes::Unescape);
  EXPECT_EQ(norm("/a%2fb", unescape), "/a/b");
  EXPECT_EQ(norm("/a%5Cb", unescape), "/a\\b");
  // Unescaped before dot segments are removed, so they cannot hide a "..".
  EXPECT_EQ(norm("/x/y/..%2F..%2Fz", unescape), "/z");
  EXPECT_EQ(norm("/a%2F%2Fb", unescape), "/a/b");
}

TEST(PathNormalizeTest, MergesSlashesByOption) {
  EXPECT_EQ(norm("//a///b//"), "/a/b/");
  EXPECT_EQ(norm("//"), "/");
  EXPECT_EQ(norm("//D"), "/D");
  PathOptions keep_runs;
  keep_runs.merge_slashes = false;
  EXPECT_EQ(norm("//a///b//", keep_runs), "//a///b//");
  EXPECT_EQ(norm("//D", keep_runs), "//D");
  EXPECT_EQ(norm("/a//../b", keep_runs), "/a/b");  // ".." drops the empty segment
}

TEST(PathNormalizeTest, NonAbsolutePathsAreLeftAlone) {
  EXPECT_EQ(norm("*"), "*");
  EXPECT_EQ(norm(""), "");
}

TEST(PathNormalizeTest, IsIdempotent) {
  for (const char* p : {"/a/./b/../c%2e%2E/%7e", "//x//..//y", "/%41%2F%42", "/a/b/.."}) {
    for (EscapedSlashes s : {EscapedSlashes::Keep, EscapedSlashes::Unescape}) {
      for (bool merge : {true, false}) {
        std::string once = norm(p, withSlashes(s, merge));
        EXPECT_EQ(norm(once, withSlashes(s, merge)), once) << p;
      }
    }
  }
}

TEST(PathNormalizeTest, SingleLeadingSlash) {
  EXPECT_EQ(singleLeadingSlash("//D/"), "/D/");
  EXPECT_EQ(singleLeadingSlash("/\\evil.example/"), "/evil.example/");
  EXPECT_EQ(singleLeadingSlash("/a//b"), "/a//b");
  EXPECT_EQ(singleLeadingSlash("/"), "/");
}

}  // namespace
}  // namespace portico::http
