#pragma once
// The directory a `static` route serves, opened once per configuration snapshot (on the main
// thread, while the route table is built) as an O_PATH descriptor, and the only way files
// below it are opened. Names are resolved relative to that descriptor by
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): checking that a file lies below the root
// and opening it are one step, so a symlink swapped in between cannot lead outside (a
// realpath() check before or after open() can be raced). Symlinks are followed while they
// stay below the root; an absolute symlink, or one that climbs out, fails with EXDEV.
// Where the kernel has no openat2 (before Linux 5.6, or a seccomp filter that hides it) the
// files are opened by a walk, one component at a time with O_NOFOLLOW, which refuses every
// symlink (ELOOP).
// Immutable after construction; workers share it read-only.

#include <string>
#include <string_view>

namespace portico::proxy {

class StaticRoot {
 public:
  // Opens `path`. If that fails, logs an error and every open() fails with ENOENT. With
  // `component_walk`, always uses the walk (for tests of the fallback).
  explicit StaticRoot(const std::string& path, bool component_walk = false);
  ~StaticRoot();
  StaticRoot(const StaticRoot&) = delete;
  StaticRoot& operator=(const StaticRoot&) = delete;

  // Opens `relative` ("a/b.txt"; "" is the root itself) read-only and non-blocking. Returns
  // the descriptor, or -errno: EXDEV or ELOOP when the name leads outside the root or through a
  // refused symlink, ENOENT, ENOTDIR, EACCES as open(2) says. `relative` must not start with
  // '/'; a ".." component is refused (EXDEV) in either mode.
  // Any thread; blocks for as long as the file system takes (page-cache speed).
  int open(std::string_view relative) const;

 private:
  int openByWalk(std::string_view relative) const;

  int fd_ = -1;
  bool walk_ = false;
};

}  // namespace portico::proxy
