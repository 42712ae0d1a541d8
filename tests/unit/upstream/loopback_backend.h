#pragma once
// A backend for pool tests: a listening socket on 127.0.0.1 whose accepted connections are
// plain non-blocking sockets the test reads and writes itself, so every byte the pool's
// codec sends or gets is the test's choice.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "http/codec.h"
#include "net/address.h"

namespace portico::upstream {

// The backend end of each connection is a plain socket the test reads and writes itself, so
// every byte the pool's codec sends or gets is the test's choice.
class Backend {
 public:
  Backend() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    EXPECT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    address_ = net::addressFromSockaddr(reinterpret_cast<sockaddr*>(&a), len);
  }
  ~Backend() {
    for (int fd : accepted_) ::close(fd);
    ::close(listen_fd_);
  }
  const net::Address& address() const { return address_; }

  // The pool's next connection (its connect already completed in the kernel).
  int accept(int wait_ms = 2000) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) != 1) return -1;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    accepted_.push_back(fd);
    return fd;
  }
  static void send(int fd, std::string_view bytes) {
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Takes what arrived on `fd` without waiting; false once the pool closed its side.
  static bool drain(int fd, std::string* into) {
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        into->append(buf, static_cast<size_t>(n));
        continue;
      }
      return n < 0 && errno == EAGAIN;
    }
  }

 private:
  int listen_fd_ = -1;
  std::vector<int> accepted_;
  net::Address address_;
};

// What a pool test's requester heard of its response.
class RecordingDecoder : public http::ResponseDecoder {
 public:
  void decodeInterim(http::ResponseHead&) override {}
  void decodeHeaders(http::ResponseHead& head, bool end_stream) override {
    status = head.status;
    ended = end_stream;
  }
  void decodeData(buffer::Buffer& data, bool end_stream) override {
    body += data.toString();
    data.clear();
    ended = end_stream;
  }
  void decodeTrailers(http::HeaderMap&) override { ended = true; }
  void onResponseError(const http::ResponseError& e) override {
    failed = true;
    error = std::string(e.why);
    nothing_received = e.nothing_received;
    not_processed = e.not_processed;
  }

  int status = 0;
  std::string body;
  bool ended = false;
  bool failed = false;
  std::string error;  // also set by a pool failure
  bool nothing_received = false;
  bool not_processed = false;
};

}  // namespace portico::upstream
