// Routes: match, header rules and the one action each route takes.

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "config/sections.h"
#include "config/text_checks.h"
#include "filters/registry.h"
#include "http/accept_encoding.h"
#include "http/path_normalize.h"
#include "yaml/units.h"

namespace portico::config::internal {
namespace {

using proxy::PathMatchKind;
using proxy::RouteConfig;

// Compiled here so a bad pattern is a load error, never a request-time surprise.
std::shared_ptr<const re2::RE2> readRegex(Reader& reader, const Field& field, RouteContext* ctx) {
  std::optional<std::string> text = readString(reader, field);
  if (!text) return nullptr;
  int pos = field.node.Mark().pos;
  auto cached = ctx->regexes.find(pos);
  if (cached == ctx->regexes.end() || pos < 0) {
    re2::RE2::Options options;
    options.set_log_errors(false);  // the error goes into our message, not to stderr
    RouteContext::CompiledRegex compiled;
    compiled.regex = std::make_shared<const re2::RE2>(*text, options);
    if (!compiled.regex->ok()) {
      compiled.error = "invalid regex " + quote(*text) + ": " + compiled.regex->error();
      compiled.regex = nullptr;
    }
    cached = ctx->regexes.insert_or_assign(pos, std::move(compiled)).first;
  }
  if (cached->second.regex == nullptr) reader.error(field.mark, field.path, cached->second.error);
  return cached->second.regex;
}

// Among `keys`, the ones present; reports every one after the first as a conflict, pointing
// at its key. Returns the first present key, or "" when none is.
std::string_view exclusiveKey(Reader& reader, const MapReader& map,
                              std::initializer_list<std::string_view> keys, std::string_view rule) {
  std::string_view first;
  for (std::string_view key : keys) {
    const Field* f = map.find(key);
    if (f == nullptr) continue;
    if (first.empty()) {
      first = key;
      continue;
    }
    reader.error(map.keyMark(key), f->path,
                 std::string(rule) + "; " + std::string(first) + " is already set");
  }
  return first;
}

proxy::ValueMatch loadValueMatch(Reader& reader, const Field& field, bool is_header,
                                 RouteContext* ctx) {
  proxy::ValueMatch match;
  MapReader map(reader, field, {"name", "value", "present", "regex", "invert"});
  if (!map.valid()) return match;
  if (const Field* f = map.require("name")) {
    assignIf(&match.name, is_header ? readHeaderName(reader, *f) : readNonEmptyString(reader, *f));
  }
  std::string_view kind = exclusiveKey(reader, map, {"value", "present", "regex"},
                                       "exactly one of value, present, regex is allowed");
  if (kind.empty()) {
    reader.error(field.mark, field.path, "missing value, present or regex (exactly one)");
  } else if (kind == "value") {
    const Field& f = *map.find("value");
    match.exact = is_header ? readHeaderValue(reader, f) : readString(reader, f);
  } else if (kind == "present") {
    const Field& f = *map.find("present");
    std::optional<bool> present = readBool(reader, f);
    // "present: false" reads naturally but would silently mean something; absence is spelled
    // with invert so there is exactly one way to say it.
    if (present == false) {
      reader.error(f.mark, f.path,
                   "must be true; to match absence use present: true with "
                   "invert: true");
    }
    match.present_only = true;
  } else {
    match.regex = readRegex(reader, *map.find("regex"), ctx);
  }
  if (const Field* f = map.find("invert")) assignIf(&match.invert, readBool(reader, *f));
  return match;
}

void loadMethods(Reader& reader, const Field& field, std::vector<std::string>* out) {
  UniqueValues seen("method");
  for (const Field& item : itemsOf(reader, field, /*non_empty=*/true)) {
    std::optional<std::string> method = readString(reader, item);
    if (!method) continue;
    if (!isToken(*method)) {
      reader.error(item.mark, item.path, "expected an HTTP method like GET, got " + quote(*method));
      continue;
    }
    // Methods are case-sensitive on the wire and registered upper case; operators write them
    // either way.
    for (char& c : *method) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    if (seen.check(reader, item, *method)) out->push_back(std::move(*method));
  }
}

// Requests are matched on their normalized path (http/path_normalize.h): a match path that
// normalization changes could never match, so it is an error rather than a dead route.
std::optional<std::string> readMatchPath(Reader& reader, const Field& field) {
  std::optional<std::string> path = readPath(reader, field);
  if (!path) return path;
  std::string normalized = *path;
  http::PathOptions lenient;  // the listener's options are not known here
  lenient.merge_slashes = false;
  lenient.escaped_slashes = http::EscapedSlashes::Keep;
  if (http::PathError e = http::normalizePath(normalized, lenient); e != http::PathError::None) {
    reader.error(field.mark, field.path, std::string(http::describe(e)) + " in " + quote(*path));
    return std::nullopt;
  }
  if (normalized != *path) {
    reader.error(field.mark, field.path,
                 "requests are matched on normalized paths, so " + quote(*path) +
                     " never matches; write " + quote(normalized));
    return std::nullopt;
  }
  return path;
}

void loadMatch(Reader& reader, const Field& field, proxy::RouteMatch* match, RouteContext* ctx) {
  MapReader map(reader, field, {"path", "prefix", "regex", "methods", "headers", "query"});
  if (!map.valid()) return;
  std::string_view kind = exclusiveKey(reader, map, {"path", "prefix", "regex"},
                                       "at most one of path, prefix, regex is allowed");
  // The kind follows the key even if its value is bad, so later checks that depend on it
  // (rewrite_prefix needs a prefix match) do not pile a second error on the first.
  if (kind == "path") {
    match->kind = PathMatchKind::Exact;
    assignIf(&match->path, readMatchPath(reader, *map.find("path")));
  } else if (kind == "prefix") {
    match->kind = PathMatchKind::Prefix;
    assignIf(&match->path, readMatchPath(reader, *map.find("prefix")));
  } else if (kind == "regex") {
    match->kind = PathMatchKind::Regex;
    match->regex = readRegex(reader, *map.find("regex"), ctx);
  }
  if (const Field* f = map.find("methods")) loadMethods(reader, *f, &match->methods);
  if (const Field* f = map.find("headers")) {
    for (const Field& item : itemsOf(reader, *f, false)) {
      match->headers.push_back(loadValueMatch(reader, item, /*is_header=*/true, ctx));
    }
  }
  if (const Field* f = map.find("query")) {
    for (const Field& item : itemsOf(reader, *f, false)) {
      match->query.push_back(loadValueMatch(reader, item, /*is_header=*/false, ctx));
    }
  }
}

// One `hash_policy` item: `client_ip` or `path` (a word, or `client_ip: true`), or a map with
// one of `header: NAME`, `cookie: NAME`, `query_parameter: NAME`.
std::optional<proxy::HashPolicyEntry> loadHashPolicyEntry(Reader& reader, const Field& field) {
  using Source = proxy::HashPolicyEntry::Source;
  proxy::HashPolicyEntry entry;
  if (field.node.IsScalar()) {
    auto source =
        readEnum<Source>(reader, field, {{"client_ip", Source::ClientIp}, {"path", Source::Path}});
    if (!source) return std::nullopt;
    entry.source = *source;
    return entry;
  }
  MapReader map(reader, field, {"client_ip", "path", "header", "cookie", "query_parameter"});
  if (!map.valid()) return std::nullopt;
  std::string_view kind =
      exclusiveKey(reader, map, {"client_ip", "path", "header", "cookie", "query_parameter"},
                   "each hash_policy item names one source");
  if (kind.empty()) {
    reader.error(field.mark, field.path,
                 "missing source; expected one of client_ip, path, header, cookie, "
                 "query_parameter");
    return std::nullopt;
  }
  const Field& f = *map.find(kind);
  if (kind == "client_ip" || kind == "path") {
    std::optional<bool> on = readBool(reader, f);
    if (on == false) {
      reader.error(f.mark, f.path, "leave the item out instead of setting it to false");
    }
    if (on != true) return std::nullopt;
    entry.source = kind == "path" ? Source::Path : Source::ClientIp;
    return entry;
  }
  std::optional<std::string> name =
      kind == "header" ? readHeaderName(reader, f) : readNonEmptyString(reader, f);
  if (!name) return std::nullopt;
  // Cookie and query parameter names are matched byte for byte; separators could never match.
  if (kind != "header" && name->find_first_of(";=&, \t") != std::string::npos) {
    reader.error(f.mark, f.path,
                 "a " + std::string(kind) +
                     " name cannot contain ';', '=', '&', "
                     "',' or spaces, got " +
                     quote(*name));
    return std::nullopt;
  }
  entry.source = kind == "header"   ? Source::Header
                 : kind == "cookie" ? Source::Cookie
                                    : Source::QueryParameter;
  entry.name = std::move(*name);
  return entry;
}

void loadProxy(Reader& reader, const Field& field, RouteConfig* route, RouteContext* ctx) {
  MapReader map(reader, field, {"cluster", "hash_policy"});
  if (!map.valid()) return;
  if (const Field* f = map.find("hash_policy")) {
    constexpr size_t kMaxSources = 16;
    std::vector<Field> items = itemsOf(reader, *f, /*non_empty=*/true);
    if (items.size() > kMaxSources) {
      reader.error(f->mark, f->path,
                   "at most 16 hash_policy sources, got " + std::to_string(items.size()));
    }
    for (const Field& item : items) {
      if (auto entry = loadHashPolicyEntry(reader, item)) {
        route->proxy.hash_policy.push_back(std::move(*entry));
      }
    }
  }
  if (const Field* f = map.require("cluster")) {
    std::optional<std::string> name = readName(reader, *f);
    if (!name) return;
    route->proxy.cluster = *name;
    ctx->cluster_refs.push_back(
        ClusterRef{std::move(*name), f->path, f->mark, !route->proxy.hash_policy.empty()});
  }
}

// A direct response's body kept in a file (an HTML page, say), read once at load time: a file
// that changes is picked up by the next reload, like the rest of the configuration.
std::optional<std::string> readBodyFile(Reader& reader, const Field& field) {
  constexpr uint64_t kMaxBody = 1024 * 1024;
  std::optional<std::string> path = readFile(reader, field);
  if (!path) return std::nullopt;
  std::ifstream in(*path, std::ios::binary);
  std::string body;
  if (in) {
    body.resize(kMaxBody + 1);
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<size_t>(in.gcount()));
  }
  if (!in && !in.eof()) {
    reader.error(field.mark, field.path,
                 "cannot read " + quote(*path) + ": " + std::strerror(errno));
    return std::nullopt;
  }
  if (body.size() > kMaxBody) {
    reader.error(field.mark, field.path,
                 quote(*path) + " is larger than " + yaml::formatSize(kMaxBody));
    return std::nullopt;
  }
  return body;
}

void loadDirect(Reader& reader, const Field& field, proxy::DirectResponseAction* direct) {
  MapReader map(reader, field, {"status", "body", "body_file", "headers"});
  if (!map.valid()) return;
  if (const Field* f = map.find("status")) assignIf(&direct->status, readInt(reader, *f, 200, 599));
  if (map.find("body") != nullptr && map.find("body_file") != nullptr) {
    reader.error(map.keyMark("body_file"), joinPath(field.path, "body_file"),
                 "give either body or body_file, not both");
  }
  const Field* f = map.find("body");
  if (f != nullptr) assignIf(&direct->body, readString(reader, *f));
  if (const Field* file = map.find("body_file"); file != nullptr && f == nullptr) {
    f = file;
    assignIf(&direct->body, readBodyFile(reader, *file));
  }
  if (f != nullptr) {
    // RFC 9110: these statuses end at the header section; a body would be sent as garbage
    // in front of the next response on a kept-alive connection.
    if (!direct->body.empty() && (direct->status == 204 || direct->status == 304)) {
      reader.error(f->mark, f->path,
                   "a " + std::to_string(direct->status) + " response cannot have a body");
    }
  }
  if (const Field* h = map.find("headers")) direct->headers = readHeaderMap(reader, *h);
}

void loadRedirect(Reader& reader, const Field& field, PathMatchKind match_kind,
                  proxy::RedirectAction* redirect) {
  MapReader map(reader, field,
                {"status", "scheme", "host", "port", "path", "prefix_rewrite", "strip_query"});
  if (!map.valid()) return;
  if (const Field* f = map.find("status")) {
    assignIf(
        &redirect->status,
        readEnum<uint16_t>(reader, *f,
                           {{"301", 301}, {"302", 302}, {"303", 303}, {"307", 307}, {"308", 308}}));
  }
  if (const Field* f = map.find("scheme")) {
    assignIf(&redirect->scheme,
             readEnum<std::string_view>(reader, *f, {{"http", "http"}, {"https", "https"}}));
  }
  if (const Field* f = map.find("host")) {
    std::optional<std::string> host = readString(reader, *f);
    if (host && !isHostname(*host)) {
      reader.error(
          f->mark, f->path,
          "expected a hostname like example.com (set the port with `port`), got " + quote(*host));
    } else if (host) {
      redirect->host = *host;
    }
  }
  if (const Field* f = map.find("port")) assignIf(&redirect->port, readInt(reader, *f, 1, 65535));
  std::string_view rewrite = exclusiveKey(reader, map, {"path", "prefix_rewrite"},
                                          "path and prefix_rewrite are exclusive");
  if (rewrite == "path") {
    assignIf(&redirect->path, readPath(reader, *map.find("path")));
  } else if (rewrite == "prefix_rewrite") {
    const Field& f = *map.find("prefix_rewrite");
    assignIf(&redirect->prefix_rewrite, readPath(reader, f));
    if (match_kind != PathMatchKind::Prefix) {
      reader.error(map.keyMark("prefix_rewrite"), f.path,
                   "prefix_rewrite needs a prefix match (match.prefix) on the route");
    }
  }
  if (const Field* f = map.find("strip_query")) {
    assignIf(&redirect->strip_query, readBool(reader, *f));
  }
}

// `precompressed: [br, zstd, gzip]`: the order is the server's preference among codings the
// client weighs equally, so a repeat would be meaningless and is refused. Only the registered
// tokens are accepted (no "x-gzip"): each names the sibling's suffix unambiguously.
void loadPrecompressed(Reader& reader, const Field& field,
                       std::vector<http::ContentCoding>* codings) {
  UniqueValues seen("coding");
  for (const Field& item : itemsOf(reader, field, false)) {
    auto coding = readEnum<http::ContentCoding>(reader, item,
                                                {{"br", http::ContentCoding::Brotli},
                                                 {"zstd", http::ContentCoding::Zstd},
                                                 {"gzip", http::ContentCoding::Gzip}});
    if (coding && seen.check(reader, item, std::string(http::codingName(*coding)))) {
      codings->push_back(*coding);
    }
  }
}

void loadStatic(Reader& reader, const Field& field, proxy::StaticAction* static_files) {
  MapReader map(reader, field, {"root", "index", "precompressed"});
  if (!map.valid()) return;
  if (const Field* f = map.require("root")) {
    std::optional<std::string> root = readString(reader, *f);
    if (root) {
      struct stat st;
      if (root->empty() || root->front() != '/' || root->find('\0') != std::string::npos) {
        reader.error(f->mark, f->path, "expected an absolute directory path, got " + quote(*root));
      } else if (::stat(root->c_str(), &st) != 0) {
        // Checked now so a typo fails the load instead of turning every request into a 404.
        reader.error(f->mark, f->path, "cannot use " + quote(*root) + ": " + std::strerror(errno));
      } else if (!S_ISDIR(st.st_mode)) {
        reader.error(f->mark, f->path, quote(*root) + " is not a directory");
      } else {
        static_files->root = *root;
      }
    }
  }
  if (const Field* f = map.find("index")) {
    std::optional<std::string> index = readNonEmptyString(reader, *f);
    if (index && (index->find('/') != std::string::npos || *index == "." || *index == ".." ||
                  !isHeaderValue(*index))) {
      reader.error(f->mark, f->path, "expected a file name without '/', got " + quote(*index));
    } else if (index) {
      static_files->index = *index;
    }
  }
  if (const Field* f = map.find("precompressed")) {
    loadPrecompressed(reader, *f, &static_files->precompressed);
  }
}

// The keys a route accepts: its own, then every registered filter's.
const std::vector<std::string_view>& routeKeys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> all = {
        "name", "match", "rewrite_prefix", "proxy", "direct_response", "redirect", "static"};
    for (const filters::FilterRegistration* r : filters::registeredFilters()) {
      all.insert(all.end(), r->keys.begin(), r->keys.end());
    }
    return all;
  }();
  return keys;
}

// Each registered filter whose keys appear on the route parses them into a factory; the
// route keeps the factories in registration (chain) order.
void loadFilters(Reader& reader, const MapReader& map, RouteConfig* route) {
  for (const filters::FilterRegistration* r : filters::registeredFilters()) {
    std::vector<const Field*> fields;
    bool any = false;
    for (std::string_view key : r->keys) {
      fields.push_back(map.find(key));
      any = any || fields.back() != nullptr;
    }
    if (!any) continue;
    if (auto factory = r->parse(reader, fields)) route->filters.push_back(std::move(factory));
  }
}

}  // namespace

RouteConfig loadRoute(Reader& reader, const Field& field, RouteContext* ctx) {
  RouteConfig route;
  MapReader map(reader, field, std::span<const std::string_view>(routeKeys()));
  if (!map.valid()) return route;
  if (const Field* f = map.find("name")) assignIf(&route.name, readName(reader, *f));
  if (const Field* f = map.find("match")) loadMatch(reader, *f, &route.match, ctx);
  loadFilters(reader, map, &route);

  std::string_view action =
      exclusiveKey(reader, map, {"proxy", "direct_response", "redirect", "static"},
                   "a route takes exactly one action");
  if (action.empty()) {
    reader.error(field.mark, field.path,
                 "missing action; expected exactly one of: proxy, direct_response, redirect, "
                 "static");
  } else if (action == "proxy") {
    route.action = RouteConfig::ActionKind::Proxy;
    loadProxy(reader, *map.find("proxy"), &route, ctx);
  } else if (action == "direct_response") {
    route.action = RouteConfig::ActionKind::Direct;
    loadDirect(reader, *map.find("direct_response"), &route.direct);
  } else if (action == "redirect") {
    route.action = RouteConfig::ActionKind::Redirect;
    loadRedirect(reader, *map.find("redirect"), route.match.kind, &route.redirect);
  } else {
    route.action = RouteConfig::ActionKind::Static;
    loadStatic(reader, *map.find("static"), &route.static_files);
  }

  if (const Field* f = map.find("rewrite_prefix")) {
    route.rewrite_prefix = readPath(reader, *f);
    YAML::Mark at = map.keyMark("rewrite_prefix");
    if (route.match.kind != PathMatchKind::Prefix) {
      reader.error(at, f->path, "rewrite_prefix needs a prefix match (match.prefix)");
    } else if (!action.empty() && action != "proxy") {
      reader.error(at, f->path, "rewrite_prefix only applies to proxy routes");
    }
  }
  return route;
}

}  // namespace portico::config::internal
