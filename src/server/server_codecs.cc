#include "server/server_codecs.h"

#include "http1/server_codec_factory.h"
#include "http2/prior_knowledge.h"
#include "http2/server_codec_factory.h"

namespace portico::server {

const http::ServerCodecRegistry& builtinServerCodecs() {
  // "h2" by ALPN over TLS; "h2c" is the plain-text listeners' default when http2.cleartext is
  // on: it picks HTTP/2 or HTTP/1.1 by the connection's first bytes.
  static const std::unique_ptr<http::ServerCodecFactory> h2 = http2::makeServerCodecFactory();
  static const std::unique_ptr<http::ServerCodecFactory> h2c =
      http2::makePriorKnowledgeFactory(http1::serverCodecFactory(), *h2);
  static const http::ServerCodecRegistry registry = [] {
    http::ServerCodecRegistry r;
    r.add(http1::serverCodecFactory());
    r.add(*h2);
    r.add(*h2c);
    return r;
  }();
  return registry;
}

}  // namespace portico::server
