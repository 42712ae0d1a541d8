#pragma once
// The process-wide ring of session ticket keys. Every listener's contexts encrypt and decrypt
// tickets through it, so a client resumes on any worker and on any listener serving the same
// names. The newest key encrypts; it and the two before it decrypt, and a ticket under an
// older key is renewed. Key material never leaves this file: not in logs, not in errors.

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>

namespace portico::tls {

class TicketKeys {
 public:
  static constexpr size_t kKeys = 3;  // current + 2 previous

  // The one ring of the process.
  static TicketKeys& shared();

  // Makes a new current key; the oldest stops decrypting. Called from the main thread on a
  // timer (ticket_key_rotation); handshakes on the workers keep going meanwhile.
  void rotate();

  // Installs the ticket callback on a context.
  static void install(SSL_CTX* ctx);

  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

 private:
  struct Key {
    std::array<unsigned char, 16> name;  // sent in the ticket, picks the key on decryption
    std::array<unsigned char, 32> aes;   // AES-256-CBC
    std::array<unsigned char, 32> hmac;  // HMAC-SHA256
  };

  TicketKeys();
  ~TicketKeys();
  static int callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int encrypt);
  int encrypt(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac) const;
  int decrypt(const unsigned char* name, const unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac) const;

  mutable std::shared_mutex mutex_;
  std::array<Key, kKeys> keys_{};  // [0] is current
  size_t count_ = 0;               // keys in use, up to kKeys
};

}  // namespace portico::tls
