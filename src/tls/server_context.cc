#include "tls/server_context.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>

#include "tls/acme/challenges.h"
#include "tls/client_auth.h"
#include "tls/context_setup.h"
#include "tls/pem_files.h"
#include "tls/ticket_keys.h"

namespace portico::tls {
namespace {

std::string certificateKey(size_t index, const char* file) {
  return "certificates[" + std::to_string(index) + "]." + file;
}

// Sorted and joined, so the same names in any order make the same group.
std::string nameSetKey(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string key;
  for (const std::string& n : names) key += (key.empty() ? "" : ",") + n;
  return key;
}

// Tried one by one so the message can name the group OpenSSL does not know.
Result<void> setGroups(SSL_CTX* ctx, const std::vector<std::string>& groups,
                       std::string* error_key) {
  std::string list;
  for (const std::string& g : groups) {
    if (g.find(':') != std::string::npos || SSL_CTX_set1_groups_list(ctx, g.c_str()) != 1) {
      takeOpensslErrors();
      return configError(error_key, "groups",
                         "unknown group \"" + g + "\"; common ones: X25519, prime256v1, secp384r1");
    }
    list += (list.empty() ? "" : ":") + g;
  }
  if (!list.empty() && SSL_CTX_set1_groups_list(ctx, list.c_str()) != 1) {
    return configError(error_key, "groups",
                       "OpenSSL refuses the group list: " + takeOpensslErrors());
  }
  return {};
}

// A session resumes only where its id context matches. Deriving it from the names (not the
// listener) lets a client resume on every listener serving the site, and never on another
// site's certificate; the client certificate policy is part of it, so a session never skips
// a client certificate check it did not pass (tls/client_auth.h).
void setSessionIdContext(SSL_CTX* ctx, const std::string& names, const ClientAuth* auth) {
  std::string material = names;
  if (auth != nullptr) material += "\n" + auth->digest();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(material.data(), material.size(), digest, &length, EVP_sha256(), nullptr);
  SSL_CTX_set_session_id_context(ctx, digest, std::min(length, unsigned{SSL_MAX_SID_CTX_LENGTH}));
}

// The server_name extension body (RFC 6066 section 3): a list length, then entries of
// (type, length, name); host_name (0) is the only type defined and comes at most once.
std::string_view serverName(const unsigned char* p, size_t len) {
  if (len < 5 || ((size_t{p[0]} << 8) | p[1]) != len - 2) return {};
  if (p[2] != TLSEXT_NAMETYPE_host_name) return {};
  size_t n = (size_t{p[3]} << 8) | p[4];
  if (n + 5 > len) return {};
  return {reinterpret_cast<const char*>(p + 5), n};
}

}  // namespace

Result<std::shared_ptr<ServerContext>> ServerContext::build(const ServerTlsConfig& config,
                                                            std::string* error_key) {
  if (config.certificates.empty()) {
    return configError(error_key, "certificates", "at least one certificate is required");
  }
  std::shared_ptr<ServerContext> self(new ServerContext());
  self->alpn_ = alpnWireFormat(config.alpn);
  self->handshake_timeout_ms_ = config.handshake_timeout_ms;
  if (Result<void> r = self->addCertificates(config, error_key); !r) return r.error();
  self->indexClientAuth();
  return self;
}

Result<void> ServerContext::addCertificates(const ServerTlsConfig& config, std::string* error_key) {
  std::map<std::string, size_t> group_of;                  // name set -> index in contexts_
  std::map<std::pair<size_t, int>, size_t> first_of_type;  // (group, key type) -> certificate
  for (size_t i = 0; i < config.certificates.size(); ++i) {
    const CertificateFiles& files = config.certificates[i];
    LoadedCertificate cert;
    PemError pem;
    if (!loadCertificate(files, &cert, &pem)) {
      return configError(error_key, certificateKey(i, pem.file == PemFile::Cert ? "cert" : "key"),
                         pem.message);
    }
    std::vector<std::string> names = certificateNames(cert.leaf.get());
    // Only the default can be reached without a name; any other would be dead configuration.
    if (names.empty() && i > 0) {
      return configError(error_key, certificateKey(i, "cert"),
                         "certificate in " + files.cert +
                             " has no DNS name (subjectAltName or CN), so SNI can never select it");
    }
    std::string set = nameSetKey(names);
    auto [group, is_new] = group_of.emplace(set, contexts_.size());
    // The certificate's own client_auth, else the listener's; `false` on the entry is Off.
    std::optional<ClientAuthConfig> auth =
        files.client_auth ? files.client_auth : config.client_auth;
    if (auth && auth->mode == ClientAuthMode::Off) auth.reset();
    if (is_new) {
      std::shared_ptr<const ClientAuth> client_auth;
      // Groups with the same policy (the listener's, most often) share one trust store: the
      // CA bundle and CRLs are read once, however many sites the listener serves.
      for (size_t g = 0; auth && !client_auth && g < group_client_auth_.size(); ++g) {
        if (group_client_auth_[g] == auth) client_auth = client_auth_[g];
      }
      if (auth && !client_auth) {
        std::string prefix = files.client_auth ? certificateKey(i, "client_auth") : "client_auth";
        Result<std::shared_ptr<const ClientAuth>> built =
            ClientAuth::build(*auth, prefix, error_key);
        if (!built) return built.error();
        client_auth = std::move(*built);
      }
      Result<SslCtxPtr> ctx = newGroupContext(config, set, client_auth.get(), error_key);
      if (!ctx) return ctx.error();
      contexts_.push_back(std::move(*ctx));
      client_auth_.push_back(std::move(client_auth));
      group_client_auth_.push_back(auth);
      group_first_.push_back(i);
      for (const std::string& n : names) names_.add(n, group->second);
    } else if (group_client_auth_[group->second] != auth) {
      // One context serves them all, and the policy is chosen with it, by the name.
      return configError(error_key, certificateKey(i, "client_auth"),
                         "certificate in " + files.cert + " has the same names as " +
                             config.certificates[group_first_[group->second]].cert +
                             " but another client_auth; certificates for the same names share one");
    }
    // OpenSSL keeps one certificate per key type in a context; a second would replace the
    // first without a word.
    int type = EVP_PKEY_get_base_id(cert.key.get());
    auto [same, added] = first_of_type.emplace(std::make_pair(group->second, type), i);
    if (!added) {
      return configError(error_key, certificateKey(i, "cert"),
                         "certificate in " + files.cert + " has the same names and key type as " +
                             config.certificates[same->second].cert + "; only one can be served");
    }
    if (!useCertificate(contexts_[group->second].get(), cert)) {
      return configError(
          error_key, certificateKey(i, "cert"),
          "OpenSSL refuses the certificate in " + files.cert + ": " + takeOpensslErrors());
    }
    if (Result<void> r = ocsp_.add(contexts_[group->second].get(), cert, files, i, error_key); !r)
      return r;
  }
  return {};
}

Result<SslCtxPtr> ServerContext::newGroupContext(const ServerTlsConfig& config,
                                                 const std::string& names,
                                                 const ClientAuth* client_auth,
                                                 std::string* error_key) const {
  Result<SslCtxPtr> made = newContext(
      TLS_server_method(),
      {config.min_version, config.max_version, config.ciphers, config.ciphersuites}, error_key);
  if (!made) return made;
  SSL_CTX* ctx = made->get();
  if (Result<void> r = setGroups(ctx, config.groups, error_key); !r) return r.error();
  SSL_CTX_set_dh_auto(ctx, 1);
  if (config.prefer_server_ciphers)
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  setSessionIdContext(ctx, names, client_auth);
  if (client_auth != nullptr) client_auth->installOn(ctx);
  SSL_CTX_set_timeout(ctx, std::max<long>(1, static_cast<long>(config.session_timeout_ms / 1000)));
  if (config.session_cache) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, static_cast<long>(config.session_cache_size));
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  if (config.session_tickets) {
    TicketKeys::install(ctx);
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    // TLS 1.3 would still send "stateful" tickets that name a cache entry; with no cache they
    // could never resume, so they are not sent at all.
    if (!config.session_cache) SSL_CTX_set_num_tickets(ctx, 0);
  }
  // The callbacks run on whichever context is current for the SSL: the default one sees the
  // client hello, the one SNI chose answers ALPN.
  SSL_CTX_set_client_hello_cb(ctx, onClientHello, const_cast<ServerContext*>(this));
  // Always: an ACME TLS-ALPN-01 handshake selects acme-tls/1 even without configured ALPN.
  SSL_CTX_set_alpn_select_cb(ctx, onAlpn, const_cast<ServerContext*>(this));
  return made;
}

void ServerContext::indexClientAuth() {
  auto index = std::make_shared<ClientAuthNames>();
  std::vector<std::optional<ClientAuthConfig>> distinct;  // policy n is distinct[n - 1]
  for (const std::optional<ClientAuthConfig>& auth : group_client_auth_) {
    int policy = 0;
    if (auth) {
      auto it = std::find(distinct.begin(), distinct.end(), auth);
      if (it == distinct.end()) it = distinct.insert(it, auth);
      policy = static_cast<int>(it - distinct.begin()) + 1;
    }
    index->uniform_ =
        index->uniform_ && (index->group_policy_.empty() || index->group_policy_.front() == policy);
    index->group_policy_.push_back(policy);
  }
  index->names_ = names_;
  client_auth_names_ = std::move(index);
}

SSL* ServerContext::newSsl() const {
  SSL* ssl = SSL_new(contexts_[0].get());
  if (ssl == nullptr) return nullptr;
  attachOwner(ssl, shared_from_this());
  SSL_set_accept_state(ssl);
  return ssl;
}

// The client hello callback runs before OpenSSL looks for a session to resume; the servername
// callback runs after, when a session would already have been checked against the default
// context's session id context and the sessions of every other site refused.
// The client certificate policy is chosen here too, with the group: the verify mode and depth
// live in the SSL, which SSL_set_SSL_CTX does not update.
int ServerContext::onClientHello(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  if (acme::answerTlsAlpnChallenge(ssl)) return SSL_CLIENT_HELLO_SUCCESS;  // RFC 8737
  const unsigned char* ext = nullptr;
  size_t len = 0;
  size_t group = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) == 1) {
    group = self->names_.find(serverName(ext, len)).value_or(0);
  }
  if (group != 0) SSL_set_SSL_CTX(ssl, self->contexts_[group].get());
  if (const ClientAuth* auth = self->client_auth_[group].get()) {
    auth->apply(ssl);
  } else {
    ClientAuth::applyNone(ssl);
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Server preference. A client whose list shares nothing with ours proceeds without ALPN
// instead of failing with no_application_protocol (RFC 7301 allows either): like nginx, a
// client that offered, say, only h2 still gets HTTP/1.1, which it must be able to speak.
int ServerContext::onAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_len,
                          const unsigned char* in, unsigned int in_len, void* arg) {
  static const std::string kAcmeOnly = alpnWireFormat({std::string(acme::kAcmeTlsProtocol)});
  const std::string& ours =
      acme::isTlsAlpnChallenge(ssl) ? kAcmeOnly : static_cast<const ServerContext*>(arg)->alpn_;
  for (size_t i = 0; i < ours.size(); i += 1 + static_cast<unsigned char>(ours[i])) {
    std::string_view mine(ours.data() + i + 1, static_cast<unsigned char>(ours[i]));
    for (unsigned int j = 0; j < in_len; j += 1u + in[j]) {
      unsigned int n = in[j];
      if (j + 1 + n > in_len) break;
      if (n == mine.size() && std::memcmp(in + j + 1, mine.data(), n) == 0) {
        *out = in + j + 1;
        *out_len = static_cast<unsigned char>(n);
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace portico::tls
