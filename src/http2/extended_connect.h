#pragma once
// WebSocket over HTTP/2 (RFC 8441) to HTTP/1.1 WebSocket backends (RFC 6455).
//
// An HTTP/2 client opens a WebSocket with an extended CONNECT: :method CONNECT, :protocol
// websocket, :scheme, :path and :authority, on a connection whose server advertised
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1. Backends speak the HTTP/1.1 opening handshake, so the
// stream's request becomes that handshake, and the backend's answer becomes the answer to the
// CONNECT:
//
//   client (h2)                              backend (HTTP/1.1)
//   :method CONNECT, :protocol websocket  -> GET :path, Upgrade: websocket,
//   sec-websocket-version: 13                Connection: Upgrade, Sec-WebSocket-Key: <fresh>,
//   sec-websocket-protocol/extensions        Sec-WebSocket-Version: 13, the same
//                                            Sec-WebSocket-Protocol/-Extensions
//   :status 200 (+ protocol, extensions)  <- 101, Sec-WebSocket-Accept checked and dropped
//   :status 4xx/5xx as the backend said   <- a refusal (any status but 101 and 2xx)
//   :status 502                           <- 101 with a wrong accept, or a 2xx that is not an
//                                            upgrade (the backend ignored it: its body is HTTP,
//                                            not WebSocket frames, so no tunnel may start)
// After a 200 the stream's DATA frames carry the WebSocket bytes both ways; END_STREAM is a
// side's close, RST_STREAM aborts the tunnel (RFC 8441 section 5).
//
// Pure functions: no state, no I/O (the key is random: RAND_bytes).

#include <string>
#include <string_view>

#include "http/message.h"

namespace portico::http2 {

inline constexpr std::string_view kWebSocketProtocol = "websocket";

// Turns the extended CONNECT `head` (its :protocol already checked to be websocket) into the
// HTTP/1.1 opening handshake for the backend, noting upgraded_from_connect. Returns the
// Sec-WebSocket-Key it put there, which the answer's Sec-WebSocket-Accept must match.
std::string toWebSocketUpgrade(http::RequestHead& head);

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + the RFC 6455 GUID)) (RFC 6455 4.2.2).
std::string webSocketAccept(std::string_view key);

enum class UpgradeAnswer {
  Accepted,    // 101 with the right accept: now 200, the tunnel starts
  Refused,     // the backend refused (not 101, not 2xx): its answer goes on unchanged
  BadUpgrade,  // a 101 with a wrong or missing accept, or a 2xx that is no upgrade: now 502
};

// Turns the backend's answer to toWebSocketUpgrade()'s request (sent with `key`) into the
// answer to the extended CONNECT, in place. A 502 keeps no field of the backend's and gets no
// body (the caller ends the stream with the head).
UpgradeAnswer toExtendedConnectResponse(http::ResponseHead& head, std::string_view key);

}  // namespace portico::http2
