#include "upstream/conn_pool.h"
#include "http1/client_codec.h"
#include "support/run_until.h"
#include "upstream/loopback_backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::upstream {
namespace {

// One requester: asks the pool for a connection and records what the codec reports.
class Exchange final : public PoolCallbacks, public RecordingDecoder {
 public:
  void onPoolReady(UpstreamStream& stream, bool was_reused) override {
    conn = &stream;
    reused = was_reused;
    stream.codec().setResponseDecoder(this);
  }
  void onPoolFailure(PoolFailure, std::string_view why) override { error = std::string(why); }

  UpstreamStream* conn = nullptr;
  bool reused = false;
};

// The HTTP/1 codec behind an exchange's stream (a default cluster speaks HTTP/1.1).
http1::ClientCodecImpl& http1Of(Exchange& x) {
  return static_cast<http1::ClientCodecImpl&>(x.conn->codec());
}

http::RequestHead requestHead(std::string_view method, std::string_view content_length = {}) {
  http::RequestHead head;
  head.method = http::parseMethod(method);
  head.method_text = std::string(method);
  head.path = "/";
  head.headers.add("Host", "backend");
  if (!content_length.empty()) head.headers.add("Content-Length", content_length);
  return head;
}

class ConnPoolTest : public ::testing::Test {
 protected:
  ConnPoolTest() {
    endpoint_.address = backend_.address();
    endpoint_.address_text = backend_.address().toString();
  }

  bool runUntil(const std::function<bool()>& done) { return testing::runUntil(loop_, done); }

  // Takes a connection for `x`, and the backend's end of it (a new one, or `backend_fd`).
  void take(Exchange& x, int* backend_fd) {
    pool_.newStream(x);
    ASSERT_TRUE(runUntil([&] { return x.conn != nullptr; })) << x.error;
    if (!x.reused) *backend_fd = backend_.accept();
    ASSERT_GE(*backend_fd, 0);
  }

  // Runs until the backend has `n` bytes of request in `got`.
  bool backendReceives(int fd, std::string* got, size_t n) {
    return runUntil([&] { return Backend::drain(fd, got) && got->size() >= n; });
  }

  // The pool closed the connection: the backend sees the end of it.
  bool backendSeesClose(int fd) {
    std::string ignored;
    return runUntil([&] { return !Backend::drain(fd, &ignored); });
  }

  // Sends a request through `x` and runs until the backend has its first bytes, returned.
  // `body` goes in one piece after the head; `end` false leaves the request open.
  std::string sendRequest(Exchange& x, int fd, std::string_view method,
                          std::string_view content_length = {}, std::string_view body = {},
                          bool end = true) {
    http::RequestHead head = requestHead(method, content_length);
    const bool head_only = body.empty() && end;
    x.conn->codec().encodeHeaders(head, head_only);
    if (!head_only) {
      buffer::Buffer b;
      b.append(body);
      x.conn->codec().encodeData(b, end);
    }
    std::string got;
    EXPECT_TRUE(backendReceives(fd, &got, 1));
    return got;
  }

  // The backend writes `response`; runs until the exchange ended or failed.
  bool answer(Exchange& x, int fd, std::string_view response) {
    Backend::send(fd, response);
    return runUntil([&] { return x.ended || !x.error.empty(); });
  }

  // The requester is done: true if the connection went back to the idle list.
  bool releasedToPool(Exchange& x) {
    pool_.release(x.conn);
    return pool_.idleCount() == 1;
  }

  // A GET and its complete keep-alive answer leave a pooled connection behind.
  int pooledConnection() {
    Exchange x;
    int fd = -1;
    take(x, &fd);
    sendRequest(x, fd, "GET");
    EXPECT_TRUE(answer(x, fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    EXPECT_TRUE(releasedToPool(x));
    return fd;
  }

  Backend backend_;
  event::EventLoop loop_;
  ClusterConfig cluster_;
  EndpointConfig endpoint_;
  ConnPool pool_{loop_, cluster_, endpoint_, *net::plainTransportFactory(), 65536};
};

TEST_F(ConnPoolTest, CompleteExchangeIsPooledAndReused) {
  int fd = pooledConnection();
  Exchange x;
  take(x, &fd);
  EXPECT_TRUE(x.reused);
  EXPECT_EQ(pool_.idleCount(), 0u);
  pool_.release(x.conn);
}

TEST_F(ConnPoolTest, MalformedResponseCountsAsReceivedAndIsNotPooled) {
  int fd = pooledConnection();
  Exchange x;
  take(x, &fd);
  sendRequest(x, fd, "GET");
  ASSERT_TRUE(answer(x, fd, "this is not http\r\n\r\n"));
  // Bytes came back: the backend read the request, so it must not be sent again.
  EXPECT_FALSE(x.error.empty());
  EXPECT_FALSE(x.nothing_received);
  EXPECT_FALSE(releasedToPool(x));
  EXPECT_TRUE(backendSeesClose(fd));
}

TEST_F(ConnPoolTest, ConnectionClosedBeforeAnyByteReportsNothingReceived) {
  int fd = pooledConnection();
  Exchange x;
  take(x, &fd);
  sendRequest(x, fd, "GET");
  ::shutdown(fd, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return !x.error.empty(); }));
  EXPECT_TRUE(x.nothing_received);
  EXPECT_FALSE(releasedToPool(x));
}

TEST_F(ConnPoolTest, PartialResponseIsNotPooled) {
  Exchange x;
  int fd = -1;
  take(x, &fd);
  sendRequest(x, fd, "GET");
  Backend::send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  ASSERT_TRUE(runUntil([&] { return x.body == "abc"; }));
  EXPECT_FALSE(releasedToPool(x));  // the requester gave up (a timeout, say)
  EXPECT_TRUE(backendSeesClose(fd));
}

TEST_F(ConnPoolTest, RequestEndingShortOfItsContentLengthIsNotPooled) {
  // A retry that re-sent the head without the body did this: the backend still waits for
  // three bytes, and would take the next request on the connection for them.
  Exchange x;
  int fd = -1;
  take(x, &fd);
  sendRequest(x, fd, "POST", "5", "ab");
  ASSERT_TRUE(answer(x, fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(http1Of(x).requestComplete());
  EXPECT_FALSE(releasedToPool(x));
  EXPECT_TRUE(backendSeesClose(fd));
}

TEST_F(ConnPoolTest, HeadPromisingABodyThatNeverCameIsNotPooled) {
  Exchange x;
  int fd = -1;
  take(x, &fd);
  sendRequest(x, fd, "POST", "4");
  ASSERT_TRUE(answer(x, fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(releasedToPool(x));
}

TEST_F(ConnPoolTest, BodyBeyondItsContentLengthNeverLeaves) {
  Exchange x;
  int fd = -1;
  take(x, &fd);
  std::string got = sendRequest(x, fd, "POST", "3", "abcGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(answer(x, fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  Backend::drain(fd, &got);
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "abc");
  EXPECT_FALSE(releasedToPool(x));
}

TEST_F(ConnPoolTest, EarlyResponseBeforeTheBodyWasSentIsNotPooled) {
  Exchange x;
  int fd = -1;
  take(x, &fd);
  sendRequest(x, fd, "POST", "6", "abc", false);
  ASSERT_TRUE(answer(x, fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly"));
  EXPECT_EQ(x.body, "early");
  // The exchange ends with three bytes of the body still owed.
  EXPECT_FALSE(releasedToPool(x));
  EXPECT_TRUE(backendSeesClose(fd));
}

TEST_F(ConnPoolTest, EarlyResponseIsPooledOnceTheWholeBodyWasSent) {
  Exchange x;
  int fd = -1;
  take(x, &fd);
  std::string got = sendRequest(x, fd, "POST", "6", "abc", false);
  ASSERT_TRUE(answer(x, fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly"));
  buffer::Buffer rest;
  rest.append("def");
  x.conn->codec().encodeData(rest, true);
  ASSERT_TRUE(backendReceives(fd, &got, got.size() + 3));
  EXPECT_TRUE(releasedToPool(x));
}

TEST_F(ConnPoolTest, BytesAfterACompleteResponseAreNotPooled) {
  Exchange x;
  int fd = -1;
  take(x, &fd);
  sendRequest(x, fd, "GET");
  ASSERT_TRUE(answer(x, fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"));
  ASSERT_TRUE(runUntil([&] { return !http1Of(x).reusable(); }));
  EXPECT_FALSE(releasedToPool(x));
}

TEST_F(ConnPoolTest, IdleConnectionThatGetsBytesIsClosed) {
  int fd = pooledConnection();
  Backend::send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(runUntil([&] { return pool_.idleCount() == 0; }));
  EXPECT_TRUE(backendSeesClose(fd));
}

}  // namespace
}  // namespace portico::upstream
