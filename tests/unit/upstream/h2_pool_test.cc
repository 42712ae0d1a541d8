// The pool with an HTTP/2 cluster, over real loopback sockets: the backend is an nghttp2
// server session the test drives frame by frame (answer, reset, GOAWAY), so what the pool
// does with each is observable.
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/run_until.h"
#include "upstream/conn_pool.h"
#include "upstream/loopback_backend.h"

namespace portico::upstream {
namespace {

// One accepted connection with its nghttp2 server session.
struct H2ServerConn {
  int fd = -1;
  nghttp2_session* session = nullptr;
  std::map<int32_t, std::string> paths;  // stream -> :path, once the request ended
  std::vector<int32_t> ended;            // streams whose request ended, in order
  std::vector<std::pair<int32_t, uint32_t>> resets;  // RST_STREAMs received
  bool closed = false;
  ~H2ServerConn() {
    if (session) nghttp2_session_del(session);
  }
};

class H2Backend {
 public:
  explicit H2Backend(uint32_t max_streams) : max_streams_(max_streams) {}
  const net::Address& address() const { return sockets_.address(); }
  std::vector<std::unique_ptr<H2ServerConn>>& conns() { return conns_; }

  // Accepts what connected, reads what arrived and writes what the sessions owe. Called from
  // the tests' run-until predicates, so it runs between the pool's loop turns.
  void poll() {
    for (int fd; (fd = sockets_.accept(0)) >= 0;) addConnection(fd);
    for (auto& c : conns_) {
      if (c->closed) continue;
      std::string in;
      c->closed = !Backend::drain(c->fd, &in);
      if (!in.empty()) {
        nghttp2_session_mem_recv(c->session, reinterpret_cast<const uint8_t*>(in.data()),
                                 in.size());
      }
      flush(*c);
    }
  }

  void respond(H2ServerConn& c, int32_t stream, const std::string& body) {
    auto* copy = new std::string(body);  // freed when the data provider ends
    nghttp2_data_provider provider{};
    provider.source.ptr = copy;
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source* source, void*) {
      auto* b = static_cast<std::string*>(source->ptr);
      size_t n = std::min(length, b->size());
      std::memcpy(buf, b->data(), n);
      b->erase(0, n);
      if (b->empty()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        delete b;
      }
      return static_cast<ssize_t>(n);
    };
    nghttp2_nv status = nv(":status", "200");
    nghttp2_submit_response(c.session, stream, &status, 1, &provider);
    flush(c);
  }
  void reset(H2ServerConn& c, int32_t stream, uint32_t code) {
    nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, stream, code);
    flush(c);
  }
  void goaway(H2ServerConn& c, int32_t last_stream) {
    nghttp2_submit_goaway(c.session, NGHTTP2_FLAG_NONE, last_stream, NGHTTP2_NO_ERROR, nullptr,
                          0);
    flush(c);
  }

 private:
  static nghttp2_nv nv(const char* name, const char* value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value)), strlen(name), strlen(value),
            NGHTTP2_NV_FLAG_NONE};
  }

  void addConnection(int fd) {
    auto c = std::make_unique<H2ServerConn>();
    c->fd = fd;
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                const uint8_t* value, size_t valuelen, uint8_t, void* user) {
          if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path") {
            static_cast<H2ServerConn*>(user)->paths[frame->hd.stream_id] =
                std::string(reinterpret_cast<const char*>(value), valuelen);
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
          auto* conn = static_cast<H2ServerConn*>(user);
          if (frame->hd.type == NGHTTP2_RST_STREAM) {
            conn->resets.emplace_back(frame->hd.stream_id, frame->rst_stream.error_code);
          }
          if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
              (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            conn->ended.push_back(frame->hd.stream_id);
          }
          return 0;
        });
    nghttp2_session_server_new(&c->session, cbs, c.get());
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams_}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 1);
    flush(*c);
    conns_.push_back(std::move(c));
  }

  void flush(H2ServerConn& c) {
    const uint8_t* data = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(c.session, &data)) > 0;) {
      ::send(c.fd, data, static_cast<size_t>(n), MSG_NOSIGNAL);
    }
  }

  Backend sockets_;
  uint32_t max_streams_;
  std::vector<std::unique_ptr<H2ServerConn>> conns_;
};

// One requester: takes a stream, sends a GET for `path`, records what comes back.
class Exchange final : public PoolCallbacks, public RecordingDecoder {
 public:
  explicit Exchange(std::string path) : path_(std::move(path)) {}
  void onPoolReady(UpstreamStream& s, bool) override {
    stream = &s;
    s.codec().setResponseDecoder(this);
    http::RequestHead head;
    head.method_text = "GET";
    head.path = path_;
    head.headers.add("Host", "backend");
    s.codec().encodeHeaders(head, true);
  }
  void onPoolFailure(PoolFailure, std::string_view why) override { error = std::string(why); }

  UpstreamStream* stream = nullptr;

 private:
  std::string path_;
};

class H2PoolTest : public ::testing::Test {
 protected:
  void SetUp() override { makePool(100, 100); }

  // `config_streams`: the cluster's max_streams_per_connection; `peer_streams`: what the
  // backend announces.
  void makePool(uint32_t config_streams, uint32_t peer_streams) {
    pool_.reset();
    backend_ = std::make_unique<H2Backend>(peer_streams);
    cluster_.protocol = UpstreamProtocol::H2c;
    cluster_.http2.max_streams_per_connection = config_streams;
    endpoint_.address = backend_->address();
    endpoint_.address_text = backend_->address().toString();
    pool_ = std::make_unique<ConnPool>(loop_, cluster_, endpoint_, *net::plainTransportFactory(),
                                       65536);
  }

  bool runUntil(const std::function<bool()>& done) {
    return testing::runUntil(loop_, [&] {
      backend_->poll();
      return done();
    });
  }

  // Starts `x` and runs until the backend has its whole request.
  void start(Exchange& x) {
    pool_->newStream(x);
    ASSERT_TRUE(runUntil([&] { return x.stream != nullptr && requestsSeen() >= seen_ + 1; }))
        << x.error;
    ++seen_;
  }
  size_t requestsSeen() {
    size_t n = 0;
    for (auto& c : backend_->conns()) n += c->ended.size();
    return n;
  }
  H2ServerConn& conn(size_t i) { return *backend_->conns().at(i); }

  event::EventLoop loop_;
  ClusterConfig cluster_;
  EndpointConfig endpoint_;
  std::unique_ptr<H2Backend> backend_;
  std::unique_ptr<ConnPool> pool_;
  size_t seen_ = 0;
};

TEST_F(H2PoolTest, StreamsShareOneConnectionUpToTheClusterLimit) {
  makePool(3, 100);
  Exchange a("/a"), b("/b"), c("/c"), d("/d");
  start(a);
  start(b);
  start(c);
  EXPECT_EQ(backend_->conns().size(), 1u);
  EXPECT_EQ(pool_->totalCount(), 1u);
  start(d);  // the first connection is full
  EXPECT_EQ(backend_->conns().size(), 2u);
  for (int32_t id : conn(0).ended) backend_->respond(conn(0), id, "one");
  backend_->respond(conn(1), conn(1).ended[0], "two");
  ASSERT_TRUE(runUntil([&] { return a.ended && b.ended && c.ended && d.ended; }));
  EXPECT_EQ(a.body, "one");
  EXPECT_EQ(d.body, "two");
  for (Exchange* x : {&a, &b, &c, &d}) pool_->release(x->stream);
  EXPECT_EQ(pool_->idleCount(), 2u);
  // A new stream goes to an idle connection, not a third one.
  Exchange e("/e");
  start(e);
  EXPECT_EQ(backend_->conns().size(), 2u);
  EXPECT_EQ(pool_->stats().connections_reused, 3u);  // b and c joined a, e an idle one
  pool_->release(e.stream);
}

TEST_F(H2PoolTest, ThePeersMaxConcurrentStreamsLowersTheLimit) {
  makePool(100, 2);
  Exchange a("/a"), b("/b"), c("/c");
  start(a);  // by now the backend's SETTINGS arrived
  start(b);
  start(c);
  EXPECT_EQ(backend_->conns().size(), 2u);
  for (Exchange* x : {&a, &b, &c}) pool_->release(x->stream);
}

TEST_F(H2PoolTest, GoawayFailsOnlyUnprocessedStreamsAndRetiresTheConnection) {
  Exchange a("/a"), b("/b");
  start(a);
  start(b);
  const int32_t first = conn(0).ended[0];
  backend_->goaway(conn(0), first);
  ASSERT_TRUE(runUntil([&] { return b.failed; }));
  EXPECT_TRUE(b.not_processed);  // above last_stream_id: safe to send again
  EXPECT_TRUE(b.nothing_received);
  EXPECT_FALSE(a.failed);
  pool_->release(b.stream);
  // The connection takes no new stream: the next one opens another connection.
  Exchange c("/c");
  start(c);
  EXPECT_EQ(backend_->conns().size(), 2u);
  // The stream below last_stream_id still completes.
  backend_->respond(conn(0), first, "done");
  ASSERT_TRUE(runUntil([&] { return a.ended; }));
  EXPECT_EQ(a.body, "done");
  pool_->release(a.stream);
  // Its last stream released, the old connection closes.
  ASSERT_TRUE(runUntil([&] { return conn(0).closed; }));
  pool_->release(c.stream);
}

TEST_F(H2PoolTest, RefusedStreamIsNotProcessedOtherResetsAreFailures) {
  Exchange a("/a"), b("/b"), c("/c");
  start(a);
  start(b);
  start(c);
  backend_->reset(conn(0), conn(0).ended[0], NGHTTP2_REFUSED_STREAM);
  backend_->reset(conn(0), conn(0).ended[1], NGHTTP2_INTERNAL_ERROR);
  ASSERT_TRUE(runUntil([&] { return a.failed && b.failed; }));
  EXPECT_TRUE(a.not_processed);
  EXPECT_FALSE(b.not_processed);
  EXPECT_NE(b.error.find("INTERNAL_ERROR"), std::string::npos) << b.error;
  // The third stream is unaffected.
  backend_->respond(conn(0), conn(0).ended[2], "fine");
  ASSERT_TRUE(runUntil([&] { return c.ended; }));
  EXPECT_EQ(c.body, "fine");
  for (Exchange* x : {&a, &b, &c}) pool_->release(x->stream);
  EXPECT_EQ(pool_->idleCount(), 1u);
}

TEST_F(H2PoolTest, ReleasingAnUnfinishedStreamResetsOnlyThatStream) {
  Exchange a("/a"), b("/b");
  start(a);
  start(b);
  const int32_t id_a = conn(0).ended[0];
  pool_->release(a.stream);  // the requester gave up (a timeout, say)
  ASSERT_TRUE(runUntil([&] { return !conn(0).resets.empty(); }));
  EXPECT_EQ(conn(0).resets[0], std::make_pair(id_a, uint32_t{NGHTTP2_CANCEL}));
  backend_->respond(conn(0), conn(0).ended[1], "still here");
  ASSERT_TRUE(runUntil([&] { return b.ended; }));
  EXPECT_EQ(b.body, "still here");
  pool_->release(b.stream);
}

TEST_F(H2PoolTest, ConnectionLossFailsEveryOpenStream) {
  Exchange a("/a"), b("/b");
  start(a);
  start(b);
  ::shutdown(conn(0).fd, SHUT_RDWR);
  ASSERT_TRUE(runUntil([&] { return a.failed && b.failed; }));
  EXPECT_FALSE(a.not_processed);  // the requests were sent: they may have had effects
  EXPECT_TRUE(a.nothing_received);
  pool_->release(a.stream);
  pool_->release(b.stream);
  EXPECT_EQ(pool_->idleCount(), 0u);
}

}  // namespace
}  // namespace portico::upstream
