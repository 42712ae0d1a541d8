#pragma once
// Which certificate group serves a TLS server name: the exact name first, then a wildcard
// covering one label ("*.example.com" for "a.example.com", not for "a.b.example.com"), else
// none (the caller falls back to its default).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::tls {

class NameIndex {
 public:
  // `name` is lower-case, as certificateNames returns it. The first group to claim a name
  // keeps it, so the order of the configuration decides, visibly.
  void add(const std::string& name, size_t group);
  // `server_name` as the client sent it (any case, maybe with a trailing dot).
  std::optional<size_t> find(std::string_view server_name) const;

 private:
  std::unordered_map<std::string, size_t> groups_;
};

}  // namespace portico::tls
