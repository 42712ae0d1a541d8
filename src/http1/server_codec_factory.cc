#include "http1/server_codec_factory.h"

#include "http1/server_codec.h"

namespace portico::http1 {

namespace {
class Http1ServerCodecFactory final : public http::ServerCodecFactory {
 public:
  std::string_view protocol() const override { return "http/1.1"; }
  std::unique_ptr<http::ServerCodec> create(http::CodecOutput& output,
                                            http::ServerConnectionCallbacks& callbacks,
                                            const http::ServerCodecSettings& settings,
                                            uint32_t requests_served) const override {
    return std::make_unique<ServerCodecImpl>(output, callbacks, settings, requests_served);
  }
};
}  // namespace

const http::ServerCodecFactory& serverCodecFactory() {
  static const Http1ServerCodecFactory factory;
  return factory;
}

}  // namespace portico::http1
