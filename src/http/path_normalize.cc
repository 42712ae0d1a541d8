#include "http/path_normalize.h"

#include <cstring>

namespace portico::http {

namespace {

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Step 1, in place: the write position never passes the read position.
PathError normalizeEscapes(std::string& path, EscapedSlashes slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t w = 0;
  for (size_t r = 0; r < path.size(); ++r) {
    char c = path[r];
    if (c != '%') {
      path[w++] = c;
      continue;
    }
    if (r + 2 >= path.size()) return PathError::BadEscape;
    int hi = hexDigitValue(path[r + 1]), lo = hexDigitValue(path[r + 2]);
    if (hi < 0 || lo < 0) return PathError::BadEscape;
    r += 2;
    auto v = static_cast<unsigned char>(hi * 16 + lo);
    if (v == 0) return PathError::Nul;
    bool slash = v == '/' || v == '\\';
    if (slash && slashes == EscapedSlashes::Reject) return PathError::EscapedSlash;
    if (isUnreserved(v) || (slash && slashes == EscapedSlashes::Unescape)) {
      path[w++] = static_cast<char>(v);
    } else {
      path[w++] = '%';
      path[w++] = kHex[hi];
      path[w++] = kHex[lo];
    }
  }
  path.resize(w);
  return PathError::None;
}

// Steps 2 and 3, in place. `path` starts with '/'. The output is a sequence of "/segment"
// written at w; ".." drops the last one, "." and (when merging) empty segments are skipped,
// and a skipped or dropped last segment leaves its slash so "/a/b/.." is "/a/".
void removeDotSegments(std::string& path, bool merge_slashes) {
  char* s = path.data();
  const size_t n = path.size();
  size_t w = 0;
  size_t r = 0;
  while (r < n) {
    const size_t start = r + 1;  // s[r] is the '/' before the segment
    const char* next = static_cast<const char*>(std::memchr(s + start, '/', n - start));
    const size_t end = next != nullptr ? static_cast<size_t>(next - s) : n;
    const size_t len = end - start;
    const bool last = end == n;
    r = end;
    if ((len == 1 && s[start] == '.') || (len == 0 && merge_slashes && !last)) {
      if (last) s[w++] = '/';
      continue;
    }
    if (len == 2 && s[start] == '.' && s[start + 1] == '.') {
      while (w > 0 && s[w - 1] != '/') --w;
      if (w > 0) --w;  // the slash of the dropped segment
      if (last) s[w++] = '/';
      continue;
    }
    s[w++] = '/';
    std::memmove(s + w, s + start, len);
    w += len;
  }
  path.resize(w == 0 ? 1 : w);
  if (w == 0) path[0] = '/';
}

// True when dot-segment removal or merging could change `path`.
bool needsSegmentPass(std::string_view path, bool merge_slashes) {
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (path[i] != '/') continue;
    char next = path[i + 1];
    if (next == '.' || (next == '/' && merge_slashes)) return true;
  }
  return false;
}

}  // namespace

int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

PathError normalizePath(std::string& path, const PathOptions& options) {
  if (path.empty() || path[0] != '/') return PathError::None;
  if (path.find('%') != std::string::npos) {
    PathError e = normalizeEscapes(path, options.escaped_slashes);
    if (e != PathError::None) return e;
  }
  if (needsSegmentPass(path, options.merge_slashes)) {
    removeDotSegments(path, options.merge_slashes);
  }
  return PathError::None;
}

const char* describe(PathError error) {
  switch (error) {
    case PathError::None:
      return "no error";
    case PathError::BadEscape:
      return "invalid percent-escape";
    case PathError::Nul:
      return "encoded NUL byte";
    case PathError::EscapedSlash:
      return "escaped slash or backslash (%2F, %5C)";
  }
  return "invalid path";
}

std::string singleLeadingSlash(std::string_view path) {
  size_t n = 0;
  while (n < path.size() && (path[n] == '/' || path[n] == '\\')) ++n;
  std::string out = "/";
  out.append(path.substr(n));
  return out;
}

}  // namespace portico::http
