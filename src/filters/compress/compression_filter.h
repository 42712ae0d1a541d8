#pragma once
// Response compression (gzip, br, zstd) negotiated from Accept-Encoding, and optional
// decompression of request bodies, as one filter.
//
// Responses are encoded as they stream. What the filter is handed is compressed at once, and
// what the encoder still holds is flushed (Flush::Sync) at the end of the event-loop turn in
// which it arrived, so a backend that pauses (server-sent events, long polls) never leaves
// the client waiting for bytes the filter holds, while a body that arrives in many reads
// within one turn (the common case) pays for one flush, or none when it ends there. Memory per
// stream is the encoder's fixed state plus the chunk in hand. The filter decides in
// onResponseHeaders whether to encode (see eligibility in the .cc) and then rewrites the head:
// Content-Encoding set, Content-Length and Accept-Ranges dropped, a strong ETag weakened, Vary
// merged.
//
// Request decompression (off by default) decodes a gzip/br/zstd request body before it
// goes on, refusing with 413 once the decoded size or the expansion ratio passes its limit,
// so a decompression bomb costs the proxy a bounded amount of work and memory.

#include <memory>
#include <optional>
#include <string>

#include "event/event_loop.h"

#include "filters/compress/compression_config.h"
#include "filters/compress/decoder.h"
#include "filters/compress/encoder.h"
#include "filters/filter.h"

namespace portico::filters::compress {

class CompressionFilter final : public Filter {
 public:
  explicit CompressionFilter(const CompressionConfig& config) : config_(config) {}

  FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override;
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream) override;
  FilterStatus onResponseBody(buffer::Buffer& data, bool end_stream) override;
  FilterStatus onResponseTrailers(http::HeaderMap& trailers) override;
  bool transformsResponseBody() const override { return encoder_ != nullptr || whole_; }
  void onDestroy() override;

 private:
  // Whether this response gets encoded; also merges Vary when the answer depends on
  // Accept-Encoding.
  bool eligible(http::ResponseHead& head, bool end_stream) const;
  void releaseEncoder();
  // Ends the turn's input: flushes what the encoder holds and injects it behind this filter.
  static void flushHeldBytes(void* self);
  // Compresses held_ into `out` (the whole-body path); false on failure, after logging.
  bool compressHeld(buffer::Buffer& out);
  FilterStatus refuseRequestBody(DecodeResult result);

  const CompressionConfig& config_;
  // From the request: what the client accepts, and what the response may not be encoded for.
  http::ContentCoding chosen_ = http::ContentCoding::Identity;
  bool head_request_ = false;
  bool tunnel_request_ = false;
  EncoderPtr encoder_;
  // A gzip body with a small declared length is held and compressed whole (whole_body_gzip.h).
  bool whole_ = false;
  std::string held_;
  std::optional<event::ScheduledTask> flush_task_;
  DecoderPtr decoder_;
  bool decoder_finished_ = false;
};

class CompressionFilterFactory final : public FilterFactory {
 public:
  explicit CompressionFilterFactory(CompressionConfig config) : config_(std::move(config)) {}
  Filter* create(std::pmr::memory_resource& arena) const override {
    return arenaNew<CompressionFilter>(arena, config_);
  }
  const CompressionConfig& config() const { return config_; }

 private:
  CompressionConfig config_;
};

}  // namespace portico::filters::compress
