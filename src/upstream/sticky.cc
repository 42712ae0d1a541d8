#include "upstream/sticky.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

#include "upstream/hash.h"

namespace portico::upstream {
namespace {

// Fixed forever: a change makes every client's cookie name another (or no) host.
constexpr uint64_t kStickySeed = 0x737469636b79ull;  // "sticky"

std::string hex(const unsigned char* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// HMAC over "name|id.expiry": the cookie's name is covered so a value minted for one sticky
// cookie is not accepted as another's.
std::string mac(const StickyConfig& config, std::string_view id_and_expiry) {
  std::string message = config.cookie;
  message += '|';
  message += id_and_expiry;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), config.secret.data(), static_cast<int>(config.secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &out_len);
  return hex(out, out_len);
}

std::optional<uint64_t> parseHex(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

int64_t expiryOf(const StickyConfig& config, int64_t now_s) {
  return config.ttl_ms == 0 ? 0 : now_s + (config.ttl_ms + 999) / 1000;
}

}  // namespace

uint64_t stickyHostId(const Host& host) {
  return hash64(hashIdentity(host), kStickySeed);
}

std::string makeStickyValue(const StickyConfig& config, uint64_t host_id, int64_t now_s) {
  std::string body = hex64(host_id) + "." + hex64(static_cast<uint64_t>(expiryOf(config, now_s)));
  return body + "." + mac(config, body);
}

std::optional<uint64_t> readStickyValue(const StickyConfig& config, std::string_view value,
                                        int64_t now_s) {
  // 16 hex, '.', 16 hex, '.', 64 hex: anything else is not ours.
  constexpr size_t kBody = 16 + 1 + 16;
  if (value.size() != kBody + 1 + 64 || value[16] != '.' || value[kBody] != '.') {
    return std::nullopt;
  }
  const std::string_view body = value.substr(0, kBody);
  const std::string expected = mac(config, body);
  if (CRYPTO_memcmp(expected.data(), value.data() + kBody + 1, expected.size()) != 0) {
    return std::nullopt;
  }
  const std::optional<uint64_t> id = parseHex(body.substr(0, 16), 16);
  const std::optional<uint64_t> expiry = parseHex(body.substr(17), 16);
  if (!id || !expiry) return std::nullopt;
  if (*expiry != 0 && static_cast<int64_t>(*expiry) <= now_s) return std::nullopt;
  return id;
}

std::string stickySetCookie(const StickyConfig& config, uint64_t host_id, int64_t now_s,
                            bool secure) {
  std::string out = config.cookie + "=" + makeStickyValue(config, host_id, now_s) + "; Path=/";
  if (config.ttl_ms != 0) out += "; Max-Age=" + std::to_string((config.ttl_ms + 999) / 1000);
  out += "; HttpOnly; SameSite=Lax";
  if (secure) out += "; Secure";
  return out;
}

}  // namespace portico::upstream
