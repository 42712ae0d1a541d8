#pragma once
// Which client certificate policy (tls.client_auth) each server name of a listener gets, in a
// form proxy/ can read without OpenSSL.
//
// The handshake applies the policy of the SNI name (no SNI, or a name no certificate has: the
// default certificate's). A request whose Host names another virtual host is refused with 421
// by the stream; but a name that selects no virtual host (an unknown SNI, an IP literal, none)
// would otherwise let a connection that skipped a client certificate reach a virtual host that
// requires one. The stream compares the policy of the SNI name with that of the Host name and
// answers 421 when they differ.
//
// Immutable after ServerContext::build; shared by every worker.

#include <cstddef>
#include <string_view>
#include <vector>

#include "tls/name_index.h"

namespace portico::tls {

class ClientAuthNames {
 public:
  // 0: no client certificate asked for; otherwise equal numbers mean the same policy.
  int policyOf(std::string_view server_name) const {
    if (group_policy_.empty()) return 0;
    return group_policy_[names_.find(server_name).value_or(0)];
  }
  // Every name gets the same policy: nothing to compare.
  bool uniform() const { return uniform_; }

 private:
  friend class ServerContext;
  NameIndex names_;
  std::vector<int> group_policy_;  // by certificate group; [0] is the default's
  bool uniform_ = true;
};

}  // namespace portico::tls
