#pragma once
// The runtime form of one configuration: what workers read while serving. Built on the main
// thread, then immutable and shared (std::shared_ptr<const ProxySnapshot>); a connection keeps
// the snapshot it was accepted under until it closes.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/codec.h"
#include "net/transport.h"
#include "proxy/route_config.h"
#include "proxy/route_table.h"
#include "tls/transport_factory.h"
#include "upstream/cluster_manager.h"

namespace portico::proxy {

struct ListenerRuntime {
  explicit ListenerRuntime(ListenerConfig c) : config(std::move(c)) {}
  ListenerConfig config;
  std::unique_ptr<RouteTable> routes;
  http::ServerCodecSettings codec_settings;
  // Makes each accepted connection's transport: plain, or TLS with this listener's contexts.
  std::shared_ptr<const net::TransportSocketFactory> transport = net::plainTransportFactory();
  // The same factory when it is TLS, for the main thread to swap certificates in (reload).
  std::shared_ptr<tls::ServerTransportFactory> tls;
  int64_t handshake_timeout_ms = 10000;  // TLS only: accept -> handshake done
};

struct ProxySnapshot {
  std::vector<std::unique_ptr<ListenerRuntime>> listeners;
  std::vector<std::unique_ptr<upstream::ClusterState>> clusters;
  std::unordered_map<std::string, int> cluster_index;
};

// Compiles listeners and clusters into a snapshot (route tables, codec settings).
std::shared_ptr<ProxySnapshot> buildSnapshot(std::vector<ListenerConfig> listeners,
                                             std::vector<upstream::ClusterConfig> clusters);

}  // namespace portico::proxy
