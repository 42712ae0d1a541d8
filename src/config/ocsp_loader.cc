#include "config/ocsp_loader.h"

#include "tls/ocsp.h"

namespace portico::config::internal {

void loadOcsp(Reader& reader, const Field& field, tls::OcspConfig* out, FileNameReader read_file) {
  MapReader map(reader, field, {"staple", "file", "responder"});
  if (!map.valid()) return;
  if (const Field* f = map.find("staple")) assignIf(&out->staple, readBool(reader, *f));
  const Field* file = map.find("file");
  const Field* responder = map.find("responder");
  if (file != nullptr) {
    if (std::optional<std::string> path = read_file(reader, *file)) {
      // Read now so that a missing or damaged file is reported here, at its key.
      Result<std::string> der = tls::readOcspResponseFile(*path);
      if (der) {
        out->file = *path;
      } else {
        reader.error(file->mark, file->path, der.error().detail);
      }
    }
  }
  if (responder != nullptr) {
    if (std::optional<std::string> url = readNonEmptyString(reader, *responder)) {
      Result<tls::HttpUrl> parsed = tls::parseHttpUrl(*url);
      if (parsed) {
        out->responder = *url;
      } else {
        reader.error(responder->mark, responder->path,
                     parsed.error().detail + "; expected http://host[:port]/path");
      }
    }
  }
  if (file != nullptr && responder != nullptr) {
    reader.error(responder->mark, responder->path,
                 "file and responder exclude each other: a file is stapled as-is, never fetched");
  }
  if (out->staple == false && (file != nullptr || responder != nullptr)) {
    const Field* at = file != nullptr ? file : responder;
    reader.error(at->mark, at->path, "has no effect with staple: false; remove one of them");
  }
}

}  // namespace portico::config::internal
