#include "proxy/static_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/log.h"

namespace portico::proxy {

namespace {

constexpr int kFileFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

int openBeneath(int dir, const char* name, int flags) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, name, &how, sizeof how));
}

}  // namespace

StaticRoot::StaticRoot(const std::string& path, bool component_walk) : walk_(component_walk) {
  fd_ = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    PLOG_ERROR("static root {}: cannot open: {}; its files get 404", path, std::strerror(errno));
    return;
  }
  if (walk_) return;
  int probe = openBeneath(fd_, ".", O_PATH | O_CLOEXEC);
  if (probe >= 0) {
    ::close(probe);
    return;
  }
  // ENOSYS: no openat2 before Linux 5.6; EPERM: what older seccomp profiles answer for
  // system calls they do not know.
  if (errno == ENOSYS || errno == EPERM) {
    PLOG_WARN(
        "static root {}: openat2 unavailable ({}); opening files component by component, "
        "symlinks refused",
        path, std::strerror(errno));
    walk_ = true;
  }
}

StaticRoot::~StaticRoot() {
  if (fd_ >= 0) ::close(fd_);
}

int StaticRoot::open(std::string_view relative) const {
  if (fd_ < 0) return -ENOENT;
  if (walk_) return openByWalk(relative);
  std::string name(relative.empty() ? std::string_view(".") : relative);
  // RESOLVE_BENEATH allows ".." that stays below the root; refuse it as the walk does, so both
  // modes accept the same names.
  for (size_t pos = 0; pos <= name.size();) {
    size_t slash = name.find('/', pos);
    if (slash == std::string::npos) slash = name.size();
    if (name.compare(pos, slash - pos, "..") == 0) return -EXDEV;
    pos = slash + 1;
  }
  int fd = openBeneath(fd_, name.c_str(), kFileFlags);
  return fd >= 0 ? fd : -errno;
}

int StaticRoot::openByWalk(std::string_view relative) const {
  int dir = fd_;
  auto close_dir = [&dir, this] {
    if (dir != fd_) ::close(dir);
  };
  while (true) {
    size_t slash = relative.find('/');
    std::string component(relative.substr(0, slash));
    if (component.empty()) component = ".";
    if (component == "..") {
      close_dir();
      return -EXDEV;
    }
    if (slash == std::string_view::npos) {
      int fd = ::openat(dir, component.c_str(), kFileFlags | O_NOFOLLOW);
      int err = errno;
      close_dir();
      return fd >= 0 ? fd : -err;
    }
    relative.remove_prefix(slash + 1);
    // O_PATH with O_NOFOLLOW opens a symlink itself, so fstat tells it apart from a directory.
    int next = ::openat(dir, component.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close_dir();
    if (next < 0) return -err;
    dir = next;
    struct stat st {};
    if (::fstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      int result = S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
      close_dir();
      return result;
    }
  }
}

}  // namespace portico::proxy
