#pragma once
// OCSP stapling settings of one certificate (listeners[].tls.certificates[].ocsp): plain data
// filled by config/.

#include <optional>
#include <string>

namespace portico::tls {

struct OcspConfig {
  // Unset: staple when the certificate names an OCSP responder (or `responder`/`file` is set).
  // true: a certificate without one is a load error. false: never staple.
  std::optional<bool> staple;
  // A DER OCSP response stapled as-is instead of fetching one (read once, at load time).
  std::string file;
  // Overrides the certificate's Authority Information Access OCSP URI; http:// only.
  std::string responder;
};

}  // namespace portico::tls
