#include "proxy/static_files_precompressed.h"

#include <unistd.h>

#include <algorithm>
#include <array>

namespace portico::proxy {

namespace {

// Opens `name` below the root if it is a regular file; -1 otherwise. A sibling that is
// missing, a directory, a FIFO (opened non-blocking, so it cannot stall the worker) or a link
// out of the root is simply not a candidate: the request still has F to fall back on.
int openRegular(const StaticRoot& root, const std::string& name, struct stat* st) {
  int fd = root.open(name);
  if (fd < 0) return -1;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Sibling openPrecompressed(const StaticRoot& root, std::string_view rel,
                          std::string_view accept_encoding,
                          std::span<const http::ContentCoding> preference) {
  // Rather than opening every sibling and then choosing among those present, ask
  // chooseCoding first and open only its pick, dropping the pick when its sibling is absent.
  // That ends where choosing among the present ones would: the coding chosen from a list is
  // also chosen from any sub-list that holds it (same q, still the earliest among equals, same
  // comparison with identity), and when a list yields identity so does every sub-list. A
  // client that accepts none of the codings (no Accept-Encoding) costs no extra open.
  std::array<http::ContentCoding, 4> candidates{};
  size_t count = std::min(preference.size(), candidates.size());
  std::copy_n(preference.begin(), count, candidates.begin());
  std::string name(rel);
  while (count > 0) {
    std::span<const http::ContentCoding> offered(candidates.data(), count);
    const http::ContentCoding coding = http::chooseCoding(accept_encoding, offered);
    if (coding == http::ContentCoding::Identity) break;
    name.resize(rel.size());
    name.append(http::codingExtension(coding));
    Sibling sibling;
    sibling.fd = openRegular(root, name, &sibling.st);
    if (sibling.fd >= 0) {
      sibling.coding = coding;
      return sibling;
    }
    count = static_cast<size_t>(
        std::remove(candidates.begin(), candidates.begin() + count, coding) - candidates.begin());
  }
  return Sibling{};
}

}  // namespace portico::proxy
