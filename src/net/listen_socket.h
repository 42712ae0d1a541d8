#pragma once
// Listening sockets. Each worker binds its own socket to the same address with SO_REUSEPORT,
// so the kernel spreads new connections across workers without a shared accept lock.

#include <string>

#include "net/address.h"

namespace portico::net {

struct ListenOptions {
  int backlog = 4096;
  bool defer_accept = true;  // TCP_DEFER_ACCEPT: wake the acceptor when the first bytes arrive
};

// Creates a non-blocking, bound, listening socket. Returns -1 and fills `error` on failure.
// TCP_NODELAY is set on the listening socket: Linux copies it to every accepted socket, which
// saves a setsockopt per connection.
int openListenSocket(const Address& address, const ListenOptions& options, std::string* error);

}  // namespace portico::net
