#pragma once
// The main thread's TLS upkeep: it rotates the session ticket keys, and reloads the
// certificates of every TLS listener when their files change or on SIGHUP.
//
// A reload builds a whole new context from the listener's configuration (the same checks as
// at start-up) and swaps it into the listener's transport factory: connections accepted from
// then on use it, open ones keep theirs, so nothing is dropped. A certificate that fails the
// checks is refused with a log line naming the file, and the old one keeps serving. Ticket
// keys are process-wide, so clients keep resuming across a reload.
//
// Files are watched by polling their identity (device, inode, size, modification time) every
// couple of seconds: editors and certificate tools replace files by renaming, which inotify on
// the file itself would miss, and a stat per file per poll costs nothing.

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "event/event_loop.h"
#include "proxy/snapshot.h"

namespace portico::server {

class CertificateReloader {
 public:
  static constexpr int64_t kPollMs = 2000;

  CertificateReloader(event::EventLoop& loop, const proxy::ProxySnapshot& snapshot);
  // SIGHUP: reload every TLS listener now, changed or not.
  void reloadAll();

 private:
  struct FileStamp {
    std::string path;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    struct timespec modified {};
    bool operator==(const FileStamp& other) const;
  };
  struct Watched {
    const proxy::ListenerRuntime* listener;
    std::vector<FileStamp> files;
  };
  static FileStamp stampOf(const std::string& path);
  void poll();
  // Builds and installs a new context; false (and a log line) when the files are refused.
  bool reload(Watched& watched, const char* why);
  void rotateTicketKeys();

  std::vector<Watched> watched_;
  event::Timer poll_timer_;
  event::Timer rotation_timer_;
  int64_t rotation_ms_ = 0;  // the shortest ticket_key_rotation of the TLS listeners
};

}  // namespace portico::server
