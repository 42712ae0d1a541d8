"""Certificates for the TLS end-to-end tests, made with the `openssl` command line.

TestCA is a throwaway certificate authority in a temporary folder (conftest gives one per test
session, fixture `test_ca`). `issue()` signs leaf certificates with it: an ECDSA P-256 or an
RSA-2048 key, given SAN DNS names and IP addresses, a validity window in days relative to now
(negative = in the past, so already expired or not yet valid certificates are one call away),
and an extended key usage for a server or for a client.

Speed: ECDSA keys take milliseconds, so every leaf gets its own; the RSA-2048 key is generated
once per CA and shared by every RSA leaf. Identical requests return the files made the first
time.
"""
import datetime
import os
import subprocess
import threading

OPENSSL = "openssl"

# `openssl ca` needs a configuration with a database; this one accepts any subject, lets the
# same subject be issued many times and copies no extension from the request.
CA_CONFIG = """\
[ ca ]
default_ca = test_ca

[ test_ca ]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/issued
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
policy = any_subject
unique_subject = no
copy_extensions = none
email_in_dn = no

[ any_subject ]
commonName = supplied
"""

CA_EXTENSIONS = """\
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

USAGES = {"server": "serverAuth", "client": "clientAuth", "both": "serverAuth, clientAuth"}


def openssl(*args, cwd=None):
    """Runs the openssl CLI; raises with its output if it fails."""
    r = subprocess.run([OPENSSL, *args], capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed (%d):\n%s%s" % (" ".join(args), r.returncode,
                                                             r.stdout, r.stderr))
    return r.stdout


def asn1_time(days_from_now):
    """YYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` want it (seconds dropped)."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_from_now)
    return t.strftime("%y%m%d%H%M%SZ")


class Leaf:
    """An issued certificate: `cert` (PEM, the leaf; the CA is the root, so no chain follows)
    and `key` (PEM private key), plus what it was issued for."""

    def __init__(self, cert, key, cn, dns, ips, key_type):
        self.cert = cert
        self.key = key
        self.cn = cn
        self.dns = list(dns)
        self.ips = list(ips)
        self.key_type = key_type

    def __repr__(self):
        return "<Leaf %s %s %s>" % (self.cn, self.key_type, self.dns + self.ips)


class TestCA:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(os.path.join(directory, "issued"), exist_ok=True)
        open(os.path.join(directory, "index.txt"), "w").close()
        with open(os.path.join(directory, "serial"), "w") as f:
            f.write("1000\n")  # unused (serials are random), but `openssl ca` looks it up
        self.config = os.path.join(directory, "ca.cnf")
        with open(self.config, "w") as f:
            f.write(CA_CONFIG.format(dir=directory))
        self.key = os.path.join(directory, "ca.key")
        self.cert = os.path.join(directory, "ca.crt")
        ext = self._write("ca-ext.cnf", CA_EXTENSIONS)
        self.new_key("ecdsa", self.key)
        openssl("req", "-new", "-x509", "-key", self.key, "-out", self.cert, "-days", "30",
                "-subj", "/O=Portico tests/CN=Portico Test CA", "-config", ext,
                "-extensions", "ca_ext", "-sha256")
        self._rsa_key = None
        self._issued = {}
        self._lock = threading.Lock()
        self._count = 0

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    @staticmethod
    def new_key(key_type, path):
        """Writes a new private key: "ecdsa" (P-256) or "rsa" (2048 bits)."""
        if key_type == "ecdsa":
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", path)
        elif key_type == "rsa":
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", path)
        else:
            raise ValueError("key_type is ecdsa or rsa, not %r" % key_type)
        return path

    def rsa_key(self):
        """The one RSA-2048 key every RSA leaf of this CA uses."""
        if self._rsa_key is None:
            self._rsa_key = self.new_key("rsa", os.path.join(self.dir, "shared-rsa.key"))
        return self._rsa_key

    def issue(self, cn, dns=(), ips=(), key_type="ecdsa", valid=(-1, 30), usage="server"):
        """Signs a leaf certificate for `cn` with SAN `dns` names and `ips`.

        valid: (not_before, not_after) in days from now; (-30, -1) is expired, (1, 30) is not
        yet valid. usage: "server", "client" or "both" (extendedKeyUsage). Without dns and ips
        the certificate has no SAN (its CN is its only name)."""
        request = (cn, tuple(dns), tuple(ips), key_type, tuple(valid), usage)
        with self._lock:
            if request in self._issued:
                return self._issued[request]
            self._count += 1
            base = os.path.join(self.dir, "leaf%d-%s" % (self._count, key_type))
            if key_type == "rsa":
                key = base + ".key"
                with open(self.rsa_key()) as src, open(key, "w") as dst:
                    dst.write(src.read())
            else:
                key = self.new_key(key_type, base + ".key")
            san = ["DNS:%s" % d for d in dns] + ["IP:%s" % i for i in ips]
            ext = ["[ leaf ]", "basicConstraints = critical, CA:FALSE",
                   "keyUsage = critical, digitalSignature%s" %
                   (", keyEncipherment" if key_type == "rsa" else ""),
                   "extendedKeyUsage = %s" % USAGES[usage],
                   "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"]
            if san:
                ext.append("subjectAltName = " + ", ".join(san))
            ext_file = self._write(os.path.basename(base) + ".ext", "\n".join(ext) + "\n")
            csr = base + ".csr"
            openssl("req", "-new", "-key", key, "-subj", "/CN=%s" % cn, "-out", csr)
            cert = base + ".crt"
            openssl("ca", "-batch", "-notext", "-config", self.config, "-in", csr, "-out", cert,
                    "-startdate", asn1_time(valid[0]), "-enddate", asn1_time(valid[1]),
                    "-extfile", ext_file, "-extensions", "leaf", "-rand_serial")
            leaf = Leaf(cert, key, cn, dns, ips, key_type)
            self._issued[request] = leaf
            return leaf


def inspect(pem):
    """What a client would look at in a certificate (PEM text or bytes): {"cn": its subject
    CN, "san": its SAN entries as openssl prints them ("DNS:a.test", "IP Address:127.0.0.1"),
    "key_type": "ecdsa" or "rsa"}."""
    if isinstance(pem, str):
        pem = pem.encode()
    r = subprocess.run([OPENSSL, "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-ext",
                        "subjectAltName", "-text"], input=pem, capture_output=True, check=True)
    text = r.stdout.decode()
    first = text.splitlines()[0]
    assert first.startswith("subject="), text
    cn = [part[3:] for part in first[len("subject="):].split(",") if part.startswith("CN=")]
    san = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "Subject Alternative Name" in line:
            san = [e.strip() for e in lines[i + 1].split(",")]
            break
    if "id-ecPublicKey" in text:
        key_type = "ecdsa"
    elif "rsaEncryption" in text:
        key_type = "rsa"
    else:
        key_type = "other"
    return {"cn": cn[0] if cn else None, "san": san, "key_type": key_type}
