#pragma once
// Precompressed siblings for `static` routes (the `precompressed` key): when a client accepts
// a coding whose sibling F.br / F.zst / F.gz lies next to the requested file F, the sibling's
// bytes are sent with Content-Encoding instead of F's, as nginx's gzip_static does. Siblings
// are opened through the route's StaticRoot like F itself, so one that leads outside the root
// is never read; it is treated as absent.

#include <sys/stat.h>

#include <span>
#include <string>
#include <string_view>

#include "http/accept_encoding.h"
#include "http/header_map.h"
#include "proxy/static_root.h"

namespace portico::proxy {

// The representation a precompressed sibling gives: its descriptor and status.
struct Sibling {
  http::ContentCoding coding = http::ContentCoding::Identity;  // Identity: none chosen
  int fd = -1;
  struct stat st {};
};

// Among `preference` (most preferred first), the coding chooseCoding would pick for
// `accept_encoding` if it were offered only the codings whose sibling of `rel` exists as a
// regular file below `root`, and that sibling opened. Identity (fd -1) when none is chosen:
// then the caller serves `rel` itself.
Sibling openPrecompressed(const StaticRoot& root, std::string_view rel,
                          std::string_view accept_encoding,
                          std::span<const http::ContentCoding> preference);

}  // namespace portico::proxy
