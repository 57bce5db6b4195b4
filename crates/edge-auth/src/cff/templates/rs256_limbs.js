// Modular exponentiation on 16-bit limbs held in Numbers, for runtimes without BigInt.
// Montgomery multiplication (CIOS): a limb product is below 2^32 and every sum stays far
// below 2^53, so Number arithmetic is exact. R^2 mod n comes precomputed with the key.
function limbs(b, len) {
    var a = [], i, j;
    for (i = 0; i < len; i++) {
        j = b.length - 2 * i;
        a.push((j >= 2 ? b[j - 2] * 256 : 0) + (j >= 1 ? b[j - 1] : 0));
    }
    return a;
}
function mont(a, b, n, ni, L) {
    var t = [], i, j, x, c, m;
    for (i = 0; i < L + 2; i++) t.push(0);
    for (i = 0; i < L; i++) {
        c = 0;
        for (j = 0; j < L; j++) {
            x = t[j] + a[i] * b[j] + c;
            t[j] = x & 65535;
            c = (x - t[j]) / 65536;
        }
        x = t[L] + c;
        t[L] = x & 65535;
        t[L + 1] = (x - t[L]) / 65536;
        m = (t[0] * ni) & 65535;
        x = t[0] + m * n[0];
        c = (x - (x & 65535)) / 65536;
        for (j = 1; j < L; j++) {
            x = t[j] + m * n[j] + c;
            t[j - 1] = x & 65535;
            c = (x - t[j - 1]) / 65536;
        }
        x = t[L] + c;
        t[L - 1] = x & 65535;
        t[L] = t[L + 1] + (x - t[L - 1]) / 65536;
    }
    t.length = L + 1;
    if (t[L] !== 0 || cmp(t, n, L) >= 0) {
        c = 0;
        for (j = 0; j < L; j++) {
            x = t[j] - n[j] - c;
            c = x < 0 ? 1 : 0;
            t[j] = x + c * 65536;
        }
    }
    t.length = L;
    return t;
}
function cmp(a, b, L) {
    for (var i = L - 1; i >= 0; i--) if (a[i] !== b[i]) return a[i] > b[i] ? 1 : -1;
    return 0;
}
function rsaLimbs(key, input, sig) {
    var nb = Buffer.from(key.n, 'base64'), k = nb.length, L = (k + 1) >> 1;
    if (sig.length !== k || k < 256) return false;
    var n = limbs(nb, L), s = limbs(sig, L), r2 = limbs(Buffer.from(key.r2, 'base64'), L);
    if (cmp(s, n, L) >= 0) return false;
    var inv = n[0], i;
    for (i = 0; i < 4; i++) inv = (inv * ((2 - ((n[0] * inv) & 65535)) & 65535)) & 65535;
    var ni = (65536 - inv) & 65535;
    var x = mont(s, r2, n, ni, L), acc = x, e = key.e, top = 1;
    while (top * 2 <= e) top *= 2;
    for (top = top / 2; top >= 1; top = top / 2) {
        acc = mont(acc, acc, n, ni, L);
        if (Math.floor(e / top) % 2 === 1) acc = mont(acc, x, n, ni, L);
    }
    var one = [1];
    for (i = 1; i < L; i++) one.push(0);
    acc = mont(acc, one, n, ni, L);
    var hex = '';
    for (i = L - 1; i >= 0; i--) hex += ('000' + acc[i].toString(16)).slice(-4);
    var em = expectedEm(k, input);
    while (em.length < hex.length) em = '0' + em;
    return ctEq(hex, em);
}
