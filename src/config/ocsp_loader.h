#pragma once
// `ocsp:` of a listener certificate (listeners[].tls.certificates[].ocsp).

#include <optional>
#include <string>

#include "tls/ocsp_config.h"
#include "yaml/reader.h"

namespace portico::config::internal {

using namespace portico::yaml;

// Reads a file name as the tls loader does (relative to the configuration file).
using FileNameReader = std::optional<std::string> (*)(Reader& reader, const Field& field);

// staple, file (read and checked now: a DER OCSP response) and responder (an http:// URL).
void loadOcsp(Reader& reader, const Field& field, tls::OcspConfig* out, FileNameReader read_file);

}  // namespace portico::config::internal
