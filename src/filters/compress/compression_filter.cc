#include "filters/compress/compression_filter.h"

#include <charconv>
#include <string>

#include "core/log.h"
#include "filters/compress/encoder_pool.h"
#include "filters/compress/whole_body_gzip.h"
#include "http/field_list.h"

namespace portico::filters::compress {
namespace {

std::optional<uint64_t> declaredLength(const http::HeaderMap& headers) {
  std::optional<std::string_view> length = headers.get("Content-Length");
  if (!length) return std::nullopt;  // unknown length (chunked)
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), value);
  if (ec != std::errc() || end != length->data() + length->size()) return std::nullopt;
  return value;
}

// A cache that stored the identity response must not serve it to a client that would have got
// gzip, nor the reverse (RFC 9110 12.5.5): Accept-Encoding joins whatever Vary already lists.
void mergeVary(http::HeaderMap& headers) {
  std::string storage;
  const std::string vary(http::joinedValues(headers, "Vary", &storage));
  if (http::listHasToken(vary, "*") || http::listHasToken(vary, "Accept-Encoding")) return;
  headers.set("Vary", vary.empty() ? std::string("Accept-Encoding") : vary + ", Accept-Encoding");
}

// An encoded body is a different representation: byte-for-byte validators no longer hold
// (RFC 9110 8.8.3), so a strong ETag becomes weak; a weak one already says "equivalent".
void weakenEtag(http::HeaderMap& headers) {
  std::optional<std::string_view> etag = headers.get("ETag");
  if (!etag || etag->empty() || etag->front() != '"') return;
  headers.set("ETag", "W/" + std::string(*etag));
}

}  // namespace

FilterStatus CompressionFilter::onRequestHeaders(http::RequestHead& head, bool end_stream) {
  head_request_ = head.method == http::Method::Head;
  tunnel_request_ = head.method == http::Method::Connect || head.headers.has("Upgrade");
  if (config_.enabled) {
    std::string storage;
    chosen_ = http::chooseCoding(http::joinedValues(head.headers, "Accept-Encoding", &storage),
                                 config_.encodings);
  }
  if (!config_.request.enabled || end_stream || head.headers.count("Content-Encoding") != 1) {
    return FilterStatus::Continue;
  }
  // Only a single coding Portico knows is undone; a list or another coding goes on as sent.
  std::optional<http::ContentCoding> coding =
      http::codingByName(*head.headers.get("Content-Encoding"));
  if (!coding || *coding == http::ContentCoding::Identity) return FilterStatus::Continue;
  decoder_ = makeDecoder(*coding, config_.request.limits);
  if (!decoder_) {
    PLOG_ERROR("request {}: cannot allocate a {} decoder", callbacks_->info().request_id,
               http::codingName(*coding));
    callbacks_->sendLocalReply(503, "");
    return FilterStatus::Respond;
  }
  // The decoded length is known only at the end: the body goes on chunked.
  head.headers.remove("Content-Encoding");
  head.headers.remove("Content-Length");
  return FilterStatus::Continue;
}

FilterStatus CompressionFilter::onRequestBody(buffer::Buffer& data, bool end_stream) {
  if (!decoder_) return FilterStatus::Continue;
  buffer::Buffer decoded;
  DecodeResult result = DecodeResult::Finished;
  if (!data.empty() || !decoder_finished_) result = decoder_->decode(data, decoded);
  if (result == DecodeResult::Finished) decoder_finished_ = true;
  if (result == DecodeResult::Ok && end_stream) result = DecodeResult::Error;  // truncated
  if (result != DecodeResult::Ok && result != DecodeResult::Finished) {
    return refuseRequestBody(result);
  }
  data.moveFrom(decoded);
  return FilterStatus::Continue;
}

FilterStatus CompressionFilter::refuseRequestBody(DecodeResult result) {
  const bool too_big = result == DecodeResult::TooLarge || result == DecodeResult::BombDetected;
  const char* why = result == DecodeResult::TooLarge       ? "decoded size over max_size"
                    : result == DecodeResult::BombDetected ? "expansion ratio over max_ratio"
                                                           : "malformed or truncated coding";
  PLOG_WARN("request {}: compressed request body refused: {}", callbacks_->info().request_id, why);
  decoder_.reset();
  callbacks_->sendLocalReply(too_big ? 413 : 400, "");
  return FilterStatus::Respond;
}

bool CompressionFilter::eligible(http::ResponseHead& head, bool end_stream) const {
  if (!config_.enabled || tunnel_request_) return false;
  // 1xx and 101 never get here with a body; 204 and 304 have none; a 206 is a range of the
  // identity representation, which an encoding would break.
  if (head.status < 200 || http::statusHasNoBody(head.status) || head.status == 206) return false;
  // Already encoded (by the backend, or a precompressed static sibling), or still carrying a
  // transfer coding the client will undo itself.
  if (head.headers.has("Content-Encoding") || !head.transfer_codings.empty()) return false;
  std::string storage;
  if (http::listHasToken(http::joinedValues(head.headers, "Cache-Control", &storage),
                         "no-transform")) {
    return false;
  }
  std::optional<std::string_view> type = head.headers.get("Content-Type");
  if (!type || !config_.content_types.matches(*type)) return false;
  if (std::optional<uint64_t> length = declaredLength(head.headers);
      length && *length < config_.min_length) {
    return false;  // an unknown length (chunked) is worth compressing
  }
  // From here the representation depends on Accept-Encoding, whatever this client asked.
  mergeVary(head.headers);
  return !head_request_ && !end_stream && chosen_ != http::ContentCoding::Identity;
}

void CompressionFilter::releaseEncoder() {
  flush_task_.reset();  // cancels a flush still queued
  whole_ = false;
  std::string().swap(held_);
  if (encoder_) compress::releaseEncoder(chosen_, config_.level(chosen_), std::move(encoder_));
}

void CompressionFilter::onDestroy() {
  releaseEncoder();
}

FilterStatus CompressionFilter::onResponseHeaders(http::ResponseHead& head, bool end_stream) {
  releaseEncoder();
  if (!eligible(head, end_stream)) return FilterStatus::Continue;
  const std::optional<uint64_t> length = declaredLength(head.headers);
  if (chosen_ == http::ContentCoding::Gzip && length && *length <= kWholeBodyMax) {
    whole_ = true;
    held_.reserve(static_cast<size_t>(*length));
  } else {
    encoder_ = acquireEncoder(chosen_, config_.level(chosen_));
  }
  if (!encoder_ && !whole_) {
    PLOG_ERROR("request {}: cannot allocate a {} encoder; response sent unencoded",
               callbacks_->info().request_id, http::codingName(chosen_));
    return FilterStatus::Continue;
  }
  flush_task_.emplace(callbacks_->loop(), &CompressionFilter::flushHeldBytes, this);
  head.headers.set("Content-Encoding", http::codingName(chosen_));
  head.headers.remove("Content-Length");
  // Ranges of the encoded body are not offered: they would change with the coding and level.
  head.headers.remove("Accept-Ranges");
  weakenEtag(head.headers);
  return FilterStatus::Continue;
}

bool CompressionFilter::compressHeld(buffer::Buffer& out) {
  const bool ok = gzipWhole(held_, config_.level(chosen_), out);
  if (!ok) {
    PLOG_ERROR("request {}: gzip of a held body failed; response abandoned",
               callbacks_->info().request_id);
    callbacks_->resetStream("compression failed");
  }
  whole_ = false;
  std::string().swap(held_);
  return ok;
}

FilterStatus CompressionFilter::onResponseBody(buffer::Buffer& data, bool end_stream) {
  if (whole_) {
    // The codec holds the backend to its Content-Length, so held_ stays within kWholeBodyMax.
    while (!data.empty()) {
      const std::string_view slice = data.firstSlice();
      held_.append(slice);
      data.drain(slice.size());
    }
    if (end_stream) compressHeld(data);
    return FilterStatus::Continue;
  }
  if (!encoder_) return FilterStatus::Continue;
  buffer::Buffer encoded;
  if (!encoder_->encode(data, encoded, end_stream ? Flush::Finish : Flush::None)) {
    PLOG_ERROR("request {}: {} encoder failed; response abandoned", callbacks_->info().request_id,
               http::codingName(chosen_));
    data.clear();
    callbacks_->resetStream("compression failed");
    return FilterStatus::Continue;
  }
  data.moveFrom(encoded);
  if (end_stream) {
    flush_task_->cancel();
  } else {
    flush_task_->schedule();
  }
  return FilterStatus::Continue;
}

void CompressionFilter::flushHeldBytes(void* self) {
  auto* filter = static_cast<CompressionFilter*>(self);
  if (!filter->encoder_) return;
  buffer::Buffer none;
  buffer::Buffer held;
  if (!filter->encoder_->encode(none, held, Flush::Sync)) {
    filter->callbacks_->resetStream("compression failed");
    return;
  }
  if (!held.empty()) filter->callbacks_->injectResponseData(held, false);
}

FilterStatus CompressionFilter::onResponseTrailers(http::HeaderMap&) {
  if (whole_) {
    buffer::Buffer last;
    if (compressHeld(last)) callbacks_->injectResponseData(last, false);
    return FilterStatus::Continue;
  }
  if (!encoder_) return FilterStatus::Continue;
  // The body ended without end_stream (trailers follow): the coding's end goes first.
  flush_task_->cancel();
  buffer::Buffer none;
  buffer::Buffer last;
  if (!encoder_->encode(none, last, Flush::Finish)) {
    callbacks_->resetStream("compression failed");
    return FilterStatus::Continue;
  }
  callbacks_->injectResponseData(last, false);
  return FilterStatus::Continue;
}

}  // namespace portico::filters::compress
