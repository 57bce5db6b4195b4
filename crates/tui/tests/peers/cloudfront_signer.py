"""botocore's CloudFrontSigner as an independent peer for coldfront's signed cookies and URLs.

    sign   KEY_PEM KEY_ID URL RESOURCE EXPIRES START|- IP|- sha1|sha256 canned|custom
           prints {"url": signed URL, "policy": policy text, "cookies": {name: value}}
    verify PUBKEY_PEM sha1|sha256 POLICY_TEXT SIGNATURE_B64
           checks the signature over the policy text; exit 0 when it verifies
    policy URL EXPIRES
           prints the canned policy botocore builds for URL

The policy text comes from botocore's own build_policy; signatures from `cryptography`.
"""
import datetime
import json
import sys

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


def digest(name):
    return hashes.SHA1() if name == "sha1" else hashes.SHA256()


def signer_for(pem, hash_name):
    key = serialization.load_pem_private_key(pem, password=None)

    def sign(message):
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(message, padding.PKCS1v15(), digest(hash_name))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(message, ec.ECDSA(digest(hash_name)))
        raise SystemExit(f"unsupported key type {type(key).__name__}")

    return sign


def at(epoch_s):
    return datetime.datetime.fromtimestamp(int(epoch_s), tz=datetime.timezone.utc)


def main(argv):
    mode = argv[1]
    if mode == "policy":
        signer = CloudFrontSigner("unused", lambda m: b"")
        print(signer.build_policy(argv[2], at(argv[3])))
        return 0
    if mode == "sign":
        pem_path, key_id, url, resource, expires, start, ip, hash_name, kind = argv[2:11]
        with open(pem_path, "rb") as f:
            pem = f.read()
        signer = CloudFrontSigner(key_id, signer_for(pem, hash_name))
        start = None if start == "-" else at(start)
        ip = None if ip == "-" else ip
        if kind == "canned":
            policy = signer.build_policy(url, at(expires))
            signed = signer.generate_presigned_url(url, date_less_than=at(expires))
        else:
            policy = signer.build_policy(resource, at(expires), date_greater_than=start, ip_address=ip)
            signed = signer.generate_presigned_url(url, policy=policy)
        if hash_name == "sha256":
            signed += "&Hash-Algorithm=SHA256"
        signature = signer._url_b64encode(signer.rsa_signer(policy.encode("utf8"))).decode("utf8")
        cookies = {}
        if kind == "canned":
            cookies["CloudFront-Expires"] = str(int(expires))
        else:
            cookies["CloudFront-Policy"] = signer._url_b64encode(policy.encode("utf8")).decode("utf8")
        cookies["CloudFront-Signature"] = signature
        cookies["CloudFront-Key-Pair-Id"] = key_id
        if hash_name == "sha256":
            cookies["CloudFront-Hash-Algorithm"] = "SHA256"
        print(json.dumps({"url": signed, "policy": policy, "cookies": cookies}))
        return 0
    if mode == "verify":
        pem_path, hash_name, policy, signature = argv[2:6]
        with open(pem_path, "rb") as f:
            key = serialization.load_pem_public_key(f.read())
        raw = signature.replace("-", "+").replace("_", "=").replace("~", "/")
        import base64

        sig = base64.b64decode(raw)
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(sig, policy.encode("utf8"), padding.PKCS1v15(), digest(hash_name))
            else:
                key.verify(sig, policy.encode("utf8"), ec.ECDSA(digest(hash_name)))
        except Exception as e:  # cryptography raises InvalidSignature
            print(f"does not verify: {e!r}", file=sys.stderr)
            return 1
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
