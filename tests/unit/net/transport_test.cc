#include "net/transport.h"

#include <gtest/gtest.h>

namespace portico::net {
namespace {

class CountingTransport final : public TransportSocket {
 public:
  explicit CountingTransport(int* destroyed) : destroyed_(destroyed) {}
  ~CountingTransport() override { ++*destroyed_; }
  void onConnected(TransportCallbacks&) override {}
  IoResult doRead(TransportCallbacks&, buffer::Buffer&, size_t) override { return {}; }
  IoResult doWrite(TransportCallbacks&, buffer::Buffer&) override { return {}; }
  const char* protocolName() const override { return "test"; }

 private:
  int* destroyed_;
};

TEST(TransportTest, PlainConnectionsShareOneTransportThatIsNeverDeleted) {
  TransportSocketPtr a = plainTransport();
  TransportSocketPtr b = plainTransport();
  EXPECT_EQ(a.get(), b.get());
  EXPECT_STREQ(a->protocolName(), "tcp");
  EXPECT_TRUE(a->movesPlainBytes());
  a.reset();  // under ASan, deleting the shared instance would be reported here
  EXPECT_STREQ(b->protocolName(), "tcp");
}

TEST(TransportTest, OtherTransportsBelongToTheirConnection) {
  int destroyed = 0;
  {
    TransportSocketPtr own(new CountingTransport(&destroyed));
    EXPECT_FALSE(own->movesPlainBytes());
  }
  EXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace portico::net
