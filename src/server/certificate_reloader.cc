#include "server/certificate_reloader.h"

#include <algorithm>

#include "core/log.h"
#include "tls/server_context.h"
#include "tls/ticket_keys.h"
#include "tls/transport_factory.h"

namespace portico::server {

bool CertificateReloader::FileStamp::operator==(const FileStamp& other) const {
  return path == other.path && device == other.device && inode == other.inode &&
         size == other.size && modified.tv_sec == other.modified.tv_sec &&
         modified.tv_nsec == other.modified.tv_nsec;
}

CertificateReloader::CertificateReloader(event::EventLoop& loop,
                                         const proxy::ProxySnapshot& snapshot)
    : poll_timer_(loop, [this] { poll(); }), rotation_timer_(loop, [this] { rotateTicketKeys(); }) {
  for (const auto& listener : snapshot.listeners) {
    if (!listener->tls || !listener->config.tls) continue;
    Watched watched{listener.get(), {}};
    for (const tls::CertificateFiles& files : listener->config.tls->certificates) {
      watched.files.push_back(stampOf(files.cert));
      watched.files.push_back(stampOf(files.key));
    }
    watched_.push_back(std::move(watched));
    const tls::ServerTlsConfig& tls = *listener->config.tls;
    if (tls.session_tickets && (rotation_ms_ == 0 || tls.ticket_key_rotation_ms < rotation_ms_))
      rotation_ms_ = tls.ticket_key_rotation_ms;
  }
  if (!watched_.empty()) poll_timer_.armAfterMs(kPollMs);
  if (rotation_ms_ > 0) rotation_timer_.armAfterMs(rotation_ms_);
}

CertificateReloader::FileStamp CertificateReloader::stampOf(const std::string& path) {
  FileStamp stamp;
  stamp.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    stamp.device = st.st_dev;
    stamp.inode = st.st_ino;
    stamp.size = st.st_size;
    stamp.modified = st.st_mtim;
  }
  return stamp;
}

void CertificateReloader::poll() {
  for (Watched& watched : watched_) {
    bool changed = false;
    for (FileStamp& file : watched.files) changed = changed || !(stampOf(file.path) == file);
    if (changed) reload(watched, "certificate files changed");
  }
  poll_timer_.armAfterMs(kPollMs);
}

void CertificateReloader::reloadAll() {
  if (watched_.empty()) {
    PLOG_INFO("SIGHUP: no TLS listener to reload (configuration reload is not supported yet)");
    return;
  }
  for (Watched& watched : watched_) reload(watched, "SIGHUP");
}

bool CertificateReloader::reload(Watched& watched, const char* why) {
  const proxy::ListenerRuntime& listener = *watched.listener;
  // Stamps first: a file still being written changes again, and is retried on the next poll;
  // a refused one is not retried until it changes.
  for (FileStamp& file : watched.files) file = stampOf(file.path);
  std::string key;
  auto built = tls::ServerContext::build(*listener.config.tls, &key);
  if (!built) {
    PLOG_ERROR(
        "listener {}: certificates not reloaded ({}): tls.{}: {}; still serving the "
        "previous ones",
        listener.config.name, why, key, built.error().detail);
    return false;
  }
  listener.tls->replace(std::move(built.value()));
  PLOG_INFO("listener {}: certificates reloaded ({})", listener.config.name, why);
  return true;
}

void CertificateReloader::rotateTicketKeys() {
  tls::TicketKeys::shared().rotate();
  PLOG_DEBUG("session ticket keys rotated");
  rotation_timer_.armAfterMs(rotation_ms_);
}

}  // namespace portico::server
