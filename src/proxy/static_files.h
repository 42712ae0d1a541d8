#pragma once
// Terminal filter for `static` routes: serves files below a root directory, the way a user of
// nginx's `alias` expects.
//
// Safety: the request path arrives normalized (http/path_normalize.h: no dot segments, escapes
// checked). What remains escaped is decoded once and split into segments; a ".." segment
// (from a kept %2F) is rejected with 400 rather than resolved, and NUL bytes are rejected.
// Files are opened through the route's StaticRoot, so nothing outside the root is ever
// opened: a symlink that leads out gets 403. Only GET and HEAD; other methods get 405.
// Conditional requests (If-None-Match, If-Modified-Since), single byte ranges (Range, If-Range)
// and index files are supported; the body goes out with sendfile(2) where the transport allows.
// With `precompressed`, a sibling F.br / F.zst / F.gz may be sent instead of F (see
// static_files_precompressed.h); validators and ranges then apply to the sibling's bytes, the
// representation selected (RFC 9110 14.1).
// Note: openat2/fstat run on the worker thread (the page cache makes them cheap; a slow
// disk would stall the worker, as in nginx without aio).

#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>

#include "filters/filter.h"
#include "proxy/route_config.h"
#include "proxy/static_root.h"

namespace portico::proxy {

// Creates the filter in `arena` (see FilterFactory). `match` is the route's match: with a
// prefix match, the prefix is stripped before the path is resolved below `root`.
filters::Filter* makeStaticFilesFilter(std::pmr::memory_resource& arena, const StaticAction& action,
                                       const RouteMatch& match, const StaticRoot& root);

// Exposed for unit tests.
// The path below the root for `request_path` ("/a/b.txt" -> "a/b.txt"), or nullopt if it is
// malformed or tries to leave the root.
std::optional<std::string> safeRelativePath(std::string_view request_path);

struct ByteRange {
  uint64_t first;
  uint64_t length;
};
enum class RangeResult { None, Satisfiable, Unsatisfiable };
// Parses a Range header for a file of `size` bytes. Only single ranges are honoured; a list of
// ranges is answered with the whole file (None), which RFC 9110 permits.
RangeResult parseRange(std::string_view header, uint64_t size, ByteRange* out);

std::string_view contentTypeFor(std::string_view path);

}  // namespace portico::proxy
