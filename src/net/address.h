#pragma once
// Socket addresses: parsing "host:port" / "[v6]:port" and printing them back.
// Only numeric hosts: name resolution never happens on a worker thread.

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>

namespace portico::net {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string toString() const;
  // Host part only, without brackets: what X-Forwarded-For carries.
  std::string hostString() const;
  // 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address: reachable only from this machine.
  bool isLoopback() const;
};

// An IPv4 or IPv6 socket address in 28 bytes instead of sockaddr_storage's 128: what a record
// kept per idle connection stores.
class PackedAddress {
 public:
  PackedAddress() = default;
  explicit PackedAddress(const Address& address);
  Address unpack() const;

 private:
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } u_{};
};

// Parses "1.2.3.4:80", "[::1]:80", "*:80" (any IPv4) or ":80". Returns false on bad input.
bool parseAddress(std::string_view text, Address* out);
// Parses a bare IP ("10.0.0.1", "::1") with port 0.
bool parseIp(std::string_view text, Address* out);

Address addressFromSockaddr(const sockaddr* sa, socklen_t len);

}  // namespace portico::net
