#include "event/io_batch.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace portico::event {
namespace {

// Real sockets through a real ring: these tests need a kernel that allows io_uring (as the
// machines Portico targets do); they fail, not skip, where it is refused.
std::unique_ptr<IoBatch> makeBatch(unsigned depth = 8) {
  auto batch = IoBatch::create(depth);
  EXPECT_NE(batch, nullptr) << "io_uring unavailable: " << strerror(errno);
  return batch;
}

struct SocketPair {
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0); }
  ~SocketPair() {
    if (fds[0] >= 0) ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
  }
  std::string readPeer() {
    char buf[4096];
    ssize_t n = ::read(fds[1], buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  int fds[2] = {-1, -1};
};

class StringSender final : public BatchedSender {
 public:
  StringSender(int fd, std::vector<std::string> pieces) : fd_(fd), pieces_(std::move(pieces)) {}
  int prepareBatchedSend(struct iovec* iov, int max, int* fd) override {
    ++prepared;
    *fd = fd_;
    int count = 0;
    for (auto& piece : pieces_) {
      if (count == max) break;
      iov[count].iov_base = piece.data();
      iov[count].iov_len = piece.size();
      ++count;
    }
    return count;
  }
  void onBatchedSendDone(int result) override {
    results.push_back(result);
    if (on_done) on_done();
  }
  std::vector<int> results;
  int prepared = 0;
  std::function<void()> on_done;

 private:
  int fd_;
  std::vector<std::string> pieces_;
};

class RecordingReader final : public BatchedReader {
 public:
  void onBatchedRecvDone(int result) override { results.push_back(result); }
  std::vector<int> results;
  char buffer[64] = {};
};

TEST(IoBatchTest, SendsOfManySocketsGoOutTogetherAndEachHearsItsResult) {
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair a, b;
  StringSender one(a.fds[0], {"hello"});
  StringSender gathered(b.fds[0], {"GET / HTTP/1.1\r\n", "Host: x\r\n", "\r\n"});
  batch->enqueueSend(&one);
  batch->enqueueSend(&gathered);
  EXPECT_TRUE(batch->sendsQueued());
  batch->runSends();
  EXPECT_FALSE(batch->sendsQueued());
  EXPECT_EQ(one.results, std::vector<int>{5});
  EXPECT_EQ(gathered.results, std::vector<int>{27});
  EXPECT_EQ(a.readPeer(), "hello");
  EXPECT_EQ(b.readPeer(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(IoBatchTest, MoreSendersThanTheDepthAreSentInSeveralSubmissions) {
  auto batch = makeBatch(2);
  ASSERT_NE(batch, nullptr);
  std::vector<std::unique_ptr<SocketPair>> pairs;
  std::vector<std::unique_ptr<StringSender>> senders;
  for (int i = 0; i < 5; ++i) {
    pairs.push_back(std::make_unique<SocketPair>());
    senders.push_back(
        std::make_unique<StringSender>(pairs.back()->fds[0], std::vector{std::to_string(i)}));
    batch->enqueueSend(senders.back().get());
  }
  batch->runSends();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(senders[static_cast<size_t>(i)]->results, std::vector<int>{1});
    EXPECT_EQ(pairs[static_cast<size_t>(i)]->readPeer(), std::to_string(i));
  }
}

// Two senders, so the ring is used (a batch of one goes out as the plain system call), and the
// single case too: both must answer like the system call.
TEST(IoBatchTest, FullSocketBufferIsEagainNotAWait) {
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair a, b;
  std::string chunk(65536, 'x');
  for (int fd : {a.fds[0], b.fds[0]}) {
    while (::write(fd, chunk.data(), chunk.size()) > 0) {
    }
    ASSERT_EQ(errno, EAGAIN);
  }
  StringSender one(a.fds[0], {"more"});
  StringSender two(b.fds[0], {"more"});
  batch->enqueueSend(&one);
  batch->enqueueSend(&two);
  batch->runSends();
  EXPECT_EQ(one.results, std::vector<int>{-EAGAIN});
  EXPECT_EQ(two.results, std::vector<int>{-EAGAIN});
  batch->enqueueSend(&one);
  batch->runSends();
  EXPECT_EQ(one.results, (std::vector<int>{-EAGAIN, -EAGAIN}));
}

TEST(IoBatchTest, ClosedPeerIsAnErrorResultWithoutSigpipe) {
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair a, b;
  for (SocketPair* p : {&a, &b}) {
    ::close(p->fds[1]);
    p->fds[1] = -1;
  }
  StringSender one(a.fds[0], {"anyone?"});
  StringSender two(b.fds[0], {"anyone?"});
  batch->enqueueSend(&one);
  batch->enqueueSend(&two);
  batch->runSends();  // a SIGPIPE would kill the test binary here
  EXPECT_EQ(one.results, std::vector<int>{-EPIPE});
  EXPECT_EQ(two.results, std::vector<int>{-EPIPE});
  batch->enqueueSend(&one);
  batch->runSends();
  EXPECT_EQ(one.results, (std::vector<int>{-EPIPE, -EPIPE}));
}

TEST(IoBatchTest, CancelledSenderIsNeitherPreparedNorReported) {
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair a, b;
  StringSender kept(a.fds[0], {"kept"});
  StringSender dropped(b.fds[0], {"dropped"});
  batch->enqueueSend(&kept);
  batch->enqueueSend(&dropped);
  batch->cancelSend(&dropped);
  batch->runSends();
  EXPECT_EQ(kept.results, std::vector<int>{4});
  EXPECT_EQ(dropped.prepared, 0);
  EXPECT_TRUE(dropped.results.empty());
  EXPECT_EQ(b.readPeer(), "");
}

TEST(IoBatchTest, SenderCancelledByAnotherReportHearsNothing) {
  // A connection's completion may close its peer, whose send is in the same submission: the
  // peer may be gone by the time its result would be reported.
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair a, b;
  StringSender first(a.fds[0], {"first"});
  StringSender second(b.fds[0], {"second"});
  first.on_done = [&] { batch->cancelSend(&second); };
  batch->enqueueSend(&first);
  batch->enqueueSend(&second);
  batch->runSends();
  EXPECT_EQ(first.results.size(), 1u);
  EXPECT_TRUE(second.results.empty());
}

TEST(IoBatchTest, SenderQueuedDuringAReportWaitsForTheNextRun) {
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair a, b;
  StringSender later(b.fds[0], {"later"});
  StringSender first(a.fds[0], {"first"});
  first.on_done = [&] { batch->enqueueSend(&later); };
  batch->enqueueSend(&first);
  batch->runSends();
  EXPECT_TRUE(later.results.empty());
  EXPECT_TRUE(batch->sendsQueued());
  batch->runSends();
  EXPECT_EQ(later.results, std::vector<int>{5});
}

TEST(IoBatchTest, ReceivesOfManySocketsAreReportedBeforeRunRecvsReturns) {
  auto batch = makeBatch();
  ASSERT_NE(batch, nullptr);
  SocketPair with_data, empty, closed;
  ASSERT_EQ(::write(with_data.fds[1], "ping", 4), 4);
  ::close(closed.fds[1]);
  closed.fds[1] = -1;
  RecordingReader r1, r2, r3;
  ASSERT_TRUE(batch->addRecv(with_data.fds[0], r1.buffer, sizeof r1.buffer, &r1));
  ASSERT_TRUE(batch->addRecv(empty.fds[0], r2.buffer, sizeof r2.buffer, &r2));
  ASSERT_TRUE(batch->addRecv(closed.fds[0], r3.buffer, sizeof r3.buffer, &r3));
  batch->runRecvs();
  EXPECT_EQ(r1.results, std::vector<int>{4});
  EXPECT_EQ(std::string(r1.buffer, 4), "ping");
  EXPECT_EQ(r2.results, std::vector<int>{-EAGAIN});  // nothing there: no waiting
  EXPECT_EQ(r3.results, std::vector<int>{0});        // end of stream

  // A batch of one (the plain system call) reports the same way.
  ASSERT_EQ(::write(with_data.fds[1], "pong", 4), 4);
  ASSERT_TRUE(batch->addRecv(with_data.fds[0], r1.buffer, sizeof r1.buffer, &r1));
  batch->runRecvs();
  EXPECT_EQ(r1.results, (std::vector<int>{4, 4}));
  EXPECT_EQ(std::string(r1.buffer, 4), "pong");
}

TEST(IoBatchTest, ReceivesBeyondTheDepthAreRefusedSoTheCallerReadsItself) {
  auto batch = makeBatch(2);
  ASSERT_NE(batch, nullptr);
  SocketPair a, b, c;
  RecordingReader r1, r2, r3;
  EXPECT_TRUE(batch->addRecv(a.fds[0], r1.buffer, sizeof r1.buffer, &r1));
  EXPECT_TRUE(batch->addRecv(b.fds[0], r2.buffer, sizeof r2.buffer, &r2));
  EXPECT_FALSE(batch->addRecv(c.fds[0], r3.buffer, sizeof r3.buffer, &r3));
  batch->runRecvs();
  EXPECT_EQ(r1.results.size(), 1u);
  EXPECT_EQ(r2.results.size(), 1u);
  EXPECT_TRUE(r3.results.empty());
}

}  // namespace
}  // namespace portico::event
