#pragma once
// An HTTP/2 client for unit tests: an nghttp2 client session over one end of a socketpair,
// driven by hand (send() writes what the session has, receive() reads what arrived). Records
// each stream's status, body, end and reset code.

#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace portico::testing {

class H2TestClient {
 public:
  struct Stream {
    int status = 0;
    std::string body;
    bool ended = false;
    uint32_t reset_code = 0;
    bool reset = false;
    bool done() const { return ended || reset; }
  };

  explicit H2TestClient(int fd) : fd_(fd) {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
               const uint8_t* v, size_t vl, uint8_t, void* self) -> int {
          auto* c = static_cast<H2TestClient*>(self);
          if (std::string(reinterpret_cast<const char*>(n), nl) == ":status")
            c->streams[f->hd.stream_id].status =
                std::stoi(std::string(reinterpret_cast<const char*>(v), vl));
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len,
               void* self) -> int {
          static_cast<H2TestClient*>(self)->streams[id].body.append(
              reinterpret_cast<const char*>(d), len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, void* self) -> int {
          auto* c = static_cast<H2TestClient*>(self);
          if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
              (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
            c->streams[f->hd.stream_id].ended = true;
          if (f->hd.type == NGHTTP2_RST_STREAM) {
            c->streams[f->hd.stream_id].reset = true;
            c->streams[f->hd.stream_id].reset_code = f->rst_stream.error_code;
          }
          if (f->hd.type == NGHTTP2_GOAWAY) c->goaway = true;
          return 0;
        });
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2TestClient() { nghttp2_session_del(session_); }

  // Opens a POST to `path` (its body comes with data(), or none if end_stream).
  int32_t open(const std::string& path, bool end_stream = false) {
    std::vector<std::pair<std::string, std::string>> f = {
        {":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", "a"}};
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : f)
      nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    const int32_t id = nghttp2_submit_headers(session_,
                                              end_stream ? NGHTTP2_FLAG_END_STREAM : 0, -1,
                                              nullptr, nv.data(), nv.size(), nullptr);
    streams[id];
    send();
    return id;
  }
  // Body bytes on `id` (a DATA frame of their own).
  void data(int32_t id, const std::string& text, bool end_stream) {
    pending_[id] = {text, end_stream};
    nghttp2_data_provider p;
    p.source.ptr = &pending_[id];
    p.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                         nghttp2_data_source* src, void*) -> ssize_t {
      auto* piece = static_cast<Piece*>(src->ptr);
      const size_t n = std::min(len, piece->text.size());
      std::memcpy(buf, piece->text.data(), n);
      piece->text.erase(0, n);
      if (piece->text.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    nghttp2_submit_data(session_, end_stream ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE, id,
                        &p);
    send();
  }
  void reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    send();
  }
  void send() {
    const uint8_t* bytes;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &bytes)) > 0) out_.append(
        reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
    while (!out_.empty()) {
      const ssize_t w = ::write(fd_, out_.data(), out_.size());
      if (w <= 0) break;
      out_.erase(0, static_cast<size_t>(w));
    }
  }
  // Reads what arrived (non-blocking socket), feeds it to the session, sends any reply.
  void receive() {
    char buf[16384];
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof buf)) > 0)
      nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n));
    send();
  }

  std::map<int32_t, Stream> streams;
  bool goaway = false;

 private:
  struct Piece {
    std::string text;
    bool end = false;
  };
  // One piece per stream at a time: the test sends a stream's next piece after this one left.
  int fd_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Piece> pending_;
  std::string out_;
};

}  // namespace portico::testing
