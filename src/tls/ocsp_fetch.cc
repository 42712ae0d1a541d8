#include "tls/ocsp_fetch.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portico::tls {
namespace {

constexpr int64_t kResolvePollMs = 10;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parseSize(std::string_view text, size_t base, size_t* out) {
  if (text.empty() || text.size() > 8) return false;
  size_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : 99;
    if (d >= static_cast<int>(base)) return false;
    v = v * base + static_cast<size_t>(d);
  }
  *out = v;
  return true;
}

Error fetchError(std::string message) {
  return Error::upstream(std::move(message), false);
}

// A chunked body: done once the last chunk (and the trailer section) arrived.
Result<HttpBodyResult> decodeChunked(std::string_view data) {
  HttpBodyResult out;
  size_t at = 0;
  while (true) {
    size_t eol = data.find("\r\n", at);
    if (eol == std::string_view::npos) return out;
    std::string_view line = data.substr(at, eol - at);
    line = trim(line.substr(0, line.find(';')));
    size_t size = 0;
    if (!parseSize(line, 16, &size)) return fetchError("bad chunk size in the responder's reply");
    at = eol + 2;
    if (size == 0) {
      // Trailer fields end with an empty line.
      while (true) {
        size_t end = data.find("\r\n", at);
        if (end == std::string_view::npos) return out;
        if (end == at) break;
        at = end + 2;
      }
      out.done = true;
      return out;
    }
    if (data.size() < at + size + 2) return HttpBodyResult{};
    out.body.append(data.substr(at, size));
    at += size + 2;
  }
}

}  // namespace

struct OcspFetch::Lookup {
  gaicb request{};
  addrinfo hints{};
  std::string name;
  std::string service;
};

std::string ocspHttpRequest(const HttpUrl& url, std::string_view der) {
  std::string out = "POST " + url.path + " HTTP/1.1\r\nHost: " + url.hostHeader() +
                    "\r\nContent-Type: application/ocsp-request\r\n"
                    "Accept: application/ocsp-response\r\nContent-Length: " +
                    std::to_string(der.size()) + "\r\nConnection: close\r\n\r\n";
  out.append(der);
  return out;
}

Result<HttpBodyResult> parseOcspHttpResponse(std::string_view raw, bool complete) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (raw.size() > kMaxOcspHttpResponse) return fetchError("the reply's header is too large");
    if (complete) return fetchError("the responder closed the connection before a full reply");
    return HttpBodyResult{};
  }
  std::string_view head = raw.substr(0, head_end);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return fetchError("the responder's reply is not HTTP/1.x");
  }
  std::string_view code = status_line.substr(9, 3);
  if (code != "200") {
    return fetchError("the responder answered HTTP " + std::string(trim(status_line.substr(9))));
  }
  bool chunked = false;
  bool has_length = false;
  size_t length = 0;
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view line = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (equalsIgnoreCase(name, "content-length")) {
      if (!parseSize(value, 10, &length)) return fetchError("bad Content-Length in the reply");
      has_length = true;
    } else if (equalsIgnoreCase(name, "transfer-encoding")) {
      chunked = equalsIgnoreCase(value, "chunked");
      if (!chunked) return fetchError("unsupported Transfer-Encoding in the reply");
    }
  }
  std::string_view body = raw.substr(head_end + 4);
  HttpBodyResult out;
  if (chunked) {
    Result<HttpBodyResult> decoded = decodeChunked(body);
    if (!decoded) return decoded;
    if (!decoded->done && complete) return fetchError("the reply's chunked body is cut short");
    return decoded;
  }
  if (has_length) {
    if (length > kMaxOcspHttpResponse) return fetchError("the reply is larger than 64 KiB");
    if (body.size() < length) {
      if (complete) return fetchError("the reply's body is shorter than its Content-Length");
      return out;
    }
    out.done = true;
    out.body = std::string(body.substr(0, length));
    return out;
  }
  if (!complete) return out;  // delimited by the close
  out.done = true;
  out.body = std::string(body);
  return out;
}

OcspFetch::OcspFetch(event::EventLoop& loop, HttpUrl url, std::string request_der,
                     int64_t timeout_ms, Done done)
    : loop_(loop),
      url_(std::move(url)),
      request_(ocspHttpRequest(url_, request_der)),
      done_(std::move(done)),
      deadline_(loop,
                [this] {
                  finish(fetchError("no reply from " + url_.hostHeader() + " in time" +
                                    (last_error_.empty() ? "" : " (" + last_error_ + ")")));
                }),
      poll_(loop, [this] { lookup_ ? pollResolution() : start(); }) {
  deadline_.armAfterMs(timeout_ms);
  poll_.armAfterMs(0);  // not from the constructor: `done` must not run before it returns
}

OcspFetch::~OcspFetch() {
  closeSocket();
  if (lookup_) {
    int state = gai_cancel(&lookup_->request);
    if (state == EAI_NOTCANCELED) {
      // glibc's resolver thread still writes into it: leave it to that thread (a few hundred
      // bytes, once per timed-out lookup).
      (void)lookup_.release();
    } else if (lookup_->request.ar_result != nullptr) {
      freeaddrinfo(lookup_->request.ar_result);
    }
  }
}

void OcspFetch::start() {
  port_text_ = std::to_string(url_.port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* literal = nullptr;
  if (getaddrinfo(url_.host.c_str(), port_text_.c_str(), &hints, &literal) == 0) {
    takeAddresses(literal);
    connectNext();
    return;
  }
  // A name: resolved by glibc's resolver thread, polled from the loop, so the main thread
  // never waits for DNS.
  lookup_ = std::make_unique<Lookup>();
  lookup_->name = url_.host;
  lookup_->service = port_text_;
  lookup_->hints.ai_socktype = SOCK_STREAM;
  lookup_->hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  lookup_->request.ar_name = lookup_->name.c_str();
  lookup_->request.ar_service = lookup_->service.c_str();
  lookup_->request.ar_request = &lookup_->hints;
  gaicb* list[] = {&lookup_->request};
  int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
  if (rc != 0) {
    lookup_.reset();
    finish(fetchError("cannot resolve " + url_.host + ": " + gai_strerror(rc)));
    return;
  }
  poll_.armAfterMs(kResolvePollMs);
}

void OcspFetch::pollResolution() {
  int rc = gai_error(&lookup_->request);
  if (rc == EAI_INPROGRESS) {
    poll_.armAfterMs(kResolvePollMs);
    return;
  }
  addrinfo* result = lookup_->request.ar_result;
  lookup_.reset();
  if (rc != 0) {
    if (result != nullptr) freeaddrinfo(result);
    finish(fetchError("cannot resolve " + url_.host + ": " + gai_strerror(rc)));
    return;
  }
  takeAddresses(result);
  connectNext();
}

void OcspFetch::takeAddresses(addrinfo* list) {
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
    addresses_.emplace_back(ss, a->ai_addrlen);
  }
  freeaddrinfo(list);
}

// Each address in turn until one connects; the deadline covers them all.
void OcspFetch::connectNext() {
  closeSocket();
  while (next_address_ < addresses_.size()) {
    const auto& [ss, len] = addresses_[next_address_++];
    fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last_error_ = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
      last_error_ = std::string("connect: ") + std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      continue;
    }
    connected_ = false;
    loop_.addFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
    return;
  }
  finish(fetchError("cannot connect to " + url_.hostHeader() +
                    (last_error_.empty() ? "" : ": " + last_error_)));
}

void OcspFetch::onIoReady(uint32_t events) {
  if (finished_ || fd_ < 0) return;
  if (!connected_) {
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      last_error_ = std::string("connect: ") + std::strerror(error);
      connectNext();
      return;
    }
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    connected_ = true;
  }
  if ((events & EPOLLOUT) != 0 && sent_ < request_.size()) onWritable();
  if (!finished_ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) onReadable();
}

void OcspFetch::onWritable() {
  while (sent_ < request_.size()) {
    ssize_t n = ::send(fd_, request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      finish(fetchError(std::string("sending the request failed: ") + std::strerror(errno)));
      return;
    }
  }
}

void OcspFetch::onReadable() {
  char buffer[8192];
  bool closed = false;
  while (true) {
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      received_.append(buffer, static_cast<size_t>(n));
      if (received_.size() > kMaxOcspHttpResponse + 4096) {
        finish(fetchError("the responder's reply is larger than 64 KiB"));
        return;
      }
      continue;
    }
    if (n == 0) {
      closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    finish(fetchError(std::string("reading the reply failed: ") + std::strerror(errno)));
    return;
  }
  if (received_.empty() && !closed) return;
  Result<HttpBodyResult> parsed = parseOcspHttpResponse(received_, closed);
  if (!parsed) {
    finish(parsed.error());
  } else if (parsed->done) {
    finish(std::move(parsed->body));
  }
}

void OcspFetch::closeSocket() {
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

void OcspFetch::finish(Result<std::string> result) {
  if (finished_) return;
  finished_ = true;
  closeSocket();
  deadline_.disarm();
  poll_.disarm();
  done_(std::move(result));
}

}  // namespace portico::tls
