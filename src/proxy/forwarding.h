#pragma once
// Proxy semantics of RFC 9110 that every proxied exchange gets: hop-by-hop fields removed,
// the client's address and scheme passed on (X-Forwarded-*, RFC 7239 Forwarded), Via, a
// request id, the identity of a verified client certificate, and the backend's Server header
// hidden.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "net/address.h"
#include "net/transport.h"
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

// Client certificates (mTLS). Removes the client's own copies of every field `names` names,
// always: a backend can trust them whatever the listener. Then, when `requested` (a TLS
// connection on a listener that asks for client certificates), sets `verified` to SUCCESS (a
// certificate that verified), FAILED (one that did not: client_auth optional) or NONE; and only
// for a verified certificate, the subject, SANs and fingerprint. `cert` is what the transport
// reports (null: no certificate).
void applyClientCertHeaders(const ClientCertHeaders& names, bool requested,
                            const net::PeerCertificate* cert, http::RequestHead& head);

// True if some client of this listener is asked for a certificate (tls.client_auth or a
// certificate entry's).
bool asksForClientCertificates(const std::optional<tls::ServerTlsConfig>& tls);

// A certificate's text made safe for a field value: a certificate may hold any byte, and CR,
// LF or NUL would split or end the header. Control characters (0x00-0x1f, 0x7f) become "\XX"
// (two upper-case hex digits, as RFC 2253 escapes them).
std::string headerSafeValue(std::string_view text);

// "DNS:a.example, URI:spiffe://x": each name made header-safe, and ',' and '\' inside a name
// escaped the same way (\2C, \5C), so the list splits unambiguously on ", ".
std::string sanListValue(const std::vector<std::string>& sans);

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
