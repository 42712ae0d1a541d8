// A request's consistent-hash key from its route's hash_policy.

#include "proxy/hash_key.h"

#include <gtest/gtest.h>

namespace portico::proxy {
namespace {

using Source = HashPolicyEntry::Source;

TEST(HashKeyTest, CookieAndQueryParameterLookup) {
  EXPECT_EQ(findCookie("a=1; session=xyz; b=2", "session"), "xyz");
  EXPECT_EQ(findCookie("session=\"quoted\"", "session"), "quoted");
  EXPECT_EQ(findCookie("xsession=1; sessionx=2", "session"), std::nullopt);
  EXPECT_EQ(findCookie("", "session"), std::nullopt);
  EXPECT_EQ(findQueryParameter("a=1&uid=42&uid=43", "uid"), "42");
  EXPECT_EQ(findQueryParameter("uid=&x=1", "uid"), std::nullopt);
  EXPECT_EQ(findQueryParameter("uid&x=1", "uid"), std::nullopt);
  EXPECT_EQ(findQueryParameter("xuid=1", "uid"), std::nullopt);
}

TEST(HashKeyTest, FirstSourceWithAValueWins) {
  std::vector<HashPolicyEntry> policy{
      {Source::Header, "X-User"}, {Source::Cookie, "sid"}, {Source::ClientIp, ""}};
  http::RequestHead head;
  head.path = "/a";
  net::Address client;
  ASSERT_TRUE(net::parseAddress("192.0.2.7:5555", &client));
  net::Address same_ip_other_port;
  ASSERT_TRUE(net::parseAddress("192.0.2.7:6666", &same_ip_other_port));

  const auto by_ip = computeHashKey(policy, head, &client);
  ASSERT_TRUE(by_ip.has_value());
  EXPECT_EQ(computeHashKey(policy, head, &same_ip_other_port), by_ip);  // the port is not hashed
  EXPECT_EQ(computeHashKey(policy, head, nullptr), std::nullopt);

  head.headers.add("Cookie", "theme=dark; sid=abc");
  const auto by_cookie = computeHashKey(policy, head, &client);
  EXPECT_NE(by_cookie, by_ip);
  head.headers.add("X-User", "");  // empty: absent
  EXPECT_EQ(computeHashKey(policy, head, &client), by_cookie);
  head.headers.set("X-User", "alice");
  const auto by_header = computeHashKey(policy, head, &client);
  EXPECT_NE(by_header, by_cookie);
  http::RequestHead other;
  other.headers.add("x-user", "alice");
  EXPECT_EQ(computeHashKey(policy, other, nullptr), by_header);  // names are case-insensitive
}

TEST(HashKeyTest, PathAndQuerySources) {
  http::RequestHead head;
  head.path = "/users/1";
  head.query = "uid=9";
  const auto path_key = computeHashKey({{Source::Path, ""}}, head, nullptr);
  const auto query_key = computeHashKey({{Source::QueryParameter, "uid"}}, head, nullptr);
  ASSERT_TRUE(path_key && query_key);
  EXPECT_NE(*path_key, *query_key);
  head.query = "uid=9&x=1";
  EXPECT_EQ(computeHashKey({{Source::QueryParameter, "uid"}}, head, nullptr), query_key);
  head.path = "/users/2";
  EXPECT_NE(computeHashKey({{Source::Path, ""}}, head, nullptr), path_key);
}

}  // namespace
}  // namespace portico::proxy
