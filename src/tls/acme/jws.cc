#include "tls/acme/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace portico::tls::acme {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kCoordinateBytes = 32;  // P-256

int decodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// A big-endian integer left-padded to `width` bytes.
std::string fixedWidth(const BIGNUM* n, size_t width) {
  std::string out(width, '\0');
  if (BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(width)) < 0)
    return {};
  return out;
}

bool ecCoordinates(EVP_PKEY* key, std::string* x, std::string* y) {
  BIGNUM* bx = nullptr;
  BIGNUM* by = nullptr;
  bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
            EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1;
  if (ok) {
    *x = fixedWidth(bx, kCoordinateBytes);
    *y = fixedWidth(by, kCoordinateBytes);
    ok = !x->empty() && !y->empty();
  }
  BN_free(bx);
  BN_free(by);
  return ok;
}

}  // namespace

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool base64urlDecode(std::string_view text, std::string* out) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decodeChar(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

PkeyPtr generateEcKey() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

std::string ecJwk(EVP_PKEY* key) {
  std::string x, y;
  if (!ecCoordinates(key, &x, &y)) return {};
  // Built by hand: the thumbprint needs this exact order and form.
  return R"({"crv":"P-256","kty":"EC","x":")" + base64url(x) + R"(","y":")" + base64url(y) + "\"}";
}

std::string jwkThumbprint(const std::map<std::string, std::string>& members) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : members) object[name] = value;
  // nlohmann's object is a std::map: dump() writes the members sorted, without whitespace.
  return base64url(sha256(compactJson(object)));
}

std::string ecThumbprint(EVP_PKEY* key) {
  std::string x, y;
  if (!ecCoordinates(key, &x, &y)) return {};
  return jwkThumbprint({{"crv", "P-256"}, {"kty", "EC"}, {"x", base64url(x)}, {"y", base64url(y)}});
}

std::string signEs256(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  if (md == nullptr) return {};
  std::string der;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    der.resize(len);
    ok = EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    der.resize(len);
  }
  EVP_MD_CTX_free(md);
  if (!ok) return {};
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return {};
  std::string raw = fixedWidth(ECDSA_SIG_get0_r(sig), kCoordinateBytes);
  std::string s = fixedWidth(ECDSA_SIG_get0_s(sig), kCoordinateBytes);
  ECDSA_SIG_free(sig);
  if (raw.empty() || s.empty()) return {};
  return raw + s;
}

bool verifyEs256(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  if (signature.size() != 2 * kCoordinateBytes) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
  BIGNUM* r = BN_bin2bn(raw, kCoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(raw + kCoordinateBytes, kCoordinateBytes, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = md != nullptr && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(md, der, static_cast<size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  return ok;
}

std::string signedRequest(EVP_PKEY* key, std::string_view kid, std::string_view nonce,
                          std::string_view url, std::string_view payload) {
  nlohmann::json header = {{"alg", "ES256"}, {"nonce", nonce}, {"url", url}};
  if (kid.empty()) {
    std::string jwk = ecJwk(key);
    if (jwk.empty()) return {};
    header["jwk"] = nlohmann::json::parse(jwk);
  } else {
    header["kid"] = kid;
  }
  std::string protected64 = base64url(compactJson(header));
  std::string payload64 = base64url(payload);
  std::string signature = signEs256(key, protected64 + "." + payload64);
  if (signature.empty()) return {};
  nlohmann::json jws = {
      {"protected", protected64}, {"payload", payload64}, {"signature", base64url(signature)}};
  return compactJson(jws);
}

std::string compactJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string keyAuthorization(std::string_view token, std::string_view thumbprint) {
  std::string out(token);
  out += '.';
  out += thumbprint;
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<char*>(digest), len);
}

}  // namespace portico::tls::acme
