#pragma once
// Reading a certificate chain and its private key from PEM files, with the checks an operator
// wants at load time rather than at the first handshake: readable, PEM, matching, in date.

#include <string>
#include <vector>

#include "core/result.h"
#include "tls/handles.h"
#include "tls/tls_config.h"

namespace portico::tls {

struct LoadedCertificate {
  X509Ptr leaf;
  std::vector<X509Ptr> chain;  // intermediates, in file order
  PkeyPtr key;
};

// Which of the two files a failure is about, so config/ can point at the right key.
enum class PemFile { Cert, Key };

struct PemError {
  PemFile file;
  std::string message;  // names the file
};

// Fails on an unreadable or non-PEM file, an encrypted key (no prompt is possible), a key that
// does not match the leaf, or a leaf outside its validity period.
bool loadCertificate(const CertificateFiles& files, LoadedCertificate* out, PemError* error);

// Whether `path` can be opened and is a regular file; else false with *why naming it. A FIFO
// or a device would block or never end the read that loads the configuration.
bool checkReadableFile(const std::string& path, std::string* why);

// The host names a certificate is for: its SAN dNSName entries, or its CN when it has none,
// lower-cased. Wildcards stay as written ("*.example.com").
std::vector<std::string> certificateNames(X509* cert);

}  // namespace portico::tls
