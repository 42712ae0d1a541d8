#include "http2/stream_id_gaps.h"

namespace portico::http2 {

bool StreamIdGaps::outOfOrder(int32_t id) {
  if (id > highest_) {
    // Client stream ids are odd: highest_ + 2 is the next one in order.
    const int32_t next = highest_ == 0 ? 1 : highest_ + 2;
    if (id > next) {
      if (gaps_.size() == kMaxGaps) gaps_.erase(gaps_.begin());
      gaps_.emplace_back(next, id - 2);
    }
    highest_ = id;
    return false;
  }
  for (auto it = gaps_.begin(); it != gaps_.end(); ++it) {
    if (id < it->first || id > it->second) continue;
    // Refused once; a second HEADERS on it would be its trailers as far as the client knows.
    if (it->first == it->second) {
      gaps_.erase(it);
    } else if (id == it->first) {
      it->first += 2;
    } else if (id == it->second) {
      it->second -= 2;
    } else {
      const std::pair<int32_t, int32_t> upper{id + 2, it->second};
      it->second = id - 2;
      gaps_.insert(it + 1, upper);
      if (gaps_.size() > kMaxGaps) gaps_.erase(gaps_.begin());
    }
    return true;
  }
  return false;
}

}  // namespace portico::http2
