#include "buffer/buffer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace portico::buffer {
namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(BufferTest, AppendDrainAcrossBlocks) {
  Buffer b;
  std::string data = pattern(3 * kBlockSize + 123);
  b.append(data);
  EXPECT_EQ(b.length(), data.size());
  EXPECT_EQ(b.toString(), data);
  b.drain(kBlockSize + 7);
  EXPECT_EQ(b.toString(), data.substr(kBlockSize + 7));
  b.drain(b.length());
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.sliceCount(), 0u);
}

TEST(BufferTest, MoveFromSharesBlocksWithoutCorruption) {
  Buffer a, b;
  std::string data = pattern(10000);
  a.append(data);
  b.moveFrom(a, 4000);  // splits a block: both now reference it
  EXPECT_EQ(b.toString(), data.substr(0, 4000));
  EXPECT_EQ(a.toString(), data.substr(4000));
  // Appending to either must not overwrite the other's bytes in the shared block.
  b.append("XYZ");
  a.append("123");
  EXPECT_EQ(b.toString(), data.substr(0, 4000) + "XYZ");
  EXPECT_EQ(a.toString(), data.substr(4000) + "123");
}

TEST(BufferTest, SmallSplitsAreCopied) {
  Buffer a, b;
  a.append(pattern(1000));
  b.moveFrom(a, 10);
  EXPECT_EQ(b.toString(), pattern(1000).substr(0, 10));
  EXPECT_EQ(a.length(), 990u);
}

TEST(BufferTest, SmallWholeSlicesShareTheTailBlock) {
  // Many small writes moved into one buffer (pipelined local replies) must not pin one
  // 16 KiB block each: memory has to follow length().
  Buffer out;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    Buffer reply;
    std::string text = "HTTP/1.1 200 OK #" + std::to_string(i) + "\r\n";
    reply.append(text);
    out.moveFrom(reply);
    expected += text;
  }
  EXPECT_EQ(out.toString(), expected);
  EXPECT_LE(out.sliceCount(), expected.size() / kBlockSize + 1);
}

TEST(BufferTest, LargeSlicesMoveWithoutCopy) {
  Buffer a, b;
  b.append("head");
  a.append(pattern(kBlockSize));  // a whole block: linked, not copied
  const size_t before = b.sliceCount();
  b.moveFrom(a);
  EXPECT_EQ(b.sliceCount(), before + 1);
  EXPECT_EQ(b.toString(), "head" + pattern(kBlockSize));
}

TEST(BufferTest, IovecsCoverAllBytes) {
  Buffer b;
  std::string data = pattern(2 * kBlockSize + 5);
  b.append(data);
  struct iovec iov[8];
  int n = b.iovecs(iov, 8);
  std::string joined;
  for (int i = 0; i < n; ++i) joined.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  EXPECT_EQ(joined, data);
}

TEST(BufferTest, ReserveCommitAndRecycling) {
  size_t before = recycledBlockCount();
  {
    Buffer b;
    auto [p, room] = b.reserve(100);
    ASSERT_GE(room, 100u);
    std::memcpy(p, "hello", 5);
    b.commit(5);
    EXPECT_EQ(b.toString(), "hello");
  }
  EXPECT_GE(recycledBlockCount(), before);  // the block went back to the free list
}

TEST(BufferTest, WatermarksFireOncePerCrossing) {
  Buffer b;
  Watermark w;
  int high = 0, low = 0;
  struct Ctx {
    int* high;
    int* low;
  } ctx{&high, &low};
  w.setHigh(1000);
  w.setCallbacks([](void* c) { ++*static_cast<Ctx*>(c)->high; },
                 [](void* c) { ++*static_cast<Ctx*>(c)->low; }, &ctx);
  b.append(pattern(1500));
  w.update(b.length());
  b.append(pattern(100));
  w.update(b.length());
  EXPECT_EQ(high, 1);
  b.drain(1200);  // 400 left: below low (500)
  w.update(b.length());
  EXPECT_EQ(low, 1);
  EXPECT_FALSE(w.aboveHigh());
}

}  // namespace
}  // namespace portico::buffer

namespace portico::buffer {
namespace {

TEST(BufferTest, AppendFromFileReadsTheRangeAcrossBlocks) {
  char path[] = "/tmp/portico-buffer-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content = pattern(40000);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  Buffer b;
  b.append("head:");
  EXPECT_EQ(b.appendFromFile(fd, 100, 39000), 39000u);
  EXPECT_EQ(b.toString(), "head:" + content.substr(100, 39000));
  // Past the end of the file: what exists is appended, and the count says so.
  Buffer tail;
  EXPECT_EQ(tail.appendFromFile(fd, 39990, 100), 10u);
  EXPECT_EQ(tail.toString(), content.substr(39990));
  ::close(fd);
  ::unlink(path);
}

}  // namespace
}  // namespace portico::buffer
