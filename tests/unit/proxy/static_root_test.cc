#include "proxy/static_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace portico::proxy {
namespace {

// A temporary tree:
//   outside/secret.txt
//   root/a.txt, root/dir/b.txt
//   root/inside -> a.txt, root/up_inside -> dir/../a.txt (relative, stay below the root)
//   root/absolute -> <root>/a.txt, root/escape -> ../outside/secret.txt, root/out_dir -> ../outside
class StaticRootTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/portico-static-root-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    ASSERT_EQ(mkdir((base_ + "/outside").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/dir").c_str(), 0755), 0);
    writeFile(base_ + "/outside/secret.txt");
    writeFile(root_ + "/a.txt");
    writeFile(root_ + "/dir/b.txt");
    ASSERT_EQ(symlink("a.txt", (root_ + "/inside").c_str()), 0);
    ASSERT_EQ(symlink("dir/../a.txt", (root_ + "/up_inside").c_str()), 0);
    ASSERT_EQ(symlink((root_ + "/a.txt").c_str(), (root_ + "/absolute").c_str()), 0);
    ASSERT_EQ(symlink("../outside/secret.txt", (root_ + "/escape").c_str()), 0);
    ASSERT_EQ(symlink("../outside", (root_ + "/out_dir").c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  static void writeFile(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("x", f);
    std::fclose(f);
  }

  // 0 when `rel` opened (and the descriptor was closed), else the errno.
  int openErrno(const StaticRoot& root, const std::string& rel) {
    int fd = root.open(rel);
    if (fd < 0) return -fd;
    ::close(fd);
    return 0;
  }

  std::string base_, root_;
};

TEST_P(StaticRootTest, OpensFilesBelowTheRoot) {
  StaticRoot root(root_, GetParam());
  EXPECT_EQ(openErrno(root, "a.txt"), 0);
  EXPECT_EQ(openErrno(root, "dir/b.txt"), 0);
  EXPECT_EQ(openErrno(root, "dir"), 0);
  EXPECT_EQ(openErrno(root, ""), 0);
  EXPECT_EQ(openErrno(root, "missing.txt"), ENOENT);
  EXPECT_EQ(openErrno(root, "a.txt/x"), ENOTDIR);
}

TEST_P(StaticRootTest, RefusesEveryWayOut) {
  StaticRoot root(root_, GetParam());
  for (const char* rel :
       {"escape", "out_dir/secret.txt", "../outside/secret.txt", "dir/../a.txt", "absolute"}) {
    int err = openErrno(root, rel);
    EXPECT_TRUE(err == EXDEV || err == ELOOP) << rel << ": " << err;
  }
}

TEST_P(StaticRootTest, RelativeSymlinksInsideTheRoot) {
  StaticRoot root(root_, GetParam());
  // openat2 follows them; the fallback walk refuses every symlink.
  int expected = GetParam() ? ELOOP : 0;
  EXPECT_EQ(openErrno(root, "inside"), expected);
  EXPECT_EQ(openErrno(root, "up_inside"), expected);
}

TEST(StaticRootMissingTest, EveryOpenFailsWhenTheRootCannotBeOpened) {
  StaticRoot root("/nonexistent/portico/root");
  EXPECT_EQ(root.open("a.txt"), -ENOENT);
}

INSTANTIATE_TEST_SUITE_P(Modes, StaticRootTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Walk" : "Openat2"; });

}  // namespace
}  // namespace portico::proxy
