#!/usr/bin/env bash
# Regenerates the TEST-ONLY certificates of examples/tls.yaml: a throwaway CA (its key is
# deleted once the leaves are signed) and three server certificates, valid for 20 years:
#   www.crt / www.key          ECDSA P-256   www.example.test, example.test, localhost, 127.0.0.1
#   www-rsa.crt / www-rsa.key  RSA 2048      the same names (clients without ECDSA get this one)
#   api.crt / api.key          ECDSA P-256   api.example.test (also the demo backend's)
#   client.crt / client.key    ECDSA P-256   a client certificate (mTLS to api.example.test,
#                                            and Portico's certificate towards the backend)
# Clients trust ca.crt (curl --cacert examples/tls/ca.crt). Never use these keys for anything
# real: they are public.
set -euo pipefail
cd "$(dirname "$0")"
days=7300
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key"
cat >"$work/ca.ext" <<'EXT'
[ ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EXT
openssl req -new -x509 -key "$work/ca.key" -out ca.crt -days "$days" -sha256 \
  -subj "/O=Portico examples/CN=Portico example CA (test only)" \
  -config "$work/ca.ext" -extensions ca

leaf() {  # leaf NAME KEYTYPE SAN [USAGE]
  local name=$1 type=$2 san=$3 usage=${4:-serverAuth} cn=${3%%,*}
  cn=${cn#DNS:}
  if [ "$type" = rsa ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key"
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key"
  fi
  cat >"$work/$name.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature$([ "$type" = rsa ] && echo ", keyEncipherment")
extendedKeyUsage = $usage
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
EXT
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$work/$name.csr"
  openssl x509 -req -in "$work/$name.csr" -CA ca.crt -CAkey "$work/ca.key" -CAcreateserial \
    -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/$name.ext" -out "$name.crt"
}
leaf www ecdsa "DNS:www.example.test, DNS:example.test, DNS:localhost, IP:127.0.0.1"
leaf www-rsa rsa "DNS:www.example.test, DNS:example.test, DNS:localhost, IP:127.0.0.1"
leaf api ecdsa "DNS:api.example.test"
leaf client ecdsa "DNS:client.example.test" "clientAuth, serverAuth"
chmod 644 ./*.key
