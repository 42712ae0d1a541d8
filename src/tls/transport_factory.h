#pragma once
// Transport factories for TLS: one per TLS listener (server side) and one per TLS cluster
// (client side). They hold the contexts of a configuration snapshot and are shared by every
// worker; creating a transport only calls SSL_new(), which OpenSSL allows from any thread on a
// shared SSL_CTX.

#include <atomic>
#include <memory>

#include "net/transport.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace portico::tls {

class ServerTransportFactory final : public net::TransportSocketFactory {
 public:
  explicit ServerTransportFactory(std::shared_ptr<const ServerContext> context)
      : context_(std::move(context)) {}
  // nullptr when OpenSSL is out of memory.
  net::TransportSocketPtr create(const net::Address& peer, std::string_view server_name,
                                 std::string_view endpoint_name) const override;
  bool secure() const override { return true; }

  // Certificate reload (main thread): connections accepted from now on use `context`; those
  // already open keep the one they started with (each SSL holds its context).
  void replace(std::shared_ptr<const ServerContext> context) {
    context_.store(std::move(context), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const ServerContext>> context_;
};

class ClientTransportFactory final : public net::TransportSocketFactory {
 public:
  explicit ClientTransportFactory(std::shared_ptr<const ClientContext> context)
      : context_(std::move(context)) {}
  net::TransportSocketPtr create(const net::Address& peer, std::string_view server_name,
                                 std::string_view endpoint_name) const override;
  bool secure() const override { return true; }

 private:
  std::shared_ptr<const ClientContext> context_;
};

}  // namespace portico::tls
