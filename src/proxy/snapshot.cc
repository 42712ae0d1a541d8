#include "proxy/snapshot.h"

namespace portico::proxy {

std::shared_ptr<ProxySnapshot> buildSnapshot(std::vector<ListenerConfig> listeners,
                                             std::vector<upstream::ClusterConfig> clusters,
                                             const http::ServerCodecRegistry& codecs) {
  auto snap = std::make_shared<ProxySnapshot>();
  for (auto& c : clusters) {
    snap->cluster_index.emplace(c.name, static_cast<int>(snap->clusters.size()));
    auto state = std::make_unique<upstream::ClusterState>(std::move(c));
    state->index = snap->clusters.size();
    if (state->config.tls_context)
      state->transport = std::make_shared<tls::ClientTransportFactory>(state->config.tls_context);
    snap->clusters.push_back(std::move(state));
  }
  for (auto& l : listeners) {
    auto rt = std::make_unique<ListenerRuntime>(std::move(l));
    rt->routes = std::make_unique<RouteTable>(rt->config, snap->cluster_index);
    if (rt->config.tls_context) {
      rt->tls = std::make_shared<tls::ServerTransportFactory>(rt->config.tls_context);
      rt->transport = rt->tls;
      rt->handshake_timeout_ms = rt->config.tls->handshake_timeout_ms;
    }
    const ListenerLimits& lim = rt->config.limits;
    http::ServerCodecSettings& s = rt->codec_settings;
    s.max_request_line = lim.max_request_line;
    s.max_header_line = lim.max_header_line;
    s.max_header_bytes = lim.max_header_bytes;
    s.max_headers = lim.max_headers;
    s.max_body = lim.max_body;
    s.max_requests_per_connection = lim.max_requests_per_connection;
    s.error_pages = &rt->config.error_pages;
    s.buffer_limit = lim.buffer;
    s.http2 = rt->config.http2;
    rt->codecs = &codecs;
    // Without ALPN: HTTP/1.1, or on plain text with http2.cleartext the codec that tells
    // HTTP/2's preface from HTTP/1.1 (h2c by prior knowledge), when this build has it.
    rt->default_codec = codecs.find("http/1.1");
    if (!rt->config.tls && rt->config.http2.cleartext && codecs.find("h2c") != nullptr)
      rt->default_codec = codecs.find("h2c");
    snap->listeners.push_back(std::move(rt));
  }
  return snap;
}

}  // namespace portico::proxy
