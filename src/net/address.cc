#include "net/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace portico::net {

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

bool Address::isLoopback() const {
  if (family() == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

std::string Address::hostString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

std::string Address::toString() const {
  // Built with append: GCC 12 raises a false -Wrestrict on chained operator+ here.
  std::string out;
  if (family() == AF_INET6) out.push_back('[');
  out.append(hostString());
  if (family() == AF_INET6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port()));
  return out;
}

PackedAddress::PackedAddress(const Address& address) {
  if (address.family() == AF_INET) {
    std::memcpy(&u_.v4, &address.storage, sizeof u_.v4);
  } else if (address.family() == AF_INET6) {
    std::memcpy(&u_.v6, &address.storage, sizeof u_.v6);
  }
}

Address PackedAddress::unpack() const {
  Address out;
  if (u_.sa.sa_family == AF_INET) {
    std::memcpy(&out.storage, &u_.v4, sizeof u_.v4);
    out.length = sizeof u_.v4;
  } else if (u_.sa.sa_family == AF_INET6) {
    std::memcpy(&out.storage, &u_.v6, sizeof u_.v6);
    out.length = sizeof u_.v6;
  }
  return out;
}

bool parseIp(std::string_view text, Address* out) {
  std::string host(text);
  *out = Address{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    out->length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out->length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool parseAddress(std::string_view text, Address* out) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // v6 needs brackets
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535)
    return false;
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (!parseIp(host, out)) return false;
  if (out->family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out->storage)->sin_port = htons(static_cast<uint16_t>(value));
  } else {
    reinterpret_cast<sockaddr_in6*>(&out->storage)->sin6_port = htons(static_cast<uint16_t>(value));
  }
  return true;
}

Address addressFromSockaddr(const sockaddr* sa, socklen_t len) {
  Address a;
  if (len > sizeof a.storage) len = sizeof a.storage;
  std::memcpy(&a.storage, sa, len);
  a.length = len;
  return a;
}

}  // namespace portico::net
