#pragma once
// The consistent-hash key of a request, from its route's hash_policy (ProxyAction): the
// first source that yields a value is hashed with upstream::hash64, so the same client IP,
// header, cookie, path or query parameter value reaches the same endpoint, in every worker
// and every Portico process with the same endpoints.
//
// What each source yields:
//  - client_ip: the connection's peer address bytes (not X-Forwarded-For, which a client
//    could set), without the port;
//  - header NAME: the first field of that name, as sent (an empty value counts as absent);
//  - cookie NAME: the value of the first cookie of that name in any Cookie field;
//  - path: the path as routed (after normalization, before rewrite_prefix), without query;
//  - query_parameter NAME: the raw value of the first NAME=value in the query (not
//    percent-decoded; `NAME` alone or `NAME=` counts as absent).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "net/address.h"
#include "proxy/route_config.h"

namespace portico::proxy {

std::optional<uint64_t> computeHashKey(const std::vector<HashPolicyEntry>& policy,
                                       const http::RequestHead& head, const net::Address* client);

// The value of cookie `name` in one Cookie field value ("a=1; b=2"), if present.
std::optional<std::string_view> findCookie(std::string_view cookie_header, std::string_view name);
// The raw value of query parameter `name` in `query` (without '?'), if present and non-empty.
std::optional<std::string_view> findQueryParameter(std::string_view query, std::string_view name);

}  // namespace portico::proxy
