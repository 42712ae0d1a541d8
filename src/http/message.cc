#include "http/message.h"

namespace portico::http {

Method parseMethod(std::string_view t) {
  switch (t.size()) {
    case 3:
      if (t == "GET") return Method::Get;
      if (t == "PUT") return Method::Put;
      break;
    case 4:
      if (t == "POST") return Method::Post;
      if (t == "HEAD") return Method::Head;
      break;
    case 5:
      if (t == "PATCH") return Method::Patch;
      if (t == "TRACE") return Method::Trace;
      break;
    case 6:
      if (t == "DELETE") return Method::Delete;
      break;
    case 7:
      if (t == "OPTIONS") return Method::Options;
      if (t == "CONNECT") return Method::Connect;
      break;
    default:
      break;
  }
  return Method::Other;
}

bool isIdempotent(Method m) {
  switch (m) {
    case Method::Get:
    case Method::Head:
    case Method::Put:
    case Method::Delete:
    case Method::Options:
    case Method::Trace:
      return true;
    default:
      return false;
  }
}

void RequestHead::clear() {
  method = Method::Get;
  method_text.clear();
  target.clear();
  path.clear();
  query.clear();
  authority.clear();
  scheme.clear();
  upgraded_from_connect.clear();
  version = Version{};
  headers.clear();
}

void ResponseHead::clear() {
  status = 200;
  reason.clear();
  version = Version{};
  headers.clear();
  transfer_codings.clear();
}

std::string errorBody(uint16_t status, const std::map<uint16_t, std::string>* pages) {
  if (pages != nullptr) {
    if (auto it = pages->find(status); it != pages->end()) return it->second;
  }
  std::string text = std::to_string(status);
  text += ' ';
  text += reasonPhrase(status);
  text += '\n';
  return text;
}

std::string_view reasonPhrase(uint16_t status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string hostWithoutPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close != std::string_view::npos) authority = authority.substr(0, close + 1);
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) authority = authority.substr(0, colon);
  }
  std::string host(authority);
  for (char& c : host) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return host;
}

}  // namespace portico::http
