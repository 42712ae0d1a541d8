#include "config/loader.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "config/sections.h"
#include "yaml/reader.h"
#include "yaml/units.h"

namespace portico::config {

using yaml::formatSize;
using yaml::parseInteger;
namespace {

using internal::ClusterRef;
using internal::Field;
using internal::MapReader;
using internal::Reader;

void loadWorkers(Reader& reader, const Field& field, uint32_t* workers) {
  constexpr std::string_view kExpected = "expected \"auto\" or an integer 1..256, got ";
  if (!field.node.IsScalar()) {
    reader.error(field.mark, field.path, std::string(kExpected) + internal::describe(field.node));
    return;
  }
  const std::string& text = field.node.Scalar();
  if (text == "auto") {
    *workers = 0;
    return;
  }
  std::optional<int64_t> n = parseInteger(text);
  if (!n || *n < 1 || *n > 256) {
    reader.error(field.mark, field.path, std::string(kExpected) + internal::quote(text));
    return;
  }
  *workers = static_cast<uint32_t>(*n);
}

void loadErrorLog(Reader& reader, const Field& field, ErrorLogConfig* out) {
  MapReader map(reader, field, {"path", "level"});
  if (!map.valid()) return;
  if (const Field* f = map.find("path")) {
    std::optional<std::string> path = internal::readString(reader, *f);
    if (path && path->find('\0') != std::string::npos) {
      reader.error(f->mark, f->path, "must not contain NUL");
    } else {
      internal::assignIf(&out->path, path);
    }
  }
  if (const Field* f = map.find("level")) {
    std::optional<std::string> text = internal::readString(reader, *f);
    if (text && !log::parseLevel(*text, &out->level)) {
      internal::reportBadEnum(reader, *f, {"debug", "info", "warn", "error"}, *text);
    }
  }
}

void loadAccessLog(Reader& reader, const Field& field, AccessLogConfig* out) {
  // "access_log: off" is the short way to turn it off; anything else must be the full mapping.
  if (field.node.IsScalar()) {
    if (field.node.Scalar() == "off") {
      out->enabled = false;
    } else {
      reader.error(field.mark, field.path,
                   "expected a mapping or \"off\", got " + internal::describe(field.node));
    }
    return;
  }
  MapReader map(reader, field, {"enabled", "path", "format"});
  if (!map.valid()) return;
  if (const Field* f = map.find("enabled")) {
    internal::assignIf(&out->enabled, internal::readBool(reader, *f));
  }
  if (const Field* f = map.find("path")) {
    std::optional<std::string> path = internal::readNonEmptyString(reader, *f);
    if (path && path->find('\0') != std::string::npos) {
      reader.error(f->mark, f->path, "must not contain NUL");
    } else {
      internal::assignIf(&out->path, path);
    }
  }
  if (const Field* f = map.find("format")) {
    internal::assignIf(&out->format,
                       internal::readEnum<AccessLogFormat>(reader, *f,
                                                           {{"combined", AccessLogFormat::Combined},
                                                            {"json", AccessLogFormat::Json}}));
  }
}

// Routes name clusters that may be defined anywhere in the file, so references are resolved
// after everything has been read.
void checkClusterRefs(Reader& reader, const std::vector<ClusterRef>& refs,
                      const std::vector<upstream::ClusterConfig>& clusters) {
  std::unordered_set<std::string> names;
  std::string listed;
  for (const auto& c : clusters) {
    if (c.name.empty() || !names.insert(c.name).second) continue;
    // A few names are a hint; thousands would bury the message.
    if (names.size() > 10) continue;
    if (!listed.empty()) listed += ", ";
    listed += names.size() == 10 ? "..." : c.name;
  }
  std::unordered_map<std::string, upstream::LbPolicy> policies;
  for (const auto& c : clusters) policies.emplace(c.name, c.lb);
  for (const ClusterRef& ref : refs) {
    if (names.count(ref.name) != 0) {
      const upstream::LbPolicy lb = policies[ref.name];
      if (ref.hashed && lb != upstream::LbPolicy::RingHash && lb != upstream::LbPolicy::Maglev) {
        // The key would be computed and thrown away: surely not what was meant.
        reader.error(ref.mark, ref.path,
                     "this route has a hash_policy but cluster " + internal::quote(ref.name) +
                         " does not hash; give it lb: ring_hash or lb: maglev");
      }
      continue;
    }
    reader.error(
        ref.mark, ref.path,
        "unknown cluster " + internal::quote(ref.name) +
            (listed.empty() ? "; no clusters are defined" : "; defined clusters: " + listed));
  }
}

// Sees only where documents start. Used before building the tree because yaml-cpp 0.7's
// LoadAll loops forever (allocating) on input like ",": its parser keeps returning an empty
// document without consuming anything. Seeing two documents start at the same offset is
// exactly that case, and it is reported as the syntax error it is.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The root of the file's only document (a null node for an empty file), or nullopt after
// reporting why there is none. yaml-cpp exceptions propagate to loadConfigString.
std::optional<YAML::Node> parseDocument(Reader& reader, const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts probe;
  // Two documents are enough to know there is more than one; never ask for a third.
  while (probe.starts.size() < 2 && parser.HandleNextDocument(probe)) {
  }
  if (probe.starts.size() == 2) {
    const YAML::Mark& second = probe.starts[1];
    if (second.pos == probe.starts[0].pos) {
      std::string_view rest = std::string_view(text).substr(static_cast<size_t>(second.pos));
      reader.error(
          second, "",
          "YAML syntax error: unexpected " + internal::quote(rest.substr(0, rest.empty() ? 0 : 1)));
    } else {
      reader.error(second, "", "only one YAML document is allowed per file");
    }
    return std::nullopt;
  }
  return YAML::Load(text);
}

void loadDocument(Reader& reader, const YAML::Node& root, ServerConfig* config) {
  Field doc{"", root, root.Mark()};
  if (root.IsNull() || !root.IsDefined()) {
    reader.error(YAML::Mark::null_mark(), "",
                 "the configuration is empty; expected a mapping with at least `listeners`");
    return;
  }
  MapReader map(reader, doc,
                {"workers", "drain_timeout", "io_uring", "error_log", "access_log", "listeners",
                 "clusters", "acme", "admin"});
  if (!map.valid()) return;
  if (const Field* f = map.find("workers")) loadWorkers(reader, *f, &config->workers);
  if (const Field* f = map.find("drain_timeout")) {
    // 0 is meaningful here: close connections at once on shutdown.
    internal::assignIf(&config->drain_timeout_ms,
                       internal::readDurationMs(reader, *f, 0, internal::kOneDayMs));
  }
  if (const Field* f = map.find("io_uring")) {
    internal::assignIf(&config->io_uring,
                       internal::readEnum<IoUringMode>(
                           reader, *f, {{"auto", IoUringMode::Auto}, {"off", IoUringMode::Off}}));
  }
  if (const Field* f = map.find("error_log")) loadErrorLog(reader, *f, &config->error_log);
  if (const Field* f = map.find("access_log")) loadAccessLog(reader, *f, &config->access_log);
  internal::RouteContext routes;
  // Before the listeners, wherever it is in the file: their `- acme:` certificates need it.
  if (const Field* f = map.find("acme")) {
    config->acme.emplace();
    internal::loadAcme(reader, *f, &*config->acme);
    routes.acme = &*config->acme;
  }
  if (const Field* f = map.require("listeners")) {
    internal::loadListeners(reader, *f, &config->listeners, &routes);
  }
  if (const Field* f = map.find("clusters")) {
    internal::loadClusters(reader, *f, &config->clusters);
  }
  checkClusterRefs(reader, routes.cluster_refs, config->clusters);
  if (const Field* f = map.find("admin")) {
    config->admin.emplace();
    internal::loadAdmin(reader, *f, config->listeners, &*config->admin);
  }
}

}  // namespace

LoadResult loadConfigString(const std::string& yaml_text, const std::string& file_name) {
  LoadResult result;
  Reader reader(file_name);
  ServerConfig config;
  config.source_path = file_name;
  // Everything below may throw (yaml-cpp reports through exceptions, the walk unwinds with
  // AbortLoad); none of it may escape: a bad file is an error list, never a crash.
  try {
    if (yaml_text.size() > kMaxConfigBytes) {
      reader.fatal(YAML::Mark::null_mark(), "",
                   "file is too large; the limit is " + formatSize(kMaxConfigBytes));
    } else {
      std::optional<YAML::Node> root = parseDocument(reader, yaml_text);
      if (root) loadDocument(reader, *root, &config);
    }
  } catch (const internal::AbortLoad&) {
    // The reason is already recorded.
  } catch (const YAML::ParserException& e) {
    reader.fatal(e.mark, "", "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    reader.fatal(e.mark, "", "YAML error: " + e.msg);
  } catch (const std::exception& e) {
    reader.fatal(YAML::Mark::null_mark(), "", std::string("internal error: ") + e.what());
  }
  result.errors = reader.takeErrors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  auto cannotRead = [&path](const std::string& why) {
    LoadResult result;
    result.errors.push_back(ConfigError{path, 1, 1, "-", "cannot read: " + why});
    return result;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannotRead(std::strerror(errno));
  // Read at most one byte past the limit: enough to tell "too large" without reading a
  // huge (or endless, like /dev/zero) file into memory.
  std::string text;
  char buf[64 * 1024];
  while (text.size() <= kMaxConfigBytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return cannotRead(std::strerror(saved));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return loadConfigString(text, path);
}

}  // namespace portico::config
