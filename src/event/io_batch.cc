#include "event/io_batch.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace portico::event {

namespace {
// MSG_DONTWAIT makes a full (or empty) socket buffer an -EAGAIN completion, as for the system
// call, instead of a poll the kernel would arm and finish after the run returned.
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
constexpr int kRecvFlags = MSG_DONTWAIT;
}  // namespace

std::unique_ptr<IoBatch> IoBatch::create(unsigned depth) {
  auto ring = std::make_unique<io_uring>();
  // SINGLE_ISSUER and COOP_TASKRUN spare the kernel locking and interrupts this loop-owned ring
  // never needs. SINGLE_ISSUER also dates the kernel (6.0): older ones reject it, and on those
  // the batch is not used at all rather than trusted to finish every MSG_DONTWAIT operation
  // inline, which the whole design relies on (a submission must never wait for a socket).
  struct io_uring_params params {};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  int rc = io_uring_queue_init_params(depth, ring.get(), &params);
  if (rc < 0) {
    errno = -rc;
    return nullptr;
  }
  return std::unique_ptr<IoBatch>(new IoBatch(std::move(ring), depth));
}

IoBatch::IoBatch(std::unique_ptr<io_uring> ring, unsigned depth)
    : ring_(std::move(ring)),
      depth_(depth),
      iov_(static_cast<size_t>(depth) * kMaxIovPerSend),
      msg_(depth) {
  queued_senders_.reserve(depth);
  running_senders_.reserve(depth);
  recvs_.reserve(depth);
  prepared_.reserve(depth);
}

IoBatch::~IoBatch() {
  io_uring_queue_exit(ring_.get());
}

void IoBatch::enqueueSend(BatchedSender* sender) {
  queued_senders_.push_back(sender);
}

void IoBatch::cancelSend(BatchedSender* sender) {
  auto* none = static_cast<BatchedSender*>(nullptr);
  std::replace(queued_senders_.begin(), queued_senders_.end(), sender, none);
  std::replace(running_senders_.begin(), running_senders_.end(), sender, none);
}

void IoBatch::runSends() {
  running_senders_.swap(queued_senders_);
  queued_senders_.clear();
  for (size_t begin = 0; begin < running_senders_.size() && !broken_; begin += depth_) {
    submitSends(begin, std::min(running_senders_.size(), begin + depth_));
  }
  // After a failure the rest were never sent: they hear an error rather than wait for ever.
  for (size_t i = 0; i < running_senders_.size(); ++i) {
    BatchedSender* sender = running_senders_[i];
    running_senders_[i] = nullptr;
    if (sender != nullptr) sender->onBatchedSendDone(-EIO);
  }
  running_senders_.clear();
}

void IoBatch::submitSends(size_t begin, size_t end) {
  // Prepare first: a submission that ends up holding a single send costs more than the plain
  // system call (the ring's per-operation work on top of the same kernel entry), so a batch of
  // one is sent directly.
  std::vector<PreparedSend>& prepared = prepared_;
  prepared.clear();
  for (size_t i = begin; i < end; ++i) {
    BatchedSender* sender = running_senders_[i];
    if (sender == nullptr) continue;
    struct iovec* iov = &iov_[(i - begin) * kMaxIovPerSend];
    int fd = -1;
    const int count = sender->prepareBatchedSend(iov, kMaxIovPerSend, &fd);
    if (count <= 0) {
      running_senders_[i] = nullptr;
      continue;
    }
    prepared.push_back({i, fd, count});
  }
  if (prepared.size() == 1) {
    const PreparedSend& p = prepared[0];
    struct iovec* iov = &iov_[(p.index - begin) * kMaxIovPerSend];
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(p.count);
    const ssize_t n = ::sendmsg(p.fd, &msg, kSendFlags);
    BatchedSender* sender = running_senders_[p.index];
    running_senders_[p.index] = nullptr;
    sender->onBatchedSendDone(n >= 0 ? static_cast<int>(n) : -errno);
    return;
  }
  for (const PreparedSend& p : prepared) {
    const size_t slot = p.index - begin;
    struct iovec* iov = &iov_[slot * kMaxIovPerSend];
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());  // never null: at most depth_ per chunk
    if (p.count == 1) {
      io_uring_prep_send(sqe, p.fd, iov[0].iov_base, iov[0].iov_len, kSendFlags);
    } else {
      struct msghdr& msg = msg_[slot];
      msg = {};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(p.count);
      io_uring_prep_sendmsg(sqe, p.fd, &msg, kSendFlags);
    }
    io_uring_sqe_set_data64(sqe, p.index);
  }
  submitAndReport(static_cast<unsigned>(prepared.size()), [this](size_t index, int result) {
    BatchedSender* sender = running_senders_[index];
    running_senders_[index] = nullptr;
    // Reported senders may cancel others of this chunk (a connection closing its peer).
    if (sender != nullptr) sender->onBatchedSendDone(result);
  });
}

bool IoBatch::addRecv(int fd, void* into, size_t length, BatchedReader* reader) {
  if (broken_ || recvs_.size() >= depth_) return false;
  recvs_.push_back({fd, into, length, reader});
  return true;
}

void IoBatch::runRecvs() {
  if (recvs_.empty()) return;
  if (recvs_.size() == 1) {
    // A batch of one: the plain system call is cheaper (see submitSends).
    const PendingRecv r = recvs_[0];
    recvs_.clear();
    const ssize_t n = ::recv(r.fd, r.into, r.length, kRecvFlags);
    r.reader->onBatchedRecvDone(n >= 0 ? static_cast<int>(n) : -errno);
    return;
  }
  for (size_t i = 0; i < recvs_.size(); ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());  // never null: at most depth_ added
    io_uring_prep_recv(sqe, recvs_[i].fd, recvs_[i].into, recvs_[i].length, kRecvFlags);
    io_uring_sqe_set_data64(sqe, i);
  }
  const bool ok =
      submitAndReport(static_cast<unsigned>(recvs_.size()), [this](size_t index, int result) {
        BatchedReader* reader = recvs_[index].reader;
        recvs_[index].reader = nullptr;
        reader->onBatchedRecvDone(result);
      });
  if (!ok) {
    for (const PendingRecv& r : recvs_) {
      if (r.reader != nullptr) r.reader->onBatchedRecvDone(-EIO);
    }
  }
  recvs_.clear();
}

template <typename Report>
bool IoBatch::submitAndReport(unsigned count, Report&& report) {
  if (count == 0) return true;
  int rc;
  do {
    rc = io_uring_submit_and_wait(ring_.get(), count);
  } while (rc == -EINTR);
  if (rc < 0) {
    markBroken(-rc);
    return false;
  }
  for (unsigned seen = 0; seen < count; ++seen) {
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_wait_cqe(ring_.get(), &cqe);
    if (rc < 0) {
      markBroken(-rc);
      return false;
    }
    const auto index = static_cast<size_t>(io_uring_cqe_get_data64(cqe));
    const int result = cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    report(index, result);
  }
  return true;
}

void IoBatch::markBroken(int error) {
  // Cannot happen in normal operation (every completion is consumed before the next
  // submission). Operations may still sit in the ring, so it is never entered again; those that
  // did not hear back get an error, and their connections close instead of waiting for ever.
  PLOG_ERROR("io_uring batch failed ({}); this worker goes back to plain system calls",
             strerror(error));
  broken_ = true;
}

}  // namespace portico::event
