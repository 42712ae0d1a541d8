#include "http1/server_codec.h"

#include <unistd.h>

#include "core/log.h"
#include "http/field_list.h"
#include "http1/serializer.h"

namespace portico::http1 {

namespace {
ParserLimits limitsFrom(const http::ServerCodecSettings& s) {
  ParserLimits l;
  l.max_request_line = s.max_request_line;
  l.max_header_line = s.max_header_line;
  l.max_header_bytes = s.max_header_bytes;
  l.max_header_count = s.max_headers;
  l.max_body_bytes = s.max_body;
  return l;
}
}  // namespace

ServerCodecImpl::ServerCodecImpl(http::CodecOutput& output,
                                 http::ServerConnectionCallbacks& callbacks,
                                 const http::ServerCodecSettings& settings,
                                 uint32_t requests_served)
    : output_(output),
      callbacks_(callbacks),
      settings_(settings),
      parser_(&head_, limitsFrom(settings)),
      requests_(requests_served) {}

bool ServerCodecImpl::dispatch(buffer::Buffer& data) {
  if (awaiting_reset_) {
    // The previous exchange was reaped; only now may its head be overwritten.
    awaiting_reset_ = false;
    resetForNextRequest();
  }
  // The loop also runs with no bytes left: the parser may still owe an event that needs no
  // input (the end of a body whose last byte just arrived).
  while (!closing_) {
    if (tunnel_) {
      body_.moveFrom(data);
      break;
    }
    if (request_done_) break;  // pipelined: wait for the response to finish
    std::string_view slice = data.firstSlice();
    ParseResult r = parser_.feed(slice.data(), slice.size());
    bool stop = false;
    switch (r.event) {
      case ParseEvent::NeedMore:
        if (r.consumed > 0 && !stream_active_) head_started_ = true;
        data.drain(r.consumed);
        stop = r.consumed == 0 || data.empty();
        break;
      case ParseEvent::Head:
        data.drain(r.consumed);
        onHead();
        break;
      case ParseEvent::Body:
        data.drain(r.consumed - r.body_len);
        body_.moveFrom(data, r.body_len);
        break;
      case ParseEvent::Trailers:
        data.drain(r.consumed);
        deliverBody(false);
        trailers_.assign(parser_.trailers());
        if (stream_active_ && decoder_) decoder_->decodeTrailers(trailers_);
        break;
      case ParseEvent::MessageComplete:
        data.drain(r.consumed);
        request_done_ = true;
        deliverBody(true);
        break;
      case ParseEvent::Error:
        onParseError();
        return false;
    }
    if (stop) break;
  }
  if (!body_.empty()) deliverBody(false);
  return !closing_;
}

void ServerCodecImpl::onHead() {
  head_started_ = false;
  ++requests_;
  head_.scheme = "http";
  keep_alive_ = parser_.keepAlive() && !draining_;
  if (settings_.max_requests_per_connection != 0 &&
      requests_ >= settings_.max_requests_per_connection)
    keep_alive_ = false;
  is_head_ = head_.method == http::Method::Head;
  http10_ = head_.version.minor == 0;
  accepts_trailers_ = parser_.acceptsTrailers();
  upgrade_requested_ = parser_.wantsUpgrade();
  bool expect_continue = parser_.expectsContinue();
  if (expect_continue) head_.headers.remove("Expect");
  bool end_stream = parser_.bodyKind() == BodyKind::None ||
                    (parser_.bodyKind() == BodyKind::ContentLength && parser_.contentLength() == 0);
  stream_active_ = true;
  response_started_ = false;
  // A request without a body is complete with its head; the parser's MessageComplete for it
  // is not waited for (it needs no bytes), so pipelined bytes stay put until the response ends.
  if (end_stream) request_done_ = true;
  stream_ = &callbacks_.newStream(*this);
  decoder_ = stream_;
  decoder_->decodeHeaders(head_, end_stream);
  // Tell a waiting client to send its body unless the stream already answered.
  if (expect_continue && !end_stream && stream_active_ && !response_started_ && !closing_)
    encodeInterim(100, http::HeaderMap());
}

void ServerCodecImpl::deliverBody(bool end_stream) {
  if (!stream_active_ || decoder_ == nullptr) {
    body_.clear();
    return;
  }
  if (body_.empty() && !end_stream) return;
  // A request whose headers already ended the stream has nothing more to say.
  if (body_.empty() && end_stream &&
      (parser_.bodyKind() == BodyKind::None ||
       (parser_.bodyKind() == BodyKind::ContentLength && parser_.contentLength() == 0)))
    return;
  decoder_->decodeData(body_, end_stream);
  body_.clear();
}

void ServerCodecImpl::onParseError() {
  ParseError e = parser_.error();
  uint16_t status = statusFor(e);
  const char* why = describe(e);
  callbacks_.onRequestRejected(stream_active_ ? decoder_ : nullptr, status, why);
  if (stream_active_ && decoder_) {
    http::RequestDecoder* d = decoder_;
    decoder_ = nullptr;
    d->onStreamReset(http::StreamResetReason::ProtocolError);
  }
  if (!response_started_) {
    writeLocalError(status, why);
  } else {
    closing_ = true;
    output_.closeAfterFlush();
  }
  if (stream_active_) completeStream();
}

void ServerCodecImpl::writeLocalError(uint16_t status, std::string_view why) {
  (void)why;
  const std::string body = http::errorBody(status, settings_.error_pages);
  appendStatusLine(out_, status, {});
  out_.append("Content-Type: text/plain\r\nContent-Length: ");
  appendDecimal(out_, body.size());
  out_.append("\r\nConnection: close\r\n\r\n");
  out_.append(body);
  response_started_ = true;
  output_.writeToPeer(out_);
  closing_ = true;
  output_.closeAfterErrorReply();
}

void ServerCodecImpl::onEndOfInput() {
  if (closing_) return;
  if (tunnel_) {
    // A half-close: the backend hears it, and may go on answering (see encodeData).
    if (tunnel_input_done_) return;
    tunnel_input_done_ = true;
    if (decoder_) decoder_->decodeData(body_, true);
    if (tunnel_output_done_ && !closing_) {
      closing_ = true;
      output_.closeAfterFlush();
    }
    return;
  }
  if (!stream_active_) {
    // Idle, or a partial head that will never complete: nothing to answer.
    closing_ = true;
    output_.closeAfterFlush();
    return;
  }
  if (!request_done_) {
    // The client went away in the middle of its request body.
    http::RequestDecoder* d = decoder_;
    decoder_ = nullptr;
    closing_ = true;
    if (d) d->onStreamReset(http::StreamResetReason::ConnectionTermination);
    output_.closeAfterFlush();
    completeStream();
    return;
  }
  // The request is complete and only the client's sending side is closed (a half-close):
  // finish the response, then close.
  keep_alive_ = false;
}

void ServerCodecImpl::startDrain() {
  draining_ = true;
  keep_alive_ = false;
  if (idle()) {
    closing_ = true;
    output_.closeAfterFlush();
  }
}

void ServerCodecImpl::sendConnectionError(uint16_t status) {
  if (closing_) return;
  if (stream_active_ && decoder_) {
    http::RequestDecoder* d = decoder_;
    decoder_ = nullptr;
    d->onStreamReset(http::StreamResetReason::LocalReset);
  }
  if (!response_started_) {
    writeLocalError(status, "timeout");
  } else {
    closing_ = true;
    output_.closeAfterFlush();
  }
  if (stream_active_) completeStream();
}

void ServerCodecImpl::encodeInterim(uint16_t status, const http::HeaderMap& headers) {
  if (response_started_ || closing_ || http10_) return;
  appendStatusLine(out_, status, {});
  appendHeaderFields(out_, headers);
  out_.append("\r\n", 2);
  output_.writeToPeer(out_);
}

void ServerCodecImpl::encodeHeaders(http::ResponseHead& head, bool end_stream) {
  if (closing_ || response_started_) return;
  response_started_ = true;
  const bool connect_ok = head_.method == http::Method::Connect && head.status / 100 == 2;
  if (head.status == 101 || connect_ok) {
    if (head.status == 101 && !upgrade_requested_) {
      // A 101 the client did not ask for would desynchronise the connection.
      writeLocalError(502, "unexpected 101");
      return;
    }
    // RFC 9110 9.3.6: a 2xx to CONNECT has no body, so no framing fields either.
    if (connect_ok) {
      head.headers.remove("Content-Length");
      head.headers.remove("Transfer-Encoding");
    }
    appendStatusLine(out_, head.status, head.reason);
    appendHeaderFields(out_, head.headers);
    out_.append("\r\n", 2);
    output_.writeToPeer(out_);
    tunnel_ = true;
    callbacks_.onTunnelStarted();
    return;
  }
  no_body_ = is_head_ || http::statusHasNoBody(head.status);
  chunked_ = false;
  bool has_length = head.headers.has("Content-Length");
  appendStatusLine(out_, head.status, head.reason);
  appendHeaderFields(out_, head.headers);
  if (!head.transfer_codings.empty() && !no_body_) {
    appendCodedFraming(head.transfer_codings);
  } else if (!has_length && !http::statusHasNoBody(head.status)) {
    if (end_stream) {
      if (!is_head_) out_.append("Content-Length: 0\r\n");
    } else if (!is_head_) {
      if (!http10_) {
        out_.append("Transfer-Encoding: chunked\r\n");
        chunked_ = true;
      } else {
        keep_alive_ = false;  // HTTP/1.0 without a length: the close delimits the body
      }
    }
  }
  if (!request_done_)
    keep_alive_ = false;  // the unread request body would be taken for
                          // the next request
  if (!keep_alive_) {
    out_.append("Connection: close\r\n");
  } else if (http10_) {
    out_.append("Connection: keep-alive\r\n");
  }
  out_.append("\r\n", 2);
  if (end_stream) {
    output_.writeToPeer(out_);
    finishResponse();
  }
  // Otherwise the head waits in out_ and leaves with the first body bytes: one write.
}

void ServerCodecImpl::appendCodedFraming(std::string_view codings) {
  // The body still carries the backend's codings (gzip, ...): RFC 9112 6.1 has the client
  // undo them, so they are announced, in order, with our chunked framing last. A list that
  // already holds chunked (not last: "chunked, gzip") cannot take it again; such a body ends
  // at close (RFC 9112 6.3), and is passed on that way. HTTP/1.0 clients never get here: they
  // cannot be told about codings (the router answers 502).
  out_.append("Transfer-Encoding: ");
  out_.append(codings);
  if (http::listHasToken(codings, "chunked")) {
    keep_alive_ = false;
  } else {
    out_.append(", chunked");
    chunked_ = true;
  }
  out_.append("\r\n", 2);
}

void ServerCodecImpl::encodeData(buffer::Buffer& data, bool end_stream) {
  if (closing_) {
    data.clear();
    return;
  }
  if (tunnel_) {
    if (tunnel_output_done_) {
      data.clear();
      return;
    }
    out_.moveFrom(data);
    output_.writeToPeer(out_);
    if (end_stream) {
      // The backend's half-close reaches the client as one, and the client may go on
      // sending; the tunnel ends when both directions have ended (or on its idle timeout).
      tunnel_output_done_ = true;
      if (tunnel_input_done_) {
        closing_ = true;
        output_.closeAfterFlush();
      } else {
        output_.shutdownWriteAfterFlush();
      }
    }
    return;
  }
  if (no_body_) {
    data.clear();
  } else if (chunked_) {
    if (!data.empty()) {
      appendChunkHeader(out_, data.length());
      out_.moveFrom(data);
      out_.append("\r\n", 2);
    }
    if (end_stream) out_.append("0\r\n\r\n", 5);
  } else {
    out_.moveFrom(data);
  }
  if (!out_.empty()) output_.writeToPeer(out_);
  if (end_stream) finishResponse();
}

void ServerCodecImpl::encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) {
  if (closing_ || no_body_ || tunnel_ || length == 0) {
    ::close(file_fd);
    buffer::Buffer empty;
    if (!closing_) encodeData(empty, end_stream);
    return;
  }
  if (chunked_) appendChunkHeader(out_, static_cast<size_t>(length));
  output_.writeToPeer(out_);
  output_.writeFileToPeer(file_fd, offset, length);
  if (chunked_) out_.append("\r\n", 2);
  if (chunked_ && end_stream) out_.append("0\r\n\r\n", 5);
  if (!out_.empty()) output_.writeToPeer(out_);
  if (end_stream) finishResponse();
}

void ServerCodecImpl::encodeTrailers(const http::HeaderMap& trailers) {
  if (closing_) return;
  if (chunked_ && !no_body_) {
    out_.append("0\r\n", 3);
    if (accepts_trailers_) appendHeaderFields(out_, trailers);
    out_.append("\r\n", 2);
  }
  if (!out_.empty()) output_.writeToPeer(out_);
  finishResponse();
}

void ServerCodecImpl::resetStream() {
  decoder_ = nullptr;
  if (!closing_) {
    closing_ = true;
    if (!out_.empty()) output_.writeToPeer(out_);
    output_.closeAfterFlush();
  }
  if (stream_active_) completeStream();
}

void ServerCodecImpl::finishResponse() {
  if (!keep_alive_ && !closing_) {
    closing_ = true;
    // A response that ends before its request did (a 413 in the middle of the body): the
    // client is still sending, so linger, or its next bytes would make the kernel reset the
    // connection and could destroy the answer before the client reads it.
    if (!request_done_) {
      output_.closeAfterErrorReply();
    } else {
      output_.closeAfterFlush();
    }
  }
  if (stream_active_) completeStream();
  // The head stays intact until the stream is reaped (the access log reads it); the next
  // dispatch() resets the parser.
  if (!closing_) awaiting_reset_ = true;
}

void ServerCodecImpl::completeStream() {
  stream_active_ = false;
  decoder_ = nullptr;
  http::RequestDecoder* stream = stream_;
  stream_ = nullptr;
  callbacks_.onStreamComplete(*stream);
}

void ServerCodecImpl::resetForNextRequest() {
  parser_.reset();
  request_done_ = false;
  response_started_ = false;
  chunked_ = false;
  no_body_ = false;
  upgrade_requested_ = false;
  body_.clear();
}

}  // namespace portico::http1
