#pragma once
// Listening sockets. Each worker binds its own socket to the same address with SO_REUSEPORT,
// so the kernel spreads new connections across workers without a shared accept lock.

#include <string>

#include "net/address.h"

namespace portico::net {

// Creates a non-blocking, bound, listening socket. Returns -1 and fills `error` on failure.
int openListenSocket(const Address& address, int backlog, std::string* error);

}  // namespace portico::net
