#pragma once
// The HTTP/1.1 server codec as an http::ServerCodecFactory (ALPN id "http/1.1").

#include "http/server_codec_factory.h"

namespace portico::http1 {

// A stateless process-wide instance.
const http::ServerCodecFactory& serverCodecFactory();

}  // namespace portico::http1
