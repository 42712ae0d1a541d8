#include "proxy/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/log.h"
#include "http/date.h"
#include "http/path_normalize.h"
#include "proxy/static_files_precompressed.h"

namespace portico::proxy {

namespace {

// A precompressed sibling's tag carries its suffix: the representations of one URL must never
// share a tag, even if a sibling had the size and mtime of the file itself.
std::string etagFor(const struct stat& st, http::ContentCoding coding) {
  char buf[64];
  std::string_view suffix = http::codingExtension(coding);
  int n = snprintf(buf, sizeof buf, "\"%lx-%lx%.*s\"", static_cast<unsigned long>(st.st_mtime),
                   static_cast<unsigned long>(st.st_size), static_cast<int>(suffix.size()),
                   suffix.data());
  return std::string(buf, static_cast<size_t>(n));
}

// RFC 9110 13.1.2: If-None-Match uses weak comparison.
bool etagListMatches(std::string_view list, std::string_view etag) {
  auto strip_weak = [](std::string_view t) {
    if (t.size() > 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*" || strip_weak(tag) == strip_weak(etag)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Digits only. A number too large for uint64_t saturates at UINT64_MAX: for a position that
// means "beyond the end of any file", which is exactly how RFC 9110 14.1.1 treats it (a last
// position is clamped, a first position is unsatisfiable).
bool parseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto digit = static_cast<uint64_t>(c - '0');
    v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
  }
  *out = v;
  return true;
}

class StaticFilesFilter final : public filters::Filter {
 public:
  StaticFilesFilter(const StaticAction& action, const RouteMatch& match, const StaticRoot& root)
      : action_(action), match_(match), root_(root) {}

  filters::FilterStatus onRequestHeaders(http::RequestHead& request, bool) override {
    callbacks_->info().local_reply = true;
    if (request.method != http::Method::Get && request.method != http::Method::Head) {
      http::ResponseHead head;
      head.status = 405;
      head.headers.add("Allow", "GET, HEAD");
      head.headers.add("Content-Length", "0");
      callbacks_->encodeHeaders(std::move(head), true);
      return filters::FilterStatus::Respond;
    }
    std::string_view path = request.path;
    if (match_.kind == PathMatchKind::Prefix) path.remove_prefix(match_.path.size());
    auto rel = safeRelativePath(path);
    if (!rel) {
      PLOG_INFO("static: rejected path {} (request {})", request.path,
                callbacks_->info().request_id);
      callbacks_->info().failure = "path escapes the root or is malformed";
      callbacks_->sendLocalReply(400, {}, "text/plain");
      return filters::FilterStatus::Respond;
    }
    serve(request, std::move(*rel), path.empty() || path.back() == '/');
    return filters::FilterStatus::Respond;
  }

 private:
  void replyStatus(uint16_t status, const char* why) {
    callbacks_->info().failure = why;
    callbacks_->sendLocalReply(status, {}, "text/plain");
  }

  void serve(http::RequestHead& request, std::string rel, bool ends_with_slash) {
    struct stat st;
    int fd = openFile(rel, &st);
    if (fd < 0) return;
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      if (!ends_with_slash) {
        // Relative links in an index page need the trailing slash. The Location stays
        // path-absolute: "//host/" would send the browser to another host.
        http::ResponseHead head;
        head.status = 301;
        std::string location = http::singleLeadingSlash(request.path) + "/";
        if (!request.query.empty()) location += "?" + request.query;
        head.headers.add("Location", location);
        head.headers.add("Content-Length", "0");
        callbacks_->encodeHeaders(std::move(head), true);
        return;
      }
      if (action_.index.empty()) return replyStatus(404, "directory without index");
      if (!rel.empty()) rel.push_back('/');
      rel += action_.index;
      fd = openFile(rel, &st);
      if (fd < 0) return;
    } else if (ends_with_slash) {
      // "/a.txt/" names a directory; POSIX open() would refuse it too.
      ::close(fd);
      return replyStatus(404, "file requested as a directory");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return replyStatus(404, "not a regular file");
    }

    // From here on, fd and st describe the representation sent: F, or a sibling chosen for
    // the client's Accept-Encoding. Type and name stay F's.
    http::ContentCoding coding = http::ContentCoding::Identity;
    if (!action_.precompressed.empty()) {
      std::string joined;
      Sibling sibling = openPrecompressed(
          root_, rel, http::joinedValues(request.headers, "Accept-Encoding", &joined),
          action_.precompressed);
      if (sibling.fd >= 0) {
        ::close(fd);
        fd = sibling.fd;
        st = sibling.st;
        coding = sibling.coding;
      }
    }

    std::string etag = etagFor(st, coding);
    std::string last_modified = http::formatHttpDate(st.st_mtime);
    http::ResponseHead head;
    head.headers.add("Content-Type", contentTypeFor(rel));
    if (coding != http::ContentCoding::Identity) {
      head.headers.add("Content-Encoding", http::codingName(coding));
    }
    // Whichever representation is sent, the choice depended on Accept-Encoding; 304s carry it
    // too (RFC 9110 15.4.5).
    if (!action_.precompressed.empty()) head.headers.add("Vary", "Accept-Encoding");
    head.headers.add("ETag", etag);
    head.headers.add("Last-Modified", last_modified);
    head.headers.add("Accept-Ranges", "bytes");

    if (notModified(request, etag, st.st_mtime)) {
      ::close(fd);
      head.status = 304;
      callbacks_->encodeHeaders(std::move(head), true);
      return;
    }

    uint64_t size = static_cast<uint64_t>(st.st_size);
    uint64_t offset = 0, length = size;
    head.status = 200;
    auto range_header = request.headers.get("Range");
    if (range_header && ifRangeAllows(request, etag, st.st_mtime)) {
      ByteRange r;
      switch (parseRange(*range_header, size, &r)) {
        case RangeResult::None:
          break;
        case RangeResult::Satisfiable:
          head.status = 206;
          offset = r.first;
          length = r.length;
          head.headers.add("Content-Range", "bytes " + std::to_string(r.first) + "-" +
                                                std::to_string(r.first + r.length - 1) + "/" +
                                                std::to_string(size));
          break;
        case RangeResult::Unsatisfiable:
          ::close(fd);
          head.status = 416;
          // The empty body is no coded content: a client must not try to decode it.
          head.headers.remove("Content-Encoding");
          head.headers.add("Content-Range", "bytes */" + std::to_string(size));
          head.headers.add("Content-Length", "0");
          callbacks_->encodeHeaders(std::move(head), true);
          return;
      }
    }
    head.headers.add("Content-Length", std::to_string(length));
    bool no_body = request.method == http::Method::Head || length == 0;
    callbacks_->encodeHeaders(std::move(head), no_body);
    if (no_body) {
      ::close(fd);
      return;
    }
    callbacks_->encodeFile(fd, offset, length, true);
  }

  // Opens `rel` below the root and stats it; on failure answers and returns -1.
  int openFile(const std::string& rel, struct stat* st) {
    int fd = root_.open(rel);
    if (fd == -EXDEV || fd == -ELOOP) {
      PLOG_INFO("static: {} leads outside the root (request {})", rel,
                callbacks_->info().request_id);
      replyStatus(403, "symlink leads outside the root");
      return -1;
    }
    if (fd < 0) {
      replyStatus(fd == -EACCES ? 403 : 404, "file not found");
      return -1;
    }
    if (fstat(fd, st) != 0) {
      ::close(fd);
      replyStatus(404, "file not found");
      return -1;
    }
    return fd;
  }

  static bool notModified(const http::RequestHead& request, const std::string& etag, time_t mtime) {
    if (auto inm = request.headers.get("If-None-Match")) return etagListMatches(*inm, etag);
    if (auto ims = request.headers.get("If-Modified-Since")) {
      auto since = http::parseHttpDate(*ims);
      return since && mtime <= *since;
    }
    return false;
  }

  static bool ifRangeAllows(const http::RequestHead& request, const std::string& etag,
                            time_t mtime) {
    auto if_range = request.headers.get("If-Range");
    if (!if_range) return true;
    if (!if_range->empty() && (if_range->front() == '"' || if_range->substr(0, 2) == "W/")) {
      return *if_range == etag;  // strong comparison (RFC 9110 13.1.5)
    }
    auto date = http::parseHttpDate(*if_range);
    return date && *date == mtime;
  }

  const StaticAction& action_;
  const RouteMatch& match_;
  const StaticRoot& root_;
};

}  // namespace

std::optional<std::string> safeRelativePath(std::string_view request_path) {
  std::string decoded;
  decoded.reserve(request_path.size());
  for (size_t i = 0; i < request_path.size(); ++i) {
    char c = request_path[i];
    if (c == '%') {
      if (i + 2 >= request_path.size()) return std::nullopt;
      int hi = http::hexDigitValue(request_path[i + 1]);
      int lo = http::hexDigitValue(request_path[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    decoded.push_back(c);
  }
  std::string out;
  size_t pos = 0;
  while (pos <= decoded.size()) {
    size_t slash = decoded.find('/', pos);
    if (slash == std::string::npos) slash = decoded.size();
    std::string_view segment(decoded.data() + pos, slash - pos);
    pos = slash + 1;
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") return std::nullopt;
    if (!out.empty()) out.push_back('/');
    out.append(segment);
  }
  return out;
}

RangeResult parseRange(std::string_view header, uint64_t size, ByteRange* out) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return RangeResult::None;
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return RangeResult::None;
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeResult::None;
  std::string_view first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (first_text.empty()) {
    // Suffix range: the last N bytes.
    uint64_t suffix;
    if (!parseDecimal(last_text, &suffix)) return RangeResult::None;
    if (suffix == 0 || size == 0) return RangeResult::Unsatisfiable;
    if (suffix > size) suffix = size;
    *out = {size - suffix, suffix};
    return RangeResult::Satisfiable;
  }
  if (!parseDecimal(first_text, &first)) return RangeResult::None;
  if (last_text.empty()) {
    last = size ? size - 1 : 0;
  } else if (!parseDecimal(last_text, &last) || last < first) {
    return RangeResult::None;  // syntactically invalid: ignore the header
  }
  if (first >= size) return RangeResult::Unsatisfiable;
  if (last >= size) last = size - 1;
  *out = {first, last - first + 1};
  return RangeResult::Satisfiable;
}

std::string_view contentTypeFor(std::string_view path) {
  size_t dot = path.rfind('.');
  size_t slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string ext(path.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"wasm", "application/wasm"},
      {"pdf", "application/pdf"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"map", "application/json"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

filters::Filter* makeStaticFilesFilter(std::pmr::memory_resource& arena, const StaticAction& action,
                                       const RouteMatch& match, const StaticRoot& root) {
  return filters::arenaNew<StaticFilesFilter>(arena, action, match, root);
}

}  // namespace portico::proxy
