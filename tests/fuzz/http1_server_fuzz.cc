// libFuzzer target for the whole server side of a connection: a real Connection on a
// socketpair, the ConnectionManager, the HTTP/1 server codec, streams, the router and its local
// actions (direct responses, redirects, static files, a proxy route whose backend refuses), on
// the worker's event loop.
//
// The first three input bytes choose the listener's buffer limit, how fast the client reads
// while it sends (a few bytes per loop turn, as a client that reads slowly, or everything;
// it reads everything once it has sent all), whether the client
// half-closes after its last byte, whether sockets go through the io_uring batch, and how the
// rest is cut into pieces; the rest is what the client sends. Checked:
//   - memory stays bounded: what the connection holds for the client (write buffer and queued
//     files) and the request bytes it has read stay within the buffer limit plus one response
//     and one read batch, however much the client pipelines and however slowly it reads;
//   - everything Portico sends is a well-formed sequence of HTTP/1.1 responses, one per request
//     it read (plus one error answer), parsed with the client-side parser and the methods of
//     the requests, so a desynchronised or truncated response is a finding;
//   - the exchange ends (the loop never spins for ever) and nothing leaks (ASan).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "fuzz_support.h"
#include "http/message.h"
#include "http1/parser.h"
#include "server_fuzz_support.h"

namespace {

using namespace portico;
using fuzz::check;

// The largest single response the routes below produce (a 40 KB body, direct or from a file,
// and its head), and the most the connection reads past its limit in one go.
constexpr size_t kLargestResponse = 48 * 1024;
constexpr size_t kReadSlack = 64 * 1024;

std::string g_root;  // static files, made once

void makeSite() {
  char dir[] = "/tmp/portico-fuzz-site-XXXXXX";
  check(mkdtemp(dir) != nullptr);
  g_root = dir;
  auto write = [](const std::string& path, const std::string& body) {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    check(fd >= 0);
    check(::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()));
    ::close(fd);
  };
  write(g_root + "/a.txt", "static a\n");
  write(g_root + "/big.bin", std::string(40 * 1024, 'b'));
  check(::mkdir((g_root + "/d").c_str(), 0755) == 0);
  write(g_root + "/d/index.html", "<p>index</p>\n");
}

std::string configText(size_t buffer) {
  return "workers: 1\n"
         "listeners:\n"
         "  - name: fuzz\n"
         "    address: 127.0.0.1:1\n"
         "    limits: { buffer: " +
         std::to_string(buffer) +
         ", max_header_bytes: 8192, max_body: 100000 }\n"
         // HTTP/1 only: a prior-knowledge preface would switch the connection to HTTP/2,
         // which this target's response checker does not read (http2_server covers it).
         "    http2: { cleartext: false }\n"
         "    virtual_hosts:\n"
         "      - name: all\n"
         "        domains: ['*']\n"
         "        routes:\n"
         "          - match: { prefix: /big }\n"
         "            direct_response: { status: 200, body: \"" +
         std::string(40000, 'x') +
         "\" }\n"
         "          - match: { prefix: /old }\n"
         "            redirect: { prefix_rewrite: /new }\n"
         "          - match: { prefix: /s }\n"
         "            static: { root: " +
         g_root +
         " }\n"
         "          - match: { prefix: /p }\n"
         "            proxy: { cluster: refused }\n"
         "          - match: { prefix: / }\n"
         "            direct_response: { status: 200, body: \"ok\\n\" }\n"
         "clusters:\n"
         "  - name: refused\n"
         "    endpoints: [ { address: 127.0.0.1:1 } ]\n";
}

// Pieces for parsing what was sent and received: parsing megabytes in one piece would copy
// the rest of the stream for every event.
size_t inBlocks(size_t left) {
  return left < 16384 ? left : 16384;
}

// The methods of the requests in `input`, in order, as the server's parser reads them.
std::vector<http::Method> requestMethods(const uint8_t* data, size_t size) {
  std::vector<http::Method> methods;
  http::RequestHead head;
  http1::ParserLimits limits;
  limits.max_header_bytes = 8192;
  limits.max_body_bytes = 100000;
  http1::RequestParser parser(&head, limits);
  fuzz::feedPieces(parser, data, size, inBlocks,
                   [&](const http1::ParseResult& r, const fuzz::ExactCopy&) {
                     if (r.event == http1::ParseEvent::Head) methods.push_back(head.method);
                     if (r.event == http1::ParseEvent::MessageComplete) parser.reset();
                   });
  return methods;
}

// Parses what the client received as responses to `methods`; returns how many were complete.
size_t checkResponses(const std::string& out, const std::vector<http::Method>& methods,
                      bool connection_closed) {
  http::ResponseHead head;
  http1::ResponseParser parser(&head, http1::ParserLimits{});
  size_t complete = 0;
  auto methodOf = [&](size_t i) { return i < methods.size() ? methods[i] : http::Method::Get; };
  parser.setRequestMethod(methodOf(0));
  bool tunnel = false;
  const bool clean =
      fuzz::feedPieces(parser, reinterpret_cast<const uint8_t*>(out.data()), out.size(), inBlocks,
                       [&](const http1::ParseResult& r, const fuzz::ExactCopy&) {
                         if (r.event == http1::ParseEvent::Head && head.status == 101)
                           tunnel = true;
                         if (r.event == http1::ParseEvent::MessageComplete) {
                           ++complete;
                           parser.reset();
                           parser.setRequestMethod(methodOf(complete));
                         }
                       });
  check(clean || tunnel);
  // A response cut short is only acceptable when the connection was torn down mid-way (a
  // body read timeout cannot happen here, but a refused write can).
  if (clean && !tunnel && connection_closed) {
    http1::ParseResult end = parser.onEof();
    check(end.event != http1::ParseEvent::Error);
    if (end.event == http1::ParseEvent::MessageComplete) ++complete;
  }
  return complete;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::setLevel(log::Level::Error);  // rejected requests log at info: keep the run quiet
  makeSite();
  std::atexit([] {
    std::string cmd = "rm -rf '" + g_root + "'";
    if (std::system(cmd.c_str()) != 0) return;
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  fuzz::FuzzWorker& worker = fuzz::workerFor(data[0], &configText);
  fuzz::ClientOptions options = fuzz::clientOptions(data);
  fuzz::Splitter split(data[2]);
  data += 3;
  size -= 3;

  const size_t limit = worker.snapshot()->listeners[0]->config.limits.buffer;
  options.max_write_buffered = limit + kLargestResponse;
  options.max_read_buffered = limit + kReadSlack;
  const fuzz::ClientRun run = fuzz::runClient(
      worker, std::string(reinterpret_cast<const char*>(data), size), split, options);
  const std::string& out = run.received;
  const bool peer_closed = run.peer_closed;

  const std::vector<http::Method> methods = requestMethods(data, size);
  const size_t answered = checkResponses(out, methods, peer_closed);
  check(answered <= methods.size() + 1);
  return 0;
}
