#pragma once
// Certificates on disk and in memory for ACME: the storage folder (0700), keys (0600) and
// chains written atomically (a temporary file renamed into place, so the certificate
// reloader never reads half a file), the self-signed placeholder served until the first
// certificate arrives, TLS-ALPN-01 challenge certificates and CSRs.

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "tls/acme/acme_config.h"
#include "tls/handles.h"

namespace portico::tls::acme {

// The placeholder's issuer and subject organization: how a placeholder is told from a real
// certificate after a restart.
inline constexpr const char* kPlaceholderOrganization = "Portico ACME placeholder";
inline constexpr int64_t kPlaceholderLifetimeS = 7 * 24 * 3600;

// Creates `path` and its parents as needed; `path` itself gets mode 0700.
bool makePrivateDirectory(const std::string& path, std::string* error);
// Writes `data` to path.tmp with `mode`, fsyncs and renames it over `path`.
bool writeFileAtomically(const std::string& path, const std::string& data, unsigned mode,
                         std::string* error);
// The two halves of writeFileAtomically, so two files can be written first and then renamed
// back to back.
bool writeTemporary(const std::string& path, const std::string& data, unsigned mode,
                    std::string* error);
bool renameTemporary(const std::string& path, std::string* error);
bool readWholeFile(const std::string& path, std::string* out);

std::string keyToPem(EVP_PKEY* key);
PkeyPtr keyFromPem(const std::string& pem);
std::string certificateToPem(X509* cert);

// A self-signed certificate for `names` (SAN dNSNames) valid from now for `lifetime_s`.
// With `acme_identifier` (32 bytes), it carries RFC 8737's critical acmeIdentifier extension.
X509Ptr selfSigned(const std::vector<std::string>& names, EVP_PKEY* key, int64_t lifetime_s,
                   const char* organization, const std::string* acme_identifier = nullptr);

// A DER PKCS#10 request for `names` signed with `key`; empty on failure.
std::string certificateRequest(const std::vector<std::string>& names, EVP_PKEY* key);

// What is stored for a managed certificate now.
struct StoredCertificate {
  bool usable = false;  // both files load, match and are in date
  bool placeholder = false;
  std::time_t not_after = 0;
  std::vector<std::string> names;
};
StoredCertificate inspect(const ManagedCertificate& managed);

// Makes sure the files exist and can be served: when they are missing or unusable, writes a
// new key and a placeholder for the names. *wrote says whether it did. False with *error
// when the storage cannot be written.
bool ensureServable(const ManagedCertificate& managed, bool* wrote, std::string* error);

// Writes a new key and chain for `managed`: both are written and synced aside, then renamed
// into place back to back, so the reloader (polling every 2 s) practically never sees one
// without the other (and when it does, it retries on its next poll).
bool storeCertificate(const ManagedCertificate& managed, EVP_PKEY* key, const std::string& chain,
                      std::string* error);

// "2026-11-30 19:02:05 UTC"
std::string formatTime(std::time_t t);

}  // namespace portico::tls::acme
