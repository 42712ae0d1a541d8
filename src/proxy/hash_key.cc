#include "proxy/hash_key.h"

#include "upstream/hash.h"

namespace portico::proxy {
namespace {

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(name, value) for each `name=value` piece of `text` split at `sep`; stops when fn
// returns true.
template <typename Fn>
void forEachPair(std::string_view text, char sep, Fn&& fn) {
  while (!text.empty()) {
    const size_t end = text.find(sep);
    std::string_view piece = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const size_t eq = piece.find('=');
    if (eq == std::string_view::npos) continue;
    if (fn(piece.substr(0, eq), piece.substr(eq + 1))) return;
  }
}

// The address bytes without the port: what identifies a client.
std::string_view ipBytes(const net::Address& address) {
  const sockaddr* sa = address.sa();
  if (sa->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    return {reinterpret_cast<const char*>(&v4->sin_addr), sizeof(v4->sin_addr)};
  }
  if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return {reinterpret_cast<const char*>(&v6->sin6_addr), sizeof(v6->sin6_addr)};
  }
  return {};
}

std::optional<std::string_view> valueOf(const HashPolicyEntry& entry, const http::RequestHead& head,
                                        const net::Address* client) {
  using Source = HashPolicyEntry::Source;
  switch (entry.source) {
    case Source::ClientIp:
      if (client == nullptr || ipBytes(*client).empty()) return std::nullopt;
      return ipBytes(*client);
    case Source::Header: {
      std::optional<std::string_view> v = head.headers.get(entry.name);
      if (v && v->empty()) return std::nullopt;
      return v;
    }
    case Source::Cookie: {
      std::optional<std::string_view> found;
      head.headers.forEach([&](std::string_view name, std::string_view value) {
        if (!found && http::equalsIgnoreCase(name, "cookie")) found = findCookie(value, entry.name);
      });
      return found;
    }
    case Source::Path:
      return std::string_view(head.path);
    case Source::QueryParameter:
      return findQueryParameter(head.query, entry.name);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> findCookie(std::string_view cookie_header, std::string_view name) {
  std::optional<std::string_view> found;
  forEachPair(cookie_header, ';', [&](std::string_view n, std::string_view v) {
    if (trimSpaces(n) != name) return false;
    v = trimSpaces(v);
    // RFC 6265 4.1.1 allows the value in double quotes.
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    found = v;
    return true;
  });
  return found;
}

std::optional<std::string_view> findQueryParameter(std::string_view query, std::string_view name) {
  std::optional<std::string_view> found;
  forEachPair(query, '&', [&](std::string_view n, std::string_view v) {
    if (n != name) return false;
    if (!v.empty()) found = v;
    return true;
  });
  return found;
}

std::optional<uint64_t> computeHashKey(const std::vector<HashPolicyEntry>& policy,
                                       const http::RequestHead& head, const net::Address* client) {
  for (const HashPolicyEntry& entry : policy) {
    std::optional<std::string_view> value = valueOf(entry, head, client);
    // The source's kind seeds the hash: the same text as a header and as a path are different
    // keys (they would otherwise collide on purpose-built values).
    if (value) return upstream::hash64(*value, static_cast<uint64_t>(entry.source));
  }
  return std::nullopt;
}

}  // namespace portico::proxy
