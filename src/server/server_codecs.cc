#include "server/server_codecs.h"

#include "http1/server_codec_factory.h"

namespace portico::server {

const http::ServerCodecRegistry& builtinServerCodecs() {
  static const http::ServerCodecRegistry registry = [] {
    http::ServerCodecRegistry r;
    r.add(http1::serverCodecFactory());
    return r;
  }();
  return registry;
}

}  // namespace portico::server
