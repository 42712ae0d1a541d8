#include "proxy/local_actions.h"

namespace portico::proxy {

filters::FilterStatus DirectResponseFilter::onRequestHeaders(http::RequestHead&, bool) {
  http::ResponseHead head;
  head.status = action_.status;
  bool has_type = false;
  for (const auto& [name, value] : action_.headers) {
    head.headers.add(name, value);
    if (http::equalsIgnoreCase(name, "Content-Type")) has_type = true;
  }
  if (!has_type && !action_.body.empty()) head.headers.add("Content-Type", "text/plain");
  head.headers.add("Content-Length", std::to_string(action_.body.size()));
  callbacks_->info().local_reply = true;
  if (action_.body.empty()) {
    callbacks_->encodeHeaders(std::move(head), true);
  } else {
    callbacks_->encodeHeaders(std::move(head), false);
    buffer::Buffer body;
    body.append(action_.body);
    callbacks_->encodeData(body, true);
  }
  return filters::FilterStatus::Respond;
}

std::string redirectLocation(const RedirectAction& action, const RouteMatch& match,
                             const http::RequestHead& request) {
  std::string scheme = action.scheme.empty() ? request.scheme : action.scheme;
  std::string host = action.host.empty() ? request.authority : action.host;
  if (action.port != 0) {
    // Replace any port the host carries.
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos)
      host.resize(colon);
    bool default_port =
        (scheme == "http" && action.port == 80) || (scheme == "https" && action.port == 443);
    if (!default_port) host += ":" + std::to_string(action.port);
  } else if (!action.scheme.empty() && action.scheme != request.scheme && action.host.empty()) {
    // Switching scheme on the same host: the old port belongs to the old scheme.
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos)
      host.resize(colon);
  }
  std::string path = request.path;
  if (!action.path.empty()) {
    path = action.path;
  } else if (!action.prefix_rewrite.empty() && match.kind == PathMatchKind::Prefix) {
    path = action.prefix_rewrite + request.path.substr(match.path.size());
  }
  std::string location = scheme + "://" + host + path;
  if (!action.strip_query && !request.query.empty()) location += "?" + request.query;
  return location;
}

filters::FilterStatus RedirectFilter::onRequestHeaders(http::RequestHead& request, bool) {
  http::ResponseHead head;
  head.status = action_.status;
  head.headers.add("Location", redirectLocation(action_, match_, request));
  head.headers.add("Content-Length", "0");
  callbacks_->info().local_reply = true;
  callbacks_->encodeHeaders(std::move(head), true);
  return filters::FilterStatus::Respond;
}

}  // namespace portico::proxy
