#!/usr/bin/env python3
"""Signature Version 4 test vectors for Calotype's S3 client, made by botocore.

Each vector is a request (method, URL, headers, payload hash), the credentials and the instant it
is signed at, and what botocore's S3 signer (the one the AWS CLI uses) makes of it: the canonical
request, the string to sign and the Authorization header. Tests/CalotypeS3Tests/sigv4-vectors.json
is this script's output, committed, so the tests need no Python:

    python3 scripts/make-sigv4-vectors.py > Tests/CalotypeS3Tests/sigv4-vectors.json
"""
import datetime
import hashlib
import json
from unittest import mock

import botocore
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = b"calotype result bytes\n"

CASES = [
    # name, method, url, payload, extra headers, session token
    ("get object, path style", "GET", "http://127.0.0.1:8333/photos/in/a.jpg", b"", {}, None),
    ("head object", "HEAD", "http://127.0.0.1:8333/photos/in/a.jpg", b"", {}, None),
    ("put object with its payload's hash", "PUT", "http://127.0.0.1:8333/out/thumbs/0-a.webp", BODY,
     {"Content-Type": "image/webp"}, None),
    ("put object with a content length", "PUT", "http://127.0.0.1:8333/out/thumbs/1.jpg", BODY,
     {"Content-Type": "image/jpeg", "Content-Length": str(len(BODY))}, None),
    ("a key with spaces, unicode and reserved characters", "GET",
     "http://127.0.0.1:8333/photos/summer%202024/caf%C3%A9%20%2B%20%26%3D%40%21.jpg", b"", {}, None),
    ("a key with a tilde, a dash and a slash run", "GET", "http://127.0.0.1:8333/photos/a~b-c_d.e//f.png", b"", {}, None),
    ("list objects v2 with query parameters", "GET",
     "http://127.0.0.1:8333/photos?list-type=2&prefix=in%2Fsub%20dir%2F&max-keys=1000&continuation-token=abc%2Fdef%3D%3D",
     b"", {}, None),
    ("a session token", "GET", "https://s3.eu-west-1.amazonaws.com/photos/in/a.jpg", b"", {}, "FQoGZXIvYXdzEXAMPLETOKEN//+=="),
    ("virtual-hosted style on AWS", "GET", "https://photos.s3.us-east-1.amazonaws.com/in/a.jpg", b"", {}, None),
    ("a header with runs of spaces", "PUT", "http://127.0.0.1:8333/out/x.png", BODY,
     {"Content-Type": "image/png", "X-Amz-Meta-Note": "  two   spaces  inside  "}, None),
]

REGIONS = {"s3.eu-west-1.amazonaws.com": "eu-west-1"}


def sign(name, method, url, payload, headers, token):
    credentials = Credentials("AKIDEXAMPLECALOTYPE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    host = url.split("/")[2]
    region = REGIONS.get(host, "us-east-1")
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=payload if payload else None)
    payload_hash = hashlib.sha256(payload).hexdigest()
    request.headers["X-Amz-Content-SHA256"] = payload_hash
    instant = datetime.datetime(2026, 12, 5, 9, 30, 15, tzinfo=datetime.timezone.utc)
    signer = S3SigV4Auth(credentials, "s3", region)
    seen = {}
    string_to_sign = signer.string_to_sign

    def capture(request, canonical_request):
        seen["canonical_request"] = canonical_request
        seen["string_to_sign"] = string_to_sign(request, canonical_request)
        return seen["string_to_sign"]

    with mock.patch("botocore.auth.get_current_datetime", return_value=instant), \
            mock.patch.object(signer, "string_to_sign", side_effect=capture):
        signer.add_auth(request)
    return {
        "name": name,
        "method": method,
        "url": url,
        "headers": {k: v for k, v in headers.items()},
        "payload_sha256": payload_hash,
        "session_token": token,
        "access_key_id": credentials.access_key,
        "secret_access_key": credentials.secret_key,
        "region": region,
        "amz_date": request.context["timestamp"],
        "canonical_request": seen["canonical_request"],
        "string_to_sign": seen["string_to_sign"],
        "authorization": request.headers["Authorization"],
    }


print(json.dumps({
    "made_by": f"botocore {botocore.__version__}, scripts/make-sigv4-vectors.py",
    "vectors": [sign(*case) for case in CASES],
}, indent=2, ensure_ascii=False))
