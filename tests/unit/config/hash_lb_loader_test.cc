// Loading `lb: ring_hash` / `lb: maglev`, their tuning sections, and routes' hash_policy.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/loader.h"

namespace portico::config {
namespace {

std::string withCluster(const std::string& cluster_keys, const std::string& proxy_keys = "") {
  return R"(
listeners:
  - name: main
    address: 127.0.0.1:8080
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - proxy:
              cluster: c
)" + proxy_keys +
         R"(
clusters:
  - name: c
    endpoints:
      - address: 127.0.0.1:9001
      - address: 127.0.0.1:9002
        weight: 3
)" + cluster_keys;
}

std::string firstError(const LoadResult& r) {
  return r.errors.empty() ? std::string("(none)") : r.errors[0].toString();
}

TEST(HashLbLoaderTest, RingHashAndMaglevWithTheirSections) {
  LoadResult r =
      loadConfigString(withCluster("    lb: ring_hash\n    ring_hash: { minimum_ring_size: 4096, "
                                   "maximum_ring_size: 65536 }\n"),
                       "t.yaml");
  ASSERT_TRUE(r.config.has_value()) << firstError(r);
  const upstream::ClusterConfig& c = r.config->clusters[0];
  EXPECT_EQ(c.lb, upstream::LbPolicy::RingHash);
  EXPECT_EQ(c.ring_hash.minimum_ring_size, 4096u);
  EXPECT_EQ(c.ring_hash.maximum_ring_size, 65536u);

  r = loadConfigString(withCluster("    lb: maglev\n    maglev: { table_size: 131071 }\n"),
                       "t.yaml");
  ASSERT_TRUE(r.config.has_value()) << firstError(r);
  EXPECT_EQ(r.config->clusters[0].lb, upstream::LbPolicy::Maglev);
  EXPECT_EQ(r.config->clusters[0].maglev.table_size, 131071u);
}

TEST(HashLbLoaderTest, BadTuningIsReportedAtItsKey) {
  LoadResult r = loadConfigString(
      withCluster("    lb: maglev\n    maglev: { table_size: 65536 }\n"), "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("clusters[0].maglev.table_size: table_size must be a prime"),
            std::string::npos)
      << firstError(r);

  r = loadConfigString(withCluster("    lb: ring_hash\n    ring_hash: { minimum_ring_size: 4096, "
                                   "maximum_ring_size: 1024 }\n"),
                       "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("maximum_ring_size 1024 is below minimum_ring_size 4096"),
            std::string::npos)
      << firstError(r);

  r = loadConfigString(withCluster("    ring_hash: { minimum_ring_size: 4096 }\n"), "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("ring_hash settings apply only with lb: ring_hash"),
            std::string::npos)
      << firstError(r);
}

TEST(HashLbLoaderTest, HashPolicySourcesInOrder) {
  LoadResult r = loadConfigString(withCluster("    lb: maglev\n",
                                              "              hash_policy:\n"
                                              "                - header: X-User\n"
                                              "                - cookie: session\n"
                                              "                - query_parameter: uid\n"
                                              "                - path\n"
                                              "                - client_ip: true\n"),
                                  "t.yaml");
  ASSERT_TRUE(r.config.has_value()) << firstError(r);
  const auto& policy = r.config->listeners[0].virtual_hosts[0].routes[0].proxy.hash_policy;
  using Source = proxy::HashPolicyEntry::Source;
  ASSERT_EQ(policy.size(), 5u);
  EXPECT_EQ(policy[0].source, Source::Header);
  EXPECT_EQ(policy[0].name, "X-User");
  EXPECT_EQ(policy[1].source, Source::Cookie);
  EXPECT_EQ(policy[1].name, "session");
  EXPECT_EQ(policy[2].source, Source::QueryParameter);
  EXPECT_EQ(policy[2].name, "uid");
  EXPECT_EQ(policy[3].source, Source::Path);
  EXPECT_EQ(policy[4].source, Source::ClientIp);
}

TEST(HashLbLoaderTest, HashPolicyNeedsAHashingCluster) {
  LoadResult r =
      loadConfigString(withCluster("    lb: weighted_round_robin\n",
                                   "              hash_policy: [ { header: X-User } ]\n"),
                       "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("proxy.cluster: this route has a hash_policy but cluster \"c\" "
                               "does not hash"),
            std::string::npos)
      << firstError(r);
}

TEST(HashLbLoaderTest, BadHashPolicyItems) {
  for (const char* item : {"                - header: X-A\n                  cookie: b\n",
                           "                - uri\n", "                - cookie: \"a;b\"\n",
                           "                - path: false\n", "                - {}\n"}) {
    LoadResult r = loadConfigString(
        withCluster("    lb: ring_hash\n", std::string("              hash_policy:\n") + item),
        "t.yaml");
    EXPECT_FALSE(r.config.has_value()) << item;
    EXPECT_NE(firstError(r).find("hash_policy[0]"), std::string::npos) << firstError(r);
  }
}

// A secret file holding `content`, removed afterwards.
struct SecretFile {
  explicit SecretFile(const std::string& content) {
    char name[] = "/tmp/portico-sticky-XXXXXX";
    const int fd = mkstemp(name);
    path = name;
    EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
  }
  ~SecretFile() { std::remove(path.c_str()); }
  std::string path;
};

TEST(HashLbLoaderTest, StickyReadsItsSecretAndNeverShowsIt) {
  SecretFile good("a-secret-of-thirty-two-bytes-xyz\n");
  LoadResult r = loadConfigString(
      withCluster("    sticky: { cookie: srv, ttl: 2h, secret_file: " + good.path + " }\n"),
      "t.yaml");
  ASSERT_TRUE(r.config.has_value()) << firstError(r);
  const auto& sticky = r.config->clusters[0].sticky;
  ASSERT_TRUE(sticky.has_value());
  EXPECT_EQ(sticky->cookie, "srv");
  EXPECT_EQ(sticky->ttl_ms, 2 * 3600 * 1000);
  EXPECT_EQ(sticky->secret, "a-secret-of-thirty-two-bytes-xyz");  // final newline dropped

  SecretFile short_secret("tooshort");
  r = loadConfigString(
      withCluster("    sticky: { cookie: srv, secret_file: " + short_secret.path + " }\n"),
      "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("must hold 16 to 4096 bytes"), std::string::npos) << firstError(r);
  EXPECT_EQ(firstError(r).find("tooshort"), std::string::npos) << "the secret is in the error";

  r = loadConfigString(
      withCluster("    sticky: { cookie: \"a b\", secret_file: " + good.path + " }\n"), "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("clusters[0].sticky.cookie"), std::string::npos) << firstError(r);

  r = loadConfigString(withCluster("    sticky: { cookie: srv }\n"), "t.yaml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(firstError(r).find("secret_file"), std::string::npos) << firstError(r);
}

}  // namespace
}  // namespace portico::config
