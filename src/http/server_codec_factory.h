#pragma once
// How a downstream connection gets its server codec: a factory per protocol, looked up by the
// ALPN id the transport negotiated (or, without ALPN, the listener's prior-knowledge default).
// proxy/ sees only this interface, so it never names HTTP/1 or HTTP/2; the implementations
// are put in a registry by server/ (server/server_codecs.cc), which the snapshot points to.
// The registry is immutable once built and outlives every snapshot that points to it.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "http/codec.h"

namespace portico::http {

class ServerCodecFactory {
 public:
  virtual ~ServerCodecFactory() = default;
  // The ALPN protocol id the codec speaks ("http/1.1", "h2").
  virtual std::string_view protocol() const = 0;
  // `requests_served`: exchanges the connection carried before it was parked and resumed, so
  // per-connection request limits still hold.
  virtual std::unique_ptr<ServerCodec> create(CodecOutput& output,
                                              ServerConnectionCallbacks& callbacks,
                                              const ServerCodecSettings& settings,
                                              uint32_t requests_served) const = 0;
};

class ServerCodecRegistry {
 public:
  void add(const ServerCodecFactory& factory) { factories_.push_back(&factory); }
  // The codec for an ALPN id, or null when this build has none (it must not be offered).
  const ServerCodecFactory* find(std::string_view protocol) const {
    for (const ServerCodecFactory* f : factories_)
      if (f->protocol() == protocol) return f;
    return nullptr;
  }

 private:
  std::vector<const ServerCodecFactory*> factories_;  // a handful: a scan beats a map
};

}  // namespace portico::http
