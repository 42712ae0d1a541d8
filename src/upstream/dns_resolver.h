#pragma once
// DnsResolver: asynchronous DNS queries with c-ares on an event loop (the main thread's), no
// extra thread and no blocking call.
//
// c-ares tells us which sockets it uses (ARES_OPT_SOCK_STATE_CB); each is registered with the
// loop and handed back to ares_process_fd when ready. The loop is edge-triggered and c-ares
// reads a TCP answer in steps, so after processing a readable socket the resolver polls it
// (zero timeout) and processes again while it stays readable. One timer follows
// ares_timeout(): retries and timeouts happen there.
//
// Callbacks run on the loop's thread, usually from the loop, but c-ares may also answer
// before resolve*() returns (a name from /etc/hosts, a query refused at once): callers must
// not assume either. Destroying the resolver cancels its queries without calling them.

#include <ares.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event/event_loop.h"
#include "upstream/cluster_config.h"
#include "upstream/dns_message.h"

namespace portico::upstream {

class DnsResolver {
 public:
  // `error` empty: success (the list may still be empty only for SRV names with no records).
  using AddressCallback =
      std::function<void(const std::string& error, std::vector<ResolvedAddress> addresses)>;
  using SrvCallback = std::function<void(const std::string& error, SrvAnswer answer)>;

  // Null with *error set when c-ares cannot be set up (bad resolvers, no memory).
  static std::unique_ptr<DnsResolver> create(event::EventLoop& loop, const DnsConfig& config,
                                             std::string* error);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // A/AAAA records of `name` (both for DnsFamily::Any). An answer without addresses is an
  // error ("no address records").
  void resolveAddresses(const std::string& name, DnsFamily family, AddressCallback callback);
  // The SRV records of `name`, with any addresses the server added.
  void resolveSrv(const std::string& name, SrvCallback callback);

 private:
  class Socket;
  explicit DnsResolver(event::EventLoop& loop);
  static void onSocketState(void* data, ares_socket_t fd, int readable, int writable);
  void process(ares_socket_t read_fd, ares_socket_t write_fd);
  void armTimer();

  event::EventLoop& loop_;
  ares_channel channel_ = nullptr;
  event::Timer timer_;
  std::map<ares_socket_t, std::unique_ptr<Socket>> sockets_;
  bool destroying_ = false;
};

}  // namespace portico::upstream
