#pragma once
// Request path normalization (RFC 3986 section 6), sans-I/O. Every consumer of a request path
// (routing, the path sent upstream, redirects, static files) sees the result, so no two of them
// can disagree about which resource a request names: "/a/../admin" cannot match a route for
// "/a" and then reach "/admin" on the backend.
//
// Steps, in this order:
//   1. Percent-escapes are checked and normalized: an escape of an unreserved character
//      (ALPHA DIGIT - . _ ~) is decoded, any other escape is kept with upper-case hex. An
//      escaped slash or backslash (%2F, %5C) is rejected, kept or decoded by option; %00 and a
//      malformed escape ("%4", "%zz") are errors.
//   2. Dot segments are removed (RFC 3986 5.2.4), including ones written "%2e" or ".%2E".
//      ".." at the root stays at the root ("/../a" is "/a"), as the RFC, Envoy and browsers do.
//   3. Optionally, runs of slashes are merged into one.
// The query is not part of the path and is never touched. Paths that are not absolute ("*"
// for OPTIONS, empty for CONNECT) are left alone.

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::http {

// What happens to %2F and %5C, after Envoy's path_with_escaped_slashes_action. Reject is the
// safe choice: a backend that decodes them sees a different path than the one routed on.
enum class EscapedSlashes : uint8_t { Reject, Keep, Unescape };

struct PathOptions {
  // "//a///b" -> "/a/b". On by default: a backend that merges slashes itself would otherwise
  // serve "//admin" although a route refused "/admin".
  bool merge_slashes = true;
  EscapedSlashes escaped_slashes = EscapedSlashes::Reject;
};

enum class PathError : uint8_t { None, BadEscape, Nul, EscapedSlash };

// Normalizes `path` in place (it only ever shrinks). On error `path` is unspecified.
// Allocates nothing; a path that needs no change is only scanned.
PathError normalizePath(std::string& path, const PathOptions& options);

// A short reason for logs ("invalid percent-escape").
const char* describe(PathError error);

// `path` with any run of leading slashes and backslashes reduced to one "/", so that a
// Location built from it is path-absolute: "//host/x" (or "/\host/x") would send a browser
// to another host.
std::string singleLeadingSlash(std::string_view path);

// Value of the hex digit `c`, or -1.
int hexDigitValue(char c);

}  // namespace portico::http
