#include "http2/prior_knowledge.h"

#include <algorithm>

namespace portico::http2 {

namespace {

class PriorKnowledgeCodec final : public http::ServerCodec {
 public:
  PriorKnowledgeCodec(const http::ServerCodecFactory& http1, const http::ServerCodecFactory& http2,
                      http::CodecOutput& output, http::ServerConnectionCallbacks& callbacks,
                      const http::ServerCodecSettings& settings, uint32_t requests_served)
      : http1_(http1),
        http2_(http2),
        output_(output),
        callbacks_(callbacks),
        settings_(settings),
        requests_served_(requests_served) {}

  bool dispatch(buffer::Buffer& data) override {
    if (!inner_) {
      const size_t n = std::min(data.length(), kConnectionPreface.size());
      const std::string start = data.copyOut(n);
      const bool preface = kConnectionPreface.compare(0, n, start) == 0;
      if (preface && n < kConnectionPreface.size()) {
        started_ = n > 0;  // wait for the rest of the preface
        return true;
      }
      const http::ServerCodecFactory& chosen = preface ? http2_ : http1_;
      inner_ = chosen.create(output_, callbacks_, settings_, requests_served_);
    }
    return inner_->dispatch(data);
  }
  void onEndOfInput() override {
    if (inner_) return inner_->onEndOfInput();
    output_.closeAfterFlush();
  }
  bool idle() const override { return inner_ ? inner_->idle() : !started_; }
  bool readingHead() const override { return inner_ ? inner_->readingHead() : started_; }
  uint32_t requestCount() const override {
    return inner_ ? inner_->requestCount() : requests_served_;
  }
  void startDrain() override {
    if (inner_) return inner_->startDrain();
    output_.closeAfterFlush();
  }
  void sendConnectionError(uint16_t status) override {
    if (inner_) return inner_->sendConnectionError(status);
    output_.closeAfterFlush();
  }
  bool parkable() const override { return inner_ ? inner_->parkable() : !started_; }
  void onOutputWatermark(bool above_high) override {
    if (inner_) inner_->onOutputWatermark(above_high);
  }

 private:
  const http::ServerCodecFactory& http1_;
  const http::ServerCodecFactory& http2_;
  http::CodecOutput& output_;
  http::ServerConnectionCallbacks& callbacks_;
  const http::ServerCodecSettings& settings_;
  const uint32_t requests_served_;
  std::unique_ptr<http::ServerCodec> inner_;
  bool started_ = false;  // part of a preface arrived
};

class PriorKnowledgeFactory final : public http::ServerCodecFactory {
 public:
  PriorKnowledgeFactory(const http::ServerCodecFactory& http1,
                        const http::ServerCodecFactory& http2)
      : http1_(http1), http2_(http2) {}
  std::string_view protocol() const override { return "h2c"; }
  std::unique_ptr<http::ServerCodec> create(http::CodecOutput& output,
                                            http::ServerConnectionCallbacks& callbacks,
                                            const http::ServerCodecSettings& settings,
                                            uint32_t requests_served) const override {
    return std::make_unique<PriorKnowledgeCodec>(http1_, http2_, output, callbacks, settings,
                                                 requests_served);
  }

 private:
  const http::ServerCodecFactory& http1_;
  const http::ServerCodecFactory& http2_;
};

}  // namespace

std::unique_ptr<http::ServerCodecFactory> makePriorKnowledgeFactory(
    const http::ServerCodecFactory& http1, const http::ServerCodecFactory& http2) {
  return std::make_unique<PriorKnowledgeFactory>(http1, http2);
}

}  // namespace portico::http2
