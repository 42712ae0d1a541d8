#pragma once
// Cleartext HTTP/2 by prior knowledge (h2c, RFC 9113 3.3) on a plain-text listener: the codec
// of a connection is chosen by its first bytes. The HTTP/2 connection preface
// ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") makes it HTTP/2; anything else is HTTP/1.1, which can
// never start that way (PRI is no method a server accepts with "HTTP/2.0"). The HTTP/1.1
// "Upgrade: h2c" dance is not offered: such a request is simply answered in HTTP/1.1.
// Registered under the ALPN id "h2c", which TLS never negotiates.

#include <memory>

#include "http/server_codec_factory.h"

namespace portico::http2 {

inline constexpr std::string_view kConnectionPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A factory whose codecs wait for the first bytes, then become an `http1` or an `http2` codec.
// Both factories must outlive it.
std::unique_ptr<http::ServerCodecFactory> makePriorKnowledgeFactory(
    const http::ServerCodecFactory& http1, const http::ServerCodecFactory& http2);

}  // namespace portico::http2
