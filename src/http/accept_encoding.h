#pragma once
// Content codings and Accept-Encoding negotiation (RFC 9110 8.4.1, 12.5.3).
//
// Used by the compression filter (which coding to encode a response with) and by static
// files (which precompressed sibling, if any, to send). Pure functions: no allocation, safe
// on any thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace portico::http {

// The codings Portico can produce. Identity means "no content coding".
enum class ContentCoding : uint8_t { Identity, Gzip, Brotli, Zstd };

// "gzip" (and its legacy alias "x-gzip", RFC 9110 8.4.1.3), "br", "zstd", "identity";
// case-insensitive. nullopt for any other coding (compress, deflate, ...).
std::optional<ContentCoding> codingByName(std::string_view name);
// The registered token for Content-Encoding: "identity", "gzip", "br", "zstd".
std::string_view codingName(ContentCoding coding);
// The file name suffix of a precompressed static sibling: ".gz", ".br", ".zst"; "" for Identity.
std::string_view codingExtension(ContentCoding coding);

// Picks the coding to send. `accept_encoding` is the whole field value (every line of the
// field joined by ", "); "" when the field is absent, which means the client did not ask for
// compression, so Identity.
//
// Among the codings in `server_preference` (most preferred first; Identity entries are
// ignored), returns the one with the highest q > 0, ties going to the earlier entry. A
// coding's q is its own entry if listed, else that of "*", else 0. Identity is returned when
// no offered coding is acceptable, or when identity's own q (its entry, else "*", else 0:
// unlisted, it is the fallback, never a rival) is strictly higher than the best coding's.
ContentCoding chooseCoding(std::string_view accept_encoding,
                           std::span<const ContentCoding> server_preference);

}  // namespace portico::http
