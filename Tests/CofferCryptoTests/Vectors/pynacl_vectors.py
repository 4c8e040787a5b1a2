#!/usr/bin/env python3
"""Computes reference outputs with PyNaCl (its own libsodium build) for CofferCrypto's tests.

Reads a JSON object of hex inputs on stdin and writes a JSON object of hex outputs on stdout.
Run by Tests/CofferCryptoTests/VectorTests.swift; needs `pip install pynacl`.
"""
import json
import sys

import nacl.bindings as b
import nacl.encoding
import nacl.hash
import nacl.pwhash
import nacl.signing

raw = nacl.encoding.RawEncoder
h = bytes.fromhex

case = json.load(sys.stdin)
out = {}

out["aead"] = b.crypto_aead_xchacha20poly1305_ietf_encrypt(
    h(case["aead_plaintext"]), h(case["aead_ad"]), h(case["aead_nonce"]), h(case["aead_key"])).hex()
out["blake2b"] = nacl.hash.blake2b(h(case["hash_data"]), digest_size=32, encoder=raw).hex()
out["blake2b_keyed"] = nacl.hash.blake2b(h(case["hash_data"]), digest_size=32, key=h(case["hash_key"]), encoder=raw).hex()
# crypto_kdf_derive_from_key is BLAKE2b keyed by the master key, with the sub-key id (little-endian,
# zero-padded to 16 bytes) as salt and the context (zero-padded to 16 bytes) as personalisation.
out["kdf"] = nacl.hash.blake2b(
    b"", digest_size=32, key=h(case["kdf_master"]),
    salt=int(case["kdf_id"]).to_bytes(8, "little") + bytes(8),
    person=case["kdf_context"].encode() + bytes(8), encoder=raw).hex()
out["argon2id"] = nacl.pwhash.argon2id.kdf(
    32, h(case["pw_passphrase"]), h(case["pw_salt"]), opslimit=int(case["pw_ops"]), memlimit=int(case["pw_mem"])).hex()
key = nacl.signing.SigningKey(h(case["sign_seed"]))
out["ed25519_public"] = key.verify_key.encode().hex()
out["ed25519_signature"] = key.sign(h(case["sign_message"])).signature.hex()

json.dump(out, sys.stdout)
