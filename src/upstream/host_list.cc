#include "upstream/host_list.h"

#include <map>
#include <set>
#include <string>
#include <tuple>

namespace portico::upstream {
namespace {

// A new name for the same address is a new host too: TLS and Host use the name.
using Identity = std::tuple<std::string, uint32_t, uint32_t, std::string>;

Identity identityOf(const EndpointConfig& e) {
  return {e.address.toString(), e.weight, e.priority, e.hostname};
}

}  // namespace

HostListChange updateHostList(const std::vector<HostPtr>& current,
                              const std::vector<EndpointConfig>& desired, uint32_t* next_index) {
  std::map<Identity, HostPtr> existing;
  for (const HostPtr& h : current) existing.emplace(identityOf(h->config()), h);
  HostListChange change;
  std::set<std::string> addresses;  // an address is one backend, whatever its weights
  std::set<const Host*> kept;
  for (const EndpointConfig& e : desired) {
    if (!addresses.insert(e.address.toString()).second) continue;
    auto it = existing.find(identityOf(e));
    if (it != existing.end()) {
      change.hosts.push_back(it->second);
      kept.insert(it->second.get());
      continue;
    }
    auto host = std::make_shared<Host>(e, (*next_index)++);
    change.hosts.push_back(host);
    change.added.push_back(std::move(host));
  }
  for (const HostPtr& h : current) {
    if (!kept.count(h.get())) change.removed.push_back(h);
  }
  return change;
}

}  // namespace portico::upstream
