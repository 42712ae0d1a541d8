#pragma once
// The server codecs this build speaks, by ALPN id. Only protocols listed here may be offered
// by a TLS listener's ALPN (config/tls_loader.cc keeps its list to the same protocols).

#include "http/server_codec_factory.h"

namespace portico::server {

// Built once, never changed; lives for the whole process.
const http::ServerCodecRegistry& builtinServerCodecs();

}  // namespace portico::server
