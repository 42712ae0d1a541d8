#pragma once
// Which responses are worth compressing, by media type.
//
// Compressing what is already compressed (JPEG, PNG, WebP, video, WOFF/WOFF2 fonts, zip,
// gzip) burns CPU for nothing and can even grow the body, so the compression filter only
// encodes types on a list. The default list is text and the structured formats built on it;
// an operator may replace it. Immutable once built: shared read-only by every worker through
// the config snapshot.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portico::filters::compress {

// The patterns used when the configuration gives none.
std::span<const std::string_view> defaultCompressibleTypes();

class ContentTypeMatcher {
 public:
  // Each pattern is "type/subtype" (exact), "type/*" (any subtype), "type/*+suffix" (a
  // structured syntax suffix, RFC 6838 4.2.8), or the same with "*" as type ("*/*+json").
  // Case-insensitive. A pattern that is none of these never matches: config validation
  // rejects it first, with validPattern().
  explicit ContentTypeMatcher(std::vector<std::string> patterns);

  // Whether a Content-Type field value matches one of the patterns; its parameters
  // ("; charset=utf-8") and surrounding whitespace are ignored.
  bool matches(std::string_view content_type) const;

  static bool validPattern(std::string_view pattern);

 private:
  struct Pattern {
    std::string type;     // lower case; empty = any type
    std::string subtype;  // lower case; empty = any subtype
    bool suffix = false;  // subtype holds "+suffix", matched at the end of the subtype
  };
  std::vector<Pattern> patterns_;
};

}  // namespace portico::filters::compress
