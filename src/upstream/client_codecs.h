#pragma once
// The client codec a cluster's connections speak, chosen per cluster (`protocol`) and, for
// `auto`, by what the backend picked in ALPN. The only place upstream/ names http1/ and
// http2/: the pool and the router see http::ClientConnectionCodec.

#include <memory>
#include <string>
#include <string_view>

#include "http/client_codec.h"
#include "upstream/cluster_config.h"

namespace portico::upstream {

// Whether every connection of the cluster will multiplex (known before connecting), so
// requests may wait together for one connection being opened.
bool multiplexesBeforeConnect(const ClusterConfig& cluster);

// The codec for a connection of `cluster` whose TLS handshake (if any) chose `alpn`. Null,
// with `error` set, when the backend refused what the cluster requires (h2 over TLS, and the
// backend did not select h2).
std::unique_ptr<http::ClientConnectionCodec> makeClientCodec(const ClusterConfig& cluster,
                                                             std::string_view alpn,
                                                             http::CodecOutput& output,
                                                             http::ClientCodecCallbacks& callbacks,
                                                             std::string* error);

}  // namespace portico::upstream
