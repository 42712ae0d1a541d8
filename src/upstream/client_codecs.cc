#include "upstream/client_codecs.h"

#include "http1/client_codec.h"
#include "http2/client_codec.h"

namespace portico::upstream {
namespace {

// Responses are held to generous limits: the backend is trusted more than clients, but a
// broken one must still not make us buffer without bound.
http1::ParserLimits responseLimits() {
  http1::ParserLimits limits;
  limits.max_header_line = 64 * 1024;
  limits.max_header_bytes = 128 * 1024;
  limits.max_header_count = 200;
  return limits;
}

std::unique_ptr<http::ClientConnectionCodec> makeHttp2(const ClusterConfig& cluster,
                                                       http::CodecOutput& output,
                                                       http::ClientCodecCallbacks& callbacks) {
  http2::ClientSettings settings;
  settings.max_concurrent_streams = cluster.http2.max_streams_per_connection;
  settings.initial_stream_window = cluster.http2.initial_stream_window;
  settings.connection_window = cluster.http2.connection_window;
  settings.stream_buffer_limit = cluster.http2.stream_buffer_limit;
  settings.scheme = cluster.tls ? "https" : "http";
  return std::make_unique<http2::ClientCodec>(output, callbacks, settings);
}

}  // namespace

bool multiplexesBeforeConnect(const ClusterConfig& cluster) {
  return cluster.protocol == UpstreamProtocol::H2 || cluster.protocol == UpstreamProtocol::H2c;
}

std::unique_ptr<http::ClientConnectionCodec> makeClientCodec(const ClusterConfig& cluster,
                                                             std::string_view alpn,
                                                             http::CodecOutput& output,
                                                             http::ClientCodecCallbacks& callbacks,
                                                             std::string* error) {
  static const http1::ParserLimits kLimits = responseLimits();
  switch (cluster.protocol) {
    case UpstreamProtocol::Http1:
      return std::make_unique<http1::ClientCodecImpl>(output, callbacks, kLimits);
    case UpstreamProtocol::Auto:
      // Whatever the backend selected; no ALPN answer (or no TLS) means HTTP/1.1.
      if (alpn == "h2") return makeHttp2(cluster, output, callbacks);
      return std::make_unique<http1::ClientCodecImpl>(output, callbacks, kLimits);
    case UpstreamProtocol::H2c:
      return makeHttp2(cluster, output, callbacks);
    case UpstreamProtocol::H2:
      if (alpn == "h2") return makeHttp2(cluster, output, callbacks);
      *error = "protocol h2: the backend did not select h2 in ALPN (got " +
               (alpn.empty() ? std::string("nothing") : "\"" + std::string(alpn) + "\"") +
               "); use protocol: auto to fall back to HTTP/1.1";
      return nullptr;
  }
  return nullptr;
}

}  // namespace portico::upstream
