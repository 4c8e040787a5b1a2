"""TLS as a Vault client sees it: hvac verifying a private CA, with and without a client certificate,
TLS 1.2 at least, and a certificate reload that leaves open connections alone.

Run by TLSTests: COFFER_ADDR (https), COFFER_ROOT_TOKEN, CERTS (the folder of ca.pem, client.pem/key) and
MODE ("tls" or "mtls"). For "reload" it waits for the test to swap the files and send SIGHUP, reading
RELOAD_SIGNAL_FILE / RELOAD_DONE_FILE to coordinate.
"""
import http.client
import os
import ssl
import sys
import time
import urllib.parse

import hvac
import requests

addr = os.environ["COFFER_ADDR"]
token = os.environ["COFFER_ROOT_TOKEN"]
certs = os.environ["CERTS"]
mode = os.environ["MODE"]
ca = f"{certs}/ca.pem"
client_cert = (f"{certs}/client.pem", f"{certs}/client.key")
host, port = urllib.parse.urlparse(addr).hostname, urllib.parse.urlparse(addr).port


def expect_tls_failure(call, what):
    try:
        call()
    except (requests.exceptions.SSLError, requests.exceptions.ConnectionError, ssl.SSLError, ConnectionError, OSError):
        return
    raise AssertionError(f"expected a TLS failure: {what}")


def peer_common_name(connection):
    subject = dict(item[0] for item in connection.sock.getpeercert()["subject"])
    return subject["commonName"]


if mode == "tls":
    client = hvac.Client(url=addr, token=token, verify=ca)
    client.secrets.kv.v2.create_or_update_secret(path="tls/db", secret={"password": "over-tls"})
    assert client.secrets.kv.v2.read_secret_version(path="tls/db", raise_on_deleted_version=True)["data"]["data"]["password"] == "over-tls"
    # The system trust store does not know the test CA: verification fails, nothing is sent in the clear.
    expect_tls_failure(lambda: hvac.Client(url=addr, token=token, verify=True).sys.read_health_status(method="GET"), "unknown CA")
    # Plain HTTP to the TLS port gets no answer.
    expect_tls_failure(lambda: requests.get(addr.replace("https://", "http://") + "/v1/sys/health", timeout=5).json(), "plain HTTP")
    # TLS 1.3 is negotiated; TLS 1.1 is refused.
    context = ssl.create_default_context(cafile=ca)
    connection = http.client.HTTPSConnection(host, port, context=context)
    connection.request("GET", "/v1/sys/health")
    connection.getresponse().read()
    assert connection.sock.version() == "TLSv1.3", connection.sock.version()
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(ca)
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.minimum_version = ssl.TLSVersion.TLSv1
    expect_tls_failure(lambda: http.client.HTTPSConnection(host, port, context=old).request("GET", "/v1/sys/health"), "TLS 1.1")
elif mode == "mtls":
    client = hvac.Client(url=addr, token=token, verify=ca, cert=client_cert)
    client.secrets.kv.v2.create_or_update_secret(path="mtls/db", secret={"password": "mutual"})
    assert client.secrets.kv.v2.read_secret_version(path="mtls/db", raise_on_deleted_version=True)["data"]["data"]["password"] == "mutual"
    expect_tls_failure(lambda: hvac.Client(url=addr, token=token, verify=ca).secrets.kv.v2.read_secret_version(
        path="mtls/db", raise_on_deleted_version=True), "no client certificate")
elif mode == "reload":
    context = ssl.create_default_context(cafile=ca)
    kept = http.client.HTTPSConnection(host, port, context=context)
    kept.request("GET", "/v1/sys/health")
    kept.getresponse().read()
    assert peer_common_name(kept) == "coffer-test-server-1"
    open(os.environ["RELOAD_SIGNAL_FILE"], "w").close()
    for _ in range(600):
        if os.path.exists(os.environ["RELOAD_DONE_FILE"]):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the test did not reload in time")
    fresh = None
    for _ in range(100):
        fresh = http.client.HTTPSConnection(host, port, context=context)
        fresh.request("GET", "/v1/sys/health")
        fresh.getresponse().read()
        if peer_common_name(fresh) == "coffer-test-server-2":
            break
        time.sleep(0.05)
    assert peer_common_name(fresh) == "coffer-test-server-2", "new connections get the new certificate"
    # The connection opened before the reload still works, on the same socket and the old certificate.
    socket_before = kept.sock
    kept.request("GET", "/v1/sys/health")
    assert kept.getresponse().status == 200
    assert kept.sock is socket_before and peer_common_name(kept) == "coffer-test-server-1"
print(f"tls {mode} works")
