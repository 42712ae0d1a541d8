#include "filters/websocket/frame_scanner.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::filters::websocket {
namespace {

using Verdict = FrameScanner::Verdict;

// A frame as RFC 6455 5.2 lays it out; `masked` adds a key (client frames).
std::string frame(unsigned opcode, bool fin, size_t length, bool masked = false) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    f += static_cast<char>(mask_bit | static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(length >> 8);
    f += static_cast<char>(length & 0xFF);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((length >> shift) & 0xFF);
  }
  if (masked) f += std::string("\x12\x34\x56\x78", 4);
  f += std::string(length, 'x');
  return f;
}

TEST(FrameScannerTest, ReadsFramesOfEveryLengthEncoding) {
  FrameScanner s(0);
  std::string bytes = frame(1, true, 5) + frame(2, true, 300, true) + frame(2, true, 70000) +
                      frame(9, true, 4, true) + frame(10, true, 0);
  EXPECT_EQ(s.feed(bytes), Verdict::Ok);
  EXPECT_EQ(s.position(), bytes.size());
  EXPECT_EQ(s.pendingHeaderBytes(), 0u);
  EXPECT_FALSE(s.sawClose());
}

TEST(FrameScannerTest, HeadersSplitAnywhereAreReassembled) {
  const std::string bytes =
      frame(2, false, 200, true) + frame(0, true, 70000, true) + frame(8, true, 2, true);
  for (size_t step = 1; step <= 15; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    FrameScanner s(70200);
    for (size_t i = 0; i < bytes.size(); i += step)
      ASSERT_EQ(s.feed(std::string_view(bytes).substr(i, step)), Verdict::Ok);
    EXPECT_EQ(s.pendingHeaderBytes(), 0u);
    EXPECT_TRUE(s.sawClose());
  }
}

TEST(FrameScannerTest, PendingHeaderBytesCountAPartialHeader) {
  FrameScanner s(0);
  const std::string f = frame(2, true, 70000, true);  // 2 + 8 + 4 header bytes
  EXPECT_EQ(s.feed(std::string_view(f).substr(0, 9)), Verdict::Ok);
  EXPECT_EQ(s.pendingHeaderBytes(), 9u);
  EXPECT_EQ(s.feed(std::string_view(f).substr(9, 5)), Verdict::Ok);
  EXPECT_EQ(s.pendingHeaderBytes(), 0u);
}

TEST(FrameScannerTest, AMessageOverTheLimitIsFoundAtTheFrameThatCrossesIt) {
  FrameScanner s(1000);
  const std::string first = frame(1, true, 1000, true);  // exactly the limit: fine
  const std::string frag1 = frame(2, false, 600, true);
  const std::string ping = frame(9, true, 10, true);     // between fragments: not counted
  const std::string frag2 = frame(0, false, 400, true);  // 1000 so far: fine
  const std::string frag3 = frame(0, true, 1, true);     // 1001: too big
  EXPECT_EQ(s.feed(first + frag1 + ping + frag2), Verdict::Ok);
  const uint64_t start = s.position();
  EXPECT_EQ(s.feed(frag3), Verdict::TooBig);
  EXPECT_EQ(s.offendingFrameStart(), start);
  // Nothing changes afterwards.
  EXPECT_EQ(s.feed(frame(1, true, 1)), Verdict::TooBig);
}

TEST(FrameScannerTest, ASingleLargeFrameIsFoundBeforeItsPayload) {
  FrameScanner s(65536);
  std::string big = frame(2, true, 70000);
  EXPECT_EQ(s.feed(std::string_view(big).substr(0, 10)), Verdict::TooBig);
  EXPECT_EQ(s.offendingFrameStart(), 0u);
}

TEST(FrameScannerTest, MessagesAreCountedSeparately) {
  FrameScanner s(100);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(s.feed(frame(1, true, 100)), Verdict::Ok);
}

TEST(FrameScannerTest, FramingThatIsNotWebSocketIsMalformed) {
  {
    FrameScanner s(0);  // continuation without a message
    EXPECT_EQ(s.feed(frame(0, true, 3)), Verdict::Malformed);
  }
  {
    FrameScanner s(0);  // a new message inside a fragmented one
    EXPECT_EQ(s.feed(frame(1, false, 3) + frame(1, true, 3)), Verdict::Malformed);
  }
  {
    FrameScanner s(0);  // fragmented control frame
    EXPECT_EQ(s.feed(frame(9, false, 3)), Verdict::Malformed);
  }
  {
    FrameScanner s(0);  // control frame over 125 bytes
    EXPECT_EQ(s.feed(frame(8, true, 126)), Verdict::Malformed);
  }
  {
    FrameScanner s(0);  // reserved opcode
    EXPECT_EQ(s.feed(frame(3, true, 0)), Verdict::Malformed);
  }
  {
    FrameScanner s(0);  // 64-bit length with the top bit set
    std::string f = "\x82\x7F";
    f += std::string("\x80\0\0\0\0\0\0\0", 8);
    EXPECT_EQ(s.feed(f), Verdict::Malformed);
  }
  {
    FrameScanner s(0);  // HTTP is not WebSocket
    EXPECT_EQ(s.feed("GET / HTTP/1.1\r\n"), Verdict::Malformed);
  }
}

TEST(FrameScannerTest, CloseFramesAreWellFormedAndMaskedForBackends) {
  const std::string plain = closeFrame(kCloseMessageTooBig, "too big", false, 0);
  ASSERT_EQ(plain.size(), 2u + 2 + 7);
  EXPECT_EQ(static_cast<unsigned char>(plain[0]), 0x88);
  EXPECT_EQ(static_cast<unsigned char>(plain[1]), 9);
  EXPECT_EQ(static_cast<unsigned char>(plain[2]), 1009 >> 8);
  EXPECT_EQ(static_cast<unsigned char>(plain[3]), 1009 & 0xFF);
  EXPECT_EQ(plain.substr(4), "too big");

  const std::string masked = closeFrame(kCloseGoingAway, "idle", true, 0xA1B2C3D4);
  ASSERT_EQ(masked.size(), 2u + 4 + 2 + 4);
  EXPECT_EQ(static_cast<unsigned char>(masked[1]), 0x80 | 6);
  const unsigned char key[4] = {0xA1, 0xB2, 0xC3, 0xD4};
  std::string payload;
  for (size_t i = 0; i < 6; ++i)
    payload += static_cast<char>(static_cast<unsigned char>(masked[6 + i]) ^ key[i % 4]);
  EXPECT_EQ(static_cast<unsigned char>(payload[0]), 1001 >> 8);
  EXPECT_EQ(static_cast<unsigned char>(payload[1]), 1001 & 0xFF);
  EXPECT_EQ(payload.substr(2), "idle");

  FrameScanner s(0);
  EXPECT_EQ(s.feed(plain + masked), Verdict::Ok);
  EXPECT_TRUE(s.sawClose());
  // A long reason is cut so the frame stays a valid control frame.
  EXPECT_EQ(closeFrame(1000, std::string(300, 'r'), false, 0).size(), 2u + 125);
}

}  // namespace
}  // namespace portico::filters::websocket
