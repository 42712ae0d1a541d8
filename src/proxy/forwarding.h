#pragma once
// Proxy semantics of RFC 9110 that every proxied exchange gets: hop-by-hop fields removed,
// the client's address and scheme passed on (X-Forwarded-*, RFC 7239 Forwarded), Via, a
// request id, and the backend's Server header hidden.

#include <string>

#include "http/message.h"
#include "net/address.h"
#include "proxy/route_config.h"

namespace portico::proxy {

// Removes Connection and every field it names, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding and Upgrade. With `keep_upgrade` (a WebSocket handshake), Upgrade stays
// and Connection is reduced to "upgrade".
void removeHopByHop(http::HeaderMap& headers, bool keep_upgrade);

// True when `token` (case-insensitive) is in the Connection list, across all its lines.
bool connectionHasToken(const http::HeaderMap& headers, std::string_view token);

bool isTrustedPeer(const ForwardingConfig& config, const net::Address& peer);

// Request side, applied before the route's filters.
void applyRequestForwarding(const ForwardingConfig& config, const net::Address& peer,
                            http::RequestHead& head);

// Fills `id` with the request's id: the client's X-Request-Id if it sent a sane one, else a
// new random UUIDv4; and makes sure the request carries it.
void ensureRequestId(http::RequestHead& head, std::string& id);

// Response side, for responses that came from a backend.
void applyUpstreamResponseForwarding(const ForwardingConfig& config, http::ResponseHead& head,
                                     bool keep_upgrade);

// Response side, for every response (local or proxied): Server and X-Request-Id.
void applyFinalResponseHeaders(const ForwardingConfig& config, const std::string& request_id,
                               http::ResponseHead& head);

}  // namespace portico::proxy
