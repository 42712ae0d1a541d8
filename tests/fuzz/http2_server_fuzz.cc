// libFuzzer target for the server side of an HTTP/2 connection: a real Connection on a
// socketpair, the ConnectionManager on a plain-text listener (h2c by prior knowledge), the
// HTTP/2 server codec with its attack limits (http2/flood_guard.h), streams, the router and its
// local actions (direct responses, a proxy route whose backend refuses), on the worker's loop.
//
// The client sends the connection preface, then the fuzz input: arbitrary frames. The first
// three input bytes choose the listener's buffer limit, how fast the client reads while it
// sends, whether it half-closes after its last byte, whether sockets go through the io_uring
// batch, and how the rest is cut into pieces (as in http1_server_fuzz.cc).
// Checked:
//   - memory stays bounded: what the connection holds for the client and the bytes it has
//     read stay within the buffer limit plus a batch of frames, however the client behaves;
//   - everything Portico sends is a sequence of whole HTTP/2 frames that starts with its
//     SETTINGS; a GOAWAY is well-formed and, once one says ENHANCE_YOUR_CALM, the connection
//     is closed (an attacker is not read forever);
//   - the exchange ends (the loop never spins for ever) and nothing leaks (ASan).

#include <cstdint>
#include <memory>
#include <string>

#include "core/log.h"
#include "fuzz_support.h"
#include "http2/prior_knowledge.h"
#include "server_fuzz_support.h"

namespace {

using namespace portico;
using fuzz::check;

// What flush() may add past the limit before the watermark stops it: a batch and a frame.
constexpr size_t kWriteSlack = 64 * 1024 + 16 * 1024 + 9;
constexpr size_t kReadSlack = 64 * 1024;

std::string configText(size_t buffer) {
  return "workers: 1\n"
         "listeners:\n"
         "  - name: fuzz\n"
         "    address: 127.0.0.1:1\n"
         "    limits: { buffer: " +
         std::to_string(buffer) +
         ", max_header_bytes: 8192, max_body: 100000 }\n"
         "    http2: { max_concurrent_streams: 16, attack_limits: { ping: { rate: 10, burst: 20 "
         "} } }\n"
         "    virtual_hosts:\n"
         "      - name: all\n"
         "        domains: ['*']\n"
         "        routes:\n"
         "          - match: { prefix: /big }\n"
         "            direct_response: { status: 200, body: \"" +
         std::string(40000, 'x') +
         "\" }\n"
         "          - match: { prefix: /p }\n"
         "            proxy: { cluster: refused }\n"
         "          - match: { prefix: / }\n"
         "            direct_response: { status: 200, body: \"ok\\n\" }\n"
         "clusters:\n"
         "  - name: refused\n"
         "    endpoints: [ { address: 127.0.0.1:1 } ]\n";
}


uint32_t be(const std::string& s, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// Walks what the client received as HTTP/2 frames. Returns true if a GOAWAY said
// ENHANCE_YOUR_CALM.
bool checkFrames(const std::string& out) {
  size_t pos = 0;
  bool first = true;
  bool calm = false;
  while (out.size() - pos >= 9) {
    const uint32_t length = be(out, pos, 3);
    const uint8_t type = static_cast<uint8_t>(out[pos + 3]);
    const uint32_t stream = be(out, pos + 5, 4) & 0x7fffffff;
    if (first) check(type == 0x4 && stream == 0);  // the server's connection preface
    first = false;
    if (out.size() - pos - 9 < length) break;  // cut short by the close
    if (type == 0x7) {                         // GOAWAY: on stream 0, with its two fields
      check(stream == 0 && length >= 8);
      if (be(out, pos + 13, 4) == 0xb) calm = true;
    }
    pos += 9 + length;
  }
  return calm;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::setLevel(log::Level::Error);  // attacks log at warn: keep the run quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  fuzz::FuzzWorker& worker = fuzz::workerFor(data[0], &configText);
  fuzz::ClientOptions options = fuzz::clientOptions(data);
  fuzz::Splitter split(data[2]);
  std::string input(http2::kConnectionPreface);
  input.append(reinterpret_cast<const char*>(data) + 3, size - 3);

  const size_t limit = worker.snapshot()->listeners[0]->config.limits.buffer;
  options.max_write_buffered = limit + kWriteSlack;
  options.max_read_buffered = limit + kReadSlack;
  const fuzz::ClientRun run = fuzz::runClient(worker, input, split, options);

  // After ENHANCE_YOUR_CALM the connection is closed (or lingering, which is bounded by the
  // linger timeout), not read on while the client sends.
  if (checkFrames(run.received)) check(!run.still_open || run.peer_closed || run.lingering);
  return 0;
}
