"""A throwaway PKI for the client-certificate (mTLS) tests, made with the openssl CLI.

One CA issues the server certificates and the client certificates (valid, revoked and
expired) and publishes a CRL naming the revoked one; a second, unrelated CA issues a client
certificate Portico must refuse. `openssl ca` is used rather than `x509 -req` because it can
back-date a certificate (the expired one) and keeps the index a CRL is made from.
"""
import os
import subprocess

CA_CONFIG = """
[ ca ]
default_ca = this_ca

[ this_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.crt
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 2
default_crl_days = 2
policy = anything
unique_subject = no
copy_extensions = copy

[ anything ]
commonName = supplied
organizationName = optional
organizationalUnitName = optional

[ client ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth

[ server ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
"""


def openssl(*args, cwd=None):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, text=True,
                          cwd=cwd).stdout


class Ca:
    """A CA in its own directory; issue() returns (cert, key) paths."""

    def __init__(self, directory, name):
        self.dir = directory
        os.makedirs(os.path.join(directory, "issued"))
        open(os.path.join(directory, "index.txt"), "w").close()
        with open(os.path.join(directory, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(directory, "crlnumber"), "w") as f:
            f.write("01\n")
        self.config = os.path.join(directory, "ca.cnf")
        with open(self.config, "w") as f:
            f.write(CA_CONFIG.format(dir=directory))
        self.cert = os.path.join(directory, "ca.crt")
        self.key = os.path.join(directory, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "3",
                "-subj", "/O=Portico Tests/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, name, subject, sans, kind="client", start=None, end=None):
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        cert = os.path.join(self.dir, name + ".crt")
        req = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-keyout", key, "-out", csr, "-subj", subject]
        if sans:
            req += ["-addext", "subjectAltName=" + sans]
        openssl(*req)
        sign = ["ca", "-batch", "-config", self.config, "-extensions", kind, "-notext",
                "-in", csr, "-out", cert]
        if start:
            sign += ["-startdate", start, "-enddate", end]
        openssl(*sign)
        return cert, key

    def revoke(self, cert):
        openssl("ca", "-config", self.config, "-revoke", cert)

    def crl(self, path):
        openssl("ca", "-config", self.config, "-gencrl", "-out", path)
        return path


class Pki:
    """Everything the mTLS tests use, made once per test module in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = Ca(os.path.join(directory, "ca"), "Clients CA")
        self.other_ca = Ca(os.path.join(directory, "other"), "Other CA")
        self.server = self.ca.issue("localhost", "/CN=localhost", "DNS:localhost", "server")
        self.a_site = self.ca.issue("a.test", "/CN=a.test", "DNS:a.test", "server")
        self.b_site = self.ca.issue("b.test", "/CN=b.test", "DNS:b.test", "server")
        self.alice = self.ca.issue(
            "alice", "/O=Portico Tests/OU=Payments/CN=alice",
            "DNS:alice.clients.test,URI:spiffe://portico.test/alice,email:alice@portico.test")
        self.revoked = self.ca.issue("mallory", "/CN=mallory", "DNS:mallory.clients.test")
        self.expired = self.ca.issue("late", "/CN=late", "DNS:late.clients.test",
                                     start="20200101000000Z", end="20200102000000Z")
        self.stranger = self.other_ca.issue("stranger", "/CN=stranger", "DNS:stranger.test")
        # The CRL from before mallory was revoked, for the test that publishes a new one.
        self.crl_before = self.ca.crl(os.path.join(directory, "clients-before.crl"))
        self.ca.revoke(self.revoked[0])
        self.crl = self.ca.crl(os.path.join(directory, "clients.crl"))

    @staticmethod
    def fingerprint(cert):
        """SHA-256 of the DER certificate as openssl prints it, turned into lower-case hex."""
        out = openssl("x509", "-in", cert, "-noout", "-fingerprint", "-sha256")
        return out.strip().split("=", 1)[1].replace(":", "").lower()

    @staticmethod
    def subject(cert):
        out = openssl("x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253")
        return out.strip().split("=", 1)[1]
