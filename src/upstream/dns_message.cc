#include "upstream/dns_message.h"

#include <ares.h>
#include <arpa/inet.h>

#include <cstring>

namespace portico::upstream {
namespace {

constexpr int kHeaderSize = 12;
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeSrv = 33;
constexpr uint16_t kClassIn = 1;

uint16_t read16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t read32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Reads the (possibly compressed) name at `*pos`, moving `*pos` past it.
bool readName(const unsigned char* data, int length, int* pos, std::string* name) {
  if (*pos >= length) return false;
  char* text = nullptr;
  long used = 0;
  if (ares_expand_name(data + *pos, data, length, &text, &used) != ARES_SUCCESS) return false;
  *name = canonicalDnsName(text);
  ares_free_string(text);
  *pos += static_cast<int>(used);
  return true;
}

struct Record {
  std::string owner;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  int rdata = 0;  // offset
  uint16_t rdlength = 0;
};

bool readRecord(const unsigned char* data, int length, int* pos, Record* r) {
  if (!readName(data, length, pos, &r->owner)) return false;
  if (*pos + 10 > length) return false;
  r->type = read16(data + *pos);
  r->klass = read16(data + *pos + 2);
  // RFC 2181 8: a TTL with the top bit set is treated as zero.
  r->ttl = read32(data + *pos + 4);
  if (r->ttl > 0x7fffffffu) r->ttl = 0;
  r->rdlength = read16(data + *pos + 8);
  r->rdata = *pos + 10;
  *pos = r->rdata + r->rdlength;
  return *pos <= length;
}

bool addAddress(const unsigned char* data, const Record& r, SrvAnswer* out) {
  net::Address address;
  if (r.type == kTypeA) {
    if (r.rdlength != 4) return false;
    auto* sin = reinterpret_cast<sockaddr_in*>(&address.storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, data + r.rdata, 4);
    address.length = sizeof(sockaddr_in);
  } else {
    if (r.rdlength != 16) return false;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, data + r.rdata, 16);
    address.length = sizeof(sockaddr_in6);
  }
  out->addresses[r.owner].push_back({address, r.ttl});
  return true;
}

}  // namespace

std::string canonicalDnsName(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

bool parseSrvResponse(const unsigned char* data, int length, SrvAnswer* out) {
  if (length < kHeaderSize) return false;
  const uint16_t questions = read16(data + 4);
  const uint16_t answers = read16(data + 6);
  const uint16_t authority = read16(data + 8);
  const uint16_t additional = read16(data + 10);
  int pos = kHeaderSize;
  for (uint16_t i = 0; i < questions; ++i) {
    std::string name;
    if (!readName(data, length, &pos, &name) || pos + 4 > length) return false;
    pos += 4;  // type, class
  }
  const int total = answers + authority + additional;
  for (int i = 0; i < total; ++i) {
    Record r;
    if (!readRecord(data, length, &pos, &r)) return false;
    if (r.klass != kClassIn) continue;
    const bool in_answer = i < answers;
    const bool in_additional = i >= answers + authority;
    if (in_answer && r.type == kTypeSrv) {
      if (r.rdlength < 7) return false;
      SrvRecord srv;
      srv.priority = read16(data + r.rdata);
      srv.weight = read16(data + r.rdata + 2);
      srv.port = read16(data + r.rdata + 4);
      srv.ttl_s = r.ttl;
      int target = r.rdata + 6;
      if (!readName(data, length, &target, &srv.target) || target > r.rdata + r.rdlength) {
        return false;
      }
      out->records.push_back(std::move(srv));
    } else if (in_additional && (r.type == kTypeA || r.type == kTypeAaaa)) {
      if (!addAddress(data, r, out)) return false;
    }
  }
  return true;
}

}  // namespace portico::upstream
