// libFuzzer target for request path normalization.
//
// The first input byte chooses the options (bit 0 set: keep runs of slashes; bits 1-2: what
// happens to %2F and %5C), the rest is the path. A normalized path must be what every
// consumer can trust: absolute if the input was, no longer than the input, without dot
// segments or (when merging) empty segments, with only escapes of reserved characters in
// upper-case hex, and a fixed point: normalizing it again changes nothing.

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "http/path_normalize.h"

namespace {

using portico::fuzz::check;
using portico::http::EscapedSlashes;
using portico::http::PathError;
using portico::http::PathOptions;

bool isUpperHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

void checkSegments(std::string_view out, const PathOptions& options) {
  size_t pos = 1;
  while (pos <= out.size()) {
    size_t slash = out.find('/', pos);
    bool last = slash == std::string_view::npos;
    std::string_view segment = out.substr(pos, last ? std::string_view::npos : slash - pos);
    check(segment != "." && segment != "..");
    if (options.merge_slashes && !last) check(!segment.empty());
    if (last) break;
    pos = slash + 1;
  }
}

void checkEscapes(std::string_view out, const PathOptions& options) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != '%') continue;
    check(i + 2 < out.size() && isUpperHex(out[i + 1]) && isUpperHex(out[i + 2]));
    int v =
        portico::http::hexDigitValue(out[i + 1]) * 16 + portico::http::hexDigitValue(out[i + 2]);
    bool unreserved = (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || (v >= '0' && v <= '9') ||
                      v == '-' || v == '.' || v == '_' || v == '~';
    check(!unreserved && v != 0);
    if (v == '/' || v == '\\') check(options.escaped_slashes == EscapedSlashes::Keep);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  PathOptions options;
  options.merge_slashes = (data[0] & 1) == 0;
  options.escaped_slashes = static_cast<EscapedSlashes>((data[0] >> 1) % 3);
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string path = input;
  if (portico::http::normalizePath(path, options) != PathError::None) return 0;
  check(path.size() <= input.size());
  if (input.empty() || input[0] != '/') {
    check(path == input);
    return 0;
  }
  check(!path.empty() && path[0] == '/');
  checkSegments(path, options);
  checkEscapes(path, options);
  std::string again = path;
  check(portico::http::normalizePath(again, options) == PathError::None && again == path);
  std::string location = portico::http::singleLeadingSlash(path);
  check(location[0] == '/' &&
        (location.size() == 1 || (location[1] != '/' && location[1] != '\\')));
  return 0;
}
