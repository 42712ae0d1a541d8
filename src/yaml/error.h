#pragma once
// One problem found in a configuration file, located for the operator who fixes it.

#include <string>

namespace portico::yaml {

struct ConfigError {
  std::string file;
  int line = 1;    // 1-based
  int column = 1;  // 1-based
  // Dotted path of the offending key, e.g. "listeners[0].virtual_hosts[1].routes[2].match.prefix";
  // "-" when the problem is not about one key (unreadable file, YAML syntax).
  std::string key;
  std::string message;

  // "FILE:LINE:COL: key: message"
  std::string toString() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + key + ": " +
           message;
  }
};

}  // namespace portico::yaml
