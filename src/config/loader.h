#pragma once
// Turns the YAML configuration file into a validated ServerConfig. Every problem found is
// reported (not only the first), each with the file, 1-based line and column, the dotted key
// path and what was expected, so an operator can fix a file in one pass. The loader never
// throws and never crashes on any input: it is fuzzed (tests/fuzz/config_loader_fuzz.cc).

#include <optional>
#include <string>
#include <vector>

#include "config/server_config.h"
#include "yaml/error.h"

namespace portico::config {

using ConfigError = yaml::ConfigError;

struct LoadResult {
  std::optional<ServerConfig> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

// The largest configuration accepted, in bytes: far above any real file, and it bounds the
// work a hostile or corrupted file can cause.
inline constexpr size_t kMaxConfigBytes = 1024 * 1024;

// Reads and loads a file. An unreadable file is one error: "FILE:1:1: -: cannot read: <strerror>".
LoadResult loadConfigFile(const std::string& path);

// Loads YAML text; file_name is only used in error messages and ServerConfig::source_path.
LoadResult loadConfigString(const std::string& yaml_text, const std::string& file_name);

}  // namespace portico::config
