// The compression filter's registration: the route key `compression`.
#include "filters/compress/compression_filter.h"
#include "filters/registry.h"
#include "yaml/fields.h"

namespace portico::filters::compress {
namespace {

constexpr std::string_view kKeys[] = {"compression"};

constexpr std::pair<std::string_view, http::ContentCoding> kCodings[] = {
    {"gzip", http::ContentCoding::Gzip},
    {"br", http::ContentCoding::Brotli},
    {"zstd", http::ContentCoding::Zstd}};

void readEncodings(yaml::Reader& reader, const yaml::Field& field, CompressionConfig* config) {
  std::vector<http::ContentCoding> encodings;
  yaml::UniqueValues seen("encoding");
  for (const yaml::Field& item : yaml::itemsOf(reader, field, true)) {
    std::optional<http::ContentCoding> coding =
        yaml::readEnum<http::ContentCoding>(reader, item, {kCodings[0], kCodings[1], kCodings[2]});
    if (coding && seen.check(reader, item, std::string(http::codingName(*coding)))) {
      encodings.push_back(*coding);
    }
  }
  if (!encodings.empty()) config->encodings = std::move(encodings);
}

void readLevels(yaml::Reader& reader, const yaml::Field& field, CompressionConfig* config) {
  yaml::MapReader map(reader, field, {"gzip", "br", "zstd"});
  if (!map.valid()) return;
  for (const auto& [name, coding] : kCodings) {
    const yaml::Field* level = map.find(name);
    if (level == nullptr) continue;
    LevelRange range = levelRange(coding);
    yaml::assignIf(&config->levels[static_cast<size_t>(coding)],
                   yaml::readInt(reader, *level, range.min, range.max));
  }
}

void readContentTypes(yaml::Reader& reader, const yaml::Field& field, CompressionConfig* config) {
  std::vector<std::string> patterns;
  for (const yaml::Field& item : yaml::itemsOf(reader, field, true)) {
    std::optional<std::string> pattern = yaml::readNonEmptyString(reader, item);
    if (!pattern) continue;
    if (!ContentTypeMatcher::validPattern(*pattern)) {
      reader.error(item.mark, item.path,
                   "expected a media type pattern (text/html, text/*, */*+json), got " +
                       yaml::quote(*pattern));
      continue;
    }
    patterns.push_back(std::move(*pattern));
  }
  if (!patterns.empty()) config->content_types = ContentTypeMatcher(std::move(patterns));
}

void readRequestDecompression(yaml::Reader& reader, const yaml::Field& field,
                              CompressionConfig* config) {
  yaml::MapReader map(reader, field, {"enabled", "max_size", "max_ratio"});
  if (!map.valid()) return;
  RequestDecompression& request = config->request;
  request.enabled = true;  // the block's presence turns it on
  if (const yaml::Field* f = map.find("enabled")) {
    yaml::assignIf(&request.enabled, yaml::readBool(reader, *f));
  }
  if (const yaml::Field* f = map.find("max_size")) {
    yaml::assignIf(&request.limits.max_size, yaml::readSize(reader, *f, 1, uint64_t{1} << 40));
  }
  if (const yaml::Field* f = map.find("max_ratio")) {
    yaml::assignIf(&request.limits.max_ratio, yaml::readInt(reader, *f, 0, 1000000));
  }
}

std::shared_ptr<const FilterFactory> parse(yaml::Reader& reader,
                                           std::span<const yaml::Field* const> fields) {
  const yaml::Field& field = *fields[0];
  CompressionConfig config;
  const size_t errors = reader.errorCount();
  if (field.node.IsScalar()) {
    // `compression: true` / `false`: the defaults, or nothing.
    yaml::assignIf(&config.enabled, yaml::readBool(reader, field));
  } else {
    yaml::MapReader map(
        reader, field,
        {"enabled", "encodings", "levels", "content_types", "min_length", "request_decompression"});
    if (!map.valid()) return nullptr;
    if (const yaml::Field* f = map.find("enabled")) {
      yaml::assignIf(&config.enabled, yaml::readBool(reader, *f));
    }
    if (const yaml::Field* f = map.find("encodings")) readEncodings(reader, *f, &config);
    if (const yaml::Field* f = map.find("levels")) readLevels(reader, *f, &config);
    if (const yaml::Field* f = map.find("content_types")) readContentTypes(reader, *f, &config);
    if (const yaml::Field* f = map.find("min_length")) {
      yaml::assignIf(&config.min_length, yaml::readSize(reader, *f, 0, uint64_t{1} << 40));
    }
    if (const yaml::Field* f = map.find("request_decompression")) {
      readRequestDecompression(reader, *f, &config);
    }
  }
  if (reader.errorCount() != errors) return nullptr;
  if (!config.enabled && !config.request.enabled) return nullptr;  // a route that pays nothing
  return std::make_shared<const CompressionFilterFactory>(std::move(config));
}

}  // namespace

const FilterRegistration& registration() {
  static const FilterRegistration kRegistration{"compress", kKeys, &parse};
  return kRegistration;
}

}  // namespace portico::filters::compress
