#include "proxy/route_table.h"

#include <algorithm>

namespace portico::proxy {

namespace {
std::string lowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// "Example.COM:8080" -> "example.com"; "[::1]:80" -> "[::1]".
bool valueMatches(const ValueMatch& m, std::optional<std::string_view> value) {
  bool matched;
  if (!value) {
    matched = false;
  } else if (m.present_only) {
    matched = true;
  } else if (m.exact) {
    matched = *value == *m.exact;
  } else if (m.regex) {
    matched = re2::RE2::FullMatch(re2::StringPiece(value->data(), value->size()), *m.regex);
  } else {
    matched = false;
  }
  return m.invert ? !matched : matched;
}
}  // namespace

std::optional<std::string_view> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool routeMatches(const RouteMatch& match, const http::RequestHead& request) {
  switch (match.kind) {
    case PathMatchKind::Any:
      break;
    case PathMatchKind::Exact:
      if (request.path != match.path) return false;
      break;
    case PathMatchKind::Prefix:
      if (request.path.compare(0, match.path.size(), match.path) != 0) return false;
      break;
    case PathMatchKind::Regex:
      if (!re2::RE2::FullMatch(request.path, *match.regex)) return false;
      break;
  }
  if (!match.methods.empty() && std::find(match.methods.begin(), match.methods.end(),
                                          request.method_text) == match.methods.end())
    return false;
  for (const ValueMatch& h : match.headers) {
    if (!valueMatches(h, request.headers.get(h.name))) return false;
  }
  for (const ValueMatch& q : match.query) {
    if (!valueMatches(q, queryParam(request.query, q.name))) return false;
  }
  return true;
}

RouteTable::RouteTable(const ListenerConfig& config,
                       const std::unordered_map<std::string, int>& cluster_index) {
  hosts_.reserve(config.virtual_hosts.size());
  for (const VirtualHostConfig& vh : config.virtual_hosts) {
    size_t host_id = hosts_.size();
    VirtualHost host;
    host.config = &vh;
    for (const RouteConfig& rc : vh.routes) {
      RouteEntry entry;
      entry.config = &rc;
      if (rc.action == RouteConfig::ActionKind::Proxy) {
        auto it = cluster_index.find(rc.proxy.cluster);
        entry.cluster_index = it == cluster_index.end() ? -1 : it->second;
      } else if (rc.action == RouteConfig::ActionKind::Static) {
        entry.static_root = std::make_unique<const StaticRoot>(rc.static_files.root);
      }
      for (const auto& factory : rc.filters) entry.filters.push_back(factory.get());
      host.routes.push_back(std::move(entry));
    }
    hosts_.push_back(std::move(host));
    for (const std::string& domain : vh.domains) {
      std::string d = lowerCopy(domain);
      if (d == "*") {
        if (default_host_ < 0) default_host_ = static_cast<int>(host_id);
      } else if (d.size() > 2 && d[0] == '*' && d[1] == '.') {
        suffixes_.emplace_back(d.substr(1), host_id);
      } else {
        exact_.emplace(d, host_id);
      }
    }
  }
  std::stable_sort(suffixes_.begin(), suffixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void RouteTable::appendListenerFilter(const filters::FilterFactory* factory) {
  for (VirtualHost& host : hosts_) {
    for (RouteEntry& route : host.routes) route.filters.push_back(factory);
  }
}

void RouteTable::replaceTerminal(const filters::FilterFactory* factory) {
  for (VirtualHost& host : hosts_) {
    for (RouteEntry& route : host.routes) route.terminal = factory;
  }
}

const VirtualHost* RouteTable::findVirtualHost(std::string_view authority) const {
  if (exact_.empty() && suffixes_.empty()) {
    return default_host_ >= 0 ? &hosts_[static_cast<size_t>(default_host_)] : nullptr;
  }
  std::string host = http::hostWithoutPort(authority);
  auto it = exact_.find(host);
  if (it != exact_.end()) return &hosts_[it->second];
  for (const auto& [suffix, id] : suffixes_) {
    // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
    if (host.size() > suffix.size() &&
        host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &hosts_[id];
  }
  return default_host_ >= 0 ? &hosts_[static_cast<size_t>(default_host_)] : nullptr;
}

const RouteEntry* RouteTable::match(const http::RequestHead& request) const {
  return matchIn(findVirtualHost(request.authority), request);
}

const RouteEntry* RouteTable::matchIn(const VirtualHost* host, const http::RequestHead& request) {
  if (host == nullptr) return nullptr;
  for (const RouteEntry& route : host->routes) {
    if (routeMatches(route.config->match, request)) return &route;
  }
  return nullptr;
}

}  // namespace portico::proxy
