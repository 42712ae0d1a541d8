// The top-level `admin:` section: off when absent, defaults, and the loopback rule.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace portico::config {
namespace {

using ::testing::HasSubstr;

// `admin` goes on line 1; the listener's address is 127.0.0.1:8080.
LoadResult load(const std::string& admin) {
  return loadConfigString(admin +
                              "\nlisteners:\n"
                              "  - name: main\n"
                              "    address: 127.0.0.1:8080\n"
                              "    virtual_hosts:\n"
                              "      - name: all\n"
                              "        domains: ['*']\n"
                              "        routes:\n"
                              "          - match: { prefix: / }\n"
                              "            direct_response: { status: 200 }\n",
                          "t.yaml");
}

TEST(AdminLoader, OffWhenAbsent) {
  LoadResult r = load("");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].toString();
  EXPECT_FALSE(r.config->admin.has_value());
}

TEST(AdminLoader, EmptyMappingMeansTheDefaultLoopbackAddress) {
  for (const char* text : {"admin: {}", "admin:"}) {
    LoadResult r = load(text);
    ASSERT_TRUE(r.errors.empty()) << r.errors[0].toString();
    ASSERT_TRUE(r.config->admin.has_value());
    EXPECT_EQ(r.config->admin->address_text, "127.0.0.1:9901");
    EXPECT_EQ(r.config->admin->address.port(), 9901);
    EXPECT_FALSE(r.config->admin->allow_remote);
  }
}

TEST(AdminLoader, LoopbackAddressesAreAccepted) {
  for (const char* text : {"admin: { address: 127.0.0.1:9000 }", "admin: { address: '[::1]:9000' }",
                           "admin: { address: 127.0.0.2:9000 }"}) {
    LoadResult r = load(text);
    EXPECT_TRUE(r.errors.empty()) << text << ": " << r.errors[0].toString();
  }
}

TEST(AdminLoader, RemoteAddressNeedsAllowRemote) {
  LoadResult refused = load("admin:\n  address: 0.0.0.0:9901");
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_EQ(refused.errors[0].line, 2);
  EXPECT_EQ(refused.errors[0].key, "admin.address");
  EXPECT_THAT(refused.errors[0].message, HasSubstr("allow_remote: true"));

  LoadResult allowed = load("admin: { address: '*:9901', allow_remote: true }");
  ASSERT_TRUE(allowed.errors.empty()) << allowed.errors[0].toString();
  EXPECT_TRUE(allowed.config->admin->allow_remote);
}

TEST(AdminLoader, BadValuesAreNamed) {
  LoadResult bad_address = load("admin: { address: localhost }");
  ASSERT_EQ(bad_address.errors.size(), 1u);
  EXPECT_THAT(bad_address.errors[0].message, HasSubstr("expected an address"));

  LoadResult unknown = load("admin: { adress: 127.0.0.1:9901 }");
  ASSERT_FALSE(unknown.errors.empty());
  EXPECT_THAT(unknown.errors[0].toString(), HasSubstr("adress"));

  LoadResult clash = load("admin: { address: 127.0.0.1:8080 }");
  ASSERT_EQ(clash.errors.size(), 1u);
  EXPECT_THAT(clash.errors[0].message, HasSubstr("overlaps listener \"main\""));
}

}  // namespace
}  // namespace portico::config
