#pragma once
// Internal to config/: checks of virtual host domains and CIDR ranges. The lexical checks
// shared with filters live in yaml/text_checks.h.

#include <string>
#include <string_view>

#include "proxy/route_config.h"
#include "yaml/text_checks.h"

namespace portico::config::internal {

using namespace portico::yaml;

// Virtual host domain: "example.com", "example.com:8080", "*.example.com" or "*". Lower-cases
// *domain in place. Returns false with *why set when the form is not allowed.
bool normalizeDomain(std::string* domain, std::string* why);
// "10.0.0.0/8", "::1/128" or a bare IP (a /32 or /128). Returns false with *why set.
bool parseCidr(std::string_view text, proxy::CidrRange* out, std::string* why);

}  // namespace portico::config::internal
