// The keys live in the KeyValueStore under C.prefix + kid, one read per key tried. Every
// entry is JSON naming its algorithm and kid; an entry written for another algorithm (an
// RSA public key, which is no secret, read as an HMAC key) or under another kid is never
// used, and a missing or unreadable one is skipped.
const kvs = cf.kvs();
async function keyAt(i) {
    var kid = C.kids[i], v;
    try {
        v = await kvs.get(C.prefix + kid, {format: 'json'});
    } catch (e) {
        return null;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v.kid !== kid || v.alg !== 'HS256') return null;
    return typeof v.k === 'string' ? Buffer.from(v.k, 'base64url') : null;
}
