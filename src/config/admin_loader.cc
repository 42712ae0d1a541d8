// The top-level `admin:` section: where the admin listener (status endpoint) binds.
#include "config/sections.h"

namespace portico::config::internal {

namespace {

// Two sockets that could not both bind: the same port and family, and the same host or a
// wildcard on either side.
bool overlaps(const net::Address& a, const net::Address& b) {
  if (a.family() != b.family() || a.port() != b.port()) return false;
  auto wildcard = [](const net::Address& x) {
    return x.hostString() == "0.0.0.0" || x.hostString() == "::";
  };
  return wildcard(a) || wildcard(b) || a.hostString() == b.hostString();
}

}  // namespace

void loadAdmin(Reader& reader, const Field& field,
               const std::vector<proxy::ListenerConfig>& listeners, AdminConfig* out) {
  // `admin: {}` (or an empty `admin:`) turns it on with the defaults; errors about the
  // default address are reported at the section.
  std::optional<Field> address_field;  // a copy: the map's fields end with the map
  if (!field.node.IsNull()) {
    MapReader map(reader, field, {"address", "allow_remote"});
    if (!map.valid()) return;
    if (const Field* f = map.find("allow_remote")) {
      assignIf(&out->allow_remote, readBool(reader, *f));
    }
    if (const Field* f = map.find("address")) {
      address_field = *f;
      std::optional<std::string> text = readNonEmptyString(reader, *address_field);
      if (!text) return;
      out->address_text = *text;
    }
  }
  const Field& at = address_field ? *address_field : field;
  if (!net::parseAddress(out->address_text, &out->address)) {
    reader.error(
        at.mark, at.path,
        "expected an address like 127.0.0.1:9901 or [::1]:9901, got " + quote(out->address_text));
    return;
  }
  if (!out->address.isLoopback() && !out->allow_remote) {
    reader.error(at.mark, at.path,
                 "admin address " + out->address_text +
                     " is not a loopback address; the status endpoint has no authentication, "
                     "so set allow_remote: true to serve it beyond this machine");
    return;
  }
  for (const proxy::ListenerConfig& l : listeners) {
    if (out->address.port() != 0 && overlaps(out->address, l.address)) {
      reader.error(at.mark, at.path,
                   "admin address " + out->address_text + " overlaps listener " + quote(l.name) +
                       " (" + l.address_text + ")");
    }
  }
}

}  // namespace portico::config::internal
