#pragma once
// IoBatch: the socket reads that start a loop turn, and the socket writes that end it, each
// reach the kernel in one io_uring_enter instead of one system call per socket.
//
// Why: on the keep-alive hot path a proxied request costs four socket system calls (read the
// client, write the upstream, read the upstream, write the client), and entering and leaving the
// kernel is a large share of each, on virtualised hosts especially. The loop already knows all
// of a turn's readable sockets (one epoll_wait) and all of its writes (connections flush once, at
// the end of the turn); the batch hands each group to the kernel at once.
//
// A batch that holds a single operation goes out as the plain system call instead: the ring
// only pays off when it saves kernel entries.
//
// The model stays readiness-based (epoll decides what to read; the batch only changes how):
// sockets are non-blocking and every operation carries MSG_DONTWAIT, so the kernel finishes each
// one inline during the submission, or reports -EAGAIN, exactly like the system call would. Each
// run returns with every result known and reported: nothing the kernel touches outlives it (the
// iovecs are copied into the batch; the bytes stay where their owner put them).
//
// Threading: one batch per event loop, created and used on the loop's thread only (the ring is
// set up for a single submitter).

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

struct io_uring;

namespace portico::event {

class BatchedSender {
 public:
  virtual ~BatchedSender() = default;
  // Called just before the sends go to the kernel: fills at most `max` iovecs with the bytes to
  // send, sets the socket in `fd`, and returns the iovec count (0: nothing to send after all).
  virtual int prepareBatchedSend(struct iovec* iov, int max, int* fd) = 0;
  // Bytes sent (possibly fewer than offered), or -errno (-EAGAIN: the socket buffer was full).
  virtual void onBatchedSendDone(int result) = 0;
};

class BatchedReader {
 public:
  virtual ~BatchedReader() = default;
  // Bytes received into the space given to addRecv (0: the peer closed), or -errno (-EAGAIN:
  // nothing was there after all).
  virtual void onBatchedRecvDone(int result) = 0;
};

class IoBatch {
 public:
  static constexpr int kMaxIovPerSend = 16;

  // nullptr (errno set) when io_uring is unavailable: a kernel before 6.0 (EINVAL), a seccomp
  // filter, or the kernel.io_uring_disabled sysctl (EPERM/ENOSYS). `depth` bounds the operations of
  // one submission.
  static std::unique_ptr<IoBatch> create(unsigned depth);
  ~IoBatch();
  IoBatch(const IoBatch&) = delete;
  IoBatch& operator=(const IoBatch&) = delete;

  // False once the ring failed: the loop stops using it and goes back to plain system calls.
  bool usable() const { return !broken_; }

  // Queues `sender` for the next runSends(). A sender is queued at most once at a time.
  void enqueueSend(BatchedSender* sender);
  // Forgets a queued or in-flight sender (it is closing or being destroyed): it hears nothing.
  void cancelSend(BatchedSender* sender);
  bool sendsQueued() const { return !queued_senders_.empty(); }
  // Sends for every queued sender, one system call per `depth` of them, and reports each
  // result. Senders queued while results are reported wait for the next runSends().
  void runSends();

  // Adds a receive of up to `length` bytes from `fd` into `into`, reported to `reader` by the
  // next runRecvs(). False when the batch is full: the caller reads for itself.
  bool addRecv(int fd, void* into, size_t length, BatchedReader* reader);
  // Receives everything added with one system call and reports each result, before any other
  // code runs: the readers' buffers must stay as they were between addRecv and the report.
  void runRecvs();

 private:
  IoBatch(std::unique_ptr<io_uring> ring, unsigned depth);
  void submitSends(size_t begin, size_t end);
  // Submits `count` prepared operations and waits for all of them; false if the ring failed.
  template <typename Report>
  bool submitAndReport(unsigned count, Report&& report);
  void markBroken(int error);

  std::unique_ptr<io_uring> ring_;
  unsigned depth_;
  bool broken_ = false;
  std::vector<BatchedSender*> queued_senders_;
  std::vector<BatchedSender*> running_senders_;  // those of the runSends() in progress
  struct PendingRecv {
    int fd;
    void* into;
    size_t length;
    BatchedReader* reader;
  };
  std::vector<PendingRecv> recvs_;  // added since the last runRecvs()
  struct PreparedSend {
    size_t index;  // into running_senders_
    int fd;
    int count;  // iovecs
  };
  std::vector<PreparedSend> prepared_;  // the sends of the chunk being submitted
  std::vector<struct iovec> iov_;       // depth_ * kMaxIovPerSend
  std::vector<struct msghdr> msg_;      // depth_
};

}  // namespace portico::event
