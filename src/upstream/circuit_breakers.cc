#include "upstream/circuit_breakers.h"

namespace portico::upstream {

const char* limitName(ClusterLoad::Kind kind) {
  switch (kind) {
    case ClusterLoad::Kind::Connections:
      return "circuit_breakers.max_connections";
    case ClusterLoad::Kind::Pending:
      return "circuit_breakers.max_pending_requests";
    case ClusterLoad::Kind::Requests:
      return "circuit_breakers.max_requests";
    case ClusterLoad::Kind::Retries:
      break;
  }
  return "circuit_breakers.max_retries";
}

}  // namespace portico::upstream
