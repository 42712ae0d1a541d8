#include "proxy/stream.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>

#include "core/log.h"
#include "http/path_normalize.h"
#include "proxy/connection_manager.h"
#include "proxy/forwarding.h"
#include "proxy/local_actions.h"
#include "proxy/router.h"
#include "proxy/static_files.h"
#include "tls/acme/challenges.h"

namespace portico::proxy {

namespace {
bool namesMethod(const RouteMatch& match, std::string_view method) {
  return std::find(match.methods.begin(), match.methods.end(), method) != match.methods.end();
}

// The Allow field of a 405: the methods of the route the request would have taken, or the
// usual ones.
std::string allowedMethods(const RouteEntry* route) {
  if (route == nullptr || route->config->match.methods.empty())
    return "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH";
  std::string allow;
  for (const std::string& m : route->config->match.methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

int64_t wallClockUs() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}
}  // namespace

ActiveStream::ActiveStream(ConnectionManager& manager) : manager_(manager) {
  filters_.reserve(8);
}

ActiveStream::~ActiveStream() {
  destroyFilters();
}

std::pmr::memory_resource& ActiveStream::arena() {
  if (!arena_) {
    arena_block_ = buffer::allocateBlock();
    arena_.emplace(arena_block_->data, buffer::kBlockSize, std::pmr::new_delete_resource());
  }
  return *arena_;
}

event::EventLoop& ActiveStream::loop() {
  return manager_.worker().loop();
}

void ActiveStream::begin(http::ResponseEncoder& encoder) {
  encoder_ = &encoder;
  complete_ = false;
  info_ = StreamInfo{};
  info_.start_ms = loop().now();
  info_.start_wall_us = wallClockUs();
  route_ = nullptr;
  vhost_ = nullptr;
  secure_ = manager_.connection().transport().secure();
  request_ = nullptr;
  request_complete_ = false;
  request_headers_next_ = 0;
  request_headers_done_ = false;
  request_body_next_ = 0;
  request_body_paused_ = false;
  pending_request_end_ = false;
  pending_trailers_ = nullptr;
  stopped_ = false;
  response_ = nullptr;
  response_headers_done_ = false;
  response_paused_ = false;
  pending_response_end_ = false;
  pending_response_trailers_ = nullptr;
  response_sent_ = false;
}

void ActiveStream::decodeHeaders(http::RequestHead& head, bool end_stream) {
  request_ = &head;
  if (secure_) head.scheme = "https";
  request_end_in_headers_ = end_stream;
  request_complete_ = end_stream;
  const ListenerConfig& listener = manager_.listener().config;
  const ForwardingConfig& fwd = listener.forwarding;

  // Proxy semantics first, so every filter sees the request as the backend will.
  // Only the "upgrade" token in Connection (on any of its lines) makes an Upgrade field
  // meaningful.
  bool upgrade = head.headers.has("Upgrade") && connectionHasToken(head.headers, "upgrade");
  removeHopByHop(head.headers, upgrade);
  // RFC 9112 3.2.2: the authority of an absolute-form target replaces Host. The backend must
  // see the host the request is routed by, never a different one the client also sent.
  if (!head.authority.empty()) {
    auto host = head.headers.get("Host");
    if (!host || *host != head.authority) head.headers.set("Host", head.authority);
  }
  if (fwd.request_id) ensureRequestId(head, info_.request_id);
  applyRequestForwarding(fwd, manager_.connection().peerAddress(), head);
  // The certificate's facts are read (and hashed) only where a client may have sent one.
  const bool cert_requested = secure_ && asksForClientCertificates(listener.tls);
  std::optional<net::PeerCertificate> cert;
  if (cert_requested) cert = manager_.connection().transport().peerCertificate();
  applyClientCertHeaders(fwd.client_cert_headers, cert_requested, cert ? &*cert : nullptr, head);

  // The virtual host first: its HSTS applies to every answer, errors included.
  vhost_ = manager_.listener().routes->findVirtualHost(head.authority);
  if (misdirected(vhost_, head.authority)) {
    PLOG_INFO("{}: request for host {} on a TLS connection for {}: 421 (request {})", listener.name,
              head.authority, manager_.connection().transport().serverName(), info_.request_id);
    info_.failure = "misdirected request";
    sendLocalReply(421, {}, "text/plain");
    return;
  }

  // Routing, the path sent upstream, redirects and static files all read this one path.
  if (http::PathError e = http::normalizePath(head.path, listener.paths);
      e != http::PathError::None) {
    PLOG_INFO("{}: rejected path {}: {} (request {})", listener.name, head.target,
              http::describe(e), info_.request_id);
    info_.failure = http::describe(e);
    sendLocalReply(400, {}, "text/plain");
    return;
  }
  if (answeredAcmeChallenge(head)) return;
  if (redirectedToHttps(vhost_, head)) return;
  route_ = RouteTable::matchIn(vhost_, head);
  if ((head.method == http::Method::Connect || head.method == http::Method::Trace) &&
      (route_ == nullptr || !namesMethod(route_->config->match, head.method_text))) {
    // TRACE echoes the request, cookies included, back to scripts (cross-site tracing);
    // CONNECT opens a tunnel to anywhere. Only a route that names them lets them through.
    PLOG_INFO("{}: {} {} from {} refused: no route names the method", listener.name,
              head.method_text, head.target, manager_.connection().peerAddress().toString());
    info_.failure = "method not allowed";
    localReply(405, {}, "text/plain", "Allow", allowedMethods(route_));
    route_ = nullptr;
    return;
  }
  if (route_ == nullptr) {
    PLOG_DEBUG("{}: no route for {} {} (host {})", listener.name, head.method_text, head.path,
               head.authority);
    info_.failure = "no route";
    sendLocalReply(404, {}, "text/plain");
    return;
  }
  info_.route_name = route_->config->name;
  buildFilterChain();
  runRequestHeaders();
}

// ACME HTTP-01 (RFC 8555 section 8.3), on every listener and before routing and
// https_redirect: the CA fetches the token over plain HTTP. Unknown tokens route as usual.
bool ActiveStream::answeredAcmeChallenge(const http::RequestHead& head) {
  if (head.method != http::Method::Get && head.method != http::Method::Head) return false;
  if (head.path.compare(0, tls::acme::kHttpChallengePrefix.size(),
                        tls::acme::kHttpChallengePrefix) != 0) {
    return false;
  }
  std::optional<std::string> answer = tls::acme::ChallengeStore::shared().httpResponse(head.path);
  if (!answer) return false;
  PLOG_INFO("{}: answered the ACME HTTP-01 challenge for {} (request {})",
            manager_.listener().config.name, head.authority, info_.request_id);
  sendLocalReply(200, *answer, "application/octet-stream");
  return true;
}

bool ActiveStream::misdirected(const VirtualHost* host, std::string_view authority) const {
  if (!secure_) return false;
  const std::string_view sni = manager_.connection().transport().serverName();
  // The handshake asked for the client certificate the SNI name's policy wants (none, say);
  // a request for a name with another policy would skip that check (tls/client_auth_names.h).
  const auto& client_auth = manager_.listener().config.client_auth_names;
  if (client_auth && !client_auth->uniform() &&
      client_auth->policyOf(sni) != client_auth->policyOf(http::hostWithoutPort(authority))) {
    return true;
  }
  if (sni.empty()) return false;  // no SNI (IP-literal clients): nothing to disagree with
  const VirtualHost* by_sni = manager_.listener().routes->findVirtualHost(sni);
  return by_sni != nullptr && by_sni != host;
}

bool ActiveStream::redirectedToHttps(const VirtualHost* host, const http::RequestHead& head) {
  if (secure_ || host == nullptr || !host->config->https_redirect) return false;
  const HttpsRedirect& redirect = *host->config->https_redirect;
  if (head.authority.empty()) {  // HTTP/1.0 without Host: no name to send the client to
    info_.failure = "no host to redirect to https";
    sendLocalReply(400, {}, "text/plain");
    return true;
  }
  // The host without its port (IPv6 literals keep their brackets), then the HTTPS port.
  std::string location = "https://" + http::hostWithoutPort(head.authority);
  if (redirect.port != 443) location += ":" + std::to_string(redirect.port);
  location += head.path;
  if (!head.query.empty()) location += "?" + head.query;
  info_.failure.clear();
  localReply(redirect.status, {}, "text/plain", "Location", location);
  return true;
}

void ActiveStream::buildFilterChain() {
  for (const FilterFactory* f : route_->filters) {
    Filter* filter = f->create(arena());
    filter->setCallbacks(this);
    filters_.push_back(filter);
  }
  Filter* terminal = nullptr;
  const RouteConfig& rc = *route_->config;
  switch (rc.action) {
    case RouteConfig::ActionKind::Proxy:
      terminal = arenaNew<RouterFilter>(arena(), manager_.worker(), manager_.listener().config);
      break;
    case RouteConfig::ActionKind::Direct:
      terminal = arenaNew<DirectResponseFilter>(arena(), rc.direct);
      break;
    case RouteConfig::ActionKind::Redirect:
      terminal = arenaNew<RedirectFilter>(arena(), rc.redirect, rc.match);
      break;
    case RouteConfig::ActionKind::Static:
      terminal = makeStaticFilesFilter(arena(), rc.static_files, rc.match, *route_->static_root);
      break;
  }
  terminal->setCallbacks(this);
  filters_.push_back(terminal);
}

void ActiveStream::runRequestHeaders() {
  while (request_headers_next_ < filters_.size()) {
    Filter* f = filters_[request_headers_next_++];
    FilterStatus s = f->onRequestHeaders(*request_, request_end_in_headers_);
    if (stopped_ || complete_) return;
    if (s == FilterStatus::Pause) return;
    if (s == FilterStatus::Respond) {
      stopped_ = true;
      return;
    }
  }
  request_headers_done_ = true;
  if (!pending_request_body_.empty() || pending_request_end_) runRequestBody();
  if (stopped_ || complete_) return;
  if (pending_trailers_ != nullptr && !request_body_paused_) {
    http::HeaderMap* t = pending_trailers_;
    pending_trailers_ = nullptr;
    decodeTrailers(*t);
  }
}

void ActiveStream::runRequestBody() {
  // Runs the buffered body through the filters from where it paused.
  bool end = pending_request_end_;
  request_body_paused_ = false;
  while (request_body_next_ < filters_.size()) {
    Filter* f = filters_[request_body_next_];
    FilterStatus s = f->onRequestBody(pending_request_body_, end);
    if (stopped_ || complete_) {
      pending_request_body_.clear();
      return;
    }
    if (s == FilterStatus::Pause) {
      request_body_paused_ = true;
      ++request_body_next_;  // resume with the next filter; this one keeps what it took
      return;
    }
    if (s == FilterStatus::Respond) {
      stopped_ = true;
      pending_request_body_.clear();
      return;
    }
    ++request_body_next_;
  }
  request_body_next_ = 0;
  pending_request_body_.clear();
  pending_request_end_ = false;
}

void ActiveStream::decodeData(buffer::Buffer& data, bool end_stream) {
  if (!data.empty()) info_.request_body_bytes += data.length();
  if (end_stream) request_complete_ = true;
  if (stopped_ || route_ == nullptr) {
    data.clear();
    return;
  }
  pending_request_body_.moveFrom(data);
  pending_request_end_ = pending_request_end_ || end_stream;
  if (!request_headers_done_ || request_body_paused_) {
    // A filter is still deciding: hold the body, and stop reading beyond the buffer limit.
    if (pending_request_body_.length() > manager_.listener().config.limits.buffer)
      manager_.pauseReading(true);
    return;
  }
  runRequestBody();
}

void ActiveStream::decodeTrailers(http::HeaderMap& trailers) {
  request_complete_ = true;
  if (stopped_ || route_ == nullptr) return;
  if (!request_headers_done_ || request_body_paused_) {
    pending_trailers_ = &trailers;  // the codec keeps its trailers until the stream is done
    return;
  }
  for (Filter* f : filters_) {
    FilterStatus s = f->onRequestTrailers(trailers);
    if (stopped_ || complete_ || s != FilterStatus::Continue) return;
  }
}

void ActiveStream::onStreamReset(http::StreamResetReason reason) {
  (void)reason;
  stopped_ = true;
  if (info_.failure.empty()) {
    info_.failure = reason == http::StreamResetReason::ConnectionTermination
                        ? "client closed the connection"
                        : "stream reset";
  }
  // Release upstream resources now; memory goes at reap time.
  notifyFiltersDestroyed();
}

void ActiveStream::notifyFiltersDestroyed() {
  if (filters_destroyed_) return;
  filters_destroyed_ = true;
  for (Filter* f : filters_) f->onDestroy();
}

void ActiveStream::continueRequest() {
  if (stopped_ || complete_) return;
  if (!request_headers_done_) {
    runRequestHeaders();
  } else if (request_body_paused_) {
    runRequestBody();
    if (!request_body_paused_ && pending_trailers_ != nullptr && !stopped_) {
      http::HeaderMap* t = pending_trailers_;
      pending_trailers_ = nullptr;
      decodeTrailers(*t);
    }
  }
}

// ---- response path ------------------------------------------------------------------------

void ActiveStream::encodeInterim(uint16_t status, const http::HeaderMap& headers) {
  if (encoder_ && !complete_) encoder_->encodeInterim(status, headers);
}

bool ActiveStream::responseStarted() const {
  return response_ != nullptr || response_sent_;
}

void ActiveStream::encodeHeaders(http::ResponseHead& head, bool end_stream) {
  if (complete_ || encoder_ == nullptr || responseStarted()) return;
  response_ = &head;
  response_end_in_headers_ = end_stream;
  // Response filters run in reverse, starting before the terminal filter.
  response_headers_next_ = filters_.empty() ? 0 : filters_.size() - 1;
  runResponseHeaders();
}

void ActiveStream::runResponseHeaders() {
  while (response_headers_next_ > 0) {
    Filter* f = filters_[--response_headers_next_];
    FilterStatus s = f->onResponseHeaders(*response_, response_end_in_headers_);
    if (complete_) return;
    if (s == FilterStatus::Pause) {
      response_paused_ = true;
      return;
    }
  }
  response_paused_ = false;
  response_headers_done_ = true;
  finishResponseHeaders(*response_, response_end_in_headers_);
  if (complete_) return;
  if (!pending_response_body_.empty() || pending_response_end_) runResponseBody();
  if (complete_) return;
  if (pending_response_trailers_ != nullptr) {
    http::HeaderMap* t = pending_response_trailers_;
    pending_response_trailers_ = nullptr;
    encodeTrailers(*t);
  }
}

void ActiveStream::finishResponseHeaders(http::ResponseHead& head, bool end_stream) {
  applyFinalHeaders(head);
  info_.status = head.status;
  response_sent_ = true;
  encoder_->encodeHeaders(head, end_stream);
}

void ActiveStream::encodeData(buffer::Buffer& data, bool end_stream) {
  if (complete_ || encoder_ == nullptr) {
    data.clear();
    return;
  }
  info_.response_body_bytes += data.length();
  if (!response_headers_done_ || response_paused_) {
    pending_response_body_.moveFrom(data);
    pending_response_end_ = pending_response_end_ || end_stream;
    return;
  }
  if (pending_response_body_.empty() && !pending_response_end_) {
    // Fast path: no filter has buffered anything.
    for (size_t i = filters_.size() - 1; i-- > 0;) {
      if (filters_[i]->onResponseBody(data, end_stream) != FilterStatus::Continue) {
        pending_response_body_.moveFrom(data);
        pending_response_end_ = end_stream;
        return;
      }
    }
    encoder_->encodeData(data, end_stream);
    return;
  }
  pending_response_body_.moveFrom(data);
  pending_response_end_ = pending_response_end_ || end_stream;
  runResponseBody();
}

void ActiveStream::encodeFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) {
  bool observed = !response_headers_done_ || response_paused_ || !pending_response_body_.empty();
  for (size_t i = filters_.empty() ? 0 : filters_.size() - 1; i-- > 0 && !observed;) {
    observed = filters_[i]->observesResponseBody();
  }
  if (complete_ || encoder_ == nullptr) {
    ::close(file_fd);
    return;
  }
  if (!observed) {
    info_.response_body_bytes += length;
    encoder_->encodeFile(file_fd, offset, length, end_stream);
    return;
  }
  // Some filter needs the bytes: read the file through memory, slice by slice.
  buffer::Buffer data;
  data.appendFromFile(file_fd, offset, length);
  ::close(file_fd);
  encodeData(data, end_stream);
}

void ActiveStream::runResponseBody() {
  for (size_t i = filters_.empty() ? 0 : filters_.size() - 1; i-- > 0;) {
    if (filters_[i]->onResponseBody(pending_response_body_, pending_response_end_) !=
        FilterStatus::Continue)
      return;
  }
  bool end = pending_response_end_;
  pending_response_end_ = false;
  encoder_->encodeData(pending_response_body_, end);
  pending_response_body_.clear();
}

void ActiveStream::encodeTrailers(http::HeaderMap& trailers) {
  if (complete_ || encoder_ == nullptr) return;
  if (!response_headers_done_ || response_paused_) {
    pending_response_trailers_ = &trailers;
    return;
  }
  for (size_t i = filters_.empty() ? 0 : filters_.size() - 1; i-- > 0;) {
    filters_[i]->onResponseTrailers(trailers);
  }
  encoder_->encodeTrailers(trailers);
}

void ActiveStream::continueResponse() {
  if (complete_ || !response_paused_) return;
  runResponseHeaders();
}

void ActiveStream::sendLocalReply(uint16_t status, std::string_view body,
                                  std::string_view content_type) {
  localReply(status, body, content_type);
}

void ActiveStream::applyFinalHeaders(http::ResponseHead& head) {
  applyFinalResponseHeaders(manager_.listener().config.forwarding, info_.request_id, head);
  if (secure_ && vhost_ != nullptr && !vhost_->config->hsts.empty())
    head.headers.set("Strict-Transport-Security", vhost_->config->hsts);
}

void ActiveStream::localReply(uint16_t status, std::string_view body, std::string_view content_type,
                              std::string_view extra_name, std::string_view extra_value) {
  if (complete_ || encoder_ == nullptr) return;
  stopped_ = true;
  info_.local_reply = true;
  if (responseStarted()) {
    resetStream("local reply after the response started");
    return;
  }
  std::string text;
  if (body.empty()) {
    const auto& pages = manager_.listener().config.error_pages;
    auto it = pages.find(status);
    if (it != pages.end()) {
      text = it->second;
    } else {
      text = std::to_string(status);
      text += ' ';
      text += http::reasonPhrase(status);
      text += '\n';
    }
    body = text;
  }
  local_reply_head_.clear();
  local_reply_head_.status = status;
  local_reply_head_.headers.add("Content-Type", content_type);
  local_reply_head_.headers.add("Content-Length", std::to_string(body.size()));
  if (!extra_name.empty()) local_reply_head_.headers.add(extra_name, extra_value);
  // Local replies skip the route's response filters: they describe the proxy, not the backend.
  applyFinalHeaders(local_reply_head_);
  info_.status = status;
  response_sent_ = true;
  bool head_request = request_ != nullptr && request_->method == http::Method::Head;
  if (body.empty() || head_request) {
    encoder_->encodeHeaders(local_reply_head_, true);
  } else {
    encoder_->encodeHeaders(local_reply_head_, false);
    if (complete_ || encoder_ == nullptr) return;
    local_reply_body_.append(body);
    encoder_->encodeData(local_reply_body_, true);
  }
}

void ActiveStream::resetStream(std::string_view why) {
  if (info_.failure.empty()) info_.failure = std::string(why);
  stopped_ = true;
  if (encoder_ && !complete_) encoder_->resetStream();
}

void ActiveStream::pauseRequestBody(bool pause) {
  manager_.pauseReading(pause);
}

bool ActiveStream::downstreamBlocked() const {
  return manager_.writeBlocked();
}

void ActiveStream::onDownstreamWatermark(bool above_high) {
  if (!filters_.empty() && !complete_) filters_.back()->onDownstreamWatermark(above_high);
}

// ---- end of the exchange ------------------------------------------------------------------

void ActiveStream::destroyFilters() {
  notifyFiltersDestroyed();
  for (Filter* f : filters_) f->~Filter();
  filters_.clear();
  filters_destroyed_ = false;
  if (arena_) {
    arena_.reset();
    buffer::releaseBlock(arena_block_);
    arena_block_ = nullptr;
  }
}

void ActiveStream::reap() {
  info_.end_ms = loop().now();
  destroyFilters();
  WorkerServices& worker = manager_.worker();
  if (info_.status != 0) ++worker.counters().responses_by_class[http::statusClass(info_.status)];
  worker.logAccess(request_, info_, manager_.connection().peerAddress());
  pending_request_body_.clear();
  pending_response_body_.clear();
  local_reply_body_.clear();
  encoder_ = nullptr;
  request_ = nullptr;
  route_ = nullptr;
}

}  // namespace portico::proxy
