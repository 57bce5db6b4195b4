// Keys live in the KeyValueStore under C.prefix + kid. The kid is checked against a strict
// alphabet first, so a token cannot steer the lookup to another entry. Every entry is JSON
// naming its algorithm and kid: an entry written for another algorithm (an RSA public key,
// which is no secret, read as an HMAC key) or under another kid is never used.
const kvs = cf.kvs();
async function keyFor(kid) {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(kid)) return null;
    var v;
    try {
        v = await kvs.get(C.prefix + kid, {format: 'json'});
    } catch (e) {
        return null;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v.kid !== kid) return null;
    if (v.alg !== C.alg) return MISMATCH;
    return C.alg === 'HS256' ? (typeof v.k === 'string' ? v.k : null) : v;
}
