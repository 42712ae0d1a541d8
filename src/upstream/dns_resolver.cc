#include "upstream/dns_resolver.h"

#include <poll.h>

#include <mutex>

namespace portico::upstream {

// One socket c-ares uses, registered with the loop. Freed after the loop turn (c-ares may
// close it from inside ares_process_fd, while its onIoReady is on the stack).
class DnsResolver::Socket final : public event::IoHandler, public event::Deletable {
 public:
  Socket(DnsResolver& owner, ares_socket_t fd) : owner_(owner), fd_(fd) {}
  void onIoReady(uint32_t events) override {
    const bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0;
    const bool writable = (events & EPOLLOUT) != 0;
    owner_.process(readable ? fd_ : ARES_SOCKET_BAD, writable ? fd_ : ARES_SOCKET_BAD);
    // Edge-triggered: keep processing while the socket has more to read (a TCP answer is read
    // in steps). Bounded: the rest waits for the timer or the next edge.
    for (int i = 0; i < 64 && !closed_; ++i) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 0) != 1 || (p.revents & POLLIN) == 0) break;
      owner_.process(fd_, ARES_SOCKET_BAD);
    }
  }
  bool closed_ = false;

 private:
  DnsResolver& owner_;
  ares_socket_t fd_;
};

namespace {

void initLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

struct AddressQuery {
  DnsResolver::AddressCallback callback;
  const bool* destroying;
};

struct SrvQuery {
  DnsResolver::SrvCallback callback;
  const bool* destroying;
};

std::string errorText(int status) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "no such name (NXDOMAIN)";
    case ARES_ENODATA:
      return "no records of that type";
    case ARES_ESERVFAIL:
      return "server failure (SERVFAIL)";
    case ARES_EREFUSED:
      return "query refused";
    case ARES_ETIMEOUT:
      return "timed out";
    case ARES_ECONNREFUSED:
      return "connection refused by the DNS server";
    default:
      return ares_strerror(status);
  }
}

void onAddresses(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  std::unique_ptr<AddressQuery> query(static_cast<AddressQuery*>(arg));
  std::vector<ResolvedAddress> addresses;
  if (result != nullptr) {
    for (ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
      if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
      ResolvedAddress a;
      a.address = net::addressFromSockaddr(n->ai_addr, static_cast<socklen_t>(n->ai_addrlen));
      a.ttl_s = n->ai_ttl > 0 ? static_cast<uint32_t>(n->ai_ttl) : 0;
      addresses.push_back(a);
    }
    ares_freeaddrinfo(result);
  }
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || *query->destroying) return;
  if (status != ARES_SUCCESS) {
    query->callback(errorText(status), {});
  } else if (addresses.empty()) {
    query->callback(errorText(ARES_ENODATA), {});
  } else {
    query->callback({}, std::move(addresses));
  }
}

void onSrv(void* arg, int status, int /*timeouts*/, unsigned char* data, int length) {
  std::unique_ptr<SrvQuery> query(static_cast<SrvQuery*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || *query->destroying) return;
  if (status != ARES_SUCCESS) {
    query->callback(errorText(status), {});
    return;
  }
  SrvAnswer answer;
  if (!parseSrvResponse(data, length, &answer)) {
    query->callback("malformed SRV response", {});
  } else if (answer.records.empty()) {
    query->callback(errorText(ARES_ENODATA), {});
  } else {
    query->callback({}, std::move(answer));
  }
}

}  // namespace

DnsResolver::DnsResolver(event::EventLoop& loop)
    : loop_(loop), timer_(loop, [this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); }) {}

std::unique_ptr<DnsResolver> DnsResolver::create(event::EventLoop& loop, const DnsConfig& config,
                                                 std::string* error) {
  initLibrary();
  std::unique_ptr<DnsResolver> resolver(new DnsResolver(loop));
  ares_options options{};
  options.sock_state_cb = &DnsResolver::onSocketState;
  options.sock_state_cb_data = resolver.get();
  options.timeout = static_cast<int>(config.timeout_ms);
  options.tries = static_cast<int>(config.tries);
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int status = ares_init_options(&resolver->channel_, &options, mask);
  if (status != ARES_SUCCESS) {
    *error = std::string("c-ares: ") + ares_strerror(status);
    resolver->channel_ = nullptr;
    return nullptr;
  }
  if (!config.resolvers.empty()) {
    std::string csv;
    for (const std::string& r : config.resolvers) csv += (csv.empty() ? "" : ",") + r;
    status = ares_set_servers_ports_csv(resolver->channel_, csv.c_str());
    if (status != ARES_SUCCESS) {
      *error = "c-ares refused resolvers " + csv + ": " + ares_strerror(status);
      return nullptr;
    }
  }
  return resolver;
}

DnsResolver::~DnsResolver() {
  destroying_ = true;
  if (channel_ != nullptr) ares_destroy(channel_);
  for (auto& [fd, socket] : sockets_) loop_.removeFd(fd);
}

void DnsResolver::onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<DnsResolver*>(data);
  auto it = self->sockets_.find(fd);
  if (!readable && !writable) {
    if (it == self->sockets_.end()) return;
    self->loop_.removeFd(fd);
    it->second->closed_ = true;
    self->loop_.deferredDelete(std::move(it->second));
    self->sockets_.erase(it);
    return;
  }
  const uint32_t events = EPOLLIN | EPOLLRDHUP | (writable ? EPOLLOUT : 0u);
  if (it == self->sockets_.end()) {
    auto socket = std::make_unique<Socket>(*self, fd);
    self->loop_.addFd(fd, events, socket.get());
    self->sockets_.emplace(fd, std::move(socket));
  } else {
    self->loop_.modifyFd(fd, events, it->second.get());
  }
}

void DnsResolver::process(ares_socket_t read_fd, ares_socket_t write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  armTimer();
}

void DnsResolver::armTimer() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    timer_.disarm();  // nothing pending
    return;
  }
  // Rounded up, so the timer never fires just before c-ares' deadline and spins.
  timer_.armAfterMs(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

void DnsResolver::resolveAddresses(const std::string& name, DnsFamily family,
                                   AddressCallback callback) {
  ares_addrinfo_hints hints{};
  hints.ai_family = family == DnsFamily::V4   ? AF_INET
                    : family == DnsFamily::V6 ? AF_INET6
                                              : AF_UNSPEC;
  // No sorting by RFC 6724: it connects a UDP socket per address, and the order is ours.
  hints.ai_flags = ARES_AI_NOSORT;
  auto* query = new AddressQuery{std::move(callback), &destroying_};
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &onAddresses, query);
  armTimer();
}

void DnsResolver::resolveSrv(const std::string& name, SrvCallback callback) {
  constexpr int kClassIn = 1;
  constexpr int kTypeSrv = 33;
  auto* query = new SrvQuery{std::move(callback), &destroying_};
  ares_query(channel_, name.c_str(), kClassIn, kTypeSrv, &onSrv, query);
  armTimer();
}

}  // namespace portico::upstream
