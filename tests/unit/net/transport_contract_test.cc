// The transport contract (net/transport.h) driven by a scripted transport over a real socket
// pair: a handshake that needs reads, one that needs to write with nothing queued and meets a
// full socket, bytes held inside the transport that the socket never signals, and a graceful
// shutdown that has to wait for room. Each test checks what the owner and the peer observe.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>

#include "net/connection.h"
#include "support/run_until.h"

namespace portico::net {
namespace {

// Sends `bytes` from `*offset` until done or the socket is full; true when all are sent.
bool sendSome(int fd, const std::string& bytes, size_t* offset) {
  while (*offset < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + *offset, bytes.size() - *offset, MSG_NOSIGNAL);
    if (n <= 0) return false;
    *offset += static_cast<size_t>(n);
  }
  return true;
}

// A toy secure transport. Server side, the peer must send "HELLO" before application data;
// client side, the transport first sends `client_hello` on its own. Application bytes pass
// unchanged once connected. shutdown() sends `goodbye`.
class ScriptedTransport final : public TransportSocket {
 public:
  std::string client_hello;  // non-empty: behave as a client that speaks first
  std::string goodbye;
  int shutdown_calls = 0;
  int handshake_writes = 0;  // doWrite() calls before the transport was connected
  size_t read_cap = 0;       // > 0: hand over at most this much per doRead, keep the rest inside
  bool connected = false;

  const char* protocolName() const override { return "scripted"; }
  void onConnected(TransportCallbacks& callbacks) override {
    if (!client_hello.empty()) callbacks.flushWanted();  // the hello leaves with nothing queued
  }
  IoResult doRead(TransportCallbacks& callbacks, buffer::Buffer& buffer,
                  size_t max_bytes) override {
    IoResult r;
    char chunk[65536];
    for (;;) {
      ssize_t n = ::recv(callbacks.fd(), chunk, sizeof chunk, 0);
      if (n > 0) {
        inner_.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof_ = true;
      break;
    }
    if (!connected) {
      if (!client_hello.empty() || inner_.compare(0, 5, "HELLO") != 0 || inner_.size() < 5) {
        return r;  // would_block: the handshake waits for the peer
      }
      inner_.erase(0, 5);
      connected = true;
      callbacks.raiseConnected();
      if (!inner_.empty()) callbacks.setReadable();  // held inside, the socket is drained
      return r;
    }
    size_t cap = read_cap > 0 ? read_cap : max_bytes;
    size_t take = inner_.size() < cap ? inner_.size() : cap;
    buffer.append(std::string_view(inner_).substr(0, take));
    inner_.erase(0, take);
    r.bytes = take;
    r.would_block = inner_.empty();  // more inside: the connection must come back
    if (inner_.empty() && eof_) {
      r.end_of_stream = true;
      r.would_block = false;
    }
    return r;
  }
  IoResult doWrite(TransportCallbacks& callbacks, buffer::Buffer& buffer) override {
    IoResult r;
    r.would_block = false;
    if (!connected) {
      ++handshake_writes;
      if (client_hello.empty()) return r;  // a server's handshake waits for the peer
      if (!sendSome(callbacks.fd(), client_hello, &hello_sent_)) {
        r.would_block = true;
        return r;
      }
      connected = true;
      callbacks.raiseConnected();
      return r;
    }
    while (!buffer.empty()) {
      std::string_view s = buffer.firstSlice();
      ssize_t n = ::send(callbacks.fd(), s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        r.would_block = true;
        return r;
      }
      buffer.drain(static_cast<size_t>(n));
      r.bytes += static_cast<size_t>(n);
    }
    return r;
  }
  ShutdownStatus shutdown(TransportCallbacks& callbacks) override {
    ++shutdown_calls;
    return sendSome(callbacks.fd(), goodbye, &goodbye_sent_) ? ShutdownStatus::Done
                                                             : ShutdownStatus::WantWrite;
  }

 private:
  std::string inner_;
  bool eof_ = false;
  size_t hello_sent_ = 0;
  size_t goodbye_sent_ = 0;
};

class Owner final : public ConnectionCallbacks {
 public:
  std::string data;
  int connected = 0;
  bool closed = false;
  bool pause_after_data = false;
  Connection* connection = nullptr;
  void onData(buffer::Buffer& bytes, bool) override {
    data += bytes.toString();
    bytes.clear();
    if (pause_after_data) connection->readDisable(true);
  }
  void onEvent(ConnectionEvent event) override {
    if (event == ConnectionEvent::Connected) ++connected;
    if (event != ConnectionEvent::Connected) closed = true;
  }
};

class TransportContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    ours_ = fds[0];
    peer_ = fds[1];
    int small = 4096;  // a small send buffer, so a "full socket" is easy to reach
    ::setsockopt(ours_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  }
  void TearDown() override {
    connection_.reset();
    ::close(peer_);
  }
  // The connection takes `ours_`; the transport stays reachable through `transport_`.
  void start(ScriptedTransport* transport) {
    transport_ = transport;
    connection_ = std::make_unique<Connection>(loop_, ours_, TransportSocketPtr(transport),
                                               SocketStart::Accepted);
    owner_.connection = connection_.get();
    connection_->setCallbacks(&owner_);
  }
  bool runUntil(const std::function<bool()>& done, int64_t limit_ms = 2000) {
    return testing::runUntil(loop_, done, limit_ms);
  }
  // What the peer has received so far; sets `*eof` when our side closed.
  std::string peerReceive(bool* eof = nullptr) {
    std::string got;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(peer_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 && eof != nullptr) *eof = true;
      return got;
    }
  }
  void peerSend(std::string_view bytes) {
    ASSERT_EQ(::send(peer_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  event::EventLoop loop_;
  int ours_ = -1;
  int peer_ = -1;
  ScriptedTransport* transport_ = nullptr;
  std::unique_ptr<Connection> connection_;
  Owner owner_;
};

TEST_F(TransportContractTest, NothingReachesTheOwnerBeforeTheHandshakeAndHeldBytesAreRead) {
  start(new ScriptedTransport);
  EXPECT_FALSE(connection_->transportConnected());
  connection_->write("early reply");  // written during the handshake: must wait for it
  peerSend("HEL");
  ASSERT_FALSE(runUntil([&] { return owner_.connected > 0; }, 200));  // still handshaking
  EXPECT_EQ(peerReceive(), "");
  EXPECT_EQ(owner_.data, "");
  // The rest of the hello arrives with application data behind it. The transport drains the
  // socket and holds the data: no readiness edge will come for it, setReadable() must do.
  peerSend("LOGET /");
  ASSERT_TRUE(runUntil([&] { return owner_.data == "GET /"; }));
  EXPECT_EQ(owner_.connected, 1);
  EXPECT_TRUE(connection_->transportConnected());
  std::string got;
  ASSERT_TRUE(runUntil([&] { return (got += peerReceive()) == "early reply"; }));
}

TEST_F(TransportContractTest, AHandshakeWritesWithNothingQueuedAndWaitsForRoom) {
  auto* transport = new ScriptedTransport;
  transport->client_hello = std::string(1 << 20, 'h');  // far more than the socket takes
  start(transport);
  std::string got;
  // Nothing is queued by the owner, yet the hello leaves: the transport asked for a flush.
  ASSERT_TRUE(runUntil([&] { return !(got += peerReceive()).empty(); }));
  EXPECT_EQ(owner_.connected, 0);
  connection_->write("request");
  ASSERT_TRUE(runUntil([&] {
    got += peerReceive();  // reading makes room, and the room is what resumes the handshake
    return owner_.connected == 1 && got.size() == (1u << 20) + 7;
  }));
  EXPECT_GE(transport->handshake_writes, 2);  // met a full socket, came back on writable
  EXPECT_EQ(got.substr(0, 1 << 20), transport->client_hello);
  EXPECT_EQ(got.substr(1 << 20), "request");  // the owner's bytes only after the handshake
}

TEST_F(TransportContractTest, ReadsCappedByTheTransportResumeWithoutNewReadiness) {
  auto* transport = new ScriptedTransport;
  transport->read_cap = 3;
  start(transport);
  owner_.pause_after_data = true;
  peerSend("HELLOabcdefgh");
  ASSERT_TRUE(runUntil([&] { return owner_.data == "abc"; }));
  // Paused: the rest waits inside the transport, not in the socket.
  connection_->readDisable(false);
  ASSERT_TRUE(runUntil([&] { return owner_.data == "abcdef"; }));
  connection_->readDisable(false);
  ASSERT_TRUE(runUntil([&] { return owner_.data == "abcdefgh"; }));
}

TEST_F(TransportContractTest, AGracefulCloseSendsTheGoodbyeBeforeTheSocketCloses) {
  auto* transport = new ScriptedTransport;
  transport->goodbye = std::string(1 << 20, 'z');  // a goodbye that meets a full socket
  start(transport);
  peerSend("HELLO");
  ASSERT_TRUE(runUntil([&] { return owner_.connected == 1; }));
  connection_->write("last response");
  connection_->close(CloseType::FlushWrite);
  ASSERT_TRUE(runUntil([&] { return transport->shutdown_calls >= 1; }));
  bool eof = false;
  std::string got;
  ASSERT_TRUE(runUntil([&] {
    got += peerReceive(&eof);
    return eof;
  }));
  EXPECT_TRUE(owner_.closed);
  EXPECT_GE(transport->shutdown_calls, 2);  // WantWrite, then again once there was room
  EXPECT_EQ(got, "last response" + transport->goodbye);
}

TEST_F(TransportContractTest, AnAbortiveCloseSkipsTheGoodbye) {
  auto* transport = new ScriptedTransport;
  transport->goodbye = "bye";
  start(transport);
  peerSend("HELLO");
  ASSERT_TRUE(runUntil([&] { return owner_.connected == 1; }));
  connection_->close(CloseType::NoFlush);
  EXPECT_TRUE(owner_.closed);
  EXPECT_EQ(transport->shutdown_calls, 0);
  bool eof = false;
  EXPECT_EQ(peerReceive(&eof), "");
  EXPECT_TRUE(eof);
}

TEST_F(TransportContractTest, AConnectionIsNotQuiescentUntilTheHandshakeIsDone) {
  start(new ScriptedTransport);
  ASSERT_FALSE(runUntil([&] { return connection_->quiescent(); }, 200));
  peerSend("HELLO");
  ASSERT_TRUE(runUntil([&] { return connection_->quiescent(); }));
}

}  // namespace
}  // namespace portico::net
