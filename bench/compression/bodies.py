"""The two ~100 KiB response bodies the compression benchmark serves from its origin.

Both are generated from a fixed seed, so every run (and every machine) compresses the same
bytes. They are meant to compress like real traffic, not like a best case: the JSON is an API
listing of records whose fields vary (ids, names, e-mail addresses, timestamps, prices, tags,
free text), the HTML is a product page with navigation, prose, a table and inline styles. One
repeated string would compress 100:1 and make every encoder look the same.
"""
import json
import random

TARGET = 100 * 1024

FIRST = ["Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jun",
         "Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomoko",
         "Umar", "Valentina", "Wei", "Ximena", "Yusuf", "Zofia"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Silva", "Kowalski", "Nguyen",
        "Schmidt", "Rossi", "Fernandez", "Petrov", "Kim", "Osei", "Bianchi", "Andersen", "Dubois",
        "Yilmaz", "Costa", "Ivanova", "Mensah", "O'Brien", "Varga"]
CITIES = ["Lisbon", "Osaka", "Nairobi", "Montreal", "Krakow", "Valparaiso", "Tallinn", "Pune",
          "Ghent", "Tromso", "Izmir", "Cordoba", "Leipzig", "Da Nang", "Accra", "Porto Alegre"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.io", "post.example.de"]
TAGS = ["beta", "enterprise", "trial", "churn-risk", "vip", "newsletter", "eu", "apac", "latam",
        "partner", "internal", "legacy", "mobile", "api", "sso", "audit"]
WORDS = ("the a of to and in for on with by from at as is was are be this that which an or not "
         "order shipment invoice account payment customer delivery warehouse refund request "
         "quickly carefully yesterday tomorrow package label address window schedule update "
         "received delayed confirmed cancelled returned pending approved flagged reviewed "
         "blue large small heavy fragile express standard priority local regional network "
         "driver courier support ticket note follow-up manager team office store online").split()


def _sentence(rng, lo=6, hi=18):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", ".", "?", "!"])


def _record(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "id": 100000 + i * 7 + rng.randint(0, 6),
        "uuid": "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                               0x8000 | rng.getrandbits(14), rng.getrandbits(48)),
        "name": "%s %s" % (first, last),
        "email": "%s.%s%d@%s" % (first.lower(), last.lower().replace("'", ""), rng.randint(1, 999),
                                 rng.choice(DOMAINS)),
        "created_at": "2026-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 11), rng.randint(1, 28), rng.randint(0, 23),
                                                        rng.randint(0, 59), rng.randint(0, 59)),
        "active": rng.random() < 0.8,
        "balance": round(rng.uniform(-500, 25000), 2),
        "orders": rng.randint(0, 400),
        "tags": rng.sample(TAGS, rng.randint(0, 4)),
        "address": {"city": rng.choice(CITIES), "postcode": "%05d" % rng.randint(1000, 99999),
                    "street": "%d %s Street" % (rng.randint(1, 300), rng.choice(LAST))},
        "note": _sentence(rng) if rng.random() < 0.6 else None,
    }


def json_body(seed=9):
    rng = random.Random(seed)
    records, size, i = [], 40, 0
    while True:
        rec = json.dumps(_record(rng, i), separators=(",", ":"))
        if size + len(rec) + 1 > TARGET:
            break
        records.append(rec)
        size += len(rec) + 1
        i += 1
    head = '{"page":1,"per_page":%d,"total":48213,"items":[' % len(records)
    return (head + ",".join(records) + "]}\n").encode()


def html_body(seed=9):
    rng = random.Random(seed)
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           '<title>Shipping and orders - Example Store</title>\n<style>\n']
    for cls in ["header", "nav", "main", "article", "aside", "footer", "table", "card", "price", "badge"]:
        out.append(".%s{margin:%dpx %dpx;padding:%dpx;color:#%06x;font-size:%d%%}\n" % (
            cls, rng.randint(0, 24), rng.randint(0, 24), rng.randint(2, 16), rng.getrandbits(24), rng.randint(80, 140)))
    out.append('</style>\n</head>\n<body>\n<header class="header"><nav class="nav"><ul>\n')
    for w in rng.sample(WORDS, 12):
        out.append('<li><a href="/%s/%d">%s</a></li>\n' % (w, rng.randint(1, 999), w.capitalize()))
    out.append('</ul></nav></header>\n<main class="main">\n')
    section = 0
    while sum(len(s) for s in out) < TARGET - 6000:
        section += 1
        out.append('<article class="article" id="s%d">\n<h2>%s</h2>\n' % (section, _sentence(rng, 3, 7)[:-1]))
        for _ in range(rng.randint(2, 5)):
            out.append("<p>%s</p>\n" % " ".join(_sentence(rng) for _ in range(rng.randint(2, 6))))
        if section % 3 == 0:
            out.append('<table class="table">\n<tr><th>SKU</th><th>Item</th><th>City</th><th>Price</th></tr>\n')
            for _ in range(rng.randint(4, 10)):
                out.append('<tr><td>%s-%05d</td><td>%s %s</td><td>%s</td><td class="price">%.2f EUR</td></tr>\n' % (
                    rng.choice("ABCDEFGH"), rng.randint(0, 99999), rng.choice(WORDS), rng.choice(WORDS),
                    rng.choice(CITIES), rng.uniform(1, 900)))
            out.append("</table>\n")
        out.append("</article>\n")
    out.append('</main>\n<footer class="footer"><p>')
    while sum(len(s) for s in out) < TARGET - 40:
        out.append('<a href="/help/%d">%s</a> ' % (rng.randint(1, 99), rng.choice(WORDS)))
    out.append("</p></footer>\n</body>\n</html>\n")
    return "".join(out).encode()


if __name__ == "__main__":
    import zlib
    for name, b in (("json", json_body()), ("html", html_body())):
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        z = c.compress(b) + c.flush()
        print("%s: %d bytes, gzip-6 %d bytes (%.1f%%)" % (name, len(b), len(z), 100 * len(z) / len(b)))
