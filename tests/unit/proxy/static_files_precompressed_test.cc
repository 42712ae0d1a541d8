#include "proxy/static_files_precompressed.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace portico::proxy {
namespace {

using http::ContentCoding;

// A temporary tree:
//   outside/secret.gz
//   root/all.txt with all.txt.br, all.txt.zst, all.txt.gz (each holding its coding's name)
//   root/odd.txt with odd.txt.br a directory, odd.txt.zst -> ../outside/secret.gz (leaves the
//     root), odd.txt.gz -> all.txt.gz (stays below it)
class PrecompressedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/portico-precompressed-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    std::string root = base_ + "/root";
    ASSERT_EQ(mkdir((base_ + "/outside").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
    writeFile(base_ + "/outside/secret.gz", "secret");
    for (const char* name : {"all.txt", "odd.txt"}) writeFile(root + "/" + name, "plain");
    writeFile(root + "/all.txt.br", "br");
    writeFile(root + "/all.txt.zst", "zstd");
    writeFile(root + "/all.txt.gz", "gzip");
    ASSERT_EQ(mkdir((root + "/odd.txt.br").c_str(), 0755), 0);
    ASSERT_EQ(symlink("../outside/secret.gz", (root + "/odd.txt.zst").c_str()), 0);
    ASSERT_EQ(symlink("all.txt.gz", (root + "/odd.txt.gz").c_str()), 0);
    root_ = std::make_unique<StaticRoot>(root);
  }
  void TearDown() override {
    root_.reset();
    std::filesystem::remove_all(base_);
  }

  static void writeFile(const std::string& path, const char* text) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text, f);
    std::fclose(f);
  }

  // The coding chosen and the chosen sibling's content ("" when none).
  std::pair<ContentCoding, std::string> pick(const char* rel, const char* accept,
                                             std::vector<ContentCoding> preference) {
    Sibling s = openPrecompressed(*root_, rel, accept, preference);
    if (s.fd < 0) return {s.coding, ""};
    EXPECT_TRUE(S_ISREG(s.st.st_mode));
    char buf[32];
    ssize_t n = pread(s.fd, buf, sizeof buf, 0);
    ::close(s.fd);
    return {s.coding, std::string(buf, n > 0 ? static_cast<size_t>(n) : 0)};
  }

  std::string base_;
  std::unique_ptr<StaticRoot> root_;
};

constexpr ContentCoding kBr = ContentCoding::Brotli, kZstd = ContentCoding::Zstd,
                        kGzip = ContentCoding::Gzip, kIdentity = ContentCoding::Identity;

TEST_F(PrecompressedTest, ServerPreferenceBreaksTiesAndQValuesWin) {
  EXPECT_EQ(pick("all.txt", "gzip, br, zstd", {kBr, kZstd, kGzip}).second, "br");
  EXPECT_EQ(pick("all.txt", "gzip, br, zstd", {kZstd, kGzip, kBr}).second, "zstd");
  EXPECT_EQ(pick("all.txt", "br;q=0.5, gzip;q=0.9", {kBr, kZstd, kGzip}).second, "gzip");
  EXPECT_EQ(pick("all.txt", "*;q=0.1, zstd;q=0.2", {kBr, kGzip, kZstd}).second, "zstd");
  EXPECT_EQ(pick("all.txt", "gzip", {kBr, kZstd}).first, kIdentity);  // gzip not configured
}

TEST_F(PrecompressedTest, NoAcceptableCodingMeansTheFileItself) {
  EXPECT_EQ(pick("all.txt", "", {kBr, kZstd, kGzip}).first, kIdentity);
  EXPECT_EQ(pick("all.txt", "deflate", {kBr, kZstd, kGzip}).first, kIdentity);
  EXPECT_EQ(pick("all.txt", "br;q=0, gzip;q=0, zstd;q=0", {kBr, kZstd, kGzip}).first, kIdentity);
  EXPECT_EQ(pick("all.txt", "identity;q=1, gzip;q=0.5", {kGzip}).first, kIdentity);
  // A file without siblings: identity, even when the client refuses identity.
  EXPECT_EQ(pick("all.txt.gz", "gzip, identity;q=0", {kGzip}).first, kIdentity);
}

TEST_F(PrecompressedTest, OnlyRegularSiblingsBelowTheRootCount) {
  // odd.txt.br is a directory and odd.txt.zst leads out of the root: both are passed over, and
  // the next acceptable coding wins even at a lower q.
  auto [coding, body] = pick("odd.txt", "br, zstd, gzip;q=0.1", {kBr, kZstd, kGzip});
  EXPECT_EQ(coding, kGzip);
  EXPECT_EQ(body, "gzip");  // through a symlink that stays below the root
  EXPECT_EQ(pick("odd.txt", "br, zstd", {kBr, kZstd, kGzip}).first, kIdentity);
}

// Every line of the field counts, in order.
TEST(JoinedValuesTest, JoinsAcceptEncodingLines) {
  std::string storage;
  http::HeaderMap headers;
  EXPECT_EQ(http::joinedValues(headers, "Accept-Encoding", &storage), "");
  headers.add("accept-encoding", "br;q=0.5");
  EXPECT_EQ(http::joinedValues(headers, "Accept-Encoding", &storage), "br;q=0.5");
  headers.add("Host", "a");
  headers.add("Accept-Encoding", "gzip");
  EXPECT_EQ(http::joinedValues(headers, "Accept-Encoding", &storage), "br;q=0.5, gzip");
}

}  // namespace
}  // namespace portico::proxy
