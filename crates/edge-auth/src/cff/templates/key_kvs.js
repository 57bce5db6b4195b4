// Keys live in the KeyValueStore under C.prefix + kid. The kid is checked against a strict
// alphabet first, so a token cannot steer the lookup to another entry.
const kvs = cf.kvs();
async function keyFor(kid) {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(kid)) return null;
    try {
        return await kvs.get(C.prefix + kid, {format: C.alg === 'HS256' ? 'string' : 'json'});
    } catch (e) {
        return null;
    }
}
