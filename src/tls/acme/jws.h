#pragma once
// The cryptography of ACME requests (RFC 8555 section 6.2, RFC 7515, RFC 7638): base64url,
// ES256 account keys as JWKs, their thumbprints, flattened JWS objects and the key
// authorizations of challenges. Pure functions: no I/O, no logging (key material must never
// reach a log line).

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tls/handles.h"

namespace portico::tls::acme {

// RFC 4648 section 5, without padding.
std::string base64url(std::string_view bytes);
// Accepts input with or without padding; false on a character outside the alphabet.
bool base64urlDecode(std::string_view text, std::string* out);

// A new EC P-256 key (account keys and certificate keys alike). nullptr on failure.
PkeyPtr generateEcKey();

// The public JWK of an EC P-256 key, members in lexicographic order without whitespace
// ({"crv":"P-256","kty":"EC","x":"...","y":"..."}): also the thumbprint's input.
std::string ecJwk(EVP_PKEY* key);

// RFC 7638: base64url(SHA-256(the required members, sorted, as compact JSON)). The members
// are string-valued for every key type ACME uses (EC and RSA).
std::string jwkThumbprint(const std::map<std::string, std::string>& members);
// The thumbprint of an EC P-256 key's public JWK.
std::string ecThumbprint(EVP_PKEY* key);

// ES256 over `data`: the raw 64-byte R || S form JWS uses (not DER). Empty on failure.
std::string signEs256(EVP_PKEY* key, std::string_view data);
// Verifies a raw R || S signature (for tests and self-checks).
bool verifyEs256(EVP_PKEY* key, std::string_view data, std::string_view signature);

// A flattened JSON serialization JWS (RFC 7515 section 7.2.2) as ACME wants it: the
// protected header carries alg ES256, nonce, url and either the jwk (kid empty: newAccount)
// or the account URL as kid. An empty payload is POST-as-GET. Empty on failure.
std::string signedRequest(EVP_PKEY* key, std::string_view kid, std::string_view nonce,
                          std::string_view url, std::string_view payload);

// JSON text without whitespace; invalid UTF-8 (from a server's header, say) is replaced
// rather than thrown about.
std::string compactJson(const nlohmann::json& value);

// RFC 8555 section 8.1: token "." thumbprint.
std::string keyAuthorization(std::string_view token, std::string_view thumbprint);
// RFC 8737 section 3: SHA-256 of the key authorization (32 bytes), the acmeIdentifier value.
std::string sha256(std::string_view data);

}  // namespace portico::tls::acme
