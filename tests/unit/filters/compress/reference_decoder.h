#pragma once
// Decoders written straight against each library's own streaming API, independent of the
// Portico code under test: what the encoders produce must decode with the reference
// implementation, chunk by chunk, exactly as a browser would.

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <string>
#include <string_view>

#include "http/accept_encoding.h"

namespace portico::filters::compress::testing {

class ReferenceDecoder {
 public:
  virtual ~ReferenceDecoder() = default;
  // Decodes as much of `compressed` as the library can now, appending to `out`. False on a
  // library error.
  virtual bool feed(std::string_view compressed, std::string& out) = 0;
  // Whether the stream's end was seen.
  virtual bool finished() const = 0;
};

class ZlibReference final : public ReferenceDecoder {
 public:
  ZlibReference() { inflateInit2(&zs_, 15 + 16); }
  ~ZlibReference() override { inflateEnd(&zs_); }
  bool feed(std::string_view in, std::string& out) override {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      unsigned char chunk[4096];
      zs_.next_out = chunk;
      zs_.avail_out = sizeof chunk;
      const int rc = inflate(&zs_, Z_SYNC_FLUSH);
      out.append(reinterpret_cast<char*>(chunk), sizeof chunk - zs_.avail_out);
      if (rc == Z_STREAM_END) {
        finished_ = true;
        return zs_.avail_in == 0;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (zs_.avail_in == 0 && zs_.avail_out != 0) return true;
    }
  }
  bool finished() const override { return finished_; }

 private:
  z_stream zs_{};
  bool finished_ = false;
};

class BrotliReference final : public ReferenceDecoder {
 public:
  BrotliReference() : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  ~BrotliReference() override { BrotliDecoderDestroyInstance(state_); }
  bool feed(std::string_view in, std::string& out) override {
    size_t avail_in = in.size();
    auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      uint8_t chunk[4096];
      size_t avail_out = sizeof chunk;
      uint8_t* next_out = chunk;
      const BrotliDecoderResult r = BrotliDecoderDecompressStream(state_, &avail_in, &next_in,
                                                                  &avail_out, &next_out, nullptr);
      out.append(reinterpret_cast<char*>(chunk), sizeof chunk - avail_out);
      if (r == BROTLI_DECODER_RESULT_ERROR) return false;
      if (r == BROTLI_DECODER_RESULT_SUCCESS) {
        finished_ = true;
        return avail_in == 0;
      }
      // NEEDS_MORE_INPUT can come while decoded bytes still wait in the decoder's ring
      // buffer (the output chunk was full): keep draining them.
      if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT && !BrotliDecoderHasMoreOutput(state_))
        return true;
    }
  }
  bool finished() const override { return finished_; }

 private:
  BrotliDecoderState* state_;
  bool finished_ = false;
};

class ZstdReference final : public ReferenceDecoder {
 public:
  ZstdReference() : dctx_(ZSTD_createDCtx()) {}
  ~ZstdReference() override { ZSTD_freeDCtx(dctx_); }
  bool feed(std::string_view in, std::string& out) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      char chunk[4096];
      ZSTD_outBuffer output{chunk, sizeof chunk, 0};
      const size_t hint = ZSTD_decompressStream(dctx_, &output, &input);
      if (ZSTD_isError(hint)) return false;
      out.append(chunk, output.pos);
      if (hint == 0) finished_ = true;
      if (input.pos == input.size && output.pos < output.size) return true;
    }
  }
  bool finished() const override { return finished_; }

 private:
  ZSTD_DCtx* dctx_;
  bool finished_ = false;
};

inline std::unique_ptr<ReferenceDecoder> makeReference(http::ContentCoding coding) {
  switch (coding) {
    case http::ContentCoding::Gzip:
      return std::make_unique<ZlibReference>();
    case http::ContentCoding::Brotli:
      return std::make_unique<BrotliReference>();
    case http::ContentCoding::Zstd:
      return std::make_unique<ZstdReference>();
    case http::ContentCoding::Identity:
      break;
  }
  return nullptr;
}

}  // namespace portico::filters::compress::testing
