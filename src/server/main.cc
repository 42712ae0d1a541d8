// portico: command line entry point. Kept thin: parse arguments, load the configuration,
// hand over to Server.

#include <cstdio>
#include <cstring>
#include <string>

#include "config/loader.h"
#include "core/log.h"
#include "core/version.h"
#include "server/server.h"

namespace {

constexpr const char* kUsage =
    "Usage: portico --config FILE       run with the configuration in FILE\n"
    "       portico --check FILE        validate FILE; print every error as\n"
    "                                   FILE:LINE:COL: key: what was expected; exit 0 or 1\n"
    "       portico --version           print the version\n"
    "       portico --help              print this help\n"
    "\n"
    "Signals: SIGTERM or SIGINT drains (stop accepting, finish in-flight requests up to\n"
    "drain_timeout, close idle connections) and exits 0; a second signal closes at once.\n"
    "Configuration reference: docs/configuration.md\n";

int printErrors(const portico::config::LoadResult& result) {
  for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.toString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-v") == 0)) {
    std::printf("portico %s\n", PORTICO_VERSION);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "--check") == 0) {
    auto result = portico::config::loadConfigFile(argv[2]);
    if (!result.errors.empty()) return printErrors(result);
    std::printf("%s: configuration is valid\n", argv[2]);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "--config") == 0) {
    auto result = portico::config::loadConfigFile(argv[2]);
    if (!result.errors.empty()) return printErrors(result);
    portico::config::ServerConfig config = std::move(*result.config);
    if (!portico::log::openErrorLog(config.error_log.path)) {
      std::fprintf(stderr, "error_log: cannot open %s: %s\n", config.error_log.path.c_str(),
                   std::strerror(errno));
      return 1;
    }
    portico::log::setLevel(config.error_log.level);
    portico::server::Server server(std::move(config));
    return server.run();
  }
  std::fputs(kUsage, stderr);
  return 2;
}
