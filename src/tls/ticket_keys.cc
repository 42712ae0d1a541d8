#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <mutex>

#include "core/log.h"

namespace portico::tls {
namespace {

// Ticket callback results (SSL_CTX_set_tlsext_ticket_key_evp_cb).
constexpr int kReject = 0;  // unknown key: full handshake, then a fresh ticket
constexpr int kAccept = 1;
constexpr int kRenew = 2;  // accepted, and a new ticket under the current key is sent
constexpr int kFail = -1;

bool setHmacKey(EVP_MAC_CTX* mac, const std::array<unsigned char, 32>& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  return EVP_MAC_init(mac, key.data(), key.size(), params) == 1;
}

}  // namespace

TicketKeys& TicketKeys::shared() {
  // Never destroyed: worker threads may still be in a handshake while the process exits.
  static TicketKeys* keys = new TicketKeys();
  return *keys;
}

TicketKeys::TicketKeys() {
  rotate();
}

TicketKeys::~TicketKeys() {
  OPENSSL_cleanse(keys_.data(), sizeof keys_);
}

void TicketKeys::rotate() {
  Key fresh;
  if (RAND_bytes(fresh.name.data(), fresh.name.size()) != 1 ||
      RAND_bytes(fresh.aes.data(), fresh.aes.size()) != 1 ||
      RAND_bytes(fresh.hmac.data(), fresh.hmac.size()) != 1) {
    // Tickets under a guessable key would let anyone decrypt recorded sessions: keep the old
    // key rather than use a weak one.
    PLOG_ERROR("session ticket key rotation failed: no random bytes; keeping the current key");
    OPENSSL_cleanse(&fresh, sizeof fresh);
    return;
  }
  {
    std::unique_lock lock(mutex_);
    OPENSSL_cleanse(&keys_[kKeys - 1], sizeof(Key));
    for (size_t i = kKeys - 1; i > 0; --i) keys_[i] = keys_[i - 1];
    keys_[0] = fresh;
    if (count_ < kKeys) ++count_;
  }
  OPENSSL_cleanse(&fresh, sizeof fresh);
}

void TicketKeys::install(SSL_CTX* ctx) {
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, callback);
}

int TicketKeys::callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         EVP_MAC_CTX* mac, int encrypt) {
  const TicketKeys& keys = shared();
  if (encrypt != 0) return keys.encrypt(name, iv, cipher, mac);
  int result = keys.decrypt(name, iv, cipher, mac);
  // A TLS 1.3 client uses a ticket once (RFC 8446 C.4; OpenSSL does), and OpenSSL sends a new
  // ticket after a resumption only when asked to: without renewal the client's next
  // connection would be a full handshake. nginx does the same.
  if (result == kAccept && SSL_version(ssl) == TLS1_3_VERSION) return kRenew;
  return result;
}

int TicketKeys::encrypt(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac) const {
  const EVP_CIPHER* aes = EVP_aes_256_cbc();
  if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes)) != 1) return kFail;
  std::shared_lock lock(mutex_);
  const Key& key = keys_[0];
  std::memcpy(name, key.name.data(), key.name.size());
  if (EVP_EncryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) != 1) return kFail;
  return setHmacKey(mac, key.hmac) ? kAccept : kFail;
}

int TicketKeys::decrypt(const unsigned char* name, const unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac) const {
  std::shared_lock lock(mutex_);
  for (size_t i = 0; i < count_; ++i) {
    const Key& key = keys_[i];
    if (CRYPTO_memcmp(name, key.name.data(), key.name.size()) != 0) continue;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1 ||
        !setHmacKey(mac, key.hmac)) {
      return kFail;
    }
    // Always renew: in TLS 1.3 OpenSSL only sends a new ticket after a resumption when asked
    // to, and clients use each ticket once (RFC 8446 appendix C.4), so without a fresh one
    // every other connection would fall back to a full handshake.
    return kRenew;
  }
  return kReject;
}

}  // namespace portico::tls
