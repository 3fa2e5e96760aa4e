#!/usr/bin/env bash
# Writes the throwaway certificates of the TLS integration tests into DIR (made if missing):
#
#   scripts/test-certs.sh DIR [KEY_PASSPHRASE]
#
#   ca.pem ca.key              the test CA (the broker trusts it for client certificates)
#   server.pem server.key      the broker: CN=localhost, SAN DNS:localhost and IP:127.0.0.1
#   client.pem client.key      a client: CN=warren-tls-client (EXTERNAL logs in as that user)
#   client-encrypted.key       client.key encrypted with KEY_PASSPHRASE (default "test-passphrase")
#   other-ca.pem               a second CA that signed nothing the broker uses ("unknown CA")
#   client-expired.pem .key    like client.pem, but valid only on 2020-01-01 (`openssl ca`
#                              is the 3.0 tool that takes explicit dates)
#
# EC P-256 keys: generating them takes milliseconds, unlike RSA.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [KEY_PASSPHRASE]" >&2; exit 2; }
dir=$1 passphrase=${2:-test-passphrase}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # ca NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "/CN=$2" -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() {  # leaf NAME CN EXTENSIONS
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "Warren Test CA"
ca other-ca "Warren Other CA"
leaf server localhost "$(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth')"
leaf client warren-tls-client "extendedKeyUsage=clientAuth"
# An expired client certificate from the same CA.
mkdir -p ca-db && : >ca-db/index.txt && echo 01 >ca-db/serial
cat >ca-db/ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = client
[any]
commonName = supplied
[client]
extendedKeyUsage = clientAuth
CNF
key client-expired.key
openssl req -new -key client-expired.key -subj "/CN=warren-tls-client" -out client-expired.csr
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -notext \
    -startdate 20200101000000Z -enddate 20200102000000Z -in client-expired.csr -out client-expired.pem 2>/dev/null
rm -rf ca-db client-expired.csr
openssl pkey -in client.key -aes256 -passout "pass:$passphrase" -out client-encrypted.key
# The broker (Erlang) reads these as whoever runs it.
chmod 644 ./*.pem ./*.key
