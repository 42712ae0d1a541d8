#include "http2/server_codec_factory.h"

#include "http2/server_codec.h"

namespace portico::http2 {

namespace {
class Http2ServerCodecFactory final : public http::ServerCodecFactory {
 public:
  explicit Http2ServerCodecFactory(std::vector<const FrameObserverFactory*> observers)
      : observers_(std::move(observers)) {}
  std::string_view protocol() const override { return "h2"; }
  std::unique_ptr<http::ServerCodec> create(http::CodecOutput& output,
                                            http::ServerConnectionCallbacks& callbacks,
                                            const http::ServerCodecSettings& settings,
                                            uint32_t requests_served) const override {
    std::vector<std::unique_ptr<FrameObserver>> observers;
    observers.reserve(observers_.size());
    for (const FrameObserverFactory* f : observers_) observers.push_back(f->create(settings));
    return std::make_unique<ServerCodecImpl>(output, callbacks, settings, requests_served,
                                             std::move(observers));
  }

 private:
  std::vector<const FrameObserverFactory*> observers_;
};
}  // namespace

std::unique_ptr<http::ServerCodecFactory> makeServerCodecFactory(
    std::vector<const FrameObserverFactory*> observers) {
  return std::make_unique<Http2ServerCodecFactory>(std::move(observers));
}

}  // namespace portico::http2
