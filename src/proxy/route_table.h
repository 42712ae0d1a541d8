#pragma once
// The compiled routing table of one listener: virtual hosts by domain, then routes in config
// order. Built once per config snapshot on the main thread, then read-only: workers match
// requests against it concurrently without locks.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filters/filter.h"
#include "http/message.h"
#include "proxy/route_config.h"
#include "proxy/static_root.h"

namespace portico::proxy {

struct RouteEntry {
  const RouteConfig* config = nullptr;
  // For proxy routes: the cluster's index in the snapshot.
  int cluster_index = -1;
  // Filters this route runs before its terminal action, in order.
  std::vector<const filters::FilterFactory*> filters;
  // When set, the terminal filter comes from this factory instead of the route's action (a
  // seam for tests that drive the chain with a terminal of their own).
  const filters::FilterFactory* terminal = nullptr;
  // For static routes: the root directory, opened once for this snapshot.
  std::unique_ptr<const StaticRoot> static_root;
};

struct VirtualHost {
  const VirtualHostConfig* config = nullptr;
  std::vector<RouteEntry> routes;
};

class RouteTable {
 public:
  // `config` must outlive the table (both live in the same snapshot). `cluster_index` maps a
  // cluster name to its index (-1 if unknown; the config loader has already checked names).
  RouteTable(const ListenerConfig& config,
             const std::unordered_map<std::string, int>& cluster_index);

  // The virtual host for `authority` (Host header), or nullptr if none matches and there is
  // no "*" host.
  const VirtualHost* findVirtualHost(std::string_view authority) const;
  // The first route of the matching virtual host that matches the request, or nullptr.
  const RouteEntry* match(const http::RequestHead& request) const;
  // The first route of `host` (from findVirtualHost) that matches, or nullptr.
  static const RouteEntry* matchIn(const VirtualHost* host, const http::RequestHead& request);

  // Adds a filter that runs on every route of this listener, after the route's own filters
  // (listener-wide filters). Only while the snapshot is being built, before it is published;
  // the factory must outlive the table.
  void appendListenerFilter(const filters::FilterFactory* factory);
  // Makes every route of this listener end at `factory`'s filter (see RouteEntry::terminal).
  void replaceTerminal(const filters::FilterFactory* factory);

 private:
  std::vector<VirtualHost> hosts_;
  std::unordered_map<std::string, size_t> exact_;         // "example.com" -> host
  std::vector<std::pair<std::string, size_t>> suffixes_;  // ".example.com", longest first
  int default_host_ = -1;
};

// Matching helpers, exposed for tests.
bool routeMatches(const RouteMatch& match, const http::RequestHead& request);
// Value of query parameter `name` in `query` ("a=1&b=2"), undecoded; nullopt if absent.
std::optional<std::string_view> queryParam(std::string_view query, std::string_view name);

}  // namespace portico::proxy
