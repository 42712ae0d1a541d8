#include "tls/transport_factory.h"

#include "tls/tls_transport.h"

namespace portico::tls {

net::TransportSocketPtr ServerTransportFactory::create(const net::Address&) const {
  SSL* ssl = context_.load(std::memory_order_acquire)->newSsl();
  return net::TransportSocketPtr(ssl == nullptr ? nullptr : new TlsTransport(ssl));
}

net::TransportSocketPtr ClientTransportFactory::create(const net::Address& peer) const {
  SSL* ssl = context_->newSsl(peer);
  return net::TransportSocketPtr(ssl == nullptr ? nullptr : new TlsTransport(ssl));
}

}  // namespace portico::tls
