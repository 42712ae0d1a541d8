#pragma once
// Automatic certificates (ACME, RFC 8555): what the top-level `acme:` section and the
// `- acme: [names]` entries of listeners' certificate lists configure. Plain data filled by
// config/ and used by tls::acme::Manager.

#include <cstdint>
#include <string>
#include <vector>

namespace portico::tls::acme {

enum class ChallengeType { Http01, TlsAlpn01 };

inline constexpr const char* kDefaultStorage = "/var/lib/portico/acme";

// One certificate Portico obtains and renews: its names (the first is the file name) and
// where it is stored. The listener's context serves these files like any others.
struct ManagedCertificate {
  std::vector<std::string> names;  // lower-case DNS names, first as written
  std::string cert;                // PEM chain: leaf first
  std::string key;                 // PEM EC P-256 key, mode 0600
};

struct AcmeConfig {
  std::string directory;  // the ACME server's directory URL (https)
  std::string email;      // optional account contact
  std::string ca;         // CA bundle for the ACME server's HTTPS; empty: the system's
  std::string storage = kDefaultStorage;
  int64_t renew_before_ms = 30LL * 24 * 3600 * 1000;
  ChallengeType challenge = ChallengeType::Http01;
  int64_t retry_min_ms = 60 * 1000;
  int64_t retry_max_ms = 3600 * 1000;
  // Filled from the listeners' `- acme: [...]` entries; one per distinct first name.
  std::vector<ManagedCertificate> certificates;
};

}  // namespace portico::tls::acme
