#pragma once
// Sticky sessions by a cookie Portico sets (cluster key `sticky`).
//
// The cookie's value is "<host id>.<expiry>.<mac>":
//  - host id: 16 hex digits, a hash of the host's canonical address (not the address itself,
//    which clients need not learn); the same in every Portico process with that endpoint;
//  - expiry: Unix seconds after which the cookie is not honoured (0: none, a session cookie);
//  - mac: HMAC-SHA256 (OpenSSL), hex, over the cookie name, host id and expiry, keyed by the
//    secret from `secret_file`. A client cannot name a host of its choosing, or stretch the
//    expiry, without the secret; a forged or stale cookie is ignored (the balancer picks, and
//    the response sets a fresh cookie), never an error.
// Checked with a constant-time comparison. The secret is never logged.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "upstream/cluster_config.h"
#include "upstream/host.h"

namespace portico::upstream {

// The id a sticky cookie names `host` by.
uint64_t stickyHostId(const Host& host);

// The cookie value naming `host_id`, valid until now + ttl (or without expiry).
std::string makeStickyValue(const StickyConfig& config, uint64_t host_id, int64_t now_s);

// The host id a cookie value names, if its MAC is right and it has not expired.
std::optional<uint64_t> readStickyValue(const StickyConfig& config, std::string_view value,
                                        int64_t now_s);

// The whole Set-Cookie field value: HttpOnly, SameSite=Lax, Path=/, Max-Age when there is a
// ttl, Secure when the client connection is TLS.
std::string stickySetCookie(const StickyConfig& config, uint64_t host_id, int64_t now_s,
                            bool secure);

}  // namespace portico::upstream
