#include "filters/compress/content_types.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::filters::compress {
namespace {

ContentTypeMatcher defaults() {
  const auto list = defaultCompressibleTypes();
  return ContentTypeMatcher(std::vector<std::string>(list.begin(), list.end()));
}

TEST(ContentTypeMatcherTest, DefaultsCompressTextAndStructuredFormats) {
  const ContentTypeMatcher m = defaults();
  for (const char* type : {"text/html",
                           "text/html; charset=utf-8",
                           "TEXT/HTML;CHARSET=UTF-8",
                           "text/css",
                           "text/plain",
                           "text/javascript",
                           "text/event-stream",
                           "text/csv",
                           "application/json",
                           "application/json; charset=utf-8",
                           "application/problem+json",
                           "application/manifest+json",
                           "application/ld+json",
                           "application/vnd.api+json",
                           "application/javascript",
                           "application/x-javascript",
                           "application/xml",
                           "application/rss+xml",
                           "application/atom+xml",
                           "image/svg+xml",
                           "application/wasm",
                           "font/ttf",
                           "font/otf",
                           "application/vnd.ms-fontobject",
                           "image/x-icon",
                           "  application/json  ",
                           "application/x-ndjson"}) {
    EXPECT_TRUE(m.matches(type)) << type;
  }
}

TEST(ContentTypeMatcherTest, DefaultsLeaveCompressedFormatsAlone) {
  const ContentTypeMatcher m = defaults();
  for (const char* type : {"image/png",
                           "image/jpeg",
                           "image/webp",
                           "image/avif",
                           "image/gif",
                           "font/woff",
                           "font/woff2",
                           "video/mp4",
                           "audio/mpeg",
                           "application/zip",
                           "application/gzip",
                           "application/octet-stream",
                           "application/pdf",
                           "application/x-protobuf",
                           "multipart/form-data; boundary=x",
                           "",
                           "text",
                           "/html",
                           "text/",
                           "application/+json",
                           "application/json+",
                           "garbage value"}) {
    EXPECT_FALSE(m.matches(type)) << type;
  }
}

TEST(ContentTypeMatcherTest, PatternKinds) {
  const ContentTypeMatcher m({"application/json", "text/*", "*/*+xml", "image/*+json"});
  EXPECT_TRUE(m.matches("application/json"));
  EXPECT_TRUE(m.matches("Application/JSON;charset=utf-8"));
  EXPECT_FALSE(m.matches("application/jsonx"));
  EXPECT_TRUE(m.matches("text/anything"));
  EXPECT_TRUE(m.matches("model/vnd.collada+xml"));
  EXPECT_TRUE(m.matches("image/x.custom+json"));
  EXPECT_FALSE(m.matches("application/x.custom+json"));  // suffix pattern bound to image/
  EXPECT_FALSE(m.matches("application/xml"));            // "+xml" needs a name before it
}

TEST(ContentTypeMatcherTest, CaseInsensitivePatterns) {
  const ContentTypeMatcher m({"Application/*+JSON"});
  EXPECT_TRUE(m.matches("application/geo+json"));
}

TEST(ContentTypeMatcherTest, InvalidPatternsNeverMatch) {
  for (const char* p :
       {"", "text", "text/", "/html", "*/json", "text/ht*ml", "*/*+", "text/*json", "a b/c"}) {
    EXPECT_FALSE(ContentTypeMatcher::validPattern(p)) << p;
  }
  const ContentTypeMatcher m({"text", "*/json", "text/ht*ml"});
  EXPECT_FALSE(m.matches("text/html"));
  EXPECT_FALSE(m.matches("application/json"));
  for (const char* p : {"*/*", "text/*", "*/*+json", "application/json", "image/svg+xml"}) {
    EXPECT_TRUE(ContentTypeMatcher::validPattern(p)) << p;
  }
  EXPECT_TRUE(ContentTypeMatcher({"*/*"}).matches("image/png"));
}

TEST(ContentTypeMatcherTest, DefaultPatternsAreAllValid) {
  for (std::string_view p : defaultCompressibleTypes())
    EXPECT_TRUE(ContentTypeMatcher::validPattern(p)) << p;
}

}  // namespace
}  // namespace portico::filters::compress
