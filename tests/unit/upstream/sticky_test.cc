// Sticky cookies: what Portico signs it accepts; anything altered, expired or signed with
// another secret it ignores.

#include "upstream/sticky.h"

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

StickyConfig config(int64_t ttl_ms = 3600 * 1000) {
  StickyConfig c;
  c.cookie = "portico_sticky";
  c.ttl_ms = ttl_ms;
  c.secret = "0123456789abcdef0123456789abcdef";
  return c;
}

constexpr int64_t kNow = 1800000000;

TEST(StickyTest, AcceptsItsOwnCookieUntilItExpires) {
  const std::string value = makeStickyValue(config(), 0x1234abcd5678ef90ull, kNow);
  EXPECT_EQ(readStickyValue(config(), value, kNow), 0x1234abcd5678ef90ull);
  EXPECT_EQ(readStickyValue(config(), value, kNow + 3599), 0x1234abcd5678ef90ull);
  EXPECT_EQ(readStickyValue(config(), value, kNow + 3600), std::nullopt);
  // Without a ttl the cookie does not expire.
  const std::string session = makeStickyValue(config(0), 7, kNow);
  EXPECT_EQ(readStickyValue(config(0), session, kNow + 10 * 365 * 86400), 7u);
}

TEST(StickyTest, RejectsForgeries) {
  const std::string value = makeStickyValue(config(), 0x1111111111111111ull, kNow);
  // Another host id with the old MAC.
  std::string other_host = value;
  other_host[0] = '2';
  EXPECT_EQ(readStickyValue(config(), other_host, kNow), std::nullopt);
  // A later expiry with the old MAC.
  std::string later = value;
  later[17] = 'f';
  EXPECT_EQ(readStickyValue(config(), later, kNow), std::nullopt);
  // One bit of the MAC.
  std::string bad_mac = value;
  bad_mac.back() = bad_mac.back() == '0' ? '1' : '0';
  EXPECT_EQ(readStickyValue(config(), bad_mac, kNow), std::nullopt);
  // Another secret, another cookie name.
  StickyConfig other_secret = config();
  other_secret.secret = "a different secret, long enough";
  EXPECT_EQ(readStickyValue(other_secret, value, kNow), std::nullopt);
  StickyConfig other_name = config();
  other_name.cookie = "other";
  EXPECT_EQ(readStickyValue(other_name, value, kNow), std::nullopt);
  // Not our shape at all.
  for (const char* junk : {"", "abc", "1111111111111111", "x.y.z"}) {
    EXPECT_EQ(readStickyValue(config(), junk, kNow), std::nullopt) << junk;
  }
}

TEST(StickyTest, SetCookieAttributes) {
  const std::string plain = stickySetCookie(config(), 5, kNow, /*secure=*/false);
  EXPECT_EQ(plain.rfind("portico_sticky=", 0), 0u);
  EXPECT_NE(plain.find("; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"), std::string::npos)
      << plain;
  EXPECT_EQ(plain.find("Secure"), std::string::npos);
  EXPECT_NE(stickySetCookie(config(), 5, kNow, true).find("; Secure"), std::string::npos);
  EXPECT_EQ(stickySetCookie(config(0), 5, kNow, false).find("Max-Age"), std::string::npos);
  // The secret never appears in what clients see.
  EXPECT_EQ(plain.find(config().secret), std::string::npos);
}

}  // namespace
}  // namespace portico::upstream
