#pragma once
// The facts about a certificate that a proxy passes on or logs: subject, subject alternative
// names and SHA-256 fingerprint (what nginx calls $ssl_client_s_dn and
// $ssl_client_fingerprint, and Envoy puts in x-forwarded-client-cert).

#include <openssl/x509.h>

#include "net/transport.h"

namespace portico::tls {

// `verified` is left false: only the SSL that checked the chain knows.
net::PeerCertificate describeCertificate(X509* cert);

}  // namespace portico::tls
