#pragma once
// The runtime form of one configuration: what workers read while serving. Built on the main
// thread, then immutable and shared (std::shared_ptr<const ProxySnapshot>); a connection keeps
// the snapshot it was accepted under until it closes.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/codec.h"
#include "http/server_codec_factory.h"
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
  // The codecs a connection may speak, by ALPN id (the process-wide registry), and the one
  // for a connection that negotiated none: plain TCP, or a TLS client without ALPN. That is
  // HTTP/1.1, or on a plain-text listener with http2.cleartext the "h2c" codec that picks
  // HTTP/2 or HTTP/1.1 by the connection's first bytes.
  const http::ServerCodecRegistry* codecs = nullptr;
  const http::ServerCodecFactory* default_codec = nullptr;
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

// Compiles listeners and clusters into a snapshot (route tables, codec settings). `codecs`
// must outlive the snapshot and hold "http/1.1", the protocol of connections without ALPN.
std::shared_ptr<ProxySnapshot> buildSnapshot(std::vector<ListenerConfig> listeners,
                                             std::vector<upstream::ClusterConfig> clusters,
                                             const http::ServerCodecRegistry& codecs);

}  // namespace portico::proxy
