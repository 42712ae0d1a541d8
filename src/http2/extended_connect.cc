#include "http2/extended_connect.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>

namespace portico::http2 {

namespace {
// RFC 6455 1.3: the GUID appended to the key before hashing.
constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* bytes, size_t length) {
  std::string out(4 * ((length + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes,
                                static_cast<int>(length));
  out.resize(static_cast<size_t>(n));
  return out;
}
}  // namespace

std::string webSocketAccept(std::string_view key) {
  std::string input(key);
  input += kWebSocketGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr);
  return base64(digest, digest_len);
}

std::string toWebSocketUpgrade(http::RequestHead& head) {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    // The key only proves that the backend read this handshake; it is no secret, so a failed
    // generator must not fail the request: a per-thread count still differs per request.
    static thread_local uint64_t counter = 0;
    ++counter;
    for (size_t i = 0; i < sizeof nonce; ++i)
      nonce[i] = static_cast<unsigned char>(counter >> (i % 8 * 8));
  }
  std::string key = base64(nonce, sizeof nonce);
  head.upgraded_from_connect.assign(kWebSocketProtocol);
  head.method = http::Method::Get;
  head.method_text = "GET";
  head.headers.remove("Sec-WebSocket-Key");
  head.headers.remove("Sec-WebSocket-Version");
  head.headers.remove("Upgrade");
  head.headers.remove("Connection");
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "Upgrade");
  head.headers.add("Sec-WebSocket-Key", key);
  head.headers.add("Sec-WebSocket-Version", "13");
  return key;
}

UpgradeAnswer toExtendedConnectResponse(http::ResponseHead& head, std::string_view key) {
  const bool switched = head.status == 101;
  if (!switched && head.status / 100 != 2) return UpgradeAnswer::Refused;
  auto accept = head.headers.get("Sec-WebSocket-Accept");
  if (!switched || !accept || *accept != webSocketAccept(key)) {
    head.status = 502;
    head.reason.clear();
    head.headers.clear();
    head.headers.add("Content-Length", "0");
    return UpgradeAnswer::BadUpgrade;
  }
  // HTTP/2 has no Upgrade or Connection (RFC 9113 8.2.2); the accept was ours to check.
  head.status = 200;
  head.reason.clear();
  head.headers.remove("Sec-WebSocket-Accept");
  head.headers.remove("Upgrade");
  head.headers.remove("Connection");
  return UpgradeAnswer::Accepted;
}

}  // namespace portico::http2
