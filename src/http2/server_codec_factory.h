#pragma once
// The HTTP/2 server codec as an http::ServerCodecFactory (ALPN id "h2"), and the plain-text
// prior-knowledge codec (id "h2c", http2/prior_knowledge.h) built on it.

#include <memory>
#include <vector>

#include "http/server_codec_factory.h"
#include "http2/frame_observer.h"

namespace portico::http2 {

// Each connection gets one observer from each of `observers` (which must outlive the
// factory): abuse guards plug in here.
std::unique_ptr<http::ServerCodecFactory> makeServerCodecFactory(
    std::vector<const FrameObserverFactory*> observers = {});

}  // namespace portico::http2
