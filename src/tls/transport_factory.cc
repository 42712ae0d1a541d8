#include "tls/transport_factory.h"

#include "tls/tls_transport.h"

namespace portico::tls {

net::TransportSocketPtr ServerTransportFactory::create(const net::Address&, std::string_view,
                                                       std::string_view) const {
  SSL* ssl = context_.load(std::memory_order_acquire)->newSsl();
  return net::TransportSocketPtr(ssl == nullptr ? nullptr : new TlsTransport(ssl));
}

net::TransportSocketPtr ClientTransportFactory::create(const net::Address& peer,
                                                       std::string_view server_name,
                                                       std::string_view endpoint_name) const {
  SSL* ssl = context_->newSsl(peer, server_name, endpoint_name);
  return net::TransportSocketPtr(ssl == nullptr ? nullptr : new TlsTransport(ssl));
}

}  // namespace portico::tls
