#pragma once
// An in-memory TLS handshake between two SSL objects joined by a BIO pair: real OpenSSL on
// both sides, no sockets, no threads.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "tls/handles.h"

namespace portico::tls::testing {

struct HandshakeResult {
  bool ok = false;
  unsigned long server_error = 0;  // first OpenSSL error the server side raised
};

inline bool wouldBlock(SSL* ssl, int rc) {
  int e = SSL_get_error(ssl, rc);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

// Takes ownership of neither SSL; the client is put in connect state. On success the client has
// also read what the server sent after the handshake (TLS 1.3 session tickets), so its session is
// ready for resumption.
inline HandshakeResult handshake(SSL* client, SSL* server) {
  HandshakeResult result;
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  ERR_clear_error();
  for (int round = 0; round < 50; ++round) {
    int c = SSL_do_handshake(client);
    if (c != 1 && !wouldBlock(client, c)) break;
    int s = SSL_do_handshake(server);
    if (s != 1 && !wouldBlock(server, s)) {
      result.server_error = ERR_peek_error();
      break;
    }
    if (c == 1 && s == 1) {
      char byte;
      SSL_read(client, &byte, 1);  // processes tickets; nothing else is pending
      result.ok = true;
      break;
    }
  }
  ERR_clear_error();
  return result;
}

// Exchanges close_notify. OpenSSL marks the session of a connection freed without it as not
// resumable (RFC 5246 section 7.2.1), on both sides.
inline void closeBoth(SSL* client, SSL* server) {
  SSL_shutdown(client);
  SSL_shutdown(server);
  SSL_shutdown(client);
}

// A permissive test client: no verification, every version, so the server decides.
inline SslCtxPtr testClientContext() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // A client cache would mark its sessions not resumable when the context is freed, and
  // tests free it after every connection; they keep sessions with SSL_get1_session instead.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

}  // namespace portico::tls::testing
