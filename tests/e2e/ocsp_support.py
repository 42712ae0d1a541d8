"""A test CA with the openssl CLI, and a real OCSP responder (`openssl ocsp -port`) for it.

The CA signs leaves whose Authority Information Access names the responder on loopback; the
responder answers from an index.txt written here (good or revoked per leaf).
"""
import datetime
import os
import subprocess
import time

from conftest import free_port


def run(*args, cwd=None):
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(args), result.stdout, result.stderr))
    return result.stdout


class TestCa:
    __test__ = False  # not a test class, despite its name

    """A CA in `directory` and an OCSP responder port chosen up front (it goes into leaves)."""

    def __init__(self, directory):
        self.dir = directory
        self.ocsp_port = free_port()
        self.ocsp_url = "http://127.0.0.1:%d/" % self.ocsp_port
        self.cert = self.path("ca.crt")
        self.key = self.path("ca.key")
        self.index = self.path("index.txt")
        self.entries = {}  # serial (hex) -> index.txt line
        self.responder = None
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "30", "-subj",
            "/CN=Portico Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, serial, revoked=False, ocsp_url=None):
        """A leaf for DNS name `name`; returns (chain file: leaf then CA, key file). `ocsp_url`
        overrides the responder named in the leaf; "" names none."""
        key = self.path(name + ".key")
        csr = self.path(name + ".csr")
        leaf = self.path(name + ".crt")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName = DNS:%s\n" % name)
            f.write("basicConstraints = CA:FALSE\n")
            f.write("keyUsage = critical,digitalSignature\n")
            f.write("extendedKeyUsage = serverAuth\n")
            url = self.ocsp_url if ocsp_url is None else ocsp_url
            if url:
                f.write("authorityInfoAccess = OCSP;URI:%s\n" % url)
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        run("openssl", "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
            "-set_serial", str(serial), "-days", "20", "-extfile", ext, "-out", leaf)
        chain = self.path(name + ".chain.pem")
        with open(chain, "w") as out:
            out.write(open(leaf).read())
            out.write(open(self.cert).read())
        self.add_to_index(name, serial, revoked)
        return chain, key

    def add_to_index(self, name, serial, revoked):
        expiry = (datetime.datetime.utcnow() + datetime.timedelta(days=20)).strftime(
            "%y%m%d%H%M%SZ")
        hex_serial = "%X" % serial
        hex_serial = ("0" + hex_serial) if len(hex_serial) % 2 else hex_serial
        if revoked:
            when = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime(
                "%y%m%d%H%M%SZ")
            line = "R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=%s\n" % (
                expiry, when, hex_serial, name)
        else:
            line = "V\t%s\t\t%s\tunknown\t/CN=%s\n" % (expiry, hex_serial, name)
        self.entries[hex_serial] = line
        with open(self.index, "w") as f:
            f.write("".join(self.entries.values()))
        with open(self.index + ".attr", "w") as f:
            f.write("unique_subject = no\n")

    def start_responder(self):
        """`openssl ocsp` on loopback, signing with the CA key itself; nextUpdate in a day."""
        self.responder_log = open(self.path("responder.log"), "w")
        self.responder = subprocess.Popen(
            ["openssl", "ocsp", "-index", self.index, "-port", str(self.ocsp_port),
             "-rsigner", self.cert, "-rkey", self.key, "-CA", self.cert, "-ndays", "1",
             "-nrequest", "100"],
            stdout=self.responder_log, stderr=subprocess.STDOUT)
        # Not wait_for_port: `openssl ocsp` serves one connection at a time and hangs on one
        # that closes without a request. It prints ACCEPT once it listens.
        deadline = time.time() + 10
        while "ACCEPT" not in open(self.path("responder.log")).read():
            if self.responder.poll() is not None or time.time() > deadline:
                raise RuntimeError("openssl ocsp did not start:\n" +
                                   open(self.path("responder.log")).read())
            time.sleep(0.02)
        return self

    def stop_responder(self):
        if self.responder is not None and self.responder.poll() is None:
            self.responder.kill()
            self.responder.wait()
        self.responder = None

    def fetch_response(self, chain, out):
        """Asks the responder with the openssl CLI; writes the DER response to `out`."""
        leaf = chain.replace(".chain.pem", ".crt")
        return run("openssl", "ocsp", "-issuer", self.cert, "-cert", leaf, "-url",
                   self.ocsp_url, "-CAfile", self.cert, "-respout", out, "-resp_text")


def s_client_status(port, servername, ca_file):
    """`openssl s_client -status` against 127.0.0.1:port; returns its output."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", servername,
         "-status", "-CAfile", ca_file, "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=20)
    return result.stdout + result.stderr
