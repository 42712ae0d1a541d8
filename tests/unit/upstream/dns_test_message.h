#pragma once
// Test support: DNS messages built byte by byte (RFC 1035 4.1), for the SRV reader's tests and
// the fake DNS server the resolver's tests talk to.

#include <cstdint>
#include <string>
#include <vector>

namespace portico::upstream::dnstest {

// Builds DNS messages byte by byte (RFC 1035 4.1).
struct Message {
  std::vector<unsigned char> bytes;
  void u16(uint16_t v) {
    bytes.push_back(static_cast<unsigned char>(v >> 8));
    bytes.push_back(static_cast<unsigned char>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void name(const std::string& dotted) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      bytes.push_back(static_cast<unsigned char>(dot - start));
      bytes.insert(bytes.end(), dotted.begin() + static_cast<long>(start),
                   dotted.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    bytes.push_back(0);
  }
  void raw(const unsigned char* data, size_t length) {
    bytes.insert(bytes.end(), data, data + length);
  }
  void pointer(uint16_t offset) { u16(static_cast<uint16_t>(0xc000 | offset)); }
  void header(uint16_t answers, uint16_t additional, uint16_t id = 0x1234, uint16_t rcode = 0) {
    u16(id);
    u16(static_cast<uint16_t>(0x8180 | rcode));  // response, recursion desired and available
    u16(1);
    u16(answers);
    u16(0);
    u16(additional);
  }
  void question(const std::string& qname) {
    name(qname);
    u16(33);
    u16(1);
  }
  // An SRV record owned by the question's name (a pointer to offset 12).
  void srv(uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port,
           const std::string& target) {
    pointer(12);
    u16(33);
    u16(1);
    u32(ttl);
    Message rdata;
    rdata.u16(priority);
    rdata.u16(weight);
    rdata.u16(port);
    rdata.name(target);
    u16(static_cast<uint16_t>(rdata.bytes.size()));
    bytes.insert(bytes.end(), rdata.bytes.begin(), rdata.bytes.end());
  }
  void a(const std::string& owner, uint32_t ttl, std::vector<unsigned char> ip) {
    name(owner);
    u16(ip.size() == 4 ? 1 : 28);
    u16(1);
    u32(ttl);
    u16(static_cast<uint16_t>(ip.size()));
    bytes.insert(bytes.end(), ip.begin(), ip.end());
  }
};

}  // namespace portico::upstream::dnstest
