#include "tls/acme/https_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "tls/tls_config.h"

namespace portico::tls::acme {
namespace {

constexpr size_t kMaxResponseBytes = 1 << 20;

struct Url {
  std::string host;
  std::string port = "443";
  std::string target = "/";
};

bool parseUrl(const std::string& url, Url* out) {
  constexpr std::string_view kScheme = "https://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return false;
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out->target = rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    out->host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      out->port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out->host = authority.substr(0, colon);
    if (colon != std::string::npos) out->port = authority.substr(colon + 1);
  }
  return !out->host.empty() && !out->port.empty();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Error failure(std::string message) {
  return Error::upstream(std::move(message), true);
}

// A connected socket, or -1 with *error set.
int connectTo(const Url& url, int64_t timeout_ms, Cancellation* cancellation, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + url.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      // In slices, so a cancellation is noticed while connecting too.
      pollfd p{fd, POLLOUT, 0};
      for (int64_t waited = 0; waited < timeout_ms; waited += 200) {
        if (cancellation != nullptr && cancellation->cancelled()) break;
        r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(200, timeout_ms - waited)));
        if (r != 0) break;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (r == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        r = 0;
      } else {
        errno = r == 0 ? ETIMEDOUT : err;
        r = -1;
      }
    }
    if (r != 0) {
      *error = "cannot connect to " + url.host + ":" + url.port + ": " + std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return -1;
  // Blocking from here on, each read and write bounded.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{static_cast<time_t>(timeout_ms / 1000),
             static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

bool decodeChunked(std::string_view in, std::string* out) {
  out->clear();
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return false;
    size_t size = 0;
    size_t i = 0;
    for (; i < eol && std::isxdigit(static_cast<unsigned char>(in[i])); ++i) {
      size = size * 16 + static_cast<size_t>(std::isdigit(static_cast<unsigned char>(in[i]))
                                                 ? in[i] - '0'
                                                 : std::tolower(in[i]) - 'a' + 10);
      if (size > kMaxResponseBytes) return false;
    }
    if (i == 0) return false;
    in.remove_prefix(eol + 2);
    if (size == 0) return true;
    if (in.size() < size + 2) return false;
    out->append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

}  // namespace

void Cancellation::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

bool Cancellation::track(int fd) {
  std::lock_guard lock(mutex_);
  fd_ = fd;
  return !cancelled_;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

Result<HttpsClient> HttpsClient::create(const std::string& ca, int64_t timeout_ms,
                                        Cancellation* cancellation) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return failure("cannot create a TLS context: " + takeOpensslErrors());
  HttpsClient client;
  client.ctx_.reset(ctx, SSL_CTX_free);
  client.timeout_ms_ = timeout_ms;
  client.cancellation_ = cancellation;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const std::string& bundle = ca.empty() ? std::string(kSystemCaBundle) : ca;
  if (SSL_CTX_load_verify_locations(ctx, bundle.c_str(), nullptr) != 1) {
    return failure("cannot read the CA bundle " + bundle + ": " + takeOpensslErrors());
  }
  return client;
}

Result<HttpResponse> HttpsClient::request(const std::string& method, const std::string& url,
                                          const std::string& content_type, const std::string& body,
                                          const std::string& accept) const {
  Url u;
  if (!parseUrl(url, &u)) return failure("not an https URL: " + url);
  std::string error;
  if (cancellation_ != nullptr && cancellation_->cancelled()) return failure("stopped");
  int fd = connectTo(u, timeout_ms_, cancellation_, &error);
  if (fd < 0) return failure(error);
  if (cancellation_ != nullptr && !cancellation_->track(fd)) {
    ::close(fd);
    return failure("stopped");
  }
  // Untracked before it closes: a cancel must never shut down a reused descriptor.
  auto close_socket = [&] {
    if (cancellation_ != nullptr) cancellation_->track(-1);
    ::close(fd);
  };
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl) {
    close_socket();
    return failure("cannot create a TLS connection: " + takeOpensslErrors());
  }
  SSL_set_fd(ssl.get(), fd);
  in6_addr ip;
  bool is_ip =
      inet_pton(AF_INET, u.host.c_str(), &ip) == 1 || inet_pton(AF_INET6, u.host.c_str(), &ip) == 1;
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), u.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), u.host.c_str());
    SSL_set1_host(ssl.get(), u.host.c_str());
  }
  auto fail = [&](std::string message) {
    close_socket();
    return failure(std::move(message));
  };
  if (SSL_connect(ssl.get()) != 1) {
    long verify = SSL_get_verify_result(ssl.get());
    std::string why =
        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : takeOpensslErrors();
    if (errno == EAGAIN || errno == ETIMEDOUT) why += " (timed out)";
    takeOpensslErrors();
    return fail("TLS handshake with " + u.host + ":" + u.port + " failed: " + why);
  }
  std::string head = method + " " + u.target + " HTTP/1.1\r\nHost: " +
                     (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) +
                     (u.port == "443" ? "" : ":" + u.port) +
                     "\r\nUser-Agent: portico-acme\r\nConnection: close\r\n";
  if (!accept.empty()) head += "Accept: " + accept + "\r\n";
  if (method == "POST" || !body.empty()) {
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  head += "\r\n";
  std::string out = head + body;
  if (SSL_write(ssl.get(), out.data(), static_cast<int>(out.size())) !=
      static_cast<int>(out.size())) {
    takeOpensslErrors();
    return fail("cannot send the request to " + url);
  }
  std::string raw;
  char buf[16384];
  while (raw.size() <= kMaxResponseBytes) {
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl.get(), n);
    takeOpensslErrors();
    if (err == SSL_ERROR_ZERO_RETURN) break;
    if (err == SSL_ERROR_SYSCALL && errno == 0) break;  // EOF without close_notify
    if (errno == EAGAIN || errno == EWOULDBLOCK) return fail("timed out reading from " + url);
    break;  // an abrupt close after a full response is common; the framing decides below
  }
  SSL_shutdown(ssl.get());
  close_socket();
  takeOpensslErrors();

  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return failure("incomplete response from " + url);
  HttpResponse response;
  std::string_view status_line(raw.data(), raw.find("\r\n"));
  if (status_line.substr(0, 5) != "HTTP/" || status_line.size() < 12)
    return failure("malformed response from " + url);
  response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  size_t pos = status_line.size() + 2;
  while (pos < end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    response.headers.emplace_back(lower(line.substr(0, colon)), value);
  }
  std::string_view rest(raw.data() + end + 4, raw.size() - end - 4);
  if (method == "HEAD" || response.status == 204 || response.status == 304) {
    // No body, whatever Content-Length says.
  } else if (lower(response.header("transfer-encoding")).find("chunked") != std::string::npos) {
    if (!decodeChunked(rest, &response.body)) return failure("malformed chunked body from " + url);
  } else if (std::string length = response.header("content-length"); !length.empty()) {
    size_t n = static_cast<size_t>(std::strtoull(length.c_str(), nullptr, 10));
    if (rest.size() < n) return failure("truncated response from " + url);
    response.body = std::string(rest.substr(0, n));
  } else {
    response.body = std::string(rest);
  }
  return response;
}

}  // namespace portico::tls::acme
