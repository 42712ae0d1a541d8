#include "http1/client_codec.h"

#include <charconv>

#include "http1/serializer.h"

namespace portico::http1 {

ClientCodecImpl::ClientCodecImpl(http::CodecOutput& output, http::ClientCodecCallbacks& callbacks,
                                 const ParserLimits& limits)
    : output_(output), callbacks_(callbacks), parser_(&head_, limits) {}

http::ClientStream& ClientCodecImpl::newStream() {
  decoder_ = nullptr;
  watermark_cb_ = nullptr;
  head_written_ = false;
  used_ = true;
  parser_.reset();
  trailers_.clear();
  body_.clear();
  response_bytes_ = 0;
  request_body_left_ = 0;
  request_done_ = false;
  request_broken_ = false;
  response_done_ = false;
  chunked_ = false;
  keep_alive_ = true;
  upgrade_request_ = false;
  connect_request_ = false;
  tunnel_input_done_ = false;
  return *this;
}

void ClientCodecImpl::releaseStream(http::ClientStream&) {
  // An exchange left half done makes reusable() false: the pool closes the connection.
  decoder_ = nullptr;
  watermark_cb_ = nullptr;
}

void ClientCodecImpl::encodeHeaders(const http::RequestHead& head, bool end_stream) {
  parser_.setRequestMethod(head.method);
  upgrade_request_ = head.headers.has("Upgrade");
  connect_request_ = head.method == http::Method::Connect;
  out_.append(head.method_text);
  out_.append(" ", 1);
  if (connect_request_) {
    out_.append(head.authority);  // authority-form (RFC 9112 3.2.3): CONNECT has no path
  } else {
    out_.append(head.path.empty() ? std::string_view("/") : std::string_view(head.path));
  }
  if (!head.query.empty()) {
    out_.append("?", 1);
    out_.append(head.query);
  }
  out_.append(" HTTP/1.1\r\n", 11);
  appendHeaderFields(out_, head.headers);
  if (auto length = head.headers.get("Content-Length")) {
    // A value we cannot read (a list, say) cannot be checked against the body: such a
    // request may go out, but its connection is not trusted with another one.
    auto [end, ec] =
        std::from_chars(length->data(), length->data() + length->size(), request_body_left_);
    request_broken_ = ec != std::errc() || end != length->data() + length->size();
  } else {
    if (!end_stream) {
      out_.append("Transfer-Encoding: chunked\r\n");
      chunked_ = true;
    } else if (head.method == http::Method::Post || head.method == http::Method::Put ||
               head.method == http::Method::Patch) {
      out_.append("Content-Length: 0\r\n");
    }
  }
  out_.append("\r\n", 2);
  request_done_ = end_stream;
  if (end_stream && request_body_left_ != 0) request_broken_ = true;
  if (end_stream) {
    head_written_ = true;
    output_.writeToPeer(out_);
  }
  // Otherwise the head leaves with the first body bytes.
}

void ClientCodecImpl::encodeData(buffer::Buffer& data, bool end_stream) {
  if (tunnel_) {
    out_.moveFrom(data);
    output_.writeToPeer(out_);
    // The client's half-close: the backend may still answer, so only our sending side ends.
    if (end_stream) output_.shutdownWriteAfterFlush();
    return;
  }
  if (chunked_) {
    if (!data.empty()) {
      appendChunkHeader(out_, data.length());
      out_.moveFrom(data);
      out_.append("\r\n", 2);
    }
    if (end_stream) out_.append("0\r\n\r\n", 5);
  } else {
    out_.moveFrom(data, allowedBodyBytes(data.length(), end_stream));
    data.clear();
  }
  if (end_stream) request_done_ = true;
  if (!out_.empty()) {
    head_written_ = true;
    output_.writeToPeer(out_);
  }
}

void ClientCodecImpl::encodeTrailers(const http::HeaderMap& trailers) {
  if (chunked_) {
    out_.append("0\r\n", 3);
    appendHeaderFields(out_, trailers);
    out_.append("\r\n", 2);
  } else if (request_body_left_ != 0) {
    request_broken_ = true;
  }
  request_done_ = true;
  if (!out_.empty()) {
    head_written_ = true;
    output_.writeToPeer(out_);
  }
}

size_t ClientCodecImpl::allowedBodyBytes(size_t offered, bool end_stream) {
  if (request_broken_) return offered;
  size_t allowed = offered;
  if (offered > request_body_left_) {
    // Bytes past the promised length would reach the backend as a request of their own.
    allowed = static_cast<size_t>(request_body_left_);
    request_broken_ = true;
  }
  request_body_left_ -= allowed;
  if (end_stream && request_body_left_ != 0) request_broken_ = true;
  return allowed;
}

bool ClientCodecImpl::dispatch(buffer::Buffer& data) {
  response_bytes_ += data.length();
  // The loop also runs with no bytes left: the parser may owe an event that needs no input.
  while (!failed_) {
    if (tunnel_) {
      body_.moveFrom(data);
      break;
    }
    if (response_done_) {
      // Bytes after a complete response: the backend is out of step; never reuse it.
      if (!data.empty()) keep_alive_ = false;
      data.clear();
      break;
    }
    std::string_view slice = data.firstSlice();
    ParseResult r = parser_.feed(slice.data(), slice.size());
    bool stop = false;
    switch (r.event) {
      case ParseEvent::NeedMore:
        data.drain(r.consumed);
        stop = r.consumed == 0 || data.empty();
        break;
      case ParseEvent::Head:
        data.drain(r.consumed);
        if (parser_.isInterim()) {
          // 100 Continue is ours to handle (we answer clients ourselves); other 1xx pass on.
          if (head_.status != 100 && decoder_) decoder_->decodeInterim(head_);
          break;
        }
        keep_alive_ = parser_.keepAlive();
        if (connect_request_ && head_.status / 100 == 2) {
          // The backend opened the tunnel: from here on, bytes in both directions are its.
          tunnel_ = true;
          if (decoder_) decoder_->decodeHeaders(head_, false);
          break;
        }
        if (head_.status == 101) {
          tunnel_ = upgrade_request_;
          if (!tunnel_) {
            fail("101 response to a request that did not ask to upgrade");
            return false;
          }
          if (decoder_) decoder_->decodeHeaders(head_, false);
          break;
        }
        {
          bool end_stream =
              parser_.bodyKind() == BodyKind::None ||
              (parser_.bodyKind() == BodyKind::ContentLength && parser_.contentLength() == 0);
          http::ResponseDecoder* d = decoder_;
          if (end_stream) {
            // Done before the callback: a decoder that hands the connection back to its pool
            // from inside decodeHeaders must see it reusable.
            response_done_ = true;
            decoder_ = nullptr;
          }
          if (d) d->decodeHeaders(head_, end_stream);
        }
        break;
      case ParseEvent::Body:
        data.drain(r.consumed - r.body_len);
        body_.moveFrom(data, r.body_len);
        break;
      case ParseEvent::Trailers:
        data.drain(r.consumed);
        deliverBody(false);
        trailers_.assign(parser_.trailers());
        if (decoder_) {
          response_done_ = true;
          http::ResponseDecoder* d = decoder_;
          decoder_ = nullptr;
          d->decodeTrailers(trailers_);
        }
        break;
      case ParseEvent::MessageComplete:
        data.drain(r.consumed);
        if (!response_done_) {
          response_done_ = true;
          deliverBody(true);
        }
        break;
      case ParseEvent::Error:
        fail(describe(parser_.error()));
        return false;
    }
    if (stop) break;
  }
  if (!body_.empty()) deliverBody(false);
  return !failed_;
}

void ClientCodecImpl::deliverBody(bool end_stream) {
  if (decoder_ == nullptr) {
    body_.clear();
    return;
  }
  if (body_.empty() && !end_stream) return;
  http::ResponseDecoder* d = decoder_;
  if (end_stream) decoder_ = nullptr;
  d->decodeData(body_, end_stream);
  body_.clear();
}

void ClientCodecImpl::onEndOfInput() {
  keep_alive_ = false;
  if (tunnel_) {
    // Heard on the backend's FIN and again when the connection closes: one end is enough.
    if (tunnel_input_done_) return;
    tunnel_input_done_ = true;
    if (decoder_) decoder_->decodeData(body_, true);
    return;
  }
  if (response_done_ || failed_) return;
  ParseResult r = parser_.onEof();
  if (r.event == ParseEvent::MessageComplete) {
    response_done_ = true;
    deliverBody(true);
    return;
  }
  fail(response_bytes_ == 0 ? "connection closed before any response byte"
                            : "connection closed in the middle of the response",
       /*connection_closed=*/true);
}

void ClientCodecImpl::fail(std::string_view why, bool connection_closed) {
  failed_ = true;
  keep_alive_ = false;
  if (decoder_) {
    http::ResponseDecoder* d = decoder_;
    decoder_ = nullptr;
    // Any byte counts, even one that did not parse: the backend read the request and acted.
    d->onResponseError({.why = why,
                        .nothing_received = response_bytes_ == 0,
                        .connection_closed = connection_closed});
  }
}

}  // namespace portico::http1
