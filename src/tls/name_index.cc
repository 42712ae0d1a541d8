#include "tls/name_index.h"

namespace portico::tls {

void NameIndex::add(const std::string& name, size_t group) {
  groups_.emplace(name, group);
}

std::optional<size_t> NameIndex::find(std::string_view server_name) const {
  if (!server_name.empty() && server_name.back() == '.') server_name.remove_suffix(1);
  // Longer than any DNS name: not worth a lookup, and it bounds the copy below.
  if (server_name.empty() || server_name.size() > 253) return std::nullopt;
  std::string key(server_name);
  for (char& c : key) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  if (auto it = groups_.find(key); it != groups_.end()) return it->second;
  size_t dot = key.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  key.replace(0, dot, "*");
  if (auto it = groups_.find(key); it != groups_.end()) return it->second;
  return std::nullopt;
}

}  // namespace portico::tls
