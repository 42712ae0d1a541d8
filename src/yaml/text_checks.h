#pragma once
// Lexical checks for strings that end up in HTTP messages, logs and metrics. Catching a CR in
// a header value at load time is what keeps a typo from becoming response splitting at run
// time.

#include <string_view>

namespace portico::yaml {

// RFC 9110 token: what header names and methods are made of.
bool isToken(std::string_view text);
// A field value: no control characters except horizontal tab (so no CR, LF or NUL).
bool isHeaderValue(std::string_view text);
// Headers the proxy itself manages per hop or per message framing; configuring them would
// break framing (Content-Length, Transfer-Encoding) or connection handling.
bool isManagedHeader(std::string_view name);
// Listener, cluster, virtual host and route names: letters, digits, '-', '_' and '.', at most
// 128 characters, so they can go into log lines and metric labels unescaped.
bool isName(std::string_view text);
// A URL path as written in configuration: starts with '/', no spaces or control characters,
// no '#'.
bool isPath(std::string_view text);
// A DNS name or IPv4 literal: labels of letters, digits and '-' separated by single dots.
bool isHostname(std::string_view text);

}  // namespace portico::yaml
