#include "http2/extended_connect.h"

#include <gtest/gtest.h>

namespace portico::http2 {
namespace {

TEST(ExtendedConnectTest, AcceptIsComputedAsRfc6455Says) {
  // The example of RFC 6455 section 1.3.
  EXPECT_EQ(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

http::RequestHead extendedConnect() {
  http::RequestHead head;
  head.method = http::Method::Connect;
  head.method_text = "CONNECT";
  head.path = "/chat";
  head.target = "/chat";
  head.authority = "example.com";
  head.headers.add("sec-websocket-version", "13");
  head.headers.add("sec-websocket-protocol", "chat, superchat");
  head.headers.add("sec-websocket-extensions", "permessage-deflate");
  return head;
}

TEST(ExtendedConnectTest, RequestBecomesTheHttp1OpeningHandshake) {
  http::RequestHead head = extendedConnect();
  const std::string key = toWebSocketUpgrade(head);
  EXPECT_EQ(head.method, http::Method::Get);
  EXPECT_EQ(head.method_text, "GET");
  EXPECT_EQ(head.path, "/chat");
  EXPECT_EQ(*head.headers.get("Upgrade"), "websocket");
  EXPECT_EQ(*head.headers.get("Connection"), "Upgrade");
  EXPECT_EQ(*head.headers.get("Sec-WebSocket-Version"), "13");
  EXPECT_EQ(head.headers.count("Sec-WebSocket-Version"), 1u);
  EXPECT_EQ(*head.headers.get("Sec-WebSocket-Key"), key);
  EXPECT_EQ(key.size(), 24u);  // 16 bytes in base64
  EXPECT_EQ(*head.headers.get("Sec-WebSocket-Protocol"), "chat, superchat");
  EXPECT_EQ(*head.headers.get("Sec-WebSocket-Extensions"), "permessage-deflate");
  // Fresh per request.
  http::RequestHead other = extendedConnect();
  EXPECT_NE(toWebSocketUpgrade(other), key);
}

TEST(ExtendedConnectTest, SwitchingProtocolsWithTheRightAcceptBecomes200) {
  http::ResponseHead head;
  head.status = 101;
  head.reason = "Switching Protocols";
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "Upgrade");
  head.headers.add("Sec-WebSocket-Accept", webSocketAccept("k3y"));
  head.headers.add("Sec-WebSocket-Protocol", "chat");
  EXPECT_EQ(toExtendedConnectResponse(head, "k3y"), UpgradeAnswer::Accepted);
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.headers.has("Upgrade"));
  EXPECT_FALSE(head.headers.has("Connection"));
  EXPECT_FALSE(head.headers.has("Sec-WebSocket-Accept"));
  EXPECT_EQ(*head.headers.get("Sec-WebSocket-Protocol"), "chat");
}

TEST(ExtendedConnectTest, AWrongAcceptOrANonUpgradeIsABadGateway) {
  for (uint16_t status : {101, 200, 204}) {
    SCOPED_TRACE(status);
    http::ResponseHead head;
    head.status = status;
    head.headers.add("Sec-WebSocket-Accept", status == 101 ? "wrong" : webSocketAccept("k"));
    head.headers.add("Set-Cookie", "a=b");
    EXPECT_EQ(toExtendedConnectResponse(head, "k"), UpgradeAnswer::BadUpgrade);
    EXPECT_EQ(head.status, 502);
    EXPECT_FALSE(head.headers.has("Set-Cookie"));
  }
  http::ResponseHead missing;
  missing.status = 101;
  EXPECT_EQ(toExtendedConnectResponse(missing, "k"), UpgradeAnswer::BadUpgrade);
}

TEST(ExtendedConnectTest, ARefusalPassesUnchanged) {
  for (uint16_t status : {400, 403, 404, 426, 503}) {
    http::ResponseHead head;
    head.status = status;
    head.headers.add("Content-Type", "text/plain");
    EXPECT_EQ(toExtendedConnectResponse(head, "k"), UpgradeAnswer::Refused);
    EXPECT_EQ(head.status, status);
    EXPECT_EQ(*head.headers.get("Content-Type"), "text/plain");
  }
}

}  // namespace
}  // namespace portico::http2
